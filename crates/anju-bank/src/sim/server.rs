//! The simulator's HTTP server (axum on tokio).
//!
//! The bank API ([`crate::protocol`]), every request signed:
//! * `POST /v1/instructions`, `GET /v1/instructions/{serial}`,
//!   `GET /v1/accounts/{account}/balance`, `GET /v1/accounts/{account}/statement?date=…`;
//! * commercial lending ([`super::lending`]): `POST /v1/loans`,
//!   `POST /v1/loans/{bank_loan_no}/disburse`, `GET /v1/loans/{bank_loan_no}` — the
//!   latency, jitter and hang faults apply to them too (a `POST` hangs before or after
//!   deciding, like an instruction request).
//!
//! Unsigned:
//! * `GET /health`: `{"status":"ok","bank","business_date"}`;
//! * `GET /openapi.json`: the OpenAPI document ([`super::OPENAPI`]).
//!
//! Simulator-only, from loopback peers only (`403` otherwise), unsigned:
//! * `POST /sim/accounts` `{account, name, balance_fen, frozen?}`: open an account, or
//!   deposit into / freeze an existing one (same name; another name is a `409`);
//! * `GET /sim/accounts`: every account with its balance;
//! * `POST /sim/credit` `{account, amount_fen, counterparty_account, counterparty_name,
//!   memo, credit_id?}`: money from outside (a unit paying by bank transfer, a peer bank's
//!   transfer) booked into an account here, with a `credit` notice;
//! * `GET /sim/stats`: counts ([`SimStats`]);
//! * `POST /sim/notices`: every undelivered notice and transfer due now (after the
//!   callback or a peer came back up).
//!
//! A signed request is checked in this order: the four headers are present, the app is
//! the configured one, the timestamp is within [`MAX_CLOCK_SKEW_SECS`](crate::protocol::MAX_CLOCK_SKEW_SECS), the signature is
//! right and the nonce is new (else `401`, logged); then the body or path (else `400`
//! naming the field). Then the [`Faults`] apply. Every answer to an authenticated
//! request is signed by the bank over the request's nonce.
//!
//! Two background tasks deliver the outbox: notices to `--callback` (signed; delivered
//! when acknowledged with a 2xx, retried with backoff otherwise, resumed after a restart)
//! and transfers to peer simulators' `/sim/credit` (retried until accepted).

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anju_exchange::client::LiteralFirst;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, watch};

use super::OPENAPI;
use super::faults::{Dice, Faults, Hang};
use super::ledger::{
    BankDb, CreditIn, ExecContext, LedgerError, LedgerStats, OpenAccount, Opened, OutboxRow,
};
use super::lending::LendingRules;
use crate::protocol::{
    self, BalanceBody, DisburseRequest, ErrorBody, InstructionsRequest, InstructionsResponse,
    LoanApplication, NO_SUCH_LOAN, NOTICE_SIGNING_PATH, NonceGuard, check_account, check_serial,
};

/// Every path the server routes, for the OpenAPI test and the 404 message.
pub const PATHS: [&str; 13] = [
    "/v1/instructions",
    "/v1/instructions/{serial}",
    "/v1/accounts/{account}/balance",
    "/v1/accounts/{account}/statement",
    "/v1/loans",
    "/v1/loans/{bank_loan_no}",
    "/v1/loans/{bank_loan_no}/disburse",
    "/health",
    "/openapi.json",
    "/sim/accounts",
    "/sim/credit",
    "/sim/stats",
    "/sim/notices",
];

/// Most concurrent notice deliveries.
const DELIVERY_CONCURRENCY: usize = 16;
/// How long a request waits for its notices' acknowledgement
/// (`--notice-before-response-rate`) before answering anyway.
const NOTICE_WAIT: Duration = Duration::from_secs(10);
/// Longest wait between delivery attempts of one notice or transfer.
const MAX_RETRY_DELAY_MS: i64 = 10_000;

/// What the simulator is and how it behaves.
pub struct SimConfig {
    /// The bank's code (signs answers and notices).
    pub bank: String,
    /// The one caller accepted (`x-bank-app`).
    pub app_id: String,
    /// The shared signing secret.
    pub secret: String,
    /// Where notices go (none: they wait in the outbox).
    pub callback: Option<String>,
    /// Value date of everything executed.
    pub business_date: Date,
    /// Faults to inject.
    pub faults: Faults,
    /// Peer banks' simulators (bank code → base URL) that transfers to their accounts
    /// are forwarded to.
    pub peers: BTreeMap<String, String>,
    /// How commercial loans are priced and decided.
    pub lending: LendingRules,
}

/// The secret is never printed.
impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("bank", &self.bank)
            .field("app_id", &self.app_id)
            .field("secret", &"<redacted>")
            .field("callback", &self.callback)
            .field("business_date", &self.business_date)
            .field("faults", &self.faults)
            .field("peers", &self.peers)
            .field("lending", &self.lending)
            .finish()
    }
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Listening failed.
    #[error("bank-sim: {0}")]
    Io(#[from] std::io::Error),
    /// The books failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// Counters of this process.
#[derive(Debug, Default)]
struct Counters {
    executions: AtomicU64,
    refused: AtomicU64,
    hangs_before: AtomicU64,
    hangs_after: AtomicU64,
    notices_before_response: AtomicU64,
}

/// The server's shared state.
pub struct SimState {
    config: SimConfig,
    db: Arc<Mutex<BankDb>>,
    dice: Mutex<Dice>,
    nonces: NonceGuard,
    counters: Counters,
    stopping: watch::Receiver<bool>,
    wake: Notify,
    agent: ureq::Agent,
}

impl fmt::Debug for SimState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SimState {
    /// State for `config` over `db`; `stopping` turns `true` when the server shuts down.
    pub fn new(config: SimConfig, db: BankDb, stopping: watch::Receiver<bool>) -> SimState {
        let agent_config = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(1)))
            .timeout_global(Some(Duration::from_secs(5)))
            .http_status_as_error(false)
            .user_agent(concat!("anju-bank-sim/", env!("CARGO_PKG_VERSION")))
            .build();
        let agent = ureq::Agent::with_parts(
            agent_config,
            ureq::unversioned::transport::DefaultConnector::default(),
            LiteralFirst::default(),
        );
        SimState {
            dice: Mutex::new(Dice::new(config.faults.seed)),
            config,
            db: Arc::new(Mutex::new(db)),
            nonces: NonceGuard::new(),
            counters: Counters::default(),
            stopping,
            wake: Notify::new(),
            agent,
        }
    }

    fn dice(&self) -> std::sync::MutexGuard<'_, Dice> {
        self.dice.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the books on a blocking thread.
    async fn with_db<T, F>(&self, f: F) -> Result<T, LedgerError>
    where
        T: Send + 'static,
        F: FnOnce(&mut BankDb) -> Result<T, LedgerError> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        match tokio::task::spawn_blocking(move || {
            let mut guard = db.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut guard)
        })
        .await
        {
            Ok(r) => r,
            Err(e) => Err(LedgerError::Internal(format!(
                "the books' task failed: {e}"
            ))),
        }
    }
}

/// The routes.
pub fn router(state: Arc<SimState>) -> Router {
    let admin = Router::new()
        .route("/sim/accounts", get(list_accounts).post(open_account))
        .route("/sim/credit", post(credit))
        .route("/sim/stats", get(stats))
        .route("/sim/notices", post(flush_notices))
        .route_layer(axum::middleware::from_fn(loopback_only));
    Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        .route("/v1/instructions", post(submit))
        .route("/v1/instructions/{serial}", get(status))
        .route("/v1/accounts/{account}/balance", get(balance))
        .route("/v1/accounts/{account}/statement", get(statement))
        .route("/v1/loans", post(apply_loan))
        .route("/v1/loans/{bank_loan_no}", get(get_loan))
        .route("/v1/loans/{bank_loan_no}/disburse", post(disburse_loan))
        .merge(admin)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Serves `config` over `db` on `listener` until `shutdown` resolves, then finishes the
/// requests in flight (hanging ones end at once with a 503) and records a clean stop.
pub async fn serve<F>(
    listener: TcpListener,
    config: SimConfig,
    mut db: BankDb,
    shutdown: F,
) -> Result<(), SimError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let (starts, crashes) = db.mark_started()?;
    tracing::info!(
        bank = %config.bank,
        business_date = %config.business_date,
        starts,
        crashes_survived = crashes,
        callback = ?config.callback,
        faults = %config.faults,
        "bank-sim ready"
    );
    let (tx, rx) = watch::channel(false);
    let state = Arc::new(SimState::new(config, db, rx));
    let notices = tokio::spawn(deliver_notices(Arc::clone(&state)));
    let forwards = tokio::spawn(forward_credits(Arc::clone(&state)));
    let served = axum::serve(
        listener,
        router(Arc::clone(&state)).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("bank-sim stopping");
        let _ = tx.send(true);
    })
    .await;
    let _ = notices.await;
    let _ = forwards.await;
    state
        .with_db(|db| db.mark_stopped())
        .await
        .map_err(SimError::from)?;
    served?;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    anju_exchange::sim::server::shutdown_signal().await;
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(ErrorBody {
            error: code.to_owned(),
            message: message.into(),
        }),
    )
        .into_response()
}

fn ledger_error(e: &LedgerError) -> Response {
    match e {
        LedgerError::NotFound(m) => error(StatusCode::NOT_FOUND, "not_found", m.clone()),
        LedgerError::Conflict(m) => error(StatusCode::CONFLICT, "conflict", m.clone()),
        LedgerError::BadRequest(m) => error(StatusCode::BAD_REQUEST, "bad_request", m.clone()),
        LedgerError::Sqlite(_) | LedgerError::Internal(_) => {
            tracing::error!(error = %e, "bank-sim: the books failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "bank_error",
                format!("the bank's books failed: {e}"),
            )
        }
    }
}

/// An authenticated request: the path signed and the nonce to sign the answer over.
struct Authed {
    path: String,
    nonce: String,
}

impl Authed {
    /// A signed answer with `body` (JSON).
    fn answer(&self, state: &SimState, status: StatusCode, body: Vec<u8>) -> Response {
        let headers = protocol::sign_answer(
            state.config.secret.as_bytes(),
            &state.config.bank,
            &self.path,
            Timestamp::now().as_second(),
            &self.nonce,
            &body,
        );
        let mut response = (status, [(CONTENT_TYPE, "application/json")], body).into_response();
        for (name, value) in headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static(name), v);
            }
        }
        response
    }

    fn json<T: Serialize>(&self, state: &SimState, body: &T) -> Response {
        match serde_json::to_vec(body) {
            Ok(b) => self.answer(state, StatusCode::OK, b),
            Err(e) => self.error(
                state,
                StatusCode::INTERNAL_SERVER_ERROR,
                "bank_error",
                format!("cannot write the answer: {e}"),
            ),
        }
    }

    fn error(&self, state: &SimState, status: StatusCode, code: &str, message: String) -> Response {
        if status.is_client_error() {
            tracing::warn!(path = %self.path, status = status.as_u16(), "bank-sim: {message}");
        }
        let body = serde_json::to_vec(&ErrorBody {
            error: code.to_owned(),
            message,
        })
        .unwrap_or_default();
        self.answer(state, status, body)
    }

    fn ledger_error(&self, state: &SimState, e: &LedgerError) -> Response {
        let (status, code) = match e {
            LedgerError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            LedgerError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            LedgerError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            LedgerError::Sqlite(_) | LedgerError::Internal(_) => {
                tracing::error!(error = %e, "bank-sim: the books failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "bank_error")
            }
        };
        self.error(state, status, code, e.to_string())
    }
}

/// The request target as signed: path, and `?query` when there is one.
fn target(uri: &Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned())
}

/// A request refused for its signature, app, timestamp or nonce: answered `401`.
struct Refused(String);

impl Refused {
    fn response(self) -> Response {
        error(StatusCode::UNAUTHORIZED, "unauthorized", self.0)
    }
}

/// Checks a request's signature headers and nonce; why not (logged) when they fail.
fn authenticate(
    state: &SimState,
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Authed, Refused> {
    let path = target(uri);
    let now = Timestamp::now();
    let secret = state.config.secret.as_bytes();
    let checked = protocol::authenticate(
        headers,
        method,
        &path,
        body,
        |app| (app == state.config.app_id).then(|| secret.to_vec()),
        now,
    )
    .map_err(|e| (e.app, e.reason))
    .and_then(|signer| {
        state
            .nonces
            .admit(&signer.nonce, signer.timestamp, now)
            .map(|()| signer.nonce.clone())
            .map_err(|reason| (Some(signer.app), reason))
    });
    match checked {
        Ok(nonce) => Ok(Authed { path, nonce }),
        Err((app, reason)) => {
            state.counters.refused.fetch_add(1, Ordering::Relaxed);
            let shown: String = path.chars().take(200).collect();
            tracing::warn!(method, path = %shown, app = ?app, reason = %reason, "bank-sim: request refused (401)");
            Err(Refused(reason))
        }
    }
}

/// Waits `d`, unless the server stops first (`false`).
async fn hang(state: &SimState, d: Duration) -> bool {
    let mut stopping = state.stopping.clone();
    tokio::select! {
        () = tokio::time::sleep(d) => true,
        _ = stopping.wait_for(|s| *s) => false,
    }
}

async fn health(State(state): State<Arc<SimState>>) -> Response {
    Json(serde_json::json!({
        "status": "ok",
        "bank": state.config.bank,
        "business_date": state.config.business_date,
    }))
    .into_response()
}

async fn openapi() -> Response {
    ([(CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn not_found(uri: Uri) -> Response {
    let path: String = uri.path().chars().take(200).collect();
    tracing::warn!(path = ?path, status = 404, "bank-sim: no such path");
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no such path {path:?}; the bank serves {}",
            PATHS.join(", ")
        ),
    )
}

async fn method_not_allowed(req: Request) -> Response {
    let path: String = req.uri().path().chars().take(200).collect();
    tracing::warn!(path = ?path, method = %req.method(), status = 405, "bank-sim: wrong method");
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "bad_request",
        format!("{path} does not take {}", req.method()),
    )
}

/// The simulator's admin API answers loopback peers only.
async fn loopback_only(req: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>()
        && !peer.ip().is_loopback()
    {
        tracing::warn!(peer = %peer, path = %req.uri().path(), "bank-sim: admin request from a remote peer refused");
        return error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the simulator's /sim API answers loopback clients only",
        );
    }
    next.run(req).await
}

async fn submit(
    State(state): State<Arc<SimState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authed = match authenticate(&state, "POST", &uri, &headers, &body) {
        Ok(a) => a,
        Err(r) => return r.response(),
    };
    let request = match InstructionsRequest::parse(&body) {
        Ok(r) => r,
        Err(m) => return authed.error(&state, StatusCode::BAD_REQUEST, "bad_request", m),
    };
    let n = request.instructions.len();
    let plan = state.config.faults.plan_submit(&mut state.dice(), n);
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    if let Some(Hang::Before(d)) = plan.hang {
        state.counters.hangs_before.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            instructions = n,
            hang_ms = d.as_millis(),
            "bank-sim: request hangs before it is received (simulated fault)"
        );
        if !hang(&state, d).await {
            return authed.error(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the bank is shutting down; nothing was executed".to_owned(),
            );
        }
    }
    let hold = plan.notice_before_response && state.config.callback.is_some();
    let crash_every = state.config.faults.crash_every;
    let st = Arc::clone(&state);
    let plans = plan.instructions.clone();
    let executed = state
        .with_db(move |db| {
            let ctx = ExecContext {
                value_date: st.config.business_date,
                now: Timestamp::now(),
                peers: &st.config.peers,
                hold_notices: hold,
            };
            let mut stop = || {
                let k = st.counters.executions.fetch_add(1, Ordering::SeqCst) + 1;
                crash_every.is_some_and(|every| every > 0 && k % every == 0)
            };
            db.execute(&request.instructions, &plans, &ctx, &mut stop)
        })
        .await;
    let executed = match executed {
        Ok(e) => e,
        Err(e) => return authed.ledger_error(&state, &e),
    };
    if executed.stopped {
        tracing::error!(
            executions = state.counters.executions.load(Ordering::SeqCst),
            "bank-sim: crashing after a committed execution (--crash-every, simulated fault)"
        );
        std::process::exit(101);
    }
    let rejected = executed
        .results
        .iter()
        .filter(|r| r.status == protocol::WireStatus::Rejected)
        .count();
    tracing::info!(
        instructions = n,
        executed_now = executed.executed,
        rejected,
        "bank-sim: instructions answered"
    );
    state.wake.notify_one();
    if hold {
        state
            .counters
            .notices_before_response
            .fetch_add(1, Ordering::Relaxed);
        deliver_held(&state, executed.notices.clone()).await;
    }
    if let Some(Hang::After(d)) = plan.hang {
        state.counters.hangs_after.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            instructions = n,
            hang_ms = d.as_millis(),
            "bank-sim: executed; the answer hangs (simulated fault)"
        );
        if !hang(&state, d).await {
            return authed.error(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the bank is shutting down".to_owned(),
            );
        }
    }
    authed.json(
        &state,
        &InstructionsResponse {
            results: executed.results,
        },
    )
}

async fn read_delay(state: &SimState) {
    let d = state.config.faults.plan_read(&mut state.dice());
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

async fn status(
    State(state): State<Arc<SimState>>,
    Path(serial): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let authed = match authenticate(&state, "GET", &uri, &headers, b"") {
        Ok(a) => a,
        Err(r) => return r.response(),
    };
    if let Err(e) = check_serial(&serial) {
        return authed.error(
            &state,
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the serial {e}"),
        );
    }
    read_delay(&state).await;
    let s = serial.clone();
    match state
        .with_db(move |db| db.status(&s, Timestamp::now()))
        .await
    {
        Ok(r) => {
            tracing::debug!(serial = %serial, status = r.status.code(), "bank-sim: status answered");
            authed.json(&state, &r)
        }
        Err(e) => authed.ledger_error(&state, &e),
    }
}

async fn balance(
    State(state): State<Arc<SimState>>,
    Path(account): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let authed = match authenticate(&state, "GET", &uri, &headers, b"") {
        Ok(a) => a,
        Err(r) => return r.response(),
    };
    if let Err(e) = check_account(&account) {
        return authed.error(
            &state,
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the account {e}"),
        );
    }
    read_delay(&state).await;
    let a = account.clone();
    match state.with_db(move |db| db.balance(&a)).await {
        Ok(Some(balance_fen)) => authed.json(
            &state,
            &BalanceBody {
                account,
                balance_fen,
                as_of: Timestamp::now(),
            },
        ),
        Ok(None) => authed.error(
            &state,
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "account {account} is not held at bank {}",
                state.config.bank
            ),
        ),
        Err(e) => authed.ledger_error(&state, &e),
    }
}

/// The `date` of a statement query string.
fn statement_date(query: Option<&str>) -> Result<Date, String> {
    let value = query
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("date="))
        .ok_or_else(|| "query parameter `date` (YYYY-MM-DD) is missing".to_owned())?;
    value
        .parse::<Date>()
        .map_err(|_| format!("query parameter `date` must be a date YYYY-MM-DD, not {value:?}"))
}

async fn statement(
    State(state): State<Arc<SimState>>,
    Path(account): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let authed = match authenticate(&state, "GET", &uri, &headers, b"") {
        Ok(a) => a,
        Err(r) => return r.response(),
    };
    if let Err(e) = check_account(&account) {
        return authed.error(
            &state,
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the account {e}"),
        );
    }
    let date = match statement_date(uri.query()) {
        Ok(d) => d,
        Err(m) => return authed.error(&state, StatusCode::BAD_REQUEST, "bad_request", m),
    };
    read_delay(&state).await;
    let a = account.clone();
    match state.with_db(move |db| db.statement_json(&a, date)).await {
        Ok(Some(body)) => authed.answer(&state, StatusCode::OK, body),
        Ok(None) => authed.error(
            &state,
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "account {account} is not held at bank {}",
                state.config.bank
            ),
        ),
        Err(e) => authed.ledger_error(&state, &e),
    }
}

/// The delay and hang of a lending `POST` (the instruction faults, without rejections);
/// `Err` with the answer when the server stops while hanging before the request is
/// received.
async fn loan_faults_before(
    state: &SimState,
    authed: &Authed,
    what: &str,
) -> Result<Option<Duration>, Response> {
    let plan = state.config.faults.plan_submit(&mut state.dice(), 0);
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    match plan.hang {
        Some(Hang::Before(d)) => {
            state.counters.hangs_before.fetch_add(1, Ordering::Relaxed);
            tracing::info!(
                hang_ms = d.as_millis(),
                "bank-sim: {what} hangs before it is received (simulated fault)"
            );
            if hang(state, d).await {
                Ok(None)
            } else {
                Err(authed.error(
                    state,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the bank is shutting down; nothing was done".to_owned(),
                ))
            }
        }
        Some(Hang::After(d)) => Ok(Some(d)),
        None => Ok(None),
    }
}

/// The hang after deciding, if planned; `false` when the server stopped meanwhile.
async fn loan_hang_after(state: &SimState, after: Option<Duration>, what: &str) -> bool {
    let Some(d) = after else {
        return true;
    };
    state.counters.hangs_after.fetch_add(1, Ordering::Relaxed);
    tracing::info!(
        hang_ms = d.as_millis(),
        "bank-sim: {what} decided; the answer hangs (simulated fault)"
    );
    hang(state, d).await
}

async fn apply_loan(
    State(state): State<Arc<SimState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authed = match authenticate(&state, "POST", &uri, &headers, &body) {
        Ok(a) => a,
        Err(r) => return r.response(),
    };
    let application = match LoanApplication::parse(&body) {
        Ok(a) => a,
        Err(m) => return authed.error(&state, StatusCode::BAD_REQUEST, "bad_request", m),
    };
    let after = match loan_faults_before(&state, &authed, "loan application").await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let st = Arc::clone(&state);
    let decided = state
        .with_db(move |db| db.apply_loan(&application, &st.config.lending, Timestamp::now()))
        .await;
    let decided = match decided {
        Ok(d) => d,
        Err(e) => return authed.ledger_error(&state, &e),
    };
    tracing::info!(
        application_no = %decided.application_no,
        decision = decided.decision.code(),
        loan = ?decided.loan.as_ref().map(|l| &l.bank_loan_no),
        "bank-sim: loan application answered"
    );
    if !loan_hang_after(&state, after, "loan application").await {
        return authed.error(
            &state,
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the bank is shutting down".to_owned(),
        );
    }
    authed.json(&state, &decided)
}

async fn disburse_loan(
    State(state): State<Arc<SimState>>,
    Path(loan_no): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authed = match authenticate(&state, "POST", &uri, &headers, &body) {
        Ok(a) => a,
        Err(r) => return r.response(),
    };
    if let Err(e) = check_serial(&loan_no) {
        return authed.error(
            &state,
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the loan number {e}"),
        );
    }
    let order = match DisburseRequest::parse(&body) {
        Ok(o) => o,
        Err(m) => return authed.error(&state, StatusCode::BAD_REQUEST, "bad_request", m),
    };
    let after = match loan_faults_before(&state, &authed, "disbursement").await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let st = Arc::clone(&state);
    let no = loan_no.clone();
    let done = state
        .with_db(move |db| {
            db.disburse_loan(
                &no,
                &order,
                st.config.business_date,
                &st.config.peers,
                Timestamp::now(),
            )
        })
        .await;
    let done = match done {
        Ok(d) => d,
        Err(e) => return authed.ledger_error(&state, &e),
    };
    tracing::info!(loan = %loan_no, outcome = ?done.outcome, reason = ?done.reason, "bank-sim: disbursement answered");
    state.wake.notify_one();
    if !loan_hang_after(&state, after, "disbursement").await {
        return authed.error(
            &state,
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the bank is shutting down".to_owned(),
        );
    }
    authed.json(&state, &done)
}

async fn get_loan(
    State(state): State<Arc<SimState>>,
    Path(loan_no): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let authed = match authenticate(&state, "GET", &uri, &headers, b"") {
        Ok(a) => a,
        Err(r) => return r.response(),
    };
    if let Err(e) = check_serial(&loan_no) {
        return authed.error(
            &state,
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the loan number {e}"),
        );
    }
    read_delay(&state).await;
    let no = loan_no.clone();
    match state.with_db(move |db| db.loan(&no)).await {
        Ok(Some(loan)) => authed.json(&state, &loan),
        Ok(None) => authed.error(
            &state,
            StatusCode::NOT_FOUND,
            NO_SUCH_LOAN,
            format!("bank {} has no loan {loan_no}", state.config.bank),
        ),
        Err(e) => authed.ledger_error(&state, &e),
    }
}

fn admin_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("the body is not valid: {e}"))
}

async fn open_account(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    let a: OpenAccount = match admin_body(&body) {
        Ok(a) => a,
        Err(m) => return error(StatusCode::BAD_REQUEST, "bad_request", m),
    };
    let date = state.config.business_date;
    let shown = a.clone();
    match state.with_db(move |db| db.open_account(&a, date)).await {
        Ok(opened) => {
            tracing::info!(account = %shown.account, name = %shown.name, balance_fen = shown.balance_fen, ?opened, "bank-sim: account opened or funded");
            let status = if opened == Opened::Opened {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (
                status,
                Json(serde_json::json!({
                    "account": shown.account,
                    "opened": opened == Opened::Opened,
                })),
            )
                .into_response()
        }
        Err(e) => ledger_error(&e),
    }
}

async fn list_accounts(State(state): State<Arc<SimState>>) -> Response {
    match state.with_db(|db| db.accounts()).await {
        Ok(rows) => Json(serde_json::json!({ "accounts": rows })).into_response(),
        Err(e) => ledger_error(&e),
    }
}

async fn credit(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    let c: CreditIn = match admin_body(&body) {
        Ok(c) => c,
        Err(m) => return error(StatusCode::BAD_REQUEST, "bad_request", m),
    };
    let plan = state.config.faults.plan_notice(&mut state.dice());
    let date = state.config.business_date;
    let shown = c.clone();
    match state
        .with_db(move |db| db.credit(&c, date, plan, Timestamp::now()))
        .await
    {
        Ok(booked) => {
            tracing::info!(account = %shown.account, amount_fen = shown.amount_fen, from = %shown.counterparty_account, bank_ref = %booked.bank_ref, duplicate = booked.duplicate, "bank-sim: credit booked");
            state.wake.notify_one();
            Json(booked).into_response()
        }
        Err(e) => ledger_error(&e),
    }
}

/// `/sim/stats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimStats {
    /// The bank code.
    pub bank: String,
    /// The business date.
    pub business_date: Date,
    /// This process's id.
    pub pid: u32,
    /// Counts from the books (all processes on this file).
    #[serde(flatten)]
    pub ledger: LedgerStats,
    /// Executions committed by this process.
    pub executions_this_process: u64,
    /// Requests refused (401) by this process.
    pub refused_requests: u64,
    /// Requests hung before being received (simulated).
    pub hangs_before: u64,
    /// Requests hung after executing (simulated).
    pub hangs_after: u64,
    /// Requests whose notices were delivered before the answer (simulated).
    pub notices_before_response: u64,
}

async fn stats(State(state): State<Arc<SimState>>) -> Response {
    match state.with_db(|db| db.stats()).await {
        Ok(ledger) => {
            let c = &state.counters;
            Json(SimStats {
                bank: state.config.bank.clone(),
                business_date: state.config.business_date,
                pid: std::process::id(),
                ledger,
                executions_this_process: c.executions.load(Ordering::Relaxed),
                refused_requests: c.refused.load(Ordering::Relaxed),
                hangs_before: c.hangs_before.load(Ordering::Relaxed),
                hangs_after: c.hangs_after.load(Ordering::Relaxed),
                notices_before_response: c.notices_before_response.load(Ordering::Relaxed),
            })
            .into_response()
        }
        Err(e) => ledger_error(&e),
    }
}

/// `POST /sim/notices`: wakes the delivery task (after the callback came back up).
async fn flush_notices(State(state): State<Arc<SimState>>) -> Response {
    let _ = state
        .with_db(|db| db.retry_all_now(Timestamp::now().as_millisecond()))
        .await;
    state.wake.notify_one();
    Json(serde_json::json!({ "woken": true })).into_response()
}

/// The delay before retry number `attempts + 1`: 100 ms doubling, at most 10 s.
fn retry_at(attempts: i64) -> i64 {
    let shift = u32::try_from(attempts.clamp(0, 10)).unwrap_or(10);
    let delay = (100_i64 << shift).min(MAX_RETRY_DELAY_MS);
    Timestamp::now().as_millisecond().saturating_add(delay)
}

/// POSTs one signed notice to the callback; whether it was acknowledged (2xx).
fn post_notice(
    agent: &ureq::Agent,
    url: &str,
    bank: &str,
    secret: &[u8],
    body: &[u8],
) -> Result<(), String> {
    let headers = protocol::sign_request(
        secret,
        bank,
        "POST",
        NOTICE_SIGNING_PATH,
        Timestamp::now().as_second(),
        &protocol::nonce(),
        body,
    );
    let mut req = agent.post(url);
    for (k, v) in &headers {
        req = req.header(*k, v);
    }
    match req.content_type("application/json").send(body) {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("callback answered HTTP {}", r.status().as_u16())),
        Err(e) => Err(format!("callback unreachable: {e}")),
    }
}

/// Delivers one outbox notice (twice when planned) and records the outcome.
async fn deliver_one(state: Arc<SimState>, url: String, row: OutboxRow) -> bool {
    let st = Arc::clone(&state);
    let body = row.body.clone();
    let u = url.clone();
    let sent = tokio::task::spawn_blocking(move || {
        post_notice(
            &st.agent,
            &u,
            &st.config.bank,
            st.config.secret.as_bytes(),
            &body,
        )
    })
    .await
    .unwrap_or_else(|e| Err(format!("delivery task failed: {e}")));
    let ok = sent.is_ok();
    match &sent {
        Ok(()) => tracing::debug!(notice_id = %row.notice_id, "bank-sim: notice delivered"),
        Err(why) if row.attempts < 3 => {
            tracing::warn!(notice_id = %row.notice_id, attempts = row.attempts + 1, reason = %why, "bank-sim: notice not delivered; will retry");
        }
        Err(why) => {
            tracing::debug!(notice_id = %row.notice_id, attempts = row.attempts + 1, reason = %why, "bank-sim: notice not delivered; will retry");
        }
    }
    let id = row.id;
    let next = retry_at(row.attempts);
    let _ = state
        .with_db(move |db| db.notice_attempted(id, ok, false, next, Timestamp::now()))
        .await;
    if ok && row.duplicate {
        let st = Arc::clone(&state);
        let body = row.body.clone();
        let again = tokio::task::spawn_blocking(move || {
            post_notice(
                &st.agent,
                &url,
                &st.config.bank,
                st.config.secret.as_bytes(),
                &body,
            )
        })
        .await
        .unwrap_or_else(|e| Err(format!("delivery task failed: {e}")));
        tracing::info!(notice_id = %row.notice_id, acknowledged = again.is_ok(), "bank-sim: notice delivered a second time (simulated fault)");
        let ack = again.is_ok();
        let _ = state
            .with_db(move |db| db.notice_attempted(id, ack, true, 0, Timestamp::now()))
            .await;
    }
    ok
}

/// Delivers a request's held notices before it is answered (waiting at most
/// [`NOTICE_WAIT`]); whatever was not acknowledged goes to the background delivery.
async fn deliver_held(state: &Arc<SimState>, ids: Vec<i64>) {
    let Some(url) = state.config.callback.clone() else {
        return;
    };
    let wanted = ids.clone();
    let rows = match state.with_db(move |db| db.held_notices(&wanted)).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "bank-sim: cannot read held notices");
            Vec::new()
        }
    };
    let st = Arc::clone(state);
    let all = async move {
        for row in rows {
            deliver_one(Arc::clone(&st), url.clone(), row).await;
        }
    };
    let _ = tokio::time::timeout(NOTICE_WAIT, all).await;
    let now = Timestamp::now().as_millisecond();
    let _ = state.with_db(move |db| db.release_notices(&ids, now)).await;
    state.wake.notify_one();
}

/// The background delivery of the outbox to the callback.
async fn deliver_notices(state: Arc<SimState>) {
    let Some(url) = state.config.callback.clone() else {
        return;
    };
    let inflight: Arc<Mutex<HashSet<i64>>> = Arc::default();
    let permits = Arc::new(Semaphore::new(DELIVERY_CONCURRENCY));
    let mut stopping = state.stopping.clone();
    loop {
        if *stopping.borrow() {
            return;
        }
        let skip = inflight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let now = Timestamp::now().as_millisecond();
        let due = state
            .with_db(move |db| {
                let rows = db.due_notices(now, 64, &skip)?;
                let next = db.next_notice_due()?;
                Ok((rows, next))
            })
            .await;
        let (rows, next) = match due {
            Ok(x) => x,
            Err(e) => {
                tracing::error!(error = %e, "bank-sim: cannot read the outbox");
                (Vec::new(), None)
            }
        };
        for row in rows {
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                return;
            };
            inflight
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(row.id);
            let st = Arc::clone(&state);
            let u = url.clone();
            let flight = Arc::clone(&inflight);
            tokio::spawn(async move {
                let id = row.id;
                deliver_one(Arc::clone(&st), u, row).await;
                flight
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&id);
                drop(permit);
                st.wake.notify_one();
            });
        }
        let now = Timestamp::now().as_millisecond();
        let wait_ms = next.map_or(250, |due| due.saturating_sub(now).clamp(5, 250));
        let wait = Duration::from_millis(u64::try_from(wait_ms).unwrap_or(250));
        tokio::select! {
            () = state.wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
    }
}

/// The background forwarding of transfers to peer simulators.
async fn forward_credits(state: Arc<SimState>) {
    if state.config.peers.is_empty() {
        return;
    }
    let mut stopping = state.stopping.clone();
    loop {
        if *stopping.borrow() {
            return;
        }
        let now = Timestamp::now().as_millisecond();
        let rows = state
            .with_db(move |db| db.due_forwards(now, 32, &HashSet::new()))
            .await
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "bank-sim: cannot read the transfers to forward");
                Vec::new()
            });
        let idle = rows.is_empty();
        for row in rows {
            let Some(base) = state.config.peers.get(&row.peer).cloned() else {
                continue;
            };
            let st = Arc::clone(&state);
            let body = row.body.clone();
            let sent = tokio::task::spawn_blocking(move || {
                let url = format!("{}/sim/credit", base.trim_end_matches('/'));
                match st
                    .agent
                    .post(&url)
                    .content_type("application/json")
                    .send(&body[..])
                {
                    Ok(r) if r.status().is_success() => Ok(()),
                    Ok(r) => Err(format!("peer answered HTTP {}", r.status().as_u16())),
                    Err(e) => Err(format!("peer unreachable: {e}")),
                }
            })
            .await
            .unwrap_or_else(|e| Err(format!("forwarding task failed: {e}")));
            let ok = sent.is_ok();
            match sent {
                Ok(()) => {
                    tracing::info!(peer = %row.peer, "bank-sim: transfer forwarded to the peer bank")
                }
                Err(why) => {
                    tracing::warn!(peer = %row.peer, attempts = row.attempts + 1, reason = %why, "bank-sim: transfer not forwarded; will retry")
                }
            }
            let id = row.id;
            let next = retry_at(row.attempts);
            let _ = state
                .with_db(move |db| db.forward_attempted(id, ok, next, Timestamp::now()))
                .await;
        }
        let wait = if idle {
            Duration::from_millis(100)
        } else {
            Duration::from_millis(5)
        };
        tokio::select! {
            () = state.wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn statement_dates_come_from_the_query() {
        assert_eq!(
            statement_date(Some("date=2026-11-27")).unwrap(),
            jiff::civil::date(2026, 11, 27)
        );
        assert_eq!(
            statement_date(Some("x=1&date=2026-11-27")).unwrap(),
            jiff::civil::date(2026, 11, 27)
        );
        assert!(statement_date(None).unwrap_err().contains("missing"));
        assert!(
            statement_date(Some("date=2026-13-01"))
                .unwrap_err()
                .contains("YYYY-MM-DD")
        );
    }

    #[test]
    fn retries_back_off_up_to_ten_seconds() {
        let now = Timestamp::now().as_millisecond();
        let first = retry_at(0) - now;
        assert!((100..200).contains(&first), "{first}");
        let late = retry_at(30) - now;
        assert!((10_000..10_100).contains(&late), "{late}");
    }

    #[test]
    fn config_debug_hides_the_secret() {
        let c = SimConfig {
            bank: "105".into(),
            app_id: "anju".into(),
            secret: "hunter2-hunter2".into(),
            callback: None,
            business_date: jiff::civil::date(2026, 11, 27),
            faults: Faults::default(),
            peers: BTreeMap::new(),
            lending: LendingRules::default(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
