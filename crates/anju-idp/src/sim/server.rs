//! The simulator's HTTP server (axum on tokio).
//!
//! * `GET /.well-known/openid-configuration`: the [`Discovery`] document;
//! * `GET /authorize`: authenticates the person named by `login_hint` with `method`
//!   (without them: a small HTML page asking for both) and redirects back with a code or
//!   `error=access_denied`;
//! * `POST /token`: exchanges a code for an ID token;
//! * `GET /health`: `{"status":"ok","people":N}`;
//! * `GET /openapi.json`: the OpenAPI document ([`super::OPENAPI`]).
//!
//! `/authorize` checks, in this order: the query string decodes; `client_id` is the
//! registered client and `redirect_uri` an `http(s)` URL (else `400`, never a redirect);
//! `response_type=code` and `state` and `nonce` present (else a redirect with
//! `unsupported_response_type` / `invalid_request`); then the person and method. `/token`
//! checks the form, `grant_type`, the client's id and secret (`401 invalid_client`), the
//! faults, then the code: known, unused, within [`CODE_TTL_SECS`], for this client and
//! `redirect_uri` (else `400 invalid_grant`). Every request is logged with the person's ID
//! number **masked**; codes, secrets and tokens are never logged.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anju_app::identity::AuthMethod;
use anju_domain::ids::IdCard;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use tokio::net::TcpListener;

use super::OPENAPI;
use super::faults::{Dice, Faults, Malformed, Outcome};
use super::people::{People, refusal};
use crate::protocol::{
    AUTHORIZE_PATH, CODE_TTL_SECS, DISCOVERY_PATH, Discovery, ErrorBody, TOKEN_PATH,
    TOKEN_TTL_SECS, TokenResponse, encode_pairs, param, parse_query,
};
use crate::token::{self, Claims, constant_time_eq};

/// Codes remembered as used (to say "already used" rather than "unknown").
const USED_CAP: usize = 10_000;
/// Longest accepted `state`, `nonce`, `redirect_uri`, in bytes.
const MAX_PARAM: usize = 512;

/// What the simulator serves and how.
pub struct SimConfig {
    /// Who can log in.
    pub people: People,
    /// The registered client.
    pub client_id: String,
    /// Its secret (also the tokens' HMAC key).
    pub client_secret: String,
    /// The `iss` of the tokens, and the base of the discovery document's URLs.
    pub issuer: String,
    /// Faults to inject.
    pub faults: Faults,
    /// How long a code is good for.
    pub code_ttl: Duration,
}

impl SimConfig {
    /// A configuration with the default code lifetime ([`CODE_TTL_SECS`]) and no faults.
    pub fn new(people: People, client_id: &str, client_secret: &str, issuer: &str) -> SimConfig {
        SimConfig {
            people,
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            issuer: issuer.trim_end_matches('/').to_owned(),
            faults: Faults::default(),
            code_ttl: Duration::from_secs(CODE_TTL_SECS),
        }
    }
}

/// The secret is never printed.
impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("people", &self.people.by_id.len())
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("issuer", &self.issuer)
            .field("faults", &self.faults)
            .field("code_ttl", &self.code_ttl)
            .finish()
    }
}

/// A code given out and not yet exchanged.
#[derive(Debug, Clone)]
struct Grant {
    client_id: String,
    redirect_uri: String,
    nonce: String,
    resident_id: String,
    name: String,
    method: AuthMethod,
    auth_time: i64,
    issued: Instant,
}

#[derive(Debug, Default)]
struct Codes {
    live: HashMap<String, Grant>,
    used: HashMap<String, ()>,
    used_order: VecDeque<String>,
}

impl Codes {
    fn forget_expired(&mut self, ttl: Duration) {
        self.live.retain(|_, g| g.issued.elapsed() <= ttl);
    }

    fn mark_used(&mut self, code: String) {
        if self.used_order.len() >= USED_CAP
            && let Some(old) = self.used_order.pop_front()
        {
            self.used.remove(&old);
        }
        self.used.insert(code.clone(), ());
        self.used_order.push_back(code);
    }
}

/// The server's shared state.
#[derive(Debug)]
pub struct SimState {
    config: SimConfig,
    codes: Mutex<Codes>,
    dice: Mutex<Dice>,
}

impl SimState {
    /// State for `config`.
    pub fn new(config: SimConfig) -> SimState {
        SimState {
            dice: Mutex::new(Dice::new(config.faults.seed)),
            codes: Mutex::new(Codes::default()),
            config,
        }
    }
}

/// The routes.
pub fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        .route(DISCOVERY_PATH, get(discovery))
        .route(AUTHORIZE_PATH, get(authorize))
        .route(TOKEN_PATH, post(token_endpoint))
        .fallback(not_found)
        .with_state(state)
}

/// Serves `config` on `listener` until `shutdown` resolves.
pub async fn serve<F>(listener: TcpListener, config: SimConfig, shutdown: F) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let state = Arc::new(SimState::new(config));
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("idp-sim stopping");
        })
        .await
}

fn error(status: StatusCode, code: &str, description: impl Into<String>) -> Response {
    let body = ErrorBody {
        error: code.to_owned(),
        error_description: description.into(),
    };
    (status, [(CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
}

async fn health(State(state): State<Arc<SimState>>) -> Response {
    axum::Json(serde_json::json!({
        "status": "ok",
        "people": state.config.people.by_id.len(),
    }))
    .into_response()
}

async fn openapi() -> Response {
    ([(CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn discovery(State(state): State<Arc<SimState>>) -> Response {
    let c = &state.config;
    axum::Json(Discovery::new(&c.issuer, &c.issuer)).into_response()
}

async fn not_found(uri: Uri) -> Response {
    let path: String = uri.path().chars().take(200).collect();
    tracing::warn!(path = ?path, status = 404, "idp-sim: no such path");
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no such path {path:?}"),
    )
}

/// A fresh code: 32 hex digits.
fn new_code() -> String {
    anju_exchange::protocol::nonce()
}

/// The person's ID masked for the log.
fn masked(id: &str) -> String {
    IdCard::parse(id).map_or_else(|_| "<invalid>".to_owned(), |i| i.masked())
}

/// `redirect_uri` with `pairs` added to its query.
fn redirect(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    let location = format!("{redirect_uri}{sep}{}", encode_pairs(pairs));
    (
        StatusCode::FOUND,
        [(LOCATION, location.as_str()), (CACHE_CONTROL, "no-store")],
    )
        .into_response()
}

/// The redirect with an error (`state` echoed when given).
fn redirect_error(
    redirect_uri: &str,
    state: Option<&str>,
    code: &str,
    description: &str,
) -> Response {
    let mut pairs = vec![("error", code), ("error_description", description)];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    redirect(redirect_uri, &pairs)
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The page asking who logs in and how (the provider's own login page).
fn login_page(pairs: &[(String, String)]) -> Response {
    let hidden: String = pairs
        .iter()
        .filter(|(k, _)| k != "login_hint" && k != "method")
        .map(|(k, v)| {
            format!(
                r#"<input type="hidden" name="{}" value="{}">"#,
                escape_html(k),
                escape_html(v)
            )
        })
        .collect();
    Html(format!(
        r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>统一身份认证（模拟）</title></head>
<body>
<h1>统一身份认证（模拟）</h1>
<form method="get" action="{AUTHORIZE_PATH}">{hidden}
<label>身份证号 <input name="login_hint" required maxlength="18"></label>
<fieldset><legend>认证方式</legend>
<label><input type="radio" name="method" value="face" checked> 刷脸 (face)</label>
<label><input type="radio" name="method" value="eid"> 电子身份证 (e-ID)</label>
</fieldset>
<button type="submit">认证</button>
</form>
</body></html>
"#
    ))
    .into_response()
}

fn valid_param(v: &str) -> bool {
    !v.is_empty() && v.len() <= MAX_PARAM && !v.chars().any(char::is_control)
}

async fn authorize(State(state): State<Arc<SimState>>, RawQuery(query): RawQuery) -> Response {
    let Some(pairs) = parse_query(query.as_deref().unwrap_or_default()) else {
        tracing::warn!(
            status = 400,
            "idp-sim: authorize: query string does not decode"
        );
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the query string is not valid percent-encoded UTF-8",
        );
    };
    let config = &state.config;
    let client_id = param(&pairs, "client_id").unwrap_or_default();
    if client_id != config.client_id {
        let shown: String = client_id.chars().take(64).collect();
        tracing::warn!(status = 400, client_id = ?shown, "idp-sim: authorize: unknown client");
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("unknown client_id {shown:?}"),
        );
    }
    let redirect_uri = param(&pairs, "redirect_uri").unwrap_or_default();
    if !valid_param(redirect_uri)
        || !(redirect_uri.starts_with("http://") || redirect_uri.starts_with("https://"))
        || redirect_uri.contains('#')
    {
        tracing::warn!(status = 400, "idp-sim: authorize: bad redirect_uri");
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "redirect_uri must be an http:// or https:// URL without a fragment",
        );
    }
    let st = param(&pairs, "state").filter(|s| valid_param(s));
    if param(&pairs, "response_type") != Some("code") {
        return redirect_error(
            redirect_uri,
            st,
            "unsupported_response_type",
            "only response_type=code is supported",
        );
    }
    let (Some(st), Some(nonce)) = (st, param(&pairs, "nonce").filter(|n| valid_param(n))) else {
        return redirect_error(
            redirect_uri,
            st,
            "invalid_request",
            "state and nonce are required (1-512 characters)",
        );
    };
    let (Some(hint), Some(method)) = (param(&pairs, "login_hint"), param(&pairs, "method")) else {
        return login_page(&pairs);
    };
    let Some(method) = AuthMethod::from_code(method) else {
        return redirect_error(
            redirect_uri,
            Some(st),
            "invalid_request",
            "method must be face or eid",
        );
    };
    let delay = config.faults.delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let subject = masked(hint);
    let person = config.people.get(hint);
    if let Some(why) = refusal(person, method) {
        tracing::warn!(subject = %subject, method = %method, "idp-sim: authorize: access denied: {why}");
        return redirect_error(redirect_uri, Some(st), "access_denied", why);
    }
    let Some(person) = person else {
        return redirect_error(redirect_uri, Some(st), "access_denied", "no such person");
    };
    let code = new_code();
    {
        let mut codes = state.codes.lock().unwrap_or_else(PoisonError::into_inner);
        codes.forget_expired(config.code_ttl);
        codes.live.insert(
            code.clone(),
            Grant {
                client_id: client_id.to_owned(),
                redirect_uri: redirect_uri.to_owned(),
                nonce: nonce.to_owned(),
                resident_id: person.resident_id.clone(),
                name: person.name.clone(),
                method,
                auth_time: Timestamp::now().as_second(),
                issued: Instant::now(),
            },
        );
    }
    tracing::info!(subject = %subject, method = %method, "idp-sim: authorize: authenticated, code issued");
    redirect(redirect_uri, &[("code", &code), ("state", st)])
}

/// Takes the grant of `code` for this client and redirect URI, or says why not.
fn take_grant(
    state: &SimState,
    code: &str,
    client_id: &str,
    redirect_uri: &str,
) -> Result<Grant, String> {
    let mut codes = state.codes.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(grant) = codes.live.remove(code) else {
        return Err(if codes.used.contains_key(code) {
            "the code was already used".to_owned()
        } else {
            "unknown or expired code".to_owned()
        });
    };
    codes.mark_used(code.to_owned());
    if grant.issued.elapsed() > state.config.code_ttl {
        return Err(format!(
            "the code expired ({} s after it was issued)",
            state.config.code_ttl.as_secs()
        ));
    }
    if grant.client_id != client_id {
        return Err("the code was issued to another client".to_owned());
    }
    if grant.redirect_uri != redirect_uri {
        return Err("redirect_uri is not the one the code was issued for".to_owned());
    }
    Ok(grant)
}

async fn token_endpoint(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    let config = &state.config;
    let form = std::str::from_utf8(&body).ok().and_then(parse_query);
    let Some(form) = form else {
        tracing::warn!(status = 400, "idp-sim: token: the form does not decode");
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded UTF-8",
        );
    };
    let grant_type = param(&form, "grant_type").unwrap_or_default();
    if grant_type != "authorization_code" {
        tracing::warn!(status = 400, "idp-sim: token: unsupported grant_type");
        return error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be authorization_code",
        );
    }
    let client_id = param(&form, "client_id").unwrap_or_default();
    let secret = param(&form, "client_secret").unwrap_or_default();
    if client_id != config.client_id
        || !constant_time_eq(secret.as_bytes(), config.client_secret.as_bytes())
    {
        tracing::warn!(status = 401, "idp-sim: token: client authentication failed");
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed (client_id / client_secret)",
        );
    }
    let (Some(code), Some(redirect_uri)) = (param(&form, "code"), param(&form, "redirect_uri"))
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code and redirect_uri are required",
        );
    };
    let delay = config.faults.delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let outcome = config
        .faults
        .token_outcome(&mut state.dice.lock().unwrap_or_else(PoisonError::into_inner));
    match outcome {
        Outcome::Error(500) => {
            tracing::warn!(status = 500, "idp-sim: token: simulated fault");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the identity provider failed (simulated fault)",
            );
        }
        Outcome::Error(_) => {
            tracing::warn!(status = 503, "idp-sim: token: simulated fault");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the identity provider is unavailable (simulated fault)",
            );
        }
        _ => {}
    }
    let grant = match take_grant(&state, code, client_id, redirect_uri) {
        Ok(g) => g,
        Err(why) => {
            tracing::warn!(status = 400, "idp-sim: token: invalid grant: {why}");
            return error(StatusCode::BAD_REQUEST, "invalid_grant", why);
        }
    };
    let now = Timestamp::now().as_second();
    let (iat, exp) = if config.faults.expired_tokens {
        (now - 3_600, now - 3_600 + TOKEN_TTL_SECS)
    } else {
        (now, now + TOKEN_TTL_SECS)
    };
    let claims = Claims {
        iss: config.issuer.clone(),
        aud: grant.client_id.clone(),
        sub: grant.resident_id.clone(),
        name: grant.name.clone(),
        iat,
        exp,
        auth_time: grant.auth_time.min(iat),
        nonce: grant.nonce.clone(),
        amr: vec![grant.method.code().to_owned()],
    };
    let mut key = config.client_secret.clone().into_bytes();
    if config.faults.bad_signature {
        key.extend_from_slice(b"-not-the-key");
    }
    let answer = TokenResponse {
        access_token: new_code(),
        token_type: "Bearer".to_owned(),
        expires_in: TOKEN_TTL_SECS,
        id_token: token::sign(&claims, &key),
    };
    let subject = masked(&grant.resident_id);
    let right = serde_json::to_string(&answer).unwrap_or_default();
    let body = match outcome {
        Outcome::Malformed(kind) => {
            tracing::warn!(subject = %subject, "idp-sim: token: malformed answer ({kind:?}, simulated fault)");
            malformed_body(kind, &right, &answer, &key)
        }
        _ => {
            tracing::info!(
                subject = %subject,
                method = %grant.method,
                faults = %config.faults,
                "idp-sim: token: ID token issued"
            );
            right.into_bytes()
        }
    };
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE, "application/json"),
            (CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

fn malformed_body(kind: Malformed, right: &str, answer: &TokenResponse, key: &[u8]) -> Vec<u8> {
    match kind {
        Malformed::NotJson => {
            b"<html><head><title>502 Bad Gateway</title></head><body>\xe7\xbd\x91\xe5\x85\xb3\xe9\x94\x99\xe8\xaf\xaf</body></html>\r\n".to_vec()
        }
        Malformed::Truncated => {
            let mut cut = right.len() / 2;
            while !right.is_char_boundary(cut) {
                cut -= 1;
            }
            right.as_bytes()[..cut].to_vec()
        }
        Malformed::NotAToken => serde_json::to_vec(&TokenResponse {
            id_token: "this-is-not-a-token".to_owned(),
            ..answer.clone()
        })
        .unwrap_or_default(),
        Malformed::WrongClaims => {
            use base64::Engine;
            use base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"HSM3","typ":"JWT"}"#);
            let p = URL_SAFE_NO_PAD.encode(br#"{"sub":12345,"amr":"face"}"#);
            let input = format!("{h}.{p}");
            let sig = URL_SAFE_NO_PAD.encode(token::hmac_sm3(key, input.as_bytes()));
            serde_json::to_vec(&TokenResponse {
                id_token: format!("{input}.{sig}"),
                ..answer.clone()
            })
            .unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn config_debug_hides_the_secret() {
        let c = SimConfig::new(People::sample(), "anju", "hunter2-secret", "http://x");
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn codes_are_single_use_and_bound() {
        let state = SimState::new(SimConfig::new(People::sample(), "anju", "s", "http://x"));
        let grant = Grant {
            client_id: "anju".into(),
            redirect_uri: "http://c/cb".into(),
            nonce: "n".into(),
            resident_id: "330802199001011232".into(),
            name: "王伟".into(),
            method: AuthMethod::Face,
            auth_time: 0,
            issued: Instant::now(),
        };
        let put = |code: &str| {
            state
                .codes
                .lock()
                .unwrap()
                .live
                .insert(code.into(), grant.clone());
        };
        put("c1");
        assert!(take_grant(&state, "c1", "anju", "http://c/cb").is_ok());
        assert!(
            take_grant(&state, "c1", "anju", "http://c/cb")
                .unwrap_err()
                .contains("already used")
        );
        assert!(
            take_grant(&state, "c9", "anju", "http://c/cb")
                .unwrap_err()
                .contains("unknown")
        );
        put("c2");
        assert!(
            take_grant(&state, "c2", "anju", "http://c/other")
                .unwrap_err()
                .contains("redirect_uri")
        );
        // A failed attempt uses the code up too.
        assert!(
            take_grant(&state, "c2", "anju", "http://c/cb")
                .unwrap_err()
                .contains("already used")
        );
        put("c3");
        assert!(
            take_grant(&state, "c3", "evil", "http://c/cb")
                .unwrap_err()
                .contains("another client")
        );
    }

    #[test]
    fn pages_escape_what_they_echo() {
        let r = login_page(&[("state".into(), "\"><script>".into())]);
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(escape_html("\"><script>"), "&quot;&gt;&lt;script&gt;");
    }
}
