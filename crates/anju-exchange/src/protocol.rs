//! The data-exchange protocol: one signed JSON `POST` per question.
//!
//! ```text
//! POST /v1/{department}/{query}            e.g. /v1/civil-affairs/marriage
//! X-Exchange-App:        <the caller's app id>
//! X-Exchange-Timestamp:  <unix seconds>
//! X-Exchange-Nonce:      <32 hex digits, never reused>
//! X-Exchange-Signature:  hex(HMAC-SM3(secret, "POST\n{path}\n{timestamp}\n{nonce}\n{hex(SM3(body))}"))
//! Content-Type: application/json
//!
//! {"request_id":"…","subject_id":"330802199001011234","year":null,
//!  "purpose":"withdrawal","case_no":"TQ-20261127-000001","requester":"staff:0001"}
//! ```
//! A `200` answer is a [`QueryResponse`]: `{"request_id", "read_at", "found", "query",
//! "data"}` where `query` + `data` is the typed [`Answer`]. "No record" is a `200` with
//! `found: false`, never a `404`. Errors are [`ErrorBody`] with `400` (bad request),
//! `401` (signature, timestamp or nonce), `404` (no such query), `5xx` (the exchange or
//! the department failed). The server refuses timestamps more than
//! [`MAX_CLOCK_SKEW_SECS`] away and nonces it has seen within that window.
//!
//! **Batches.** `POST /v1/batch` (signed the same way) carries several questions —
//! typically one application's — as a [`BatchRequest`] `{"wait_ms", "items": [{"department",
//! "query", …the question's body…}]}` and is answered `200` with `{"items": [...]}`, one
//! [`BatchItem`] per question in the order asked: `{"status": 200, "answer": …}` or
//! `{"status": 4xx|5xx, "error": …}`. Each item stands alone: an unknown query or a bad
//! body is that item's `404` / `400`, a department failing its `5xx`, a department slower
//! than `wait_ms` its `504 timeout`, garbage from a department that item's `answer`. A
//! request that fails as a whole (signature, a body that is not a batch, more than
//! [`MAX_BATCH_ITEMS`] items, the exchange itself failing) is answered as a single
//! question would be. The single-question paths stay.
//!
//! The OpenAPI document (`anju exchange-sim --openapi`, `docs/exchange-openapi.json`)
//! describes the same.
//!
//! The real-estate registry also takes two **writes**, signed the same way:
//!
//! ```text
//! POST /v1/real-estate/mortgages                              MortgageRegisterRequest
//!   → 200 MortgageRegisterResponse {"request_id", "registration_no", "registered_on",
//!                                   "property", "loan_no", "pre_registration", "mortgagees"}
//! POST /v1/real-estate/mortgages/{registration_no}/release    MortgageReleaseRequest
//!   → 200 MortgageReleaseResponse {"request_id", "registration_no", "released_on"}
//! ```
//! The registration number in the path is percent-encoded as UTF-8 ([`release_path`]),
//! and the signature covers the path as sent (encoded). Both are idempotent at the
//! registry — a registration by `(loan_no, property)`, a release by its number — so the
//! client retries them like look-ups. A refusal is `409 conflict` with the registry's
//! reason (another loan's mortgage is active on the property, the owners are not the
//! property's owners or the contract's buyers, no such registration).

use std::collections::{BTreeSet, HashSet};

use anju_domain::sharing::{
    Answer, MortgageRegistration, MortgageRelease, MortgageRequest, Mortgagee, Purpose, Query,
};
use hmac::{KeyInit, Mac};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use sm3::{Digest, Sm3};

/// Header naming the caller.
pub const H_APP: &str = "x-exchange-app";
/// Header with the request time (unix seconds).
pub const H_TIMESTAMP: &str = "x-exchange-timestamp";
/// Header with a one-time nonce.
pub const H_NONCE: &str = "x-exchange-nonce";
/// Header with the signature.
pub const H_SIGNATURE: &str = "x-exchange-signature";
/// Largest accepted difference between the caller's and the server's clock.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;

/// The body of a question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryRequest {
    /// The caller's id for this request (echoed back); unique per attempt series.
    pub request_id: String,
    /// Whose data: resident ID number.
    pub subject_id: String,
    /// Year, for `tax/income` and `medical-insurance/medical`.
    #[serde(default)]
    pub year: Option<i16>,
    /// Legal purpose (查询事由).
    pub purpose: Purpose,
    /// The application the look-up serves (业务编号).
    pub case_no: String,
    /// Who asked at the centre (经办人).
    pub requester: String,
}

/// The answer to a question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryResponse {
    /// The request's id.
    pub request_id: String,
    /// When the department read its register.
    pub read_at: Timestamp,
    /// Whether a record was found.
    pub found: bool,
    /// The typed answer (`query` + `data`).
    #[serde(flatten)]
    pub answer: Answer,
}

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable code: `bad_request`, `unauthorized`, `not_found`, `conflict` (a write the
    /// registry refuses), `department_error`, `unavailable`.
    pub error: String,
    /// Human explanation.
    pub message: String,
}

/// The path of a batch of questions.
pub const BATCH_PATH: &str = "/v1/batch";

/// Most questions in one batch.
pub const MAX_BATCH_ITEMS: usize = 32;

/// Longest the exchange may wait for a department in a batch (`wait_ms`).
pub const MAX_BATCH_WAIT_MS: u64 = 60_000;

/// One question of a batch: the query (department and query codes, as in the single
/// question's path) and the single question's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchQuestion {
    /// The department's code, e.g. `civil-affairs`.
    pub department: String,
    /// The query's code, e.g. `marriage`.
    pub query: String,
    /// The question.
    #[serde(flatten)]
    pub request: QueryRequest,
}

impl BatchQuestion {
    /// `request` about `query`.
    pub fn new(query: Query, request: QueryRequest) -> BatchQuestion {
        BatchQuestion {
            department: query.department().code().to_owned(),
            query: query.code().to_owned(),
            request,
        }
    }
}

/// The body of a batch (`POST /v1/batch`): several questions answered in one round trip,
/// **each on its own** — a department that fails, hangs or answers garbage spoils only
/// its own items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRequest {
    /// How long the exchange may wait for a department before it answers that item
    /// `504 timeout` (at most [`MAX_BATCH_WAIT_MS`]); the caller sets it under its own
    /// request timeout so that the answers that did come are not lost with the slow one.
    pub wait_ms: u64,
    /// 1 to [`MAX_BATCH_ITEMS`] questions.
    pub items: Vec<BatchQuestion>,
}

/// One item of a batch's answer, in the order asked: `status` is what the single
/// question would have been answered with; `200` carries `answer` (a [`QueryResponse`]),
/// anything else `error` (an [`ErrorBody`]; `504 timeout` when the department did not
/// answer within `wait_ms`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchItem {
    /// The item's status.
    pub status: u16,
    /// The answer, when `status` is 200.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<QueryResponse>,
    /// The error, otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

/// The path of a mortgage registration.
pub const MORTGAGES_PATH: &str = "/v1/real-estate/mortgages";

/// The body of a mortgage registration (`POST /v1/real-estate/mortgages`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MortgageRegisterRequest {
    /// The caller's id for this request (echoed back).
    pub request_id: String,
    /// The borrower: resident ID number.
    pub subject_id: String,
    /// Legal purpose (always `loan` in practice).
    pub purpose: Purpose,
    /// The loan application (业务编号).
    pub case_no: String,
    /// Who asked at the centre (经办人).
    pub requester: String,
    /// The loan contract number; with `property` the idempotency key.
    pub loan_no: String,
    /// Certificate number, or for a pre-registration the filed purchase contract number.
    pub property: String,
    /// The property's address.
    pub address: String,
    /// Every owner's (buyer's) resident ID number.
    pub owners: Vec<String>,
    /// One lender, or two for a combination loan.
    pub mortgagees: Vec<Mortgagee>,
    /// The last day of the secured debt.
    pub term_end: Date,
    /// A pre-registration (预告登记) on a filed purchase contract.
    pub pre_registration: bool,
}

impl MortgageRegisterRequest {
    /// The wire body of `req` asked with `request_id` by `requester`.
    pub fn new(
        request_id: &str,
        subject_id: &str,
        purpose: Purpose,
        requester: &str,
        req: &MortgageRequest,
    ) -> MortgageRegisterRequest {
        MortgageRegisterRequest {
            request_id: request_id.to_owned(),
            subject_id: subject_id.to_owned(),
            purpose,
            case_no: req.application_no.clone(),
            requester: requester.to_owned(),
            loan_no: req.loan_no.clone(),
            property: req.property.clone(),
            address: req.address.clone(),
            owners: req.owners.clone(),
            mortgagees: req.mortgagees.clone(),
            term_end: req.term_end,
            pre_registration: req.pre_registration,
        }
    }

    /// The domain request it carries (`case_no` is the application number).
    pub fn mortgage(&self) -> MortgageRequest {
        MortgageRequest {
            application_no: self.case_no.clone(),
            loan_no: self.loan_no.clone(),
            property: self.property.clone(),
            address: self.address.clone(),
            owners: self.owners.clone(),
            mortgagees: self.mortgagees.clone(),
            term_end: self.term_end,
            pre_registration: self.pre_registration,
        }
    }
}

/// The answer to a mortgage registration: the registration, flattened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MortgageRegisterResponse {
    /// The request's id.
    pub request_id: String,
    /// The registration (made now, or the one made before for the same loan and property).
    #[serde(flatten)]
    pub registration: MortgageRegistration,
}

/// The body of a release (`POST /v1/real-estate/mortgages/{registration_no}/release`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MortgageReleaseRequest {
    /// The caller's id for this request (echoed back).
    pub request_id: String,
    /// The borrower: resident ID number.
    pub subject_id: String,
    /// Legal purpose.
    pub purpose: Purpose,
    /// The loan application (业务编号).
    pub case_no: String,
    /// Who asked at the centre.
    pub requester: String,
}

/// The answer to a release: the release, flattened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MortgageReleaseResponse {
    /// The request's id.
    pub request_id: String,
    /// The release (made now, or the one made before).
    #[serde(flatten)]
    pub release: MortgageRelease,
}

/// Percent-encodes `text` as UTF-8 for a path segment: every byte but `A-Z a-z 0-9 - . _ ~`.
pub fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The path releasing `registration_no` (percent-encoded).
pub fn release_path(registration_no: &str) -> String {
    format!(
        "{MORTGAGES_PATH}/{}/release",
        encode_segment(registration_no)
    )
}

/// The signing string of a request.
pub fn canonical(method: &str, path: &str, timestamp: i64, nonce: &str, body: &[u8]) -> String {
    format!(
        "{method}\n{path}\n{timestamp}\n{nonce}\n{}",
        hex::encode(Sm3::digest(body))
    )
}

type HmacSm3 = hmac::Hmac<Sm3>;

/// `hex(HMAC-SM3(secret, canonical))`.
pub fn sign(secret: &[u8], canonical: &str) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = match HmacSm3::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(canonical.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `signature` (hex) is right for `canonical`, compared in constant time.
pub fn verify(secret: &[u8], canonical: &str, signature: &str) -> bool {
    let Ok(sig) = hex::decode(signature) else {
        return false;
    };
    let Ok(mut mac) = HmacSm3::new_from_slice(secret) else {
        return false;
    };
    mac.update(canonical.as_bytes());
    mac.verify_slice(&sig).is_ok()
}

/// A fresh 128-bit nonce as 32 hex digits.
pub fn nonce() -> String {
    let mut b = [0u8; 16];
    // The OS generator failing is not recoverable for signing; fall back to the clock so
    // the request is still unique (the server rejects reuse anyway).
    if getrandom::fill(&mut b).is_err() {
        let t = Timestamp::now().as_nanosecond().to_le_bytes();
        b.copy_from_slice(&t);
    }
    hex::encode(b)
}

/// The path of `query`.
pub fn path(query: Query) -> String {
    query.path()
}

#[cfg(test)]
mod tests {
    use super::*;
    use anju_domain::money::Fen;
    use anju_domain::sharing::Marriage;

    fn mortgage() -> MortgageRequest {
        MortgageRequest {
            application_no: "DK-1".into(),
            loan_no: "L1".into(),
            property: "HT-2026-0001".into(),
            address: "衢州市柯城区".into(),
            owners: vec!["11010519491231002X".into()],
            mortgagees: vec![
                Mortgagee {
                    name: "衢州市住房公积金管理中心".into(),
                    code: "330800000000001".into(),
                    amount: Fen::new(60_000_000),
                },
                Mortgagee {
                    name: "中国建设银行衢州分行".into(),
                    code: "105".into(),
                    amount: Fen::new(40_000_050),
                },
            ],
            term_end: jiff::civil::date(2056, 11, 30),
            pre_registration: true,
        }
    }

    #[test]
    fn mortgage_requests_round_trip_with_money_as_strings() {
        let m = mortgage();
        let wire =
            MortgageRegisterRequest::new("r1", "11010519491231002X", Purpose::Loan, "staff:1", &m);
        let json = serde_json::to_string(&wire).unwrap_or_default();
        assert!(json.contains(r#""case_no":"DK-1""#), "{json}");
        assert!(json.contains(r#""amount":"400000.50""#), "{json}");
        assert!(json.contains(r#""term_end":"2056-11-30""#), "{json}");
        assert!(json.contains(r#""purpose":"loan""#), "{json}");
        let back: Result<MortgageRegisterRequest, _> = serde_json::from_str(&json);
        assert_eq!(back.ok().map(|b| b.mortgage()), Some(m));
        // Unknown fields are refused, so a misspelt field is not silently dropped.
        let extra = json.replacen('{', r#"{"mortgaged":true,"#, 1);
        assert!(serde_json::from_str::<MortgageRegisterRequest>(&extra).is_err());
    }

    #[test]
    fn mortgage_answers_flatten_the_registration() {
        let r = MortgageRegisterResponse {
            request_id: "r1".into(),
            registration: MortgageRegistration {
                registration_no: "浙(2026)衢州市不动产证明第0000001号".into(),
                registered_on: jiff::civil::date(2026, 11, 27),
                property: "HT-2026-0001".into(),
                loan_no: "L1".into(),
                pre_registration: true,
                mortgagees: mortgage().mortgagees,
            },
        };
        let json = serde_json::to_string(&r).unwrap_or_default();
        assert!(
            json.starts_with(r#"{"request_id":"r1","registration_no":"浙(2026)"#),
            "{json}"
        );
        let back: Option<MortgageRegisterResponse> = serde_json::from_str(&json).ok();
        assert_eq!(back, Some(r));
        let rel = MortgageReleaseResponse {
            request_id: "r2".into(),
            release: MortgageRelease {
                registration_no: "X".into(),
                released_on: jiff::civil::date(2046, 1, 2),
            },
        };
        let json = serde_json::to_string(&rel).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"request_id":"r2","registration_no":"X","released_on":"2046-01-02"}"#
        );
    }

    #[test]
    fn release_paths_are_percent_encoded() {
        assert_eq!(
            release_path("浙(2026)衢州市不动产证明第0000001号"),
            "/v1/real-estate/mortgages/%E6%B5%99%282026%29%E8%A1%A2%E5%B7%9E%E5%B8%82%E4%B8%8D%E5%8A%A8%E4%BA%A7%E8%AF%81%E6%98%8E%E7%AC%AC0000001%E5%8F%B7/release"
        );
        assert_eq!(
            release_path("a/b c"),
            "/v1/real-estate/mortgages/a%2Fb%20c/release"
        );
    }

    #[test]
    fn signatures_verify_and_detect_changes() {
        let c = canonical("POST", "/v1/tax/income", 1_790_000_000, "ab", b"{}");
        let s = sign(b"secret", &c);
        assert_eq!(s.len(), 64);
        assert!(verify(b"secret", &c, &s));
        assert!(!verify(b"other", &c, &s));
        let c2 = canonical("POST", "/v1/tax/income", 1_790_000_000, "ab", b"{ }");
        assert!(!verify(b"secret", &c2, &s));
        assert!(!verify(b"secret", &c, "zz"));
        assert_ne!(nonce(), nonce());
    }

    #[test]
    fn response_flattens_the_answer() {
        let r = QueryResponse {
            request_id: "r1".into(),
            read_at: Timestamp::UNIX_EPOCH,
            found: true,
            answer: Answer::Marriage(Marriage {
                status: anju_domain::codes::MaritalStatus::Unmarried,
                spouse_id: None,
                spouse_name: None,
                since: None,
            }),
        };
        let json = serde_json::to_string(&r).unwrap_or_default();
        assert!(
            json.contains(r#""query":"marriage","data":{"status":"10""#),
            "{json}"
        );
        let back: QueryResponse = serde_json::from_str(&json).unwrap_or(QueryResponse {
            request_id: String::new(),
            ..r.clone()
        });
        assert_eq!(back, r);
    }
}

/// Nonces seen within the clock-skew window, for a server that must refuse a replayed
/// signed message (the exchange simulator; the bank simulator and Anju's notice route).
/// When `cap` nonces are remembered the oldest is forgotten, and from then on messages
/// signed no later than it are refused, so none can be replayed.
#[derive(Debug)]
pub struct NonceCache {
    cap: usize,
    by_time: BTreeSet<(i64, String)>,
    seen: HashSet<String>,
    /// Newest timestamp forgotten because the cache was full.
    floor: Option<i64>,
}

impl NonceCache {
    /// An empty cache remembering at most `cap` nonces.
    pub fn new(cap: usize) -> NonceCache {
        NonceCache {
            cap,
            by_time: BTreeSet::new(),
            seen: HashSet::new(),
            floor: None,
        }
    }

    /// Nonces remembered now.
    pub fn len(&self) -> usize {
        self.by_time.len()
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.by_time.is_empty()
    }

    /// Records `nonce` signed at `ts` (unix seconds) when the clock says `now`; refuses a
    /// nonce seen before within the window.
    pub fn admit(&mut self, nonce: &str, ts: i64, now: i64) -> Result<(), String> {
        // A nonce signed at t can only be replayed while t is within the window.
        while let Some((t, _)) = self.by_time.first() {
            if t.saturating_add(MAX_CLOCK_SKEW_SECS) >= now {
                break;
            }
            if let Some((_, n)) = self.by_time.pop_first() {
                self.seen.remove(&n);
            }
        }
        if self.seen.contains(nonce) {
            return Err(format!(
                "nonce already used within the last {MAX_CLOCK_SKEW_SECS} s (replay refused)"
            ));
        }
        if self.floor.is_some_and(|f| ts <= f) {
            return Err(
                "too many messages to remember their nonces; sign again with the current time"
                    .to_owned(),
            );
        }
        if self.by_time.len() >= self.cap
            && let Some((t, n)) = self.by_time.pop_first()
        {
            self.seen.remove(&n);
            self.floor = Some(self.floor.map_or(t, |f| f.max(t)));
        }
        self.by_time.insert((ts, nonce.to_owned()));
        self.seen.insert(nonce.to_owned());
        Ok(())
    }
}

#[cfg(test)]
mod nonce_tests {
    use super::*;

    #[test]
    fn nonces_are_refused_twice_and_forgotten_after_the_window() {
        let mut c = NonceCache::new(100);
        let now = 1_800_000_000;
        assert!(c.admit("a", now, now).is_ok());
        assert!(
            c.admit("a", now, now + 10)
                .is_err_and(|e| e.contains("already used"))
        );
        assert!(c.admit("b", now - 100, now).is_ok());
        // After the window the old entries are dropped (their timestamps are stale anyway).
        assert!(c.admit("c", now + 400, now + 400).is_ok());
        assert_eq!(c.len(), 1);
    }
}
