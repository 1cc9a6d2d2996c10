//! Fault injection: what can go wrong between the centre and a department, on demand.
//!
//! Faults apply only to well-formed, signed, valid requests (a 400 / 401 / 404 is always
//! given straight away) and only to the departments in [`Faults::departments`] (all when
//! empty). For each such request, in this order:
//!
//! 1. the answer is delayed by `latency_ms` plus a uniform `0..=jitter_ms`;
//! 2. with probability `timeout_rate` % the request hangs for `hang_ms` first (clients
//!    with a shorter timeout give up; the answer still comes afterwards);
//! 3. with probability `error_rate` % the answer is a `500 department_error` or
//!    `503 unavailable` (alternately, by the dice);
//! 4. otherwise, with probability `malformed_rate` % it is a `200` with garbage, cycling
//!    through [`Malformed`]'s kinds: bytes that are not JSON, truncated JSON, a well-formed
//!    answer to another query, and the right answer with its money (and area) as bare
//!    JSON numbers.
//!
//! A **batch** (`POST /v1/batch`) is faulted per item, per request or both
//! ([`Faults::batch`]): per item, each question rolls its department's dice as a single
//! question would, and its delay, hang, error or garbage is that item's alone (a hang
//! longer than the batch's `wait_ms` makes the item a `504 timeout`); per request, the
//! batch as a whole rolls once — if the faults apply to any of its departments — and its
//! delay, hang, 5xx or garbage hits the whole answer (the exchange in front of the
//! departments failing).
//!
//! The dice are seeded ([`Faults::seed`]), so a run with the same requests in the same
//! order injects the same faults.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use anju_domain::sharing::Department;

use super::Prng;

/// A whole percentage, 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Percent(u8);

impl Percent {
    /// Never.
    pub const ZERO: Percent = Percent(0);
    /// Always.
    pub const ALWAYS: Percent = Percent(100);

    /// `p` percent, if `p ≤ 100`.
    pub const fn new(p: u8) -> Option<Percent> {
        if p <= 100 { Some(Percent(p)) } else { None }
    }

    /// The percentage.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

/// A percentage that is not a whole number from 0 to 100.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a percentage: write a whole number from 0 to 100 (100 = always)")]
pub struct PercentError(pub String);

impl FromStr for Percent {
    type Err = PercentError;
    fn from_str(s: &str) -> Result<Percent, PercentError> {
        let t = s.trim().trim_end_matches('%');
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) || t.len() > 3 {
            return Err(PercentError(s.to_owned()));
        }
        t.parse::<u8>()
            .ok()
            .and_then(Percent::new)
            .ok_or_else(|| PercentError(s.to_owned()))
    }
}

/// The fault-injection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Faults {
    /// Added to every answer, ms.
    pub latency_ms: u64,
    /// Up to this much more, uniformly, ms.
    pub jitter_ms: u64,
    /// Chance that a request hangs for `hang_ms` before it is answered.
    pub timeout_rate: Percent,
    /// How long a hanging request hangs, ms.
    pub hang_ms: u64,
    /// Chance of a 500 / 503 answer.
    pub error_rate: Percent,
    /// Chance of a 200 answer with garbage.
    pub malformed_rate: Percent,
    /// The departments affected (empty: all).
    pub departments: Vec<Department>,
    /// How a batch is faulted.
    pub batch: BatchFaults,
    /// Seed of the dice.
    pub seed: u64,
}

/// How faults hit a batch of questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BatchFaults {
    /// Each item on its own, as if asked alone (the default).
    #[default]
    Items,
    /// The batch as a whole.
    Request,
    /// Both: the batch rolls once, then each item.
    Both,
}

impl BatchFaults {
    /// The code: `items`, `request`, `both`.
    pub const fn code(self) -> &'static str {
        match self {
            BatchFaults::Items => "items",
            BatchFaults::Request => "request",
            BatchFaults::Both => "both",
        }
    }

    /// Whether items are faulted.
    pub const fn items(self) -> bool {
        matches!(self, BatchFaults::Items | BatchFaults::Both)
    }

    /// Whether the request as a whole is faulted.
    pub const fn request(self) -> bool {
        matches!(self, BatchFaults::Request | BatchFaults::Both)
    }
}

impl FromStr for BatchFaults {
    type Err = String;
    fn from_str(s: &str) -> Result<BatchFaults, String> {
        match s.trim() {
            "items" => Ok(BatchFaults::Items),
            "request" => Ok(BatchFaults::Request),
            "both" => Ok(BatchFaults::Both),
            other => Err(format!(
                "{other:?} is not a batch fault mode: write items, request or both"
            )),
        }
    }
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            latency_ms: 0,
            jitter_ms: 0,
            timeout_rate: Percent::ZERO,
            hang_ms: 30_000,
            error_rate: Percent::ZERO,
            malformed_rate: Percent::ZERO,
            departments: Vec::new(),
            batch: BatchFaults::Items,
            seed: 1,
        }
    }
}

/// A kind of garbage answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Malformed {
    /// Bytes that are not JSON (an HTML error page from a proxy).
    NotJson,
    /// The right answer cut in the middle.
    Truncated,
    /// A well-formed answer to another query (the `query` tag differs).
    WrongQuery,
    /// The right answer with its money and area decimal strings as bare JSON numbers
    /// (or, when it has none, `found` as a string).
    FloatMoney,
}

impl Malformed {
    /// Every kind, in the order they take turns.
    pub const ALL: [Malformed; 4] = [
        Malformed::NotJson,
        Malformed::Truncated,
        Malformed::WrongQuery,
        Malformed::FloatMoney,
    ];
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Delay before anything else.
    pub delay: Duration,
    /// A hang after the delay.
    pub hang: Option<Duration>,
    /// How to answer.
    pub outcome: Outcome,
}

/// How a request is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Properly.
    Answer,
    /// With this 5xx status and an `ErrorBody`.
    Error(u16),
    /// With a 200 carrying garbage.
    Malformed(Malformed),
}

impl Plan {
    /// No fault.
    pub const NONE: Plan = Plan {
        delay: Duration::ZERO,
        hang: None,
        outcome: Outcome::Answer,
    };
}

/// The seeded dice and the turn of the garbage kinds.
#[derive(Debug, Clone)]
pub struct Dice {
    rng: Prng,
    malformed_turn: usize,
}

impl Dice {
    /// Dice from a seed.
    pub fn new(seed: u64) -> Dice {
        Dice {
            rng: Prng::new(seed),
            malformed_turn: 0,
        }
    }
}

impl Faults {
    /// Whether faults apply to `department`.
    pub fn applies_to(&self, department: Department) -> bool {
        self.departments.is_empty() || self.departments.contains(&department)
    }

    /// Whether no fault is configured at all.
    pub fn is_quiet(&self) -> bool {
        self.latency_ms == 0
            && self.jitter_ms == 0
            && self.timeout_rate == Percent::ZERO
            && self.error_rate == Percent::ZERO
            && self.malformed_rate == Percent::ZERO
    }

    /// Rolls the dice for one request to `department`.
    pub fn plan(&self, dice: &mut Dice, department: Department) -> Plan {
        if !self.applies_to(department) {
            return Plan::NONE;
        }
        let jitter = if self.jitter_ms > 0 {
            dice.rng.next_u64() % (self.jitter_ms + 1)
        } else {
            0
        };
        let delay = Duration::from_millis(self.latency_ms.saturating_add(jitter));
        let hang = dice
            .rng
            .percent(u32::from(self.timeout_rate.get()))
            .then(|| Duration::from_millis(self.hang_ms));
        let outcome = if dice.rng.percent(u32::from(self.error_rate.get())) {
            Outcome::Error(if dice.rng.percent(50) { 500 } else { 503 })
        } else if dice.rng.percent(u32::from(self.malformed_rate.get())) {
            let kind = Malformed::ALL[dice.malformed_turn % Malformed::ALL.len()];
            dice.malformed_turn = dice.malformed_turn.wrapping_add(1);
            Outcome::Malformed(kind)
        } else {
            Outcome::Answer
        };
        Plan {
            delay,
            hang,
            outcome,
        }
    }
}

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_quiet() {
            return f.write_str("none");
        }
        write!(
            f,
            "latency {} ms + jitter ≤{} ms, timeouts {} (hang {} ms), errors {}, malformed {}, departments {}, batches per {}, seed {}",
            self.latency_ms,
            self.jitter_ms,
            self.timeout_rate,
            self.hang_ms,
            self.error_rate,
            self.malformed_rate,
            if self.departments.is_empty() {
                "all".to_owned()
            } else {
                self.departments
                    .iter()
                    .map(|d| d.code())
                    .collect::<Vec<_>>()
                    .join(",")
            },
            self.batch.code(),
            self.seed
        )
    }
}

/// The garbage body of kind `kind`: `right` is the proper answer's JSON, `wrong` a
/// well-formed answer to another query.
pub fn malformed_body(kind: Malformed, right: &str, wrong: &str) -> Vec<u8> {
    match kind {
        Malformed::NotJson => b"<html><head><title>502 Bad Gateway</title></head>\r\n<body>\xe7\xbd\x91\xe5\x85\xb3\xe9\x94\x99\xe8\xaf\xaf \xff\xfe</body></html>\r\n".to_vec(),
        Malformed::Truncated => {
            let mut cut = right.len() / 2;
            while !right.is_char_boundary(cut) {
                cut -= 1;
            }
            right.as_bytes()[..cut].to_vec()
        }
        Malformed::WrongQuery => wrong.as_bytes().to_vec(),
        Malformed::FloatMoney => {
            let unquoted = unquote_decimals(right);
            if unquoted == right {
                right
                    .replacen("\"found\":true", "\"found\":\"yes\"", 1)
                    .replacen("\"found\":false", "\"found\":\"no\"", 1)
                    .into_bytes()
            } else {
                unquoted.into_bytes()
            }
        }
    }
}

/// Turns every string value that is a decimal with two places (`:"1234.50"`) into a bare
/// JSON number (`:1234.50`), working on the text so no float is involved.
fn unquote_decimals(json: &str) -> String {
    let bytes = json.as_bytes();
    let mut out = String::with_capacity(json.len());
    let mut i = 0;
    let mut copied = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b':' && bytes[i + 1] == b'"' {
            let start = i + 2;
            let mut j = start;
            while j < bytes.len() && (bytes[j].is_ascii_digit() || bytes[j] == b'.') {
                j += 1;
            }
            let inner = &json[start..j];
            let decimal = j < bytes.len()
                && bytes[j] == b'"'
                && inner
                    .split_once('.')
                    .is_some_and(|(w, f)| !w.is_empty() && f.len() == 2 && !f.contains('.'));
            if decimal {
                out.push_str(&json[copied..=i]);
                out.push_str(inner);
                copied = j + 1;
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&json[copied..]);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn percents_are_whole_numbers_to_100() {
        assert_eq!("0".parse::<Percent>().unwrap(), Percent::ZERO);
        assert_eq!("100".parse::<Percent>().unwrap(), Percent::ALWAYS);
        assert_eq!("25%".parse::<Percent>().unwrap().get(), 25);
        for bad in ["101", "-1", "12.5", "", "abc", "1000", "0x10"] {
            let e = bad.parse::<Percent>().unwrap_err().to_string();
            assert!(e.contains("0 to 100"), "{e}");
        }
    }

    #[test]
    fn plans_follow_the_rates_and_departments() {
        let always = Faults {
            error_rate: Percent::ALWAYS,
            departments: vec![Department::Tax],
            ..Faults::default()
        };
        let mut dice = Dice::new(3);
        for _ in 0..50 {
            assert!(matches!(
                always.plan(&mut dice, Department::Tax).outcome,
                Outcome::Error(500 | 503)
            ));
            assert_eq!(always.plan(&mut dice, Department::CivilAffairs), Plan::NONE);
        }
        let garbage = Faults {
            malformed_rate: Percent::ALWAYS,
            timeout_rate: Percent::ALWAYS,
            hang_ms: 5,
            latency_ms: 10,
            jitter_ms: 5,
            ..Faults::default()
        };
        let kinds: Vec<_> = (0..4)
            .map(|_| {
                let p = garbage.plan(&mut dice, Department::Credit);
                assert_eq!(p.hang, Some(Duration::from_millis(5)));
                assert!((10..=15).contains(&p.delay.as_millis()));
                p.outcome
            })
            .collect();
        assert_eq!(
            kinds,
            Malformed::ALL.map(Outcome::Malformed).to_vec(),
            "garbage kinds take turns"
        );
        let quiet = Faults::default();
        assert!(quiet.is_quiet());
        assert_eq!(quiet.plan(&mut dice, Department::Tax), Plan::NONE);
    }

    #[test]
    fn float_money_unquotes_decimals_only() {
        let right = r#"{"found":true,"query":"leases","data":[{"address":"a:\"1.00\"","monthly_rent":"1500.00","region_code":"330802"}]}"#;
        let body = String::from_utf8(malformed_body(Malformed::FloatMoney, right, "")).unwrap();
        assert!(body.contains(r#""monthly_rent":1500.00"#), "{body}");
        assert!(body.contains(r#""region_code":"330802""#), "{body}");
        assert!(body.contains(r#"a:\"1.00\""#), "{body}");
        let none = r#"{"found":false,"query":"death","data":null}"#;
        let body = String::from_utf8(malformed_body(Malformed::FloatMoney, none, "")).unwrap();
        assert!(body.contains(r#""found":"no""#), "{body}");
        let cut = malformed_body(Malformed::Truncated, "{\"a\":\"衢州\"}", "");
        assert!(cut.len() < 15);
        assert!(
            serde_json::from_slice::<serde_json::Value>(&malformed_body(
                Malformed::NotJson,
                "",
                ""
            ))
            .is_err()
        );
    }
}
