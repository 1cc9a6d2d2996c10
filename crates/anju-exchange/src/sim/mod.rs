//! `anju exchange-sim`: a stand-alone provincial data exchange that serves the
//! [`protocol`](crate::protocol) from a JSON [`dataset`], with [`faults`] injected on
//! demand (latency, hangs, 5xx errors, malformed answers), so the centre's client, retry
//! and manual-review paths can be exercised without a province.
//!
//! * [`dataset`]: the file format (`{"generated_at", "seed", "people": {id: record}}`),
//!   its validation, and how a record answers each query;
//! * [`server`]: the axum server (signature, timestamp and nonce checks, body validation,
//!   logging with masked IDs, graceful shutdown);
//! * [`faults`]: the fault-injection settings and their seeded dice;
//! * [`generate`]: a dataset generator consistent with a centre's members;
//! * [`mortgages`]: the mortgage register the real-estate writes go to, kept in a side
//!   file next to the dataset;
//! * [`OPENAPI`]: the OpenAPI 3.0 document of the protocol (`docs/exchange-openapi.json`).

pub mod dataset;
pub mod faults;
pub mod generate;
pub mod mortgages;
pub mod server;

/// The OpenAPI 3.0 document of the exchange protocol (`docs/exchange-openapi.json`),
/// served at `GET /openapi.json` and printed by `anju exchange-sim --openapi`.
pub const OPENAPI: &str = include_str!("../../../../docs/exchange-openapi.json");

/// A small deterministic generator (SplitMix64), so the simulator's dice and the dataset
/// generator give the same results for the same seed on every platform and version.
#[derive(Debug, Clone)]
pub struct Prng(u64);

impl Prng {
    /// A generator from a seed (any value, 0 included).
    pub fn new(seed: u64) -> Prng {
        Prng(seed)
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = hi.abs_diff(lo);
        // `span` fits: `hi - lo` of two i64 is below 2^64.
        lo.wrapping_add_unsigned(self.next_u64() % span)
    }

    /// `true` with probability `percent` / 100 (always at 100, never at 0).
    pub fn percent(&mut self, percent: u32) -> bool {
        self.next_u64() % 100 < u64::from(percent)
    }

    /// `true` with probability `per_mille` / 1000.
    pub fn per_mille(&mut self, per_mille: u32) -> bool {
        self.next_u64() % 1000 < u64::from(per_mille)
    }

    /// One element of a non-empty slice (the first of an empty one would panic, so callers
    /// pass constant, non-empty lists).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let i = self.next_u64() % (items.len().max(1) as u64);
        &items[usize::try_from(i).unwrap_or(0)]
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::protocol::QueryResponse;
    use anju_domain::sharing::Query;

    #[test]
    fn prng_is_deterministic_and_in_range() {
        let mut a = Prng::new(7);
        let mut b = Prng::new(7);
        for _ in 0..1000 {
            let x = a.range(-5, 5);
            assert_eq!(x, b.range(-5, 5));
            assert!((-5..5).contains(&x));
        }
        assert_eq!(a.range(3, 3), 3);
        assert!((0..100).all(|_| a.percent(100)));
        assert!((0..100).all(|_| !a.percent(0)));
    }

    /// The OpenAPI document names every query's path, and every example answer is a valid
    /// `QueryResponse` for its path.
    #[test]
    fn openapi_document_matches_the_protocol() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
        assert_eq!(doc["openapi"].as_str().unwrap_or("").get(..2), Some("3."));
        let paths = doc["paths"].as_object().unwrap();
        for q in Query::ALL {
            let path = q.path();
            let op = &paths
                .get(&path)
                .unwrap_or_else(|| panic!("{path} is missing"))["post"];
            let content = &op["responses"]["200"]["content"]["application/json"];
            let mut examples = Vec::new();
            if let Some(e) = content.get("example") {
                examples.push(e.clone());
            }
            if let Some(es) = content.get("examples").and_then(|e| e.as_object()) {
                examples.extend(es.values().map(|e| e["value"].clone()));
            }
            assert!(!examples.is_empty(), "{path} has no example answer");
            for e in examples {
                let r: QueryResponse = serde_json::from_value(e.clone())
                    .unwrap_or_else(|err| panic!("{path}: example {e} does not parse: {err}"));
                assert_eq!(r.answer.query(), q, "{path}");
                assert_eq!(r.found, r.answer.found(), "{path}: found flag");
            }
            for code in ["400", "401", "404", "500", "503"] {
                assert!(
                    op["responses"].get(code).is_some(),
                    "{path}: no {code} response"
                );
            }
        }
        // The real-estate writes: their examples are the protocol's types.
        let reg = &paths["/v1/real-estate/mortgages"]["post"];
        let _: crate::protocol::MortgageRegisterRequest = serde_json::from_value(
            reg["requestBody"]["content"]["application/json"]["example"].clone(),
        )
        .unwrap();
        let _: crate::protocol::MortgageRegisterResponse = serde_json::from_value(
            reg["responses"]["200"]["content"]["application/json"]["example"].clone(),
        )
        .unwrap();
        let rel = &paths["/v1/real-estate/mortgages/{registration_no}/release"]["post"];
        let _: crate::protocol::MortgageReleaseRequest = serde_json::from_value(
            rel["requestBody"]["content"]["application/json"]["example"].clone(),
        )
        .unwrap();
        let _: crate::protocol::MortgageReleaseResponse = serde_json::from_value(
            rel["responses"]["200"]["content"]["application/json"]["example"].clone(),
        )
        .unwrap();
        for op in [reg, rel] {
            assert!(op["responses"].get("409").is_some());
        }
        // The batch: its examples are the protocol's types, item by item.
        let batch = &paths[crate::protocol::BATCH_PATH]["post"];
        let asked: crate::protocol::BatchRequest = serde_json::from_value(
            batch["requestBody"]["content"]["application/json"]["example"].clone(),
        )
        .unwrap();
        assert!(
            asked
                .items
                .iter()
                .all(|i| Query::from_codes(&i.department, &i.query).is_some())
        );
        let items = batch["responses"]["200"]["content"]["application/json"]["example"]["items"]
            .as_array()
            .unwrap();
        assert_eq!(items.len(), asked.items.len());
        for item in items {
            let item: crate::protocol::BatchItem = serde_json::from_value(item.clone()).unwrap();
            assert_eq!(item.status == 200, item.answer.is_some());
            assert_eq!(item.status != 200, item.error.is_some());
        }
        for code in ["400", "401", "500", "503"] {
            assert!(batch["responses"].get(code).is_some(), "batch: no {code}");
        }
        let schemes = &doc["components"]["securitySchemes"];
        for h in [
            crate::protocol::H_APP,
            crate::protocol::H_TIMESTAMP,
            crate::protocol::H_NONCE,
            crate::protocol::H_SIGNATURE,
        ] {
            let found = schemes
                .as_object()
                .unwrap()
                .values()
                .any(|s| s["name"].as_str().map(str::to_ascii_lowercase) == Some(h.to_owned()));
            assert!(found, "no security scheme for header {h}");
        }
    }
}
