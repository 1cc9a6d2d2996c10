//! The production adapter of the data-sharing ports: an HTTP client for a provincial
//! data-exchange endpoint speaking [`crate::protocol`].
//!
//! - **Signed requests**: every attempt has a fresh nonce and timestamp, signed with
//!   HMAC-SM3 under the centre's secret.
//! - **Timeouts** for connecting and for the whole request, from [`ExchangeSettings`].
//! - **Retries with backoff**: a timeout, a refused connection or a `5xx` is retried up to
//!   `attempts` times, waiting `backoff`, `2 × backoff`, … (plus up to 50 % jitter).
//!   Look-ups only read, and the real-estate writes (mortgage registration and release)
//!   are idempotent at the registry by their keys, so retrying is safe. A `4xx` or a
//!   malformed answer is not retried; a `409` is the department refusing a write, given
//!   as `refused by the department (HTTP 409): <its reason>` and not counted against the
//!   breaker.
//! - **A circuit breaker per department**: after `breaker_failures` consecutive failed
//!   look-ups the department is not called for `breaker_cooldown`; then one probe is let
//!   through, and its success closes the breaker again.
//! - **Clear errors**: every failure becomes [`Unavailable`] with a reason a clerk can read
//!   ("timed out after 800 ms (3 attempts)", "circuit open: …"); nothing panics and
//!   nothing passes silently.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anju_app::sharing::ports::{
    Ask, BatchLookups, CivilAffairs, Credit, Fetched, HousingFiling, MedicalInsurance,
    PublicSecurity, Read, RealEstate, RentalFiling, SocialSecurity, Tax, UrbanRenewal,
};
use anju_domain::sharing::{
    Answer, CreditReport, DeathRecord, Department, Employment, FactKey, FactRead, Household,
    Identity, Invoice, Lease, Marriage, MedicalExpense, MortgageRegistration, MortgageRelease,
    MortgageRequest, Property, PurchaseContract, Query, RenewalShare, Unavailable, YearIncome,
};
use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::protocol::{
    self, BatchItem, BatchQuestion, BatchRequest, ErrorBody, H_APP, H_NONCE, H_SIGNATURE,
    H_TIMESTAMP, MORTGAGES_PATH, MortgageRegisterRequest, MortgageRegisterResponse,
    MortgageReleaseRequest, MortgageReleaseResponse, QueryRequest, QueryResponse,
};

/// Where the exchange is and how to talk to it.
#[derive(Clone)]
pub struct ExchangeSettings {
    /// Base URL, e.g. `https://dx.example.gov.cn/hpf` (no trailing slash needed).
    pub base_url: String,
    /// The centre's app id at the exchange.
    pub app_id: String,
    /// The shared signing secret (never printed).
    pub secret: String,
    /// TCP (and TLS) connect timeout.
    pub connect_timeout: Duration,
    /// Timeout of one attempt, end to end.
    pub request_timeout: Duration,
    /// Attempts per look-up (1 = no retry).
    pub attempts: u32,
    /// Wait before the first retry; doubled each time.
    pub backoff: Duration,
    /// Consecutive failed look-ups that open a department's breaker.
    pub breaker_failures: u32,
    /// How long an open breaker refuses calls before letting a probe through.
    pub breaker_cooldown: Duration,
}

impl fmt::Debug for ExchangeSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExchangeSettings")
            .field("base_url", &self.base_url)
            .field("app_id", &self.app_id)
            .field("secret", &"<redacted>")
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("attempts", &self.attempts)
            .field("backoff", &self.backoff)
            .field("breaker_failures", &self.breaker_failures)
            .field("breaker_cooldown", &self.breaker_cooldown)
            .finish()
    }
}

/// Why settings are unusable.
#[derive(Debug, thiserror::Error)]
#[error("exchange settings: {field} = {value:?}: {rule}")]
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
    exchange: SettingsSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsSection {
    base_url: String,
    app_id: String,
    /// Name of the environment variable holding the secret.
    secret_env: String,
    connect_timeout_ms: Option<u64>,
    request_timeout_ms: Option<u64>,
    attempts: Option<u32>,
    backoff_ms: Option<u64>,
    breaker_failures: Option<u32>,
    breaker_cooldown_ms: Option<u64>,
}

impl ExchangeSettings {
    /// Defaults for `base_url`: 300 ms connect, 2 s per attempt, 3 attempts, 50 ms
    /// backoff, breaker after 5 failures for 10 s.
    pub fn new(base_url: &str, app_id: &str, secret: &str) -> ExchangeSettings {
        ExchangeSettings {
            base_url: base_url.trim_end_matches('/').to_owned(),
            app_id: app_id.to_owned(),
            secret: secret.to_owned(),
            connect_timeout: Duration::from_millis(300),
            request_timeout: Duration::from_secs(2),
            attempts: 3,
            backoff: Duration::from_millis(50),
            breaker_failures: 5,
            breaker_cooldown: Duration::from_secs(10),
        }
    }

    /// Reads an `[exchange]` TOML section; the secret comes from the environment variable
    /// it names (`secret_env`), so it is never in a file that might be committed.
    pub fn from_toml(
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ExchangeSettings, SettingsError> {
        let file: SettingsFile = toml::from_str(text).map_err(|e| SettingsError {
            field: "file",
            value: e.message().to_owned(),
            rule: "must be TOML with an [exchange] section of known keys",
        })?;
        let s = file.exchange;
        let secret = env(&s.secret_env).ok_or(SettingsError {
            field: "secret_env",
            value: s.secret_env.clone(),
            rule: "names an environment variable that is not set",
        })?;
        let mut out = ExchangeSettings::new(&s.base_url, &s.app_id, &secret);
        let ms = Duration::from_millis;
        if let Some(v) = s.connect_timeout_ms {
            out.connect_timeout = ms(v);
        }
        if let Some(v) = s.request_timeout_ms {
            out.request_timeout = ms(v);
        }
        if let Some(v) = s.attempts {
            out.attempts = v;
        }
        if let Some(v) = s.backoff_ms {
            out.backoff = ms(v);
        }
        if let Some(v) = s.breaker_failures {
            out.breaker_failures = v;
        }
        if let Some(v) = s.breaker_cooldown_ms {
            out.breaker_cooldown = ms(v);
        }
        out.validate()?;
        Ok(out)
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let bad = |field, value: String, rule| Err(SettingsError { field, value, rule });
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return bad(
                "base_url",
                self.base_url.clone(),
                "must start with http:// or https://",
            );
        }
        if self.app_id.is_empty() || self.app_id.len() > 64 {
            return bad("app_id", self.app_id.clone(), "must be 1-64 characters");
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
        if self.request_timeout.is_zero() || self.connect_timeout.is_zero() {
            return bad(
                "request_timeout_ms",
                format!("{:?}", self.request_timeout),
                "timeouts must be positive",
            );
        }
        if self.breaker_failures == 0 {
            return bad("breaker_failures", "0".into(), "must be at least 1");
        }
        Ok(())
    }
}

/// Resolves an IP-literal host (the usual way to address a provincial exchange on a
/// government network, and always so for the simulator) without a DNS look-up; other
/// hosts go to ureq's default resolver. ureq's default spawns a thread per request to
/// time a look-up out even for an IP literal, which cost a third of the client's CPU.
/// Public so the other HTTP adapters (the bank client) build their agents the same way.
#[derive(Debug, Default)]
pub struct LiteralFirst(ureq::unversioned::resolver::DefaultResolver);

impl ureq::unversioned::resolver::Resolver for LiteralFirst {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        if let Some(authority) = uri.authority() {
            let host = authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']');
            let port = authority.port_u16().or(match uri.scheme_str() {
                Some("https") => Some(443),
                Some("http") => Some(80),
                _ => None,
            });
            if let (Ok(ip), Some(port)) = (host.parse::<std::net::IpAddr>(), port) {
                let mut out = self.empty();
                out.push(std::net::SocketAddr::new(ip, port));
                return Ok(out);
            }
        }
        self.0.resolve(uri, config, timeout)
    }
}

/// A circuit breaker's state for one department.
#[derive(Debug, Clone, Copy)]
enum Breaker {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
        failures: u32,
    },
    /// One probe is in flight; others are refused until it ends.
    HalfOpen,
}

/// How one attempt failed.
enum AttemptError {
    /// Worth another attempt (timeout, connection, 5xx).
    Transient(String),
    /// Not worth retrying (4xx, malformed answer).
    Final(String),
    /// The department answered `409`: it refuses the request (a business answer).
    Refused(String),
}

/// An answer with who gave it and when the department read it.
pub type Answered = (Answer, String, Timestamp);

/// The HTTP client. Cheap to share (`Arc`); keeps a connection pool.
pub struct ExchangeClient {
    settings: ExchangeSettings,
    agent: ureq::Agent,
    breakers: Mutex<HashMap<Department, Breaker>>,
}

impl fmt::Debug for ExchangeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExchangeClient")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl ExchangeClient {
    /// A client for `settings` (validated).
    pub fn new(settings: ExchangeSettings) -> Result<ExchangeClient, SettingsError> {
        settings.validate()?;
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(settings.connect_timeout))
            .timeout_global(Some(settings.request_timeout))
            .http_status_as_error(false)
            .max_idle_connections(256)
            .max_idle_connections_per_host(256)
            .user_agent(concat!("anju/", env!("CARGO_PKG_VERSION")))
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::default(),
            LiteralFirst::default(),
        );
        Ok(ExchangeClient {
            settings,
            agent,
            breakers: Mutex::new(HashMap::new()),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &ExchangeSettings {
        &self.settings
    }

    fn source(&self, d: Department) -> String {
        format!("{}/v1/{}", self.settings.base_url, d.code())
    }

    /// Asks `query` about `ask.subject`: breaker, attempts with backoff, validation.
    pub fn query(
        &self,
        query: Query,
        ask: &Ask,
    ) -> Result<(Answer, String, Timestamp), Unavailable> {
        let department = query.department();
        let unavailable = |reason: String| Unavailable { department, reason };
        self.admit(department).map_err(unavailable)?;
        let request = question(ask);
        let body = match serde_json::to_vec(&request) {
            Ok(b) => b,
            Err(e) => return Err(unavailable(format!("cannot encode the request: {e}"))),
        };
        let path = query.path();
        let url = format!("{}{path}", self.settings.base_url);
        let mut last = String::new();
        let mut attempts = 0;
        for attempt in 0..self.settings.attempts {
            attempts = attempt + 1;
            if attempt > 0 {
                std::thread::sleep(self.backoff(attempt));
            }
            match self.attempt(&url, &path, &body, query, &request.request_id) {
                Ok(r) => {
                    self.record(department, true);
                    return Ok((r.answer, self.source(department), r.read_at));
                }
                Err(AttemptError::Transient(why)) => last = why,
                Err(AttemptError::Final(why) | AttemptError::Refused(why)) => {
                    self.record(department, false);
                    tracing::warn!(department = %department, query = %query, reason = %why, "exchange look-up failed");
                    return Err(unavailable(why));
                }
            }
        }
        self.record(department, false);
        let reason = format!("{last} ({attempts} attempts)");
        tracing::warn!(department = %department, query = %query, reason = %reason, "exchange look-up failed");
        Err(unavailable(reason))
    }

    /// Asks several questions in one signed batch (`POST /v1/batch`), each answered on
    /// its own: one result per item, in order. The breaker is consulted once per
    /// department (an open one fails its items without asking) and told of every item;
    /// a batch that fails as a whole (timeout, connection, `5xx`) and the items answered
    /// `5xx` / `504` are asked again, up to `attempts`, with the same backoff as a single
    /// question; a `4xx` or garbage fails only the items it concerns.
    pub fn query_many(&self, items: &[(Query, &Ask)]) -> Vec<Result<Answered, Unavailable>> {
        let mut out: Vec<Option<Result<Answered, Unavailable>>> =
            items.iter().map(|_| None).collect();
        let mut admitted: HashMap<Department, Result<(), String>> = HashMap::new();
        let mut outstanding = Vec::with_capacity(items.len());
        for (i, (query, _)) in items.iter().enumerate() {
            let department = query.department();
            let verdict = admitted
                .entry(department)
                .or_insert_with(|| self.admit(department));
            match verdict {
                Ok(()) => outstanding.push(i),
                Err(why) => {
                    out[i] = Some(Err(Unavailable {
                        department,
                        reason: why.clone(),
                    }));
                }
            }
        }
        let wait_ms = u64::try_from(self.settings.request_timeout.as_millis() * 3 / 4)
            .unwrap_or(protocol::MAX_BATCH_WAIT_MS)
            .clamp(1, protocol::MAX_BATCH_WAIT_MS);
        let url = format!("{}{}", self.settings.base_url, protocol::BATCH_PATH);
        let mut last: HashMap<usize, String> = HashMap::new();
        let mut attempts = 0;
        for attempt in 0..self.settings.attempts {
            if outstanding.is_empty() {
                break;
            }
            attempts = attempt + 1;
            if attempt > 0 {
                std::thread::sleep(self.backoff(attempt));
            }
            let request = BatchRequest {
                wait_ms,
                items: outstanding
                    .iter()
                    .map(|&i| {
                        let (query, ask) = items[i];
                        BatchQuestion::new(query, question(ask))
                    })
                    .collect(),
            };
            let body = match serde_json::to_vec(&request) {
                Ok(b) => b,
                Err(e) => {
                    for &i in &outstanding {
                        last.insert(i, format!("cannot encode the request: {e}"));
                    }
                    break;
                }
            };
            let answers = match self.send(&url, protocol::BATCH_PATH, &body) {
                Ok(bytes) => batch_items(&bytes, outstanding.len()),
                Err(AttemptError::Transient(why)) => {
                    for &i in &outstanding {
                        last.insert(i, why.clone());
                    }
                    continue;
                }
                Err(AttemptError::Final(why) | AttemptError::Refused(why)) => Err(why),
            };
            let answers = match answers {
                Ok(a) => a,
                Err(why) => {
                    for i in outstanding.drain(..) {
                        out[i] = Some(Err(Unavailable {
                            department: items[i].0.department(),
                            reason: why.clone(),
                        }));
                    }
                    break;
                }
            };
            let mut again = Vec::new();
            for (i, item) in outstanding.iter().copied().zip(answers) {
                let (query, ask) = items[i];
                match batch_answer(item, query, &ask.request_id) {
                    Ok(r) => {
                        out[i] = Some(Ok((r.answer, self.source(query.department()), r.read_at)));
                    }
                    Err(AttemptError::Transient(why)) => {
                        last.insert(i, why);
                        again.push(i);
                    }
                    Err(AttemptError::Final(why) | AttemptError::Refused(why)) => {
                        out[i] = Some(Err(Unavailable {
                            department: query.department(),
                            reason: why,
                        }));
                    }
                }
            }
            outstanding = again;
        }
        for i in outstanding {
            let why = last.remove(&i).unwrap_or_default();
            out[i] = Some(Err(Unavailable {
                department: items[i].0.department(),
                reason: format!("{why} ({attempts} attempts)"),
            }));
        }
        items
            .iter()
            .zip(out)
            .map(|((query, _), r)| {
                let department = query.department();
                let r = r.unwrap_or_else(|| {
                    Err(Unavailable {
                        department,
                        reason: "not asked".to_owned(),
                    })
                });
                // An item refused by an open breaker was not asked: it tells the breaker
                // nothing.
                if admitted.get(&department).is_some_and(Result::is_ok) {
                    self.record(department, r.is_ok());
                }
                if let Err(u) = &r {
                    tracing::warn!(department = %department, query = %query, reason = %u.reason, "exchange look-up failed");
                }
                r
            })
            .collect()
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .settings
            .backoff
            .saturating_mul(1u32 << (attempt - 1).min(10));
        // Up to 50 % jitter from the nonce generator's randomness.
        let mut b = [0u8; 2];
        let r = if getrandom::fill(&mut b).is_ok() {
            u32::from(u16::from_le_bytes(b))
        } else {
            0
        };
        base + base / 2 * r / 65_536
    }

    fn attempt(
        &self,
        url: &str,
        path: &str,
        body: &[u8],
        query: Query,
        request_id: &str,
    ) -> Result<QueryResponse, AttemptError> {
        let bytes = self.send(url, path, body)?;
        let parsed: QueryResponse = serde_json::from_slice(&bytes)
            .map_err(|e| AttemptError::Final(format!("malformed answer: {e}")))?;
        ours(parsed, query, request_id)
    }

    /// One signed `POST` of `body` to `path`: the answer's bytes when it is a `200`.
    fn send(&self, url: &str, path: &str, body: &[u8]) -> Result<Vec<u8>, AttemptError> {
        let ts = Timestamp::now().as_second();
        let nonce = protocol::nonce();
        let canonical = protocol::canonical("POST", path, ts, &nonce, body);
        let signature = protocol::sign(self.settings.secret.as_bytes(), &canonical);
        let timeout_ms = self.settings.request_timeout.as_millis();
        let sent = self
            .agent
            .post(url)
            .header(H_APP, &self.settings.app_id)
            .header(H_TIMESTAMP, &ts.to_string())
            .header(H_NONCE, &nonce)
            .header(H_SIGNATURE, &signature)
            .content_type("application/json")
            .send(body);
        let mut response = match sent {
            Ok(r) => r,
            Err(ureq::Error::Timeout(_)) => {
                return Err(AttemptError::Transient(format!(
                    "timed out after {timeout_ms} ms"
                )));
            }
            Err(e) => {
                return Err(AttemptError::Transient(format!(
                    "exchange unreachable: {e}"
                )));
            }
        };
        let status = response.status().as_u16();
        let bytes = match response
            .body_mut()
            .with_config()
            .limit(16 * 1024 * 1024)
            .read_to_vec()
        {
            Ok(b) => b,
            Err(ureq::Error::Timeout(_)) => {
                return Err(AttemptError::Transient(format!(
                    "timed out after {timeout_ms} ms"
                )));
            }
            Err(e) => {
                return Err(AttemptError::Transient(format!("answer cut short: {e}")));
            }
        };
        if status == 409 {
            let detail = serde_json::from_slice::<ErrorBody>(&bytes)
                .map(|e| e.message)
                .unwrap_or_else(|_| "no reason given".to_owned());
            return Err(AttemptError::Refused(format!(
                "refused by the department (HTTP 409): {detail}"
            )));
        }
        if status != 200 {
            let detail = serde_json::from_slice::<ErrorBody>(&bytes)
                .map(|e| format!("{}: {}", e.error, e.message))
                .unwrap_or_else(|_| "no error body".to_owned());
            let why = format!("exchange answered HTTP {status} ({detail})");
            return Err(if status >= 500 {
                AttemptError::Transient(why)
            } else {
                AttemptError::Final(why)
            });
        }
        Ok(bytes)
    }

    /// A write to the real-estate registry (idempotent there, so retried like a look-up):
    /// breaker, attempts with backoff, the answer parsed and checked by `check`.
    fn write<T: DeserializeOwned>(
        &self,
        what: &str,
        path: &str,
        body: &impl Serialize,
        check: impl Fn(&T) -> Result<(), String>,
    ) -> Result<T, Unavailable> {
        let department = Department::RealEstate;
        let unavailable = |reason: String| Unavailable { department, reason };
        self.admit(department).map_err(unavailable)?;
        let body = match serde_json::to_vec(body) {
            Ok(b) => b,
            Err(e) => return Err(unavailable(format!("cannot encode the request: {e}"))),
        };
        let url = format!("{}{path}", self.settings.base_url);
        let mut last = String::new();
        let mut attempts = 0;
        for attempt in 0..self.settings.attempts {
            attempts = attempt + 1;
            if attempt > 0 {
                std::thread::sleep(self.backoff(attempt));
            }
            let outcome = self.send(&url, path, &body).and_then(|bytes| {
                let parsed: T = serde_json::from_slice(&bytes)
                    .map_err(|e| AttemptError::Final(format!("malformed answer: {e}")))?;
                check(&parsed)
                    .map_err(|e| AttemptError::Final(format!("malformed answer: {e}")))?;
                Ok(parsed)
            });
            match outcome {
                Ok(r) => {
                    self.record(department, true);
                    return Ok(r);
                }
                Err(AttemptError::Transient(why)) => last = why,
                Err(AttemptError::Refused(why)) => {
                    // The department answered: a refusal is not a failure of the link.
                    self.record(department, true);
                    tracing::warn!(department = %department, what, reason = %why, "exchange refused a write");
                    return Err(unavailable(why));
                }
                Err(AttemptError::Final(why)) => {
                    self.record(department, false);
                    tracing::warn!(department = %department, what, reason = %why, "exchange write failed");
                    return Err(unavailable(why));
                }
            }
        }
        self.record(department, false);
        let reason = format!("{last} ({attempts} attempts)");
        tracing::warn!(department = %department, what, reason = %reason, "exchange write failed");
        Err(unavailable(reason))
    }

    /// Lets a call through, or says why the breaker refuses it.
    fn admit(&self, d: Department) -> Result<(), String> {
        let mut map = self.breakers.lock().unwrap_or_else(|p| p.into_inner());
        let state = map.entry(d).or_insert(Breaker::Closed { failures: 0 });
        match *state {
            Breaker::Closed { .. } => Ok(()),
            Breaker::Open { until, failures } => {
                let now = Instant::now();
                if now >= until {
                    *state = Breaker::HalfOpen;
                    Ok(())
                } else {
                    Err(format!(
                        "circuit open after {failures} consecutive failures; the exchange is not called for another {} ms",
                        (until - now).as_millis()
                    ))
                }
            }
            Breaker::HalfOpen => Err(
                "circuit half-open: a probe is in flight; the exchange is not called meanwhile"
                    .to_owned(),
            ),
        }
    }

    fn record(&self, d: Department, ok: bool) {
        let mut map = self.breakers.lock().unwrap_or_else(|p| p.into_inner());
        let state = map.entry(d).or_insert(Breaker::Closed { failures: 0 });
        *state = match (*state, ok) {
            (_, true) => Breaker::Closed { failures: 0 },
            (Breaker::Closed { failures }, false)
                if failures + 1 < self.settings.breaker_failures =>
            {
                Breaker::Closed {
                    failures: failures + 1,
                }
            }
            (Breaker::Closed { failures }, false) | (Breaker::Open { failures, .. }, false) => {
                let failures = failures + 1;
                tracing::warn!(department = %d, failures, "exchange circuit opened");
                Breaker::Open {
                    until: Instant::now() + self.settings.breaker_cooldown,
                    failures,
                }
            }
            (Breaker::HalfOpen, false) => Breaker::Open {
                until: Instant::now() + self.settings.breaker_cooldown,
                failures: self.settings.breaker_failures,
            },
        };
    }

    fn typed<T>(
        &self,
        query: Query,
        ask: &Ask,
        pick: impl FnOnce(Answer) -> Option<T>,
    ) -> Fetched<T> {
        let (answer, source, read_at) = self.query(query, ask)?;
        match pick(answer) {
            Some(value) => Ok(Read {
                value,
                source,
                read_at,
            }),
            None => Err(Unavailable {
                department: query.department(),
                reason: format!("malformed answer: not a {query} answer"),
            }),
        }
    }
}

/// The wire question for `ask`.
fn question(ask: &Ask) -> QueryRequest {
    QueryRequest {
        request_id: ask.request_id.clone(),
        subject_id: ask.subject.clone(),
        year: ask.year,
        purpose: ask.purpose,
        case_no: ask.application_no.clone(),
        requester: ask.requester.clone(),
    }
}

/// The items of a batch's `200` answer, which must be `n`; each is parsed on its own
/// ([`batch_answer`]) so one garbled item spoils only itself.
fn batch_items(bytes: &[u8], n: usize) -> Result<Vec<serde_json::Value>, String> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("malformed answer: the batch's answer is not JSON: {e}"))?;
    let items = match value {
        serde_json::Value::Object(mut o) => match o.remove("items") {
            Some(serde_json::Value::Array(items)) => items,
            _ => return Err("malformed answer: the batch's answer has no `items` list".to_owned()),
        },
        _ => return Err("malformed answer: the batch's answer is not an object".to_owned()),
    };
    if items.len() != n {
        return Err(format!(
            "malformed answer: {} answers to a batch of {n} questions",
            items.len()
        ));
    }
    Ok(items)
}

/// One item of a batch's answer to `query` asked as `request_id`.
fn batch_answer(
    item: serde_json::Value,
    query: Query,
    request_id: &str,
) -> Result<QueryResponse, AttemptError> {
    let item: BatchItem = serde_json::from_value(item)
        .map_err(|e| AttemptError::Final(format!("malformed answer: {e}")))?;
    if item.status != 200 {
        let detail = item
            .error
            .map(|e| format!("{}: {}", e.error, e.message))
            .unwrap_or_else(|| "no error body".to_owned());
        let why = if item.status == 504 {
            format!("timed out at the exchange (HTTP 504: {detail})")
        } else {
            format!("exchange answered HTTP {} ({detail})", item.status)
        };
        return Err(if item.status >= 500 {
            AttemptError::Transient(why)
        } else {
            AttemptError::Final(why)
        });
    }
    let parsed = item.answer.ok_or_else(|| {
        AttemptError::Final("malformed answer: a 200 item without an answer".to_owned())
    })?;
    ours(parsed, query, request_id)
}

/// The answer if it is to our question (`query`, `request_id`); else a final error.
fn ours(
    parsed: QueryResponse,
    query: Query,
    request_id: &str,
) -> Result<QueryResponse, AttemptError> {
    if parsed.answer.query() != query {
        return Err(AttemptError::Final(format!(
            "malformed answer: asked {query}, got {}",
            parsed.answer.query()
        )));
    }
    if parsed.request_id != request_id {
        return Err(AttemptError::Final(format!(
            "malformed answer: request id {:?} is not ours",
            parsed.request_id
        )));
    }
    Ok(parsed)
}

macro_rules! pick {
    ($variant:ident) => {
        |a| match a {
            Answer::$variant(v) => Some(v),
            _ => None,
        }
    };
}

impl BatchLookups for ExchangeClient {
    /// The questions in one signed batch ([`ExchangeClient::query_many`]).
    fn fetch_many(&self, items: &[(FactKey, Ask)]) -> Option<Vec<Result<FactRead, Unavailable>>> {
        let asked: Vec<(Query, &Ask)> = items.iter().map(|(k, a)| (k.query, a)).collect();
        Some(
            self.query_many(&asked)
                .into_iter()
                .zip(items)
                .map(|(r, (key, _))| {
                    r.map(|(answer, source, read_at)| FactRead {
                        key: key.clone(),
                        answer,
                        source,
                        read_at,
                    })
                })
                .collect(),
        )
    }
}

impl PublicSecurity for ExchangeClient {
    fn identity(&self, ask: &Ask) -> Fetched<Option<Identity>> {
        self.typed(Query::Identity, ask, pick!(Identity))
    }
    fn household(&self, ask: &Ask) -> Fetched<Option<Household>> {
        self.typed(Query::Household, ask, pick!(Household))
    }
}

impl CivilAffairs for ExchangeClient {
    fn marriage(&self, ask: &Ask) -> Fetched<Marriage> {
        self.typed(Query::Marriage, ask, pick!(Marriage))
    }
    fn death(&self, ask: &Ask) -> Fetched<Option<DeathRecord>> {
        self.typed(Query::Death, ask, pick!(Death))
    }
}

impl RealEstate for ExchangeClient {
    fn properties(&self, ask: &Ask) -> Fetched<Vec<Property>> {
        self.typed(Query::Properties, ask, pick!(Properties))
    }

    fn register_mortgage(
        &self,
        ask: &Ask,
        req: &MortgageRequest,
    ) -> Result<MortgageRegistration, Unavailable> {
        let body = MortgageRegisterRequest::new(
            &ask.request_id,
            &ask.subject,
            ask.purpose,
            &ask.requester,
            req,
        );
        let r: MortgageRegisterResponse = self.write(
            "mortgage registration",
            MORTGAGES_PATH,
            &body,
            |r: &MortgageRegisterResponse| {
                if r.request_id != ask.request_id {
                    Err(format!("request id {:?} is not ours", r.request_id))
                } else if r.registration.property != req.property
                    || r.registration.loan_no != req.loan_no
                {
                    Err(format!(
                        "registration {} is for loan {} on {}, not loan {} on {}",
                        r.registration.registration_no,
                        r.registration.loan_no,
                        r.registration.property,
                        req.loan_no,
                        req.property
                    ))
                } else {
                    Ok(())
                }
            },
        )?;
        Ok(r.registration)
    }

    fn release_mortgage(
        &self,
        ask: &Ask,
        registration_no: &str,
    ) -> Result<MortgageRelease, Unavailable> {
        let body = MortgageReleaseRequest {
            request_id: ask.request_id.clone(),
            subject_id: ask.subject.clone(),
            purpose: ask.purpose,
            case_no: ask.application_no.clone(),
            requester: ask.requester.clone(),
        };
        let r: MortgageReleaseResponse = self.write(
            "mortgage release",
            &protocol::release_path(registration_no),
            &body,
            |r: &MortgageReleaseResponse| {
                if r.request_id != ask.request_id {
                    Err(format!("request id {:?} is not ours", r.request_id))
                } else if r.release.registration_no != registration_no {
                    Err(format!(
                        "released {}, not {registration_no}",
                        r.release.registration_no
                    ))
                } else {
                    Ok(())
                }
            },
        )?;
        Ok(r.release)
    }
}

impl HousingFiling for ExchangeClient {
    fn contracts(&self, ask: &Ask) -> Fetched<Vec<PurchaseContract>> {
        self.typed(Query::Contracts, ask, pick!(Contracts))
    }
}

impl RentalFiling for ExchangeClient {
    fn leases(&self, ask: &Ask) -> Fetched<Vec<Lease>> {
        self.typed(Query::Leases, ask, pick!(Leases))
    }
}

impl SocialSecurity for ExchangeClient {
    fn employment(&self, ask: &Ask) -> Fetched<Option<Employment>> {
        self.typed(Query::Employment, ask, pick!(Employment))
    }
}

impl Tax for ExchangeClient {
    fn income(&self, ask: &Ask) -> Fetched<Vec<YearIncome>> {
        self.typed(Query::Income, ask, pick!(Income))
    }
    fn invoices(&self, ask: &Ask) -> Fetched<Vec<Invoice>> {
        self.typed(Query::Invoices, ask, pick!(Invoices))
    }
}

impl Credit for ExchangeClient {
    fn credit(&self, ask: &Ask) -> Fetched<CreditReport> {
        self.typed(Query::Credit, ask, pick!(Credit))
    }
}

impl UrbanRenewal for ExchangeClient {
    fn renewal(&self, ask: &Ask) -> Fetched<Vec<RenewalShare>> {
        self.typed(Query::Renewal, ask, pick!(Renewal))
    }
}

impl MedicalInsurance for ExchangeClient {
    fn medical(&self, ask: &Ask) -> Fetched<Vec<MedicalExpense>> {
        self.typed(Query::Medical, ask, pick!(Medical))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_from_toml_take_the_secret_from_the_environment() {
        let text = r#"
            [exchange]
            base_url = "https://dx.example.gov.cn/hpf/"
            app_id = "quzhou-hpf"
            secret_env = "QZ_SECRET"
            request_timeout_ms = 800
            attempts = 2
        "#;
        let s = ExchangeSettings::from_toml(text, |k| {
            (k == "QZ_SECRET").then(|| "s3cret-value".to_owned())
        });
        let s = match s {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(s.base_url, "https://dx.example.gov.cn/hpf");
        assert_eq!(s.request_timeout, Duration::from_millis(800));
        assert_eq!(s.attempts, 2);
        assert!(!format!("{s:?}").contains("s3cret"));
        let missing = ExchangeSettings::from_toml(text, |_| None);
        assert!(matches!(
            missing,
            Err(SettingsError {
                field: "secret_env",
                ..
            })
        ));
        let unknown = ExchangeSettings::from_toml("[exchange]\nbase = 1", |_| None);
        assert!(matches!(unknown, Err(SettingsError { field: "file", .. })));
    }

    #[test]
    fn bad_settings_are_named() {
        let mut s = ExchangeSettings::new("ftp://x", "app", "secret-123");
        assert_eq!(s.validate().err().map(|e| e.field), Some("base_url"));
        s.base_url = "http://127.0.0.1:1".into();
        s.attempts = 0;
        assert_eq!(s.validate().err().map(|e| e.field), Some("attempts"));
    }

    #[test]
    fn breaker_opens_after_consecutive_failures_and_probes_after_cooldown() {
        let mut s = ExchangeSettings::new("http://127.0.0.1:1", "app", "secret-123");
        s.breaker_failures = 2;
        s.breaker_cooldown = Duration::from_millis(50);
        let c = match ExchangeClient::new(s) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        let d = Department::Tax;
        assert!(c.admit(d).is_ok());
        c.record(d, false);
        assert!(c.admit(d).is_ok(), "one failure does not open it");
        c.record(d, false);
        let refused = c.admit(d);
        assert!(
            matches!(&refused, Err(m) if m.contains("circuit open")),
            "{refused:?}"
        );
        // Other departments are unaffected.
        assert!(c.admit(Department::CivilAffairs).is_ok());
        std::thread::sleep(Duration::from_millis(60));
        assert!(c.admit(d).is_ok(), "a probe after the cool-down");
        assert!(c.admit(d).is_err(), "only one probe at a time");
        c.record(d, true);
        assert!(c.admit(d).is_ok(), "success closes it");
    }
}
