//! The production adapter of the settlement port: an HTTP client for a commissioned
//! bank's settlement API speaking [`crate::protocol`].
//!
//! - **Signed both ways**: every request has a fresh nonce and timestamp, signed with
//!   HMAC-SM3 under the shared secret; every `200` answer must be signed by the bank over
//!   the request's nonce, or it is not believed.
//! - **Instructions are sent once**: [`BankClient::submit`] never retries and never
//!   re-sends. A timeout, a broken connection, a `5xx`, a `4xx`, a malformed or badly
//!   signed answer, or an answer missing a serial makes that instruction's outcome
//!   unknown: [`Unreachable`], to be settled later by [`BankClient::status`] (which closes
//!   a serial the bank never received). Batches above [`MAX_BATCH`] go as several
//!   requests, one after the other.
//! - **Reads retry**: status, balance and statement are retried after a timeout, a refused
//!   connection or a `5xx`, up to `attempts` times with backoff `backoff`, `2 × backoff`, …
//!   (plus up to 50 % jitter); a `4xx` or a malformed answer is not retried.
//! - **Loans retry too** ([`CommercialLender`]): applying (`POST /v1/loans`), disbursing
//!   (`POST /v1/loans/{no}/disburse`) and the loan query are all idempotent at the bank —
//!   an application by its number, a disbursement by the loan number (the same order
//!   again moves nothing) — so all three are retried like reads. An invalid application
//!   or order is not sent at all: it is answered `Refused` at once.
//! - **Answers are checked**: results match serials, executed results carry an amount,
//!   a bank reference and a value date, statements add up; money is integer fen.

use std::fmt;
use std::time::Duration;

use anju_app::lending::{
    CommercialDecision, CommercialLender, CommercialLoan, CommercialRequest, DisburseOrder,
    Disbursement,
};
use anju_app::settlement::ports::{Bank, BankAnswer, Instruction, Statement, Unreachable};
use anju_domain::money::Fen;
use anju_exchange::client::LiteralFirst;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::protocol::{
    self, ANSWER_METHOD, BalanceBody, DisburseBody, DisburseRequest, ErrorBody, InstructionResult,
    InstructionsRequest, InstructionsResponse, LoanApplication, LoanDecisionBody, MAX_BATCH,
    NO_SUCH_LOAN, StatementBody, WireInstruction, WireLoan, match_results,
};

/// Where a bank's settlement API is and how to talk to it.
#[derive(Clone)]
pub struct BankSettings {
    /// The bank's code (e.g. `105`): who signs the answers and notices.
    pub code: String,
    /// Base URL, e.g. `https://cbs.example-bank.cn/hpf` (no trailing slash needed).
    pub base_url: String,
    /// The centre's app id at the bank.
    pub app_id: String,
    /// The shared signing secret (never printed).
    pub secret: String,
    /// TCP (and TLS) connect timeout.
    pub connect_timeout: Duration,
    /// Timeout of one request (instructions, status, balance), end to end.
    pub request_timeout: Duration,
    /// Timeout of one statement request (a day can have 500,000 lines).
    pub statement_timeout: Duration,
    /// Attempts per read (1 = no retry). Instructions are always sent once.
    pub attempts: u32,
    /// Wait before the first retry of a read; doubled each time.
    pub backoff: Duration,
}

impl fmt::Debug for BankSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BankSettings")
            .field("code", &self.code)
            .field("base_url", &self.base_url)
            .field("app_id", &self.app_id)
            .field("secret", &"<redacted>")
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("attempts", &self.attempts)
            .field("backoff", &self.backoff)
            .finish()
    }
}

/// Why settings are unusable.
#[derive(Debug, thiserror::Error)]
#[error("bank settings: {field} = {value:?}: {rule}")]
pub struct SettingsError {
    /// The field.
    pub field: &'static str,
    /// The value found.
    pub value: String,
    /// The rule broken.
    pub rule: &'static str,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    bank: SettingsSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManySettingsFile {
    bank: OneOrMany,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(SettingsSection),
    Many(Vec<SettingsSection>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsSection {
    code: String,
    base_url: String,
    app_id: String,
    /// Name of the environment variable holding the secret.
    secret_env: String,
    connect_timeout_ms: Option<u64>,
    request_timeout_ms: Option<u64>,
    statement_timeout_ms: Option<u64>,
    attempts: Option<u32>,
    backoff_ms: Option<u64>,
}

/// Largest answer read, except statements.
const ANSWER_LIMIT: u64 = 16 * 1024 * 1024;
/// Largest statement read (500,000 lines are about 100 MiB).
const STATEMENT_LIMIT: u64 = 1024 * 1024 * 1024;

impl BankSettings {
    /// Defaults for bank `code` at `base_url`: 300 ms connect, 5 s per request, 120 s per
    /// statement, 3 attempts per read, 100 ms backoff.
    pub fn new(code: &str, base_url: &str, app_id: &str, secret: &str) -> BankSettings {
        BankSettings {
            code: code.to_owned(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            app_id: app_id.to_owned(),
            secret: secret.to_owned(),
            connect_timeout: Duration::from_millis(300),
            request_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(120),
            attempts: 3,
            backoff: Duration::from_millis(100),
        }
    }

    /// Reads a `[bank]` TOML section; the secret comes from the environment variable it
    /// names (`secret_env`), so it is never in a file that might be committed.
    pub fn from_toml(
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<BankSettings, SettingsError> {
        let file: SettingsFile = toml::from_str(text).map_err(|e| SettingsError {
            field: "file",
            value: e.message().to_owned(),
            rule: "must be TOML with a [bank] section of known keys",
        })?;
        BankSettings::from_section(file.bank, &env)
    }

    /// Reads every bank of a file with one `[bank]` section or several `[[bank]]`
    /// sections (a centre has several commissioned banks); codes must be unique.
    pub fn all_from_toml(
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<BankSettings>, SettingsError> {
        let file: ManySettingsFile = toml::from_str(text).map_err(|e| SettingsError {
            field: "file",
            value: e.message().to_owned(),
            rule: "must be TOML with a [bank] section or [[bank]] sections of known keys",
        })?;
        let sections = match file.bank {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        };
        let mut out: Vec<BankSettings> = Vec::with_capacity(sections.len());
        for s in sections {
            let one = BankSettings::from_section(s, &env)?;
            if out.iter().any(|b| b.code == one.code) {
                return Err(SettingsError {
                    field: "code",
                    value: one.code,
                    rule: "appears in more than one [[bank]] section",
                });
            }
            out.push(one);
        }
        Ok(out)
    }

    fn from_section(
        s: SettingsSection,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<BankSettings, SettingsError> {
        let secret = env(&s.secret_env).ok_or(SettingsError {
            field: "secret_env",
            value: s.secret_env.clone(),
            rule: "names an environment variable that is not set",
        })?;
        let mut out = BankSettings::new(&s.code, &s.base_url, &s.app_id, &secret);
        let ms = Duration::from_millis;
        if let Some(v) = s.connect_timeout_ms {
            out.connect_timeout = ms(v);
        }
        if let Some(v) = s.request_timeout_ms {
            out.request_timeout = ms(v);
        }
        if let Some(v) = s.statement_timeout_ms {
            out.statement_timeout = ms(v);
        }
        if let Some(v) = s.attempts {
            out.attempts = v;
        }
        if let Some(v) = s.backoff_ms {
            out.backoff = ms(v);
        }
        out.validate()?;
        Ok(out)
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let bad = |field, value: String, rule| Err(SettingsError { field, value, rule });
        if protocol::check_bank_code(&self.code).is_err() {
            return bad("code", self.code.clone(), "must be 1-16 letters or digits");
        }
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return bad(
                "base_url",
                self.base_url.clone(),
                "must start with http:// or https://",
            );
        }
        if self.app_id.is_empty()
            || self.app_id.len() > 64
            || !self.app_id.bytes().all(|b| b.is_ascii_graphic())
        {
            return bad(
                "app_id",
                self.app_id.clone(),
                "must be 1-64 visible ASCII characters",
            );
        }
        if self.secret.len() < 8 {
            return bad(
                "secret",
                "<redacted>".into(),
                "must be at least 8 characters",
            );
        }
        if !(1..=10).contains(&self.attempts) {
            return bad("attempts", self.attempts.to_string(), "must be 1-10");
        }
        for (field, d) in [
            ("connect_timeout_ms", self.connect_timeout),
            ("request_timeout_ms", self.request_timeout),
            ("statement_timeout_ms", self.statement_timeout),
        ] {
            if d.is_zero() {
                return bad(field, "0".into(), "timeouts must be positive");
            }
        }
        Ok(())
    }
}

/// How one attempt failed.
#[derive(Debug)]
enum AttemptError {
    /// Worth another attempt of a read (timeout, connection, 5xx).
    Transient(String),
    /// Not worth retrying (4xx, malformed or badly signed answer).
    Final(String),
    /// A `404` with error `no_such_loan`: a definite "the bank has no such loan".
    NoSuchLoan,
}

impl AttemptError {
    fn reason(self) -> String {
        match self {
            AttemptError::Transient(r) | AttemptError::Final(r) => r,
            AttemptError::NoSuchLoan => "no such loan".to_owned(),
        }
    }
}

/// The HTTP client. Cheap to share (`Arc`); keeps a connection pool.
pub struct BankClient {
    settings: BankSettings,
    agent: ureq::Agent,
}

impl fmt::Debug for BankClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BankClient")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl BankClient {
    /// A client for `settings` (validated).
    pub fn new(settings: BankSettings) -> Result<BankClient, SettingsError> {
        settings.validate()?;
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(settings.connect_timeout))
            .timeout_global(Some(settings.request_timeout))
            .http_status_as_error(false)
            .max_idle_connections(64)
            .max_idle_connections_per_host(64)
            .user_agent(concat!("anju/", env!("CARGO_PKG_VERSION")))
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::default(),
            LiteralFirst::default(),
        );
        Ok(BankClient { settings, agent })
    }

    /// The settings.
    pub fn settings(&self) -> &BankSettings {
        &self.settings
    }

    fn unreachable(&self, reason: String) -> Unreachable {
        Unreachable {
            bank: self.settings.code.clone(),
            reason,
        }
    }

    /// One signed request; the answer's status and body (checked to be signed by the
    /// bank over our nonce when it is a `200`).
    fn attempt(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        timeout: Duration,
        limit: u64,
    ) -> Result<(u16, Vec<u8>), AttemptError> {
        let ts = Timestamp::now().as_second();
        let nonce = protocol::nonce();
        let headers = protocol::sign_request(
            self.settings.secret.as_bytes(),
            &self.settings.app_id,
            method,
            path,
            ts,
            &nonce,
            body,
        );
        let url = format!("{}{path}", self.settings.base_url);
        let timeout_ms = timeout.as_millis();
        let sent = if method == "POST" {
            let mut req = self
                .agent
                .post(&url)
                .config()
                .timeout_global(Some(timeout))
                .build();
            for (k, v) in &headers {
                req = req.header(*k, v);
            }
            req.content_type("application/json").send(body)
        } else {
            let mut req = self
                .agent
                .get(&url)
                .config()
                .timeout_global(Some(timeout))
                .build();
            for (k, v) in &headers {
                req = req.header(*k, v);
            }
            req.call()
        };
        let mut response = match sent {
            Ok(r) => r,
            Err(ureq::Error::Timeout(_)) => {
                return Err(AttemptError::Transient(format!(
                    "timed out after {timeout_ms} ms"
                )));
            }
            Err(e) => return Err(AttemptError::Transient(format!("bank unreachable: {e}"))),
        };
        let status = response.status().as_u16();
        let answer_headers = response.headers().clone();
        let bytes = match response.body_mut().with_config().limit(limit).read_to_vec() {
            Ok(b) => b,
            Err(ureq::Error::Timeout(_)) => {
                return Err(AttemptError::Transient(format!(
                    "timed out after {timeout_ms} ms"
                )));
            }
            Err(e) => return Err(AttemptError::Transient(format!("answer cut short: {e}"))),
        };
        if status != 200 {
            let parsed = serde_json::from_slice::<ErrorBody>(&bytes).ok();
            if status == 404 && parsed.as_ref().is_some_and(|e| e.error == NO_SUCH_LOAN) {
                return Err(AttemptError::NoSuchLoan);
            }
            let detail = parsed
                .map(|e| format!("{}: {}", e.error, e.message))
                .unwrap_or_else(|| "no error body".to_owned());
            let why = format!("bank answered HTTP {status} ({detail})");
            return Err(if status >= 500 {
                AttemptError::Transient(why)
            } else {
                AttemptError::Final(why)
            });
        }
        let secret = self.settings.secret.as_bytes().to_vec();
        let signer = protocol::authenticate(
            &answer_headers,
            ANSWER_METHOD,
            path,
            &bytes,
            |app| (app == self.settings.code).then(|| secret.clone()),
            Timestamp::now(),
        )
        .map_err(|e| AttemptError::Final(format!("answer not trusted: {e}")))?;
        if signer.nonce != nonce {
            return Err(AttemptError::Final(
                "answer not trusted: signed for another request (nonce differs)".to_owned(),
            ));
        }
        Ok((status, bytes))
    }

    /// A read with retries; the parsed answer.
    fn read<T: DeserializeOwned>(
        &self,
        path: &str,
        timeout: Duration,
        limit: u64,
    ) -> Result<T, Unreachable> {
        match self.call("GET", path, b"", timeout, limit)? {
            Some(t) => Ok(t),
            None => Err(self.unreachable(format!("GET {path}: not found (404)"))),
        }
    }

    /// An idempotent request with retries (after a timeout, a refused connection or a
    /// `5xx`); the parsed answer, or `None` for a `404` with error `no_such_loan`.
    fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        timeout: Duration,
        limit: u64,
    ) -> Result<Option<T>, Unreachable> {
        let mut last = String::new();
        let mut attempts = 0;
        for attempt in 0..self.settings.attempts {
            attempts = attempt + 1;
            if attempt > 0 {
                std::thread::sleep(self.backoff(attempt));
            }
            match self.attempt(method, path, body, timeout, limit) {
                Ok((_, bytes)) => {
                    return serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                        let why = format!("malformed answer to {method} {path}: {e}");
                        tracing::warn!(bank = %self.settings.code, reason = %why, "bank request failed");
                        self.unreachable(why)
                    });
                }
                Err(AttemptError::NoSuchLoan) => return Ok(None),
                Err(AttemptError::Transient(why)) => last = why,
                Err(AttemptError::Final(why)) => {
                    tracing::warn!(bank = %self.settings.code, method, path, reason = %why, "bank request failed");
                    return Err(self.unreachable(why));
                }
            }
        }
        let reason = format!("{last} ({attempts} attempts)");
        tracing::warn!(bank = %self.settings.code, method, path, reason = %reason, "bank request failed");
        Err(self.unreachable(reason))
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .settings
            .backoff
            .saturating_mul(1u32 << (attempt - 1).min(10));
        let mut b = [0u8; 2];
        let r = if getrandom::fill(&mut b).is_ok() {
            u32::from(u16::from_le_bytes(b))
        } else {
            0
        };
        base + base / 2 * r / 65_536
    }

    /// Sends one chunk (≤ [`MAX_BATCH`]) of checked instructions, once.
    fn submit_chunk(&self, chunk: &[WireInstruction]) -> Vec<Result<BankAnswer, Unreachable>> {
        let all_unknown = |why: String| -> Vec<Result<BankAnswer, Unreachable>> {
            tracing::warn!(bank = %self.settings.code, instructions = chunk.len(), reason = %why, "bank instructions: outcome unknown");
            chunk
                .iter()
                .map(|_| Err(self.unreachable(why.clone())))
                .collect()
        };
        let request = InstructionsRequest {
            instructions: chunk.to_vec(),
        };
        let body = match serde_json::to_vec(&request) {
            Ok(b) => b,
            Err(e) => return all_unknown(format!("cannot encode the instructions: {e}")),
        };
        let bytes = match self.attempt(
            "POST",
            "/v1/instructions",
            &body,
            self.settings.request_timeout,
            ANSWER_LIMIT,
        ) {
            Ok((_, b)) => b,
            Err(e) => return all_unknown(e.reason()),
        };
        let parsed: InstructionsResponse = match serde_json::from_slice(&bytes) {
            Ok(p) => p,
            Err(e) => return all_unknown(format!("malformed answer: {e}")),
        };
        let serials: Vec<&str> = chunk.iter().map(|i| i.serial.as_str()).collect();
        match_results(&serials, parsed.results)
            .into_iter()
            .zip(chunk)
            .map(|(r, i)| match r {
                None => Err(self.unreachable(format!(
                    "the bank's answer has no result for serial {}",
                    i.serial
                ))),
                Some(r) => r
                    .answer()
                    .map_err(|e| self.unreachable(format!("malformed answer: {e}"))),
            })
            .collect()
    }
}

impl Bank for BankClient {
    fn code(&self) -> &str {
        &self.settings.code
    }

    fn submit(&self, batch: &[Instruction]) -> Vec<Result<BankAnswer, Unreachable>> {
        let mut out: Vec<Option<Result<BankAnswer, Unreachable>>> = vec![None; batch.len()];
        // Instructions the bank would refuse as a bad request are not sent at all: a
        // definite "not executed" (the bank never saw them).
        let mut send: Vec<(usize, WireInstruction)> = Vec::with_capacity(batch.len());
        for (i, ins) in batch.iter().enumerate() {
            let wire = WireInstruction::from_port(ins);
            match wire.validate() {
                Ok(()) => send.push((i, wire)),
                Err(e) => {
                    tracing::warn!(bank = %self.settings.code, serial = %ins.serial, reason = %e, "instruction not sent");
                    out[i] = Some(Ok(BankAnswer::Rejected {
                        reason: format!("not sent (invalid instruction): {e}"),
                    }));
                }
            }
        }
        for chunk in send.chunks(MAX_BATCH) {
            let wires: Vec<WireInstruction> = chunk.iter().map(|(_, w)| w.clone()).collect();
            for ((i, _), answer) in chunk.iter().zip(self.submit_chunk(&wires)) {
                out[*i] = Some(answer);
            }
        }
        out.into_iter()
            .map(|a| a.unwrap_or_else(|| Err(self.unreachable("not answered".to_owned()))))
            .collect()
    }

    fn status(&self, serial: &str) -> Result<BankAnswer, Unreachable> {
        protocol::check_serial(serial)
            .map_err(|e| self.unreachable(format!("cannot ask about serial {serial:?}: {e}")))?;
        let path = format!("/v1/instructions/{serial}");
        let r: InstructionResult = self.read(&path, self.settings.request_timeout, ANSWER_LIMIT)?;
        if r.serial != serial {
            return Err(self.unreachable(format!(
                "malformed answer: asked about {serial}, answered about {:?}",
                r.serial
            )));
        }
        r.answer()
            .map_err(|e| self.unreachable(format!("malformed answer: {e}")))
    }

    fn balance(&self, account: &str) -> Result<Fen, Unreachable> {
        protocol::check_account(account)
            .map_err(|e| self.unreachable(format!("cannot ask about account {account:?}: {e}")))?;
        let path = format!("/v1/accounts/{account}/balance");
        let b: BalanceBody = self.read(&path, self.settings.request_timeout, ANSWER_LIMIT)?;
        if b.account != account {
            return Err(self.unreachable(format!(
                "malformed answer: balance of {account} asked, of {:?} answered",
                b.account
            )));
        }
        Ok(Fen::new(b.balance_fen))
    }

    fn statement(&self, account: &str, date: Date) -> Result<Statement, Unreachable> {
        protocol::check_account(account)
            .map_err(|e| self.unreachable(format!("cannot ask about account {account:?}: {e}")))?;
        let path = format!("/v1/accounts/{account}/statement?date={date}");
        let s: StatementBody =
            self.read(&path, self.settings.statement_timeout, STATEMENT_LIMIT)?;
        s.to_port(account, date)
            .map_err(|e| self.unreachable(format!("malformed statement: {e}")))
    }
}

/// The commercial part of combination loans, over the bank's lending API. Every call is
/// retried with backoff after a timeout, a refused connection or a `5xx` (all three are
/// idempotent at the bank); an invalid request is refused here without being sent.
impl CommercialLender for BankClient {
    fn code(&self) -> &str {
        &self.settings.code
    }

    fn apply(&self, request: &CommercialRequest) -> Result<CommercialDecision, Unreachable> {
        let wire = LoanApplication::from_port(request);
        if let Err(e) = wire.validate() {
            return Ok(CommercialDecision::Refused {
                reason: format!("not sent (invalid application): {e}"),
            });
        }
        let body = serde_json::to_vec(&wire)
            .map_err(|e| self.unreachable(format!("cannot encode the application: {e}")))?;
        let answer: LoanDecisionBody = self
            .call(
                "POST",
                "/v1/loans",
                &body,
                self.settings.request_timeout,
                ANSWER_LIMIT,
            )?
            .ok_or_else(|| self.unreachable("malformed answer: 404 to an application".into()))?;
        answer
            .to_port(&request.application_no)
            .map_err(|e| self.unreachable(format!("malformed answer: {e}")))
    }

    fn disburse(
        &self,
        bank_loan_no: &str,
        order: &DisburseOrder,
    ) -> Result<Disbursement, Unreachable> {
        let wire = DisburseRequest::from_port(order);
        if let Err(e) = protocol::check_serial(bank_loan_no)
            .map_err(|e| format!("the loan number {e}"))
            .and_then(|()| wire.validate())
        {
            return Ok(Disbursement::Refused {
                reason: format!("not sent (invalid order): {e}"),
            });
        }
        let body = serde_json::to_vec(&wire)
            .map_err(|e| self.unreachable(format!("cannot encode the order: {e}")))?;
        let path = format!("/v1/loans/{bank_loan_no}/disburse");
        let answer: DisburseBody = self
            .call(
                "POST",
                &path,
                &body,
                self.settings.request_timeout,
                ANSWER_LIMIT,
            )?
            .ok_or_else(|| self.unreachable("malformed answer: 404 to a disbursement".into()))?;
        answer
            .to_port(bank_loan_no)
            .map_err(|e| self.unreachable(format!("malformed answer: {e}")))
    }

    fn loan(&self, bank_loan_no: &str) -> Result<Option<CommercialLoan>, Unreachable> {
        protocol::check_serial(bank_loan_no).map_err(|e| {
            self.unreachable(format!("cannot ask about loan {bank_loan_no:?}: {e}"))
        })?;
        let path = format!("/v1/loans/{bank_loan_no}");
        let Some(wire): Option<WireLoan> = self.call(
            "GET",
            &path,
            b"",
            self.settings.request_timeout,
            ANSWER_LIMIT,
        )?
        else {
            return Ok(None);
        };
        if wire.bank_loan_no != bank_loan_no {
            return Err(self.unreachable(format!(
                "malformed answer: asked about loan {bank_loan_no}, answered about {:?}",
                wire.bank_loan_no
            )));
        }
        wire.to_port()
            .map(Some)
            .map_err(|e| self.unreachable(format!("malformed answer: {e}")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn settings_from_toml_take_the_secret_from_the_environment() {
        let text = r#"
            [bank]
            code = "105"
            base_url = "https://cbs.example-bank.cn/hpf/"
            app_id = "quzhou-hpf"
            secret_env = "CCB_SECRET"
            request_timeout_ms = 800
            attempts = 2
        "#;
        let s = BankSettings::from_toml(text, |k| {
            (k == "CCB_SECRET").then(|| "s3cret-value".to_owned())
        })
        .unwrap();
        assert_eq!(s.base_url, "https://cbs.example-bank.cn/hpf");
        assert_eq!(s.code, "105");
        assert_eq!(s.request_timeout, Duration::from_millis(800));
        assert_eq!(s.statement_timeout, Duration::from_secs(120));
        assert_eq!(s.attempts, 2);
        assert!(!format!("{s:?}").contains("s3cret"));
        let missing = BankSettings::from_toml(text, |_| None);
        assert!(matches!(
            missing,
            Err(SettingsError {
                field: "secret_env",
                ..
            })
        ));
        let unknown = BankSettings::from_toml("[bank]\nbase = 1", |_| None);
        assert!(matches!(unknown, Err(SettingsError { field: "file", .. })));
        let one = BankSettings::all_from_toml(text, |_| Some("s3cret-value".to_owned())).unwrap();
        assert_eq!(one.len(), 1);
    }

    #[test]
    fn several_banks_come_from_bank_arrays() {
        let text = r#"
            [[bank]]
            code = "105"
            base_url = "http://127.0.0.1:8091"
            app_id = "anju"
            secret_env = "CCB"

            [[bank]]
            code = "102"
            base_url = "http://127.0.0.1:8092"
            app_id = "anju"
            secret_env = "ICBC"
        "#;
        let env = |k: &str| Some(format!("{k}-secret-value"));
        let all = BankSettings::all_from_toml(text, env).unwrap();
        assert_eq!(
            all.iter().map(|b| b.code.as_str()).collect::<Vec<_>>(),
            ["105", "102"]
        );
        assert_eq!(all[1].secret, "ICBC-secret-value");
        let twice = text.replace("\"102\"", "\"105\"");
        let e = BankSettings::all_from_toml(&twice, env).unwrap_err();
        assert_eq!(e.field, "code");
        let e = BankSettings::all_from_toml("[[bank]]\ncode = 1", env).unwrap_err();
        assert_eq!(e.field, "file");
    }

    #[test]
    fn bad_settings_are_named() {
        let mut s = BankSettings::new("105", "ftp://x", "anju", "secret-123");
        assert_eq!(s.validate().err().map(|e| e.field), Some("base_url"));
        s.base_url = "http://127.0.0.1:1".into();
        s.attempts = 0;
        assert_eq!(s.validate().err().map(|e| e.field), Some("attempts"));
        s.attempts = 1;
        s.code = "10 5".into();
        assert_eq!(s.validate().err().map(|e| e.field), Some("code"));
        s.code = "105".into();
        s.secret = "short".into();
        let e = s.validate().unwrap_err();
        assert_eq!(e.field, "secret");
        assert!(!e.to_string().contains("short"));
        s.secret = "long-enough".into();
        s.statement_timeout = Duration::ZERO;
        assert_eq!(
            s.validate().err().map(|e| e.field),
            Some("statement_timeout_ms")
        );
    }

    #[test]
    fn nothing_listening_is_unreachable_and_invalid_instructions_are_not_sent() {
        // A port nobody listens on (bound then dropped).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut s = BankSettings::new(
            "105",
            &format!("http://127.0.0.1:{port}"),
            "anju",
            "secret-123",
        );
        s.attempts = 2;
        s.backoff = Duration::from_millis(1);
        let c = BankClient::new(s).unwrap();
        let ok = Instruction {
            serial: "S1".into(),
            kind: anju_domain::settlement::InstructionKind::Payment,
            business_type: anju_domain::codes::SettlementBusinessType::PartialWithdrawal,
            debit_account: "33001".into(),
            credit_account: "6217".into(),
            credit_name: "王伟".into(),
            credit_bank: None,
            amount: Fen::new(100),
            memo: String::new(),
        };
        let bad = Instruction {
            serial: "S 2".into(),
            ..ok.clone()
        };
        let answers = c.submit(&[ok, bad]);
        let e = answers[0].clone().unwrap_err();
        assert_eq!(e.bank, "105");
        assert!(e.reason.contains("unreachable"), "{e}");
        assert!(
            matches!(&answers[1], Ok(BankAnswer::Rejected { reason }) if reason.contains("not sent")),
            "{:?}",
            answers[1]
        );
        let e = c.status("S1").unwrap_err();
        assert!(e.reason.contains("2 attempts"), "{e}");
        assert!(c.balance("bad account").is_err());
    }
}
