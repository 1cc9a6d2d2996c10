//! `anju bank-sim`: a stand-alone commissioned bank that serves the
//! [`protocol`](crate::protocol) from its own books in an SQLite file, executes every
//! instruction exactly once (surviving crashes of its own process), delivers signed
//! notices from an outbox, forwards transfers to peer simulators, and injects [`faults`]
//! on demand.
//!
//! * [`ledger`]: the books (accounts, instructions, statement lines, closed serials, the
//!   notice outbox) and the atomic execution of an instruction;
//! * [`server`]: the axum server (signature, timestamp and nonce checks, the bank API,
//!   the simulator-only `/sim/…` admin API, notice delivery, forwarding, faults);
//! * [`lending`]: commercial loans (the commercial part of combination loans): pricing,
//!   credit rules, approval, disbursement;
//! * [`faults`]: the fault-injection settings and their seeded dice;
//! * [`admin`]: a blocking client of the `/sim/…` admin API;
//! * [`process`]: [`process::BankSimProcess`], the simulator as a child process;
//! * [`OPENAPI`]: the OpenAPI 3.1 document of the protocol (`docs/bank-openapi.json`).

pub mod admin;
pub mod faults;
pub mod ledger;
pub mod lending;
pub mod process;
pub mod server;

pub use anju_exchange::sim::Prng;

/// The OpenAPI 3.1 document of the bank protocol (`docs/bank-openapi.json`), served at
/// `GET /openapi.json` and printed by `anju bank-sim --openapi`.
pub const OPENAPI: &str = include_str!("../../../../docs/bank-openapi.json");

/// The development secret `anju bank-sim` uses when none is given (allowed on loopback
/// only) and [`process::BankSimProcess`] passes by default.
pub const DEV_SECRET: &str = "anju-dev-bank-secret";
/// The app id the centre signs with by default.
pub const DEFAULT_APP_ID: &str = "anju";
/// The bank code the simulator is by default (China Construction Bank).
pub const DEFAULT_BANK: &str = "105";
/// The first line `anju bank-sim` prints on stdout, followed by `http://ADDR`.
pub const LISTENING: &str = "bank-sim listening on ";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::protocol::{
        BalanceBody, DisburseBody, DisburseRequest, InstructionResult, InstructionsRequest,
        InstructionsResponse, LoanApplication, LoanDecisionBody, NoticeBody, StatementBody,
        WireLoan,
    };

    fn examples(content: &serde_json::Value) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        if let Some(e) = content.get("example") {
            out.push(e.clone());
        }
        if let Some(es) = content.get("examples").and_then(|e| e.as_object()) {
            out.extend(es.values().map(|e| e["value"].clone()));
        }
        out
    }

    /// The OpenAPI document lists every path the server routes, and every example of the
    /// bank API parses as the protocol's type.
    #[test]
    fn openapi_document_matches_the_protocol() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
        assert_eq!(doc["openapi"].as_str().unwrap_or("").get(..4), Some("3.1."));
        let paths = doc["paths"].as_object().unwrap();
        for p in server::PATHS {
            assert!(paths.contains_key(p), "{p} is missing from the document");
        }
        assert_eq!(paths.len(), server::PATHS.len(), "paths the server lacks");
        let ok = |path: &str, method: &str| {
            let op = &paths[path][method];
            for code in ["400", "401", "404", "500", "503"] {
                assert!(op["responses"].get(code).is_some(), "{path}: no {code}");
            }
            let c = &op["responses"]["200"]["content"]["application/json"];
            let ex = examples(c);
            assert!(!ex.is_empty(), "{path}: no example answer");
            ex
        };
        let req = &paths["/v1/instructions"]["post"]["requestBody"]["content"]["application/json"];
        for e in examples(req) {
            InstructionsRequest::parse(&serde_json::to_vec(&e).unwrap()).unwrap();
        }
        for e in ok("/v1/instructions", "post") {
            serde_json::from_value::<InstructionsResponse>(e).unwrap();
        }
        for e in ok("/v1/instructions/{serial}", "get") {
            let r: InstructionResult = serde_json::from_value(e).unwrap();
            r.answer().unwrap();
        }
        for e in ok("/v1/accounts/{account}/balance", "get") {
            serde_json::from_value::<BalanceBody>(e).unwrap();
        }
        for e in ok("/v1/accounts/{account}/statement", "get") {
            let s: StatementBody = serde_json::from_value(e).unwrap();
            s.to_port(&s.account, s.date).unwrap();
        }
        let req = &paths["/v1/loans"]["post"]["requestBody"]["content"]["application/json"];
        for e in examples(req) {
            let a = LoanApplication::parse(&serde_json::to_vec(&e).unwrap()).unwrap();
            for ans in ok("/v1/loans", "post") {
                let d: LoanDecisionBody = serde_json::from_value(ans).unwrap();
                let port = d.to_port(&d.application_no).unwrap();
                // The example approval is exactly the simulator's pricing and schedule.
                if let anju_app::lending::CommercialDecision::Approved(loan) = port {
                    let rules = lending::LendingRules::default();
                    assert_eq!(loan.annual_rate, rules.decide(&a).unwrap());
                    let rows = anju_domain::loan::schedule(
                        loan.amount,
                        loan.annual_rate,
                        loan.months,
                        loan.method,
                        Some((a.requested_on, loan.repay_day)),
                    )
                    .unwrap();
                    assert_eq!(loan.schedule, rows);
                }
            }
        }
        for e in ok("/v1/loans/{bank_loan_no}", "get") {
            let l: WireLoan = serde_json::from_value(e).unwrap();
            let port = l.to_port().unwrap();
            let from = match port.status {
                anju_app::lending::CommercialStatus::Disbursed { on, .. } => on,
                _ => jiff::civil::date(2026, 11, 10),
            };
            let rows = anju_domain::loan::schedule(
                port.amount,
                port.annual_rate,
                port.months,
                port.method,
                Some((from, port.repay_day)),
            )
            .unwrap();
            assert_eq!(port.schedule, rows);
        }
        let req = &paths["/v1/loans/{bank_loan_no}/disburse"]["post"]["requestBody"]["content"]["application/json"];
        for e in examples(req) {
            DisburseRequest::parse(&serde_json::to_vec(&e).unwrap()).unwrap();
        }
        for e in ok("/v1/loans/{bank_loan_no}/disburse", "post") {
            let d: DisburseBody = serde_json::from_value(e).unwrap();
            d.to_port(&d.bank_loan_no).unwrap();
        }
        let notice =
            &doc["webhooks"]["notice"]["post"]["requestBody"]["content"]["application/json"];
        let ex = examples(notice);
        assert_eq!(ex.len(), 2);
        for e in ex {
            let n: NoticeBody = serde_json::from_value(e).unwrap();
            n.to_port().unwrap();
        }
        let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
        for h in [
            crate::protocol::H_APP,
            crate::protocol::H_TIMESTAMP,
            crate::protocol::H_NONCE,
            crate::protocol::H_SIGNATURE,
        ] {
            assert!(
                schemes.values().any(|s| s["name"] == h),
                "no security scheme for header {h}"
            );
        }
    }
}
