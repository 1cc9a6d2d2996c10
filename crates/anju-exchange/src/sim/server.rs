//! The simulator's HTTP server (axum on tokio).
//!
//! * `POST /v1/{department}/{query}`: one signed question (see [`crate::protocol`]);
//! * `POST /v1/batch`: several signed questions in one request, each answered (and
//!   faulted, see [`super::faults`]) on its own;
//! * `POST /v1/real-estate/mortgages` and `POST /v1/real-estate/mortgages/{no}/release`:
//!   the real-estate registry's writes, signed and checked the same way, kept by the
//!   [`MortgageRegister`] (a refusal is `409 conflict`); the faults apply to them as to
//!   the real-estate look-ups (an error answer means nothing was written; a hang writes
//!   after it);
//! * `GET /health`: `{"status":"ok","people":N,"facts":N}`;
//! * `GET /openapi.json`: the OpenAPI document ([`super::OPENAPI`]).
//!
//! A question is checked in this order: the path names a query (else `404 not_found`);
//! the four signature headers are present, the app is the configured one, the timestamp
//! is within [`MAX_CLOCK_SKEW_SECS`] of the server clock, the signature is right and the
//! nonce is new (else `401 unauthorized`); the body is a valid [`QueryRequest`] (else
//! `400 bad_request` naming the field). Then the dataset answers, through the
//! [`Faults`]. Every request is logged with its department, query, case number, purpose,
//! requester and the subject's ID number **masked**; the secret is never logged.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use anju_domain::ids::IdCard;
use anju_domain::sharing::{Department, Purpose, Query};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::Timestamp;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::OPENAPI;
use super::dataset::Dataset;
use super::faults::{Dice, Faults, Outcome, Plan, malformed_body};
use super::mortgages::{MortgageRegister, WriteError};
use crate::protocol::{
    BATCH_PATH, ErrorBody, H_APP, H_NONCE, H_SIGNATURE, H_TIMESTAMP, MAX_BATCH_ITEMS,
    MAX_BATCH_WAIT_MS, MAX_CLOCK_SKEW_SECS, MortgageRegisterRequest, MortgageRegisterResponse,
    MortgageReleaseRequest, MortgageReleaseResponse, NonceCache, QueryRequest, QueryResponse,
    canonical, verify,
};

/// Most nonces remembered at once. When full, the oldest is forgotten and requests no
/// newer than it are refused (so a forgotten nonce can never be replayed).
pub const NONCE_CACHE_CAP: usize = 100_000;

/// Longest accepted text field (`request_id`, `case_no`, `requester`), in characters.
const MAX_FIELD_CHARS: usize = 128;

/// What the simulator serves and how.
pub struct SimConfig {
    /// The data.
    pub dataset: Dataset,
    /// The one caller accepted (`X-Exchange-App`).
    pub app_id: String,
    /// Its shared signing secret.
    pub secret: String,
    /// Faults to inject.
    pub faults: Faults,
    /// The mortgage register ([`MortgageRegister::open`] on the dataset's side file, or
    /// [`MortgageRegister::in_memory`]).
    pub mortgages: MortgageRegister,
}

/// The secret is never printed.
impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("people", &self.dataset.people.len())
            .field("app_id", &self.app_id)
            .field("secret", &"<redacted>")
            .field("faults", &self.faults)
            .field("mortgages", &self.mortgages.len())
            .finish()
    }
}

/// The server's shared state.
#[derive(Debug)]
pub struct SimState {
    config: SimConfig,
    facts: usize,
    mortgages: Mutex<MortgageRegister>,
    dice: Mutex<Dice>,
    nonces: Mutex<NonceCache>,
    stopping: watch::Receiver<bool>,
}

impl SimState {
    /// State for `config`; `stopping` turns `true` when the server shuts down (hanging
    /// requests then end with a 503).
    pub fn new(mut config: SimConfig, stopping: watch::Receiver<bool>) -> SimState {
        let mortgages = std::mem::replace(
            &mut config.mortgages,
            MortgageRegister::in_memory(&super::dataset::Dataset::empty(Timestamp::UNIX_EPOCH)),
        );
        SimState {
            facts: config.dataset.fact_count(),
            mortgages: Mutex::new(mortgages),
            dice: Mutex::new(Dice::new(config.faults.seed)),
            nonces: Mutex::new(NonceCache::new(NONCE_CACHE_CAP)),
            config,
            stopping,
        }
    }
}

/// The routes.
pub fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        .route(BATCH_PATH, post(batch))
        .route("/v1/real-estate/mortgages", post(register_mortgage))
        .route(
            "/v1/real-estate/mortgages/{registration_no}/release",
            post(release_mortgage),
        )
        .route("/v1/{department}/{query}", post(query))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Serves `config` on `listener` until `shutdown` resolves, then finishes the requests
/// in flight (hanging ones end at once with a 503).
pub async fn serve<F>(listener: TcpListener, config: SimConfig, shutdown: F) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = watch::channel(false);
    let state = Arc::new(SimState::new(config, rx));
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("exchange-sim stopping");
            let _ = tx.send(true);
        })
        .await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
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

async fn health(State(state): State<Arc<SimState>>) -> Response {
    Json(serde_json::json!({
        "status": "ok",
        "people": state.config.dataset.people.len(),
        "facts": state.facts,
    }))
    .into_response()
}

async fn openapi() -> Response {
    ([(CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn not_found(uri: Uri) -> Response {
    let path: String = uri.path().chars().take(200).collect();
    tracing::warn!(path = ?path, status = 404, "exchange-sim: no such path");
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no such path {path:?}; queries are POST /v1/{{department}}/{{query}}"),
    )
}

async fn method_not_allowed(uri: Uri) -> Response {
    let path: String = uri.path().chars().take(200).collect();
    tracing::warn!(path = ?path, status = 405, "exchange-sim: wrong method");
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "bad_request",
        format!("{path} takes POST"),
    )
}

/// What a request's log line says.
#[derive(Debug, Default)]
struct LogLine {
    department: String,
    query: String,
    case_no: String,
    purpose: String,
    requester: String,
    subject: String,
}

impl LogLine {
    fn emit(&self, status: StatusCode, note: &str) {
        let status = status.as_u16();
        if status < 400 {
            tracing::info!(
                status,
                department = %self.department,
                query = %self.query,
                case_no = ?self.case_no,
                purpose = %self.purpose,
                requester = ?self.requester,
                subject = %self.subject,
                "exchange-sim: {note}"
            );
        } else {
            tracing::warn!(
                status,
                department = %self.department,
                query = %self.query,
                case_no = ?self.case_no,
                purpose = %self.purpose,
                requester = ?self.requester,
                subject = %self.subject,
                "exchange-sim: {note}"
            );
        }
    }

    fn reply(&self, status: StatusCode, code: &str, message: String) -> Response {
        self.emit(status, &message);
        error(status, code, message)
    }
}

/// A text header, or why not.
fn header<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, String> {
    match headers.get(name) {
        None => Err(format!("missing header {name}")),
        Some(v) => v
            .to_str()
            .map(str::trim)
            .map_err(|_| format!("header {name} is not plain text")),
    }
}

/// Checks the signature headers of a request to `path` with `body`.
fn authenticate(
    state: &SimState,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), String> {
    let app = header(headers, H_APP)?;
    let timestamp = header(headers, H_TIMESTAMP)?;
    let nonce = header(headers, H_NONCE)?;
    let signature = header(headers, H_SIGNATURE)?;
    if app != state.config.app_id {
        let shown: String = app.chars().take(64).collect();
        return Err(format!("unknown app {shown:?}"));
    }
    let ts: i64 = timestamp
        .parse()
        .map_err(|_| format!("header {H_TIMESTAMP} must be unix seconds"))?;
    let now = Timestamp::now().as_second();
    let skew = now.saturating_sub(ts);
    if skew.unsigned_abs() > MAX_CLOCK_SKEW_SECS.unsigned_abs() {
        return Err(format!(
            "timestamp is {skew} s off the server clock (at most {MAX_CLOCK_SKEW_SECS} s allowed)"
        ));
    }
    if nonce.is_empty() || nonce.len() > 128 || !nonce.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "header {H_NONCE} must be 1-128 visible ASCII characters (32 hex digits)"
        ));
    }
    let text = canonical("POST", path, ts, nonce, body);
    if !verify(state.config.secret.as_bytes(), &text, signature) {
        return Err(
            "bad signature: expected hex(HMAC-SM3(secret, \"POST\\n{path}\\n{timestamp}\\n{nonce}\\n{hex(SM3(body))}\"))"
                .to_owned(),
        );
    }
    state
        .nonces
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .admit(nonce, ts, now)
}

/// Parses and checks a request body for `query`; the error names the field.
fn parse_request(query: Query, body: &[u8]) -> Result<(QueryRequest, IdCard), String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    parse_question(query, &value)
}

/// [`parse_request`] of a parsed body (a batch's item; its `department` and `query` are
/// ignored here).
fn parse_question(query: Query, value: &Value) -> Result<(QueryRequest, IdCard), String> {
    let obj = value
        .as_object()
        .ok_or_else(|| "the body must be a JSON object".to_owned())?;
    let text = |field: &str| -> Result<String, String> {
        match obj.get(field) {
            None | Some(Value::Null) => Err(format!("field `{field}` is missing")),
            Some(Value::String(s)) if s.trim().is_empty() => {
                Err(format!("field `{field}` is empty"))
            }
            Some(Value::String(s)) if s.chars().count() > MAX_FIELD_CHARS => Err(format!(
                "field `{field}` is longer than {MAX_FIELD_CHARS} characters"
            )),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(format!("field `{field}` must be a string")),
        }
    };
    let request_id = text("request_id")?;
    let subject = text("subject_id")?;
    let id = IdCard::parse(&subject)
        .map_err(|e| format!("field `subject_id` is not a valid resident ID number: {e}"))?;
    let purpose_text = text("purpose")?;
    let purpose = Purpose::from_code(&purpose_text)
        .ok_or_else(|| "field `purpose` must be `withdrawal` or `loan`".to_owned())?;
    let year = match obj.get("year") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .and_then(|y| i16::try_from(y).ok())
                .filter(|y| (1900..=2200).contains(y))
                .ok_or_else(|| "field `year` must be a year such as 2025".to_owned())?,
        ),
    };
    if query.takes_year() && year.is_none() {
        return Err(format!("field `year` is required for {query}"));
    }
    let case_no = text("case_no")?;
    let requester = text("requester")?;
    let request = QueryRequest {
        request_id,
        subject_id: id.as_str().to_owned(),
        year: if query.takes_year() { year } else { None },
        purpose,
        case_no,
        requester,
    };
    Ok((request, id))
}

/// The best-effort log fields of a body that may be invalid (never the full ID).
fn log_fields(log: &mut LogLine, body: &[u8]) {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        log_value_fields(log, &v);
    }
}

/// [`log_fields`] of a parsed body.
fn log_value_fields(log: &mut LogLine, value: &Value) {
    let Value::Object(obj) = value else {
        return;
    };
    let short = |v: Option<&Value>| -> String {
        v.and_then(Value::as_str)
            .map(|s| s.chars().take(MAX_FIELD_CHARS).collect())
            .unwrap_or_default()
    };
    log.case_no = short(obj.get("case_no"));
    log.requester = short(obj.get("requester"));
    log.purpose = short(obj.get("purpose")).chars().take(16).collect();
    log.subject = obj
        .get("subject_id")
        .and_then(Value::as_str)
        .map(|s| IdCard::parse(s).map_or_else(|_| "<invalid>".to_owned(), |id| id.masked()))
        .unwrap_or_default();
}

async fn query(
    State(state): State<Arc<SimState>>,
    Path((department, code)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut log = LogLine {
        department: department.chars().take(40).collect(),
        query: code.chars().take(40).collect(),
        ..LogLine::default()
    };
    let Some(q) = Query::from_codes(&department, &code) else {
        let message = format!(
            "no query {:?} at department {:?}",
            log.query, log.department
        );
        return log.reply(StatusCode::NOT_FOUND, "not_found", message);
    };
    log_fields(&mut log, &body);
    if let Err(message) = authenticate(&state, uri.path(), &headers, &body) {
        return log.reply(StatusCode::UNAUTHORIZED, "unauthorized", message);
    }
    let (request, id) = match parse_request(q, &body) {
        Ok(r) => r,
        Err(message) => return log.reply(StatusCode::BAD_REQUEST, "bad_request", message),
    };
    log.subject = id.masked();
    log.purpose = request.purpose.code().to_owned();

    let faults = &state.config.faults;
    let plan = faults.plan(
        &mut state.dice.lock().unwrap_or_else(PoisonError::into_inner),
        q.department(),
    );
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    if let Some(hang) = plan.hang {
        let mut stopping = state.stopping.clone();
        tokio::select! {
            () = tokio::time::sleep(hang) => {}
            _ = stopping.wait_for(|s| *s) => {
                return log.reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the exchange is shutting down".to_owned(),
                );
            }
        }
    }
    let (status, body) = answer_body(&state, q, &request, plan.outcome, &log);
    (status, [(CONTENT_TYPE, "application/json")], body).into_response()
}

/// The JSON of an [`ErrorBody`].
fn error_json(code: &str, message: String) -> Vec<u8> {
    serde_json::to_vec(&ErrorBody {
        error: code.to_owned(),
        message,
    })
    .unwrap_or_default()
}

/// The answer to a question about `q` (after its delay and hang): the status and body a
/// single question is answered with — the dataset's answer, a simulated 5xx, or garbage,
/// as `outcome` says. Logged on `log`.
fn answer_body(
    state: &SimState,
    q: Query,
    request: &QueryRequest,
    outcome: Outcome,
    log: &LogLine,
) -> (StatusCode, Vec<u8>) {
    let dataset = &state.config.dataset;
    let mut answer = dataset.answer(q, &request.subject_id, request.year);
    if let anju_domain::sharing::Answer::Properties(list) = &mut answer {
        let register = state
            .mortgages
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for p in list.iter_mut() {
            if let Some(m) = register.mortgaged(&p.certificate_no) {
                p.mortgaged = m;
            }
        }
    }
    let response = QueryResponse {
        request_id: request.request_id.clone(),
        read_at: Timestamp::now(),
        found: answer.found(),
        answer,
    };
    let dept = q.department();
    match outcome {
        Outcome::Answer => {
            log.emit(
                StatusCode::OK,
                if response.found { "found" } else { "no record" },
            );
            (
                StatusCode::OK,
                serde_json::to_vec(&response).unwrap_or_default(),
            )
        }
        Outcome::Error(500) => {
            let message = format!(
                "{} ({dept}) failed to answer (simulated fault)",
                dept.name_zh()
            );
            log.emit(StatusCode::INTERNAL_SERVER_ERROR, &message);
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                error_json("department_error", message),
            )
        }
        Outcome::Error(_) => {
            let message = format!(
                "{} ({dept}) is unavailable (simulated fault)",
                dept.name_zh()
            );
            log.emit(StatusCode::SERVICE_UNAVAILABLE, &message);
            (
                StatusCode::SERVICE_UNAVAILABLE,
                error_json("unavailable", message),
            )
        }
        Outcome::Malformed(kind) => {
            let pos = Query::ALL.iter().position(|x| *x == q).unwrap_or(0);
            let other = Query::ALL[(pos + 1) % Query::ALL.len()];
            let other_answer = dataset.answer(other, &request.subject_id, request.year);
            let wrong = QueryResponse {
                found: other_answer.found(),
                answer: other_answer,
                ..response.clone()
            };
            let right = serde_json::to_string(&response).unwrap_or_default();
            let wrong = serde_json::to_string(&wrong).unwrap_or_default();
            log.emit(
                StatusCode::OK,
                &format!("malformed answer ({kind:?}, simulated fault)"),
            );
            (StatusCode::OK, malformed_body(kind, &right, &wrong))
        }
    }
}

/// One checked item of a batch, or the status and body it is answered with at once.
enum BatchEntry {
    Asked {
        query: Query,
        request: Box<QueryRequest>,
        log: Box<LogLine>,
    },
    Refused(String),
}

/// A batch item's JSON text: `{"status", "answer"}` for a 200, `{"status", "error"}`
/// otherwise. A body that is not JSON (garbage) is embedded as a JSON string, so the
/// item — and only it — is malformed.
fn batch_item(status: StatusCode, body: &[u8]) -> String {
    let embedded = if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
        String::from_utf8_lossy(body).into_owned()
    } else {
        Value::String(String::from_utf8_lossy(body).into_owned()).to_string()
    };
    let field = if status == StatusCode::OK {
        "answer"
    } else {
        "error"
    };
    format!("{{\"status\":{},\"{field}\":{embedded}}}", status.as_u16())
}

/// Sleeps `wait`; `false` if the server started shutting down meanwhile.
async fn sleep_unless_stopping(state: &SimState, wait: std::time::Duration) -> bool {
    if wait.is_zero() {
        return true;
    }
    let mut stopping = state.stopping.clone();
    tokio::select! {
        () = tokio::time::sleep(wait) => true,
        _ = stopping.wait_for(|s| *s) => false,
    }
}

async fn batch(
    State(state): State<Arc<SimState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let log = LogLine {
        department: "batch".to_owned(),
        query: "batch".to_owned(),
        ..LogLine::default()
    };
    if let Err(message) = authenticate(&state, uri.path(), &headers, &body) {
        return log.reply(StatusCode::UNAUTHORIZED, "unauthorized", message);
    }
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return log.reply(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("the body is not JSON: {e}"),
            );
        }
    };
    let wait_ms = value
        .get("wait_ms")
        .and_then(Value::as_u64)
        .filter(|w| (1..=MAX_BATCH_WAIT_MS).contains(w));
    let Some(wait_ms) = wait_ms else {
        return log.reply(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("field `wait_ms` must be a whole number of milliseconds from 1 to {MAX_BATCH_WAIT_MS}"),
        );
    };
    let items = match value.get("items").and_then(Value::as_array) {
        Some(items) if (1..=MAX_BATCH_ITEMS).contains(&items.len()) => items,
        _ => {
            return log.reply(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("field `items` must be a list of 1 to {MAX_BATCH_ITEMS} questions"),
            );
        }
    };
    let entries: Vec<BatchEntry> = items
        .iter()
        .map(|item| {
            let code = |f: &str| -> String {
                item.get(f)
                    .and_then(Value::as_str)
                    .map(|t| t.chars().take(40).collect())
                    .unwrap_or_default()
            };
            let mut log = LogLine {
                department: code("department"),
                query: code("query"),
                ..LogLine::default()
            };
            log_value_fields(&mut log, item);
            let Some(query) = Query::from_codes(&log.department, &log.query) else {
                let message = format!(
                    "no query {:?} at department {:?}",
                    log.query, log.department
                );
                log.emit(StatusCode::NOT_FOUND, &message);
                return BatchEntry::Refused(batch_item(
                    StatusCode::NOT_FOUND,
                    &error_json("not_found", message),
                ));
            };
            match parse_question(query, item) {
                Ok((request, id)) => {
                    log.subject = id.masked();
                    log.purpose = request.purpose.code().to_owned();
                    BatchEntry::Asked {
                        query,
                        request: Box::new(request),
                        log: Box::new(log),
                    }
                }
                Err(message) => {
                    log.emit(StatusCode::BAD_REQUEST, &message);
                    BatchEntry::Refused(batch_item(
                        StatusCode::BAD_REQUEST,
                        &error_json("bad_request", message),
                    ))
                }
            }
        })
        .collect();
    let faults = &state.config.faults;
    // The dice, in a fixed order: the request's roll, then each item's.
    let (whole, plans) = {
        let mut dice = state.dice.lock().unwrap_or_else(PoisonError::into_inner);
        let affected = entries.iter().find_map(|e| match e {
            BatchEntry::Asked { query, .. } if faults.applies_to(query.department()) => {
                Some(query.department())
            }
            _ => None,
        });
        let whole = match affected {
            Some(d) if faults.batch.request() => faults.plan(&mut dice, d),
            _ => Plan::NONE,
        };
        let plans: Vec<Plan> = entries
            .iter()
            .map(|e| match e {
                BatchEntry::Asked { query, .. } if faults.batch.items() => {
                    faults.plan(&mut dice, query.department())
                }
                _ => Plan::NONE,
            })
            .collect();
        (whole, plans)
    };
    let stopping = || {
        log.reply(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the exchange is shutting down".to_owned(),
        )
    };
    if !sleep_unless_stopping(&state, whole.delay + whole.hang.unwrap_or_default()).await {
        return stopping();
    }
    match whole.outcome {
        Outcome::Error(500) => {
            return log.reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                "department_error",
                "the exchange failed to answer the batch (simulated fault)".to_owned(),
            );
        }
        Outcome::Error(_) => {
            return log.reply(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the exchange is unavailable (simulated fault)".to_owned(),
            );
        }
        _ => {}
    }
    // Each item takes its own delay and hang; the batch waits for the slowest, but for
    // no more than `wait_ms` (slower items are answered 504).
    let wait = std::time::Duration::from_millis(wait_ms);
    let took: Vec<std::time::Duration> = plans
        .iter()
        .map(|p| p.delay + p.hang.unwrap_or_default())
        .collect();
    let longest = took.iter().copied().max().unwrap_or_default().min(wait);
    if !sleep_unless_stopping(&state, longest).await {
        return stopping();
    }
    let answered: Vec<String> = entries
        .iter()
        .zip(plans.iter().zip(&took))
        .map(|(e, (plan, took))| match e {
            BatchEntry::Refused(text) => text.clone(),
            BatchEntry::Asked { query, log, .. } if *took > wait => {
                let dept = query.department();
                let message = format!(
                    "{} ({dept}) did not answer within {wait_ms} ms (simulated fault)",
                    dept.name_zh()
                );
                log.emit(StatusCode::GATEWAY_TIMEOUT, &message);
                batch_item(StatusCode::GATEWAY_TIMEOUT, &error_json("timeout", message))
            }
            BatchEntry::Asked {
                query,
                request,
                log,
            } => {
                let (status, body) = answer_body(&state, *query, request, plan.outcome, log);
                batch_item(status, &body)
            }
        })
        .collect();
    let right = format!("{{\"items\":[{}]}}", answered.join(","));
    let body = match whole.outcome {
        Outcome::Malformed(kind) => {
            log.emit(
                StatusCode::OK,
                &format!("malformed batch answer ({kind:?}, simulated fault)"),
            );
            malformed_body(kind, &right, "{\"items\":[]}")
        }
        _ => {
            log.emit(StatusCode::OK, &format!("batch of {}", entries.len()));
            right.into_bytes()
        }
    };
    (StatusCode::OK, [(CONTENT_TYPE, "application/json")], body).into_response()
}

/// Today at the registry (China Standard Time).
fn registry_today() -> jiff::civil::Date {
    Timestamp::now()
        .to_zoned_datetime(jiff::tz::offset(8).to_time_zone())
        .date()
}

/// A text field of a write's body: present, printable, at most [`MAX_FIELD_CHARS`].
fn check_text(field: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("field `{field}` is empty"));
    }
    if value.chars().count() > MAX_FIELD_CHARS {
        return Err(format!(
            "field `{field}` is longer than {MAX_FIELD_CHARS} characters"
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("field `{field}` has control characters"));
    }
    Ok(())
}

/// Checks the fields every write carries; returns the subject's ID.
fn check_common(
    request_id: &str,
    subject_id: &str,
    case_no: &str,
    requester: &str,
) -> Result<IdCard, String> {
    check_text("request_id", request_id)?;
    check_text("case_no", case_no)?;
    check_text("requester", requester)?;
    let id = IdCard::parse(subject_id)
        .map_err(|e| format!("field `subject_id` is not a valid resident ID number: {e}"))?;
    Ok(id)
}

/// The faults of a real-estate write: waits out the delay and the hang; `Err` is the
/// answer to give instead (shutting down, or a simulated 5xx — nothing written).
async fn write_faults(state: &SimState, log: &LogLine) -> Result<Plan, Response> {
    let plan = state.config.faults.plan(
        &mut state.dice.lock().unwrap_or_else(PoisonError::into_inner),
        Department::RealEstate,
    );
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    if let Some(hang) = plan.hang {
        let mut stopping = state.stopping.clone();
        tokio::select! {
            () = tokio::time::sleep(hang) => {}
            _ = stopping.wait_for(|s| *s) => {
                return Err(log.reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the exchange is shutting down".to_owned(),
                ));
            }
        }
    }
    let dept = Department::RealEstate;
    match plan.outcome {
        Outcome::Error(500) => Err(log.reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "department_error",
            format!(
                "{} ({dept}) failed to answer (simulated fault)",
                dept.name_zh()
            ),
        )),
        Outcome::Error(_) => Err(log.reply(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!(
                "{} ({dept}) is unavailable (simulated fault)",
                dept.name_zh()
            ),
        )),
        _ => Ok(plan),
    }
}

/// The answer to a write that was made: `right` as JSON, or garbage when the plan says so.
fn write_answer<T: serde::Serialize>(
    plan: &Plan,
    log: &LogLine,
    request_id: &str,
    right: &T,
    note: &str,
) -> Response {
    match plan.outcome {
        Outcome::Malformed(kind) => {
            let right = serde_json::to_string(right).unwrap_or_default();
            let wrong = serde_json::json!({
                "request_id": request_id,
                "query": "properties",
                "data": [],
            })
            .to_string();
            log.emit(
                StatusCode::OK,
                &format!("malformed answer ({kind:?}, simulated fault)"),
            );
            (
                StatusCode::OK,
                [(CONTENT_TYPE, "application/json")],
                malformed_body(kind, &right, &wrong),
            )
                .into_response()
        }
        _ => {
            log.emit(StatusCode::OK, note);
            Json(right).into_response()
        }
    }
}

fn refused(log: &LogLine, e: WriteError) -> Response {
    match e {
        WriteError::Conflict(m) => log.reply(StatusCode::CONFLICT, "conflict", m),
        WriteError::Io(m) => log.reply(StatusCode::SERVICE_UNAVAILABLE, "unavailable", m),
    }
}

async fn register_mortgage(
    State(state): State<Arc<SimState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut log = LogLine {
        department: Department::RealEstate.code().to_owned(),
        query: "mortgages".to_owned(),
        ..LogLine::default()
    };
    log_fields(&mut log, &body);
    if let Err(message) = authenticate(&state, uri.path(), &headers, &body) {
        return log.reply(StatusCode::UNAUTHORIZED, "unauthorized", message);
    }
    let request: MortgageRegisterRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return log.reply(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("the body is not a mortgage registration: {e}"),
            );
        }
    };
    let mortgage = request.mortgage();
    let checked = check_common(
        &request.request_id,
        &request.subject_id,
        &request.case_no,
        &request.requester,
    )
    .and_then(|id| {
        mortgage
            .check()
            .map(|()| id)
            .map_err(|(field, m)| format!("field `{field}`: {m}"))
    });
    let id = match checked {
        Ok(id) => id,
        Err(message) => return log.reply(StatusCode::BAD_REQUEST, "bad_request", message),
    };
    log.subject = id.masked();
    log.purpose = request.purpose.code().to_owned();
    let plan = match write_faults(&state, &log).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let made = state
        .mortgages
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .register(&mortgage, registry_today());
    match made {
        Ok(registration) => {
            let note = format!("registered {}", registration.registration_no);
            let response = MortgageRegisterResponse {
                request_id: request.request_id.clone(),
                registration,
            };
            write_answer(&plan, &log, &request.request_id, &response, &note)
        }
        Err(e) => refused(&log, e),
    }
}

async fn release_mortgage(
    State(state): State<Arc<SimState>>,
    Path(registration_no): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut log = LogLine {
        department: Department::RealEstate.code().to_owned(),
        query: "mortgages/release".to_owned(),
        ..LogLine::default()
    };
    log_fields(&mut log, &body);
    if let Err(message) = authenticate(&state, uri.path(), &headers, &body) {
        return log.reply(StatusCode::UNAUTHORIZED, "unauthorized", message);
    }
    let request: MortgageReleaseRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return log.reply(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("the body is not a mortgage release: {e}"),
            );
        }
    };
    let checked = check_common(
        &request.request_id,
        &request.subject_id,
        &request.case_no,
        &request.requester,
    )
    .and_then(|id| {
        anju_domain::sharing::check_registration_no(&registration_no)
            .map(|()| id)
            .map_err(|m| format!("the registration number in the path: {m}"))
    });
    let id = match checked {
        Ok(id) => id,
        Err(message) => return log.reply(StatusCode::BAD_REQUEST, "bad_request", message),
    };
    log.subject = id.masked();
    log.purpose = request.purpose.code().to_owned();
    let plan = match write_faults(&state, &log).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let made = state
        .mortgages
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .release(&registration_no, registry_today());
    match made {
        Ok(release) => {
            let note = format!("released {}", release.registration_no);
            let response = MortgageReleaseResponse {
                request_id: request.request_id.clone(),
                release,
            };
            write_answer(&plan, &log, &request.request_id, &response, &note)
        }
        Err(e) => refused(&log, e),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn bodies_are_checked_field_by_field() {
        let ok = br#"{"request_id":"r","subject_id":"11010519491231002x","year":null,"purpose":"loan","case_no":"D-1","requester":"staff:1"}"#;
        let (r, id) = parse_request(Query::Marriage, ok).unwrap();
        assert_eq!(r.subject_id, "11010519491231002X");
        assert_eq!(id.masked(), "1101**********002X");
        let e = parse_request(Query::Income, ok).unwrap_err();
        assert!(e.contains("`year`"), "{e}");
        for (body, field) in [
            (&br#"{"#[..], "not JSON"),
            (br#"[]"#, "object"),
            (br#"{"request_id":"r","subject_id":"123","purpose":"loan","case_no":"c","requester":"s"}"#, "`subject_id`"),
            (br#"{"request_id":"r","subject_id":"11010519491231002X","purpose":"fun","case_no":"c","requester":"s"}"#, "`purpose`"),
            (br#"{"request_id":"r","subject_id":"11010519491231002X","purpose":"loan","case_no":" ","requester":"s"}"#, "`case_no`"),
            (br#"{"request_id":"r","subject_id":"11010519491231002X","purpose":"loan","case_no":"c"}"#, "`requester`"),
        ] {
            let e = parse_request(Query::Marriage, body).unwrap_err();
            assert!(e.contains(field), "{e}");
        }
    }

    #[test]
    fn config_debug_hides_the_secret() {
        let c = SimConfig {
            dataset: Dataset::empty(Timestamp::UNIX_EPOCH),
            app_id: "a".into(),
            secret: "hunter2".into(),
            faults: Faults::default(),
            mortgages: MortgageRegister::in_memory(&Dataset::empty(Timestamp::UNIX_EPOCH)),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
