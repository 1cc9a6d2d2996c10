//! `anju idp-sim`: a stand-alone identity provider that serves the
//! [`protocol`](crate::protocol) for a list of [`people`], with [`faults`] injected on
//! demand (latency, 5xx, malformed answers, tokens with a bad signature or already
//! expired), so the centre's login paths can be exercised without a provider.
//!
//! * [`people`]: who can log in and how (its own file, or the exchange simulator's
//!   dataset, or a built-in sample);
//! * [`server`]: the axum server (codes, client authentication, tokens, logging with
//!   masked IDs, graceful shutdown);
//! * [`faults`]: the fault-injection settings and their seeded dice;
//! * [`process`]: the simulator as a child process, for tests and the demo;
//! * [`OPENAPI`]: the OpenAPI 3.0 document of the protocol (`docs/idp-openapi.json`).

pub mod faults;
pub mod people;
pub mod process;
pub mod server;

/// The OpenAPI 3.0 document of the protocol (`docs/idp-openapi.json`), served at
/// `GET /openapi.json` and printed by `anju idp-sim --openapi`.
pub const OPENAPI: &str = include_str!("../../../../docs/idp-openapi.json");

/// The development client secret (`--client-secret` and `$ANJU_IDP_SECRET` unset).
pub const DEV_SECRET: &str = "anju-dev-idp-secret";
/// The client id registered by default.
pub const DEFAULT_CLIENT_ID: &str = "anju";
/// The first line the simulator prints: this, then `http://ADDR`.
pub const LISTENING: &str = "idp-sim listening on ";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::protocol::{Discovery, ErrorBody, TokenResponse};

    /// The OpenAPI document names every path, and its examples are the protocol's types.
    #[test]
    fn openapi_document_matches_the_protocol() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
        assert_eq!(doc["openapi"].as_str().unwrap_or("").get(..2), Some("3."));
        let paths = doc["paths"].as_object().unwrap();
        let ex = |v: &serde_json::Value| v["content"]["application/json"]["example"].clone();
        let disc = &paths[crate::protocol::DISCOVERY_PATH]["get"]["responses"]["200"];
        let _: Discovery = serde_json::from_value(ex(disc)).unwrap();
        let auth = &paths[crate::protocol::AUTHORIZE_PATH]["get"];
        for code in ["200", "302", "400"] {
            assert!(auth["responses"].get(code).is_some(), "/authorize {code}");
        }
        let names: Vec<&str> = auth["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        for n in [
            "response_type",
            "client_id",
            "redirect_uri",
            "state",
            "nonce",
            "login_hint",
            "method",
        ] {
            assert!(names.contains(&n), "/authorize lacks {n}");
        }
        let token = &paths[crate::protocol::TOKEN_PATH]["post"];
        let ok: TokenResponse = serde_json::from_value(ex(&token["responses"]["200"])).unwrap();
        assert_eq!(ok.token_type, "Bearer");
        for code in ["400", "401", "500", "503"] {
            let _: ErrorBody = serde_json::from_value(ex(&token["responses"][code]))
                .unwrap_or_else(|e| panic!("/token {code}: {e}"));
        }
        let form = &token["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
            ["required"];
        assert_eq!(form.as_array().unwrap().len(), 5);
    }
}
