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
//! The OpenAPI document (`anju exchange-sim --openapi`, `docs/exchange-openapi.json`)
//! describes the same.

use std::collections::{BTreeSet, HashSet};

use anju_domain::sharing::{Answer, Purpose, Query};
use hmac::{KeyInit, Mac};
use jiff::Timestamp;
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
    /// Stable code: `bad_request`, `unauthorized`, `not_found`, `department_error`,
    /// `unavailable`.
    pub error: String,
    /// Human explanation.
    pub message: String,
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
    use anju_domain::sharing::Marriage;

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
