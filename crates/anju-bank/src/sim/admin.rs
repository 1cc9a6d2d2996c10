//! A blocking client of the simulator-only `/sim/…` API: open and fund accounts, list
//! them, book money arriving from outside, read the counts. For tests, the demo and
//! benchmarks; a real bank has no such API.

use std::time::Duration;

use anju_exchange::client::LiteralFirst;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ledger::{AccountRow, CreditBooked, CreditIn, OpenAccount};
use super::server::SimStats;
use crate::protocol::ErrorBody;

/// Why an admin call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// The simulator answered with an error status.
    #[error("bank-sim answered HTTP {status}: {message}")]
    Http {
        /// The status.
        status: u16,
        /// The error body's message (or the raw body).
        message: String,
    },
    /// The simulator could not be reached.
    #[error("bank-sim unreachable: {0}")]
    Transport(String),
    /// The answer was not what the API promises.
    #[error("bank-sim answered something unexpected: {0}")]
    Malformed(String),
}

/// The admin client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AdminClient {
    base_url: String,
    agent: ureq::Agent,
}

impl AdminClient {
    /// A client for the simulator at `base_url` (`http://127.0.0.1:PORT`).
    pub fn new(base_url: &str) -> AdminClient {
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(2)))
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::default(),
            LiteralFirst::default(),
        );
        AdminClient {
            base_url: base_url.trim_end_matches('/').to_owned(),
            agent,
        }
    }

    fn finish<T: DeserializeOwned>(
        sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T, AdminError> {
        let mut response = sent.map_err(|e| AdminError::Transport(e.to_string()))?;
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| AdminError::Transport(e.to_string()))?;
        if !(200..300).contains(&status) {
            let message = serde_json::from_slice::<ErrorBody>(&bytes)
                .map(|e| e.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned());
            return Err(AdminError::Http { status, message });
        }
        serde_json::from_slice(&bytes).map_err(|e| AdminError::Malformed(e.to_string()))
    }

    fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, AdminError> {
        let bytes = serde_json::to_vec(body).map_err(|e| AdminError::Malformed(e.to_string()))?;
        Self::finish(
            self.agent
                .post(&format!("{}{path}", self.base_url))
                .content_type("application/json")
                .send(&bytes[..]),
        )
    }

    fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, AdminError> {
        Self::finish(self.agent.get(&format!("{}{path}", self.base_url)).call())
    }

    /// Opens `account` held by `name` with `balance_fen`, or deposits `balance_fen` into
    /// it when it exists with that name. Whether it was opened now.
    pub fn open_account(
        &self,
        account: &str,
        name: &str,
        balance_fen: i64,
    ) -> Result<bool, AdminError> {
        self.put_account(&OpenAccount {
            account: account.to_owned(),
            name: name.to_owned(),
            balance_fen,
            frozen: None,
        })
    }

    /// `POST /sim/accounts` with every field (freezing included). Whether it was opened.
    pub fn put_account(&self, a: &OpenAccount) -> Result<bool, AdminError> {
        let v: serde_json::Value = self.post("/sim/accounts", a)?;
        Ok(v["opened"].as_bool().unwrap_or(false))
    }

    /// Every account with its balance.
    pub fn accounts(&self) -> Result<Vec<AccountRow>, AdminError> {
        #[derive(serde::Deserialize)]
        struct List {
            accounts: Vec<AccountRow>,
        }
        Ok(self.get::<List>("/sim/accounts")?.accounts)
    }

    /// Books money from outside into an account at the bank (and its credit notice).
    pub fn credit(&self, c: &CreditIn) -> Result<CreditBooked, AdminError> {
        self.post("/sim/credit", c)
    }

    /// The counts.
    pub fn stats(&self) -> Result<SimStats, AdminError> {
        self.get("/sim/stats")
    }

    /// Makes every undelivered notice due now.
    pub fn flush_notices(&self) -> Result<(), AdminError> {
        let _: serde_json::Value = self.post("/sim/notices", &serde_json::json!({}))?;
        Ok(())
    }

    /// Whether the simulator answers `/health`.
    pub fn healthy(&self) -> bool {
        self.get::<serde_json::Value>("/health")
            .is_ok_and(|v| v["status"] == "ok")
    }
}
