//! Sign-in and the guarded JSON API (issue 8): `/api/v1/login/*`, `/api/v1/logout`,
//! `/api/v1/me`, `/api/v1/members/{id}`, `/api/v1/units/{no}`, `/api/v1/audit-log`.
//! A session is a bearer token (`Authorization: Bearer …`); every use case checks the
//! principal through `anju_app::access::guard`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anju_app::AppError;
use anju_app::access::login::{Logins, Origin, Principal, Session};
use anju_app::access::views;
use anju_app::identity::{IdentityProvider, SmsGateway};
use anju_domain::codes::Channel;
use anju_store::Store;
use anju_store::access::AuditFilter;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::Timestamp;
use serde::Deserialize;

use crate::WebError;

/// What the sign-in routes need.
#[derive(Debug, Clone)]
pub struct AuthState {
    /// The database.
    pub store: Arc<dyn Store>,
    /// The centre.
    pub centre: String,
    /// The centre's policy.
    pub policy: Arc<anju_domain::policy::Policy>,
    /// Where one-time codes go.
    pub sms: Arc<dyn SmsGateway>,
    /// The identity provider for face / e-ID sign-in, if configured.
    pub idp: Option<Arc<dyn IdentityProvider>>,
    /// Sign-ins waiting for the identity provider: state → (nonce, redirect URI, until).
    pending: Arc<Mutex<HashMap<String, Pending>>>,
}

/// A sign-in waiting for the identity provider: (nonce, redirect URI, valid until).
type Pending = (String, String, Timestamp);

impl AuthState {
    /// The state.
    pub fn new(
        store: Arc<dyn Store>,
        centre: String,
        policy: Arc<anju_domain::policy::Policy>,
        sms: Arc<dyn SmsGateway>,
        idp: Option<Arc<dyn IdentityProvider>>,
    ) -> AuthState {
        AuthState {
            store,
            centre,
            policy,
            sms,
            idp,
            pending: Arc::default(),
        }
    }
}

fn logins(s: &AuthState) -> Logins<'_> {
    Logins {
        store: s.store.as_ref(),
        centre: &s.centre,
        policy: &s.policy,
        sms: s.sms.as_ref(),
    }
}

async fn run<T: Send + 'static>(
    s: &AuthState,
    f: impl FnOnce(&AuthState) -> Result<T, AppError> + Send + 'static,
) -> Result<T, WebError> {
    crate::with_state(s, f).await
}

/// The session cookie a browser signed in through `/login` carries (HttpOnly, SameSite
/// Strict: never sent by another site's page, never readable by scripts).
pub const SESSION_COOKIE: &str = "anju_session";

/// The session token of a request: `Authorization: Bearer …` (API clients) or the
/// session cookie (a browser signed in through `/login`).
fn bearer(headers: &HeaderMap) -> Result<String, WebError> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let from_cookie = || {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .find(|(k, _)| *k == SESSION_COOKIE)
            .map(|(_, v)| v.trim().to_owned())
    };
    from_header
        .or_else(from_cookie)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            WebError(AppError::Unauthenticated {
                reason: "sign in first (Authorization: Bearer <token>)".to_owned(),
            })
        })
}

/// A new session as JSON, with the token also set as the session cookie for a browser.
fn signed_in(session: &Session) -> Response {
    let max_age = (session.expires_at.as_second() - Timestamp::now().as_second()).max(0);
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}",
        session.token
    );
    ([(header::SET_COOKIE, cookie)], Json(session)).into_response()
}

fn device_of(headers: &HeaderMap, given: Option<String>) -> String {
    given
        .or_else(|| {
            headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "unknown".to_owned())
        .chars()
        .filter(|c| !c.is_control())
        .take(120)
        .collect()
}

/// Where a member's sign-in comes from: the point (`online` unless a terminal names
/// its own), the channel (web unless given) and the device.
fn origin(
    headers: &HeaderMap,
    point: Option<String>,
    channel: Option<&str>,
    device: Option<String>,
) -> Result<Origin, WebError> {
    Ok(Origin {
        point: point.unwrap_or_else(|| "online".to_owned()),
        channel: channel_of(channel)?,
        device: device_of(headers, device),
    })
}

fn channel_of(code: Option<&str>) -> Result<Channel, WebError> {
    code.unwrap_or("02").parse().map_err(|_| {
        WebError(AppError::Invalid {
            field: "channel",
            value: code.unwrap_or_default().to_owned(),
            rule: "a channel code (02 web, 03 app, 04 浙里办, 05 mini-program, 09 self-service)"
                .to_owned(),
        })
    })
}

/// Who the request's bearer token belongs to.
/// Who the bearer token of a request belongs to (401 when none or expired).
pub(crate) async fn principal(s: &AuthState, headers: &HeaderMap) -> Result<Principal, WebError> {
    let token = bearer(headers)?;
    run(s, move |s| logins(s).authenticate(&token, Timestamp::now())).await
}

#[derive(Debug, Deserialize)]
struct CodeRequest {
    phone: String,
    point: Option<String>,
    channel: Option<String>,
    device: Option<String>,
}

async fn request_code(
    State(s): State<AuthState>,
    headers: HeaderMap,
    Json(r): Json<CodeRequest>,
) -> Result<Response, WebError> {
    let origin = origin(&headers, r.point, r.channel.as_deref(), r.device)?;
    let sent = run(&s, move |s| {
        logins(s).request_code(&r.phone, &origin, Timestamp::now())
    })
    .await?;
    Ok((StatusCode::ACCEPTED, Json(sent)).into_response())
}

#[derive(Debug, Deserialize)]
struct SmsLogin {
    phone: String,
    code: String,
    point: Option<String>,
    channel: Option<String>,
    device: Option<String>,
}

async fn login_sms(
    State(s): State<AuthState>,
    headers: HeaderMap,
    Json(r): Json<SmsLogin>,
) -> Result<Response, WebError> {
    let origin = origin(&headers, r.point, r.channel.as_deref(), r.device)?;
    let session = run(&s, move |s| {
        logins(s).login_with_code(&r.phone, &r.code, &origin, Timestamp::now())
    })
    .await?;
    Ok(signed_in(&session))
}

#[derive(Debug, Deserialize)]
struct UnitLogin {
    credit_code: String,
    id_number: String,
    password: String,
    device: Option<String>,
}

async fn login_unit(
    State(s): State<AuthState>,
    headers: HeaderMap,
    Json(r): Json<UnitLogin>,
) -> Result<Response, WebError> {
    let origin = origin(&headers, None, None, r.device)?;
    let session = run(&s, move |s| {
        logins(s).login_unit_clerk(
            &r.credit_code,
            &r.id_number,
            &r.password,
            &origin,
            Timestamp::now(),
        )
    })
    .await?;
    Ok(signed_in(&session))
}

#[derive(Debug, Deserialize)]
struct StaffLogin {
    staff_id: String,
    password: String,
    totp: String,
    device: Option<String>,
}

async fn login_staff(
    State(s): State<AuthState>,
    headers: HeaderMap,
    Json(r): Json<StaffLogin>,
) -> Result<Response, WebError> {
    let device = device_of(&headers, r.device);
    let session = run(&s, move |s| {
        logins(s).login_staff(&r.staff_id, &r.password, &r.totp, &device, Timestamp::now())
    })
    .await?;
    Ok(signed_in(&session))
}

#[derive(Debug, Deserialize)]
struct IdpStart {
    /// Where the provider sends the browser back (this server's callback URL).
    redirect_uri: String,
}

/// Starts a face / e-ID sign-in: remembers a fresh state and nonce and sends the browser
/// to the identity provider.
async fn idp_start(
    State(s): State<AuthState>,
    headers: HeaderMap,
    Query(q): Query<IdpStart>,
) -> Result<Response, WebError> {
    let Some(idp) = s.idp.clone() else {
        return Err(WebError(AppError::NotFound {
            what: "no identity provider is configured (--idp-url)".to_owned(),
        }));
    };
    // The provider sends the code only back to this server's own sign-in page or
    // callback (never to a page someone else names, which could take the code).
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let own = ["/login", "/api/v1/login/idp/callback"].iter().any(|path| {
        ["http", "https"]
            .iter()
            .any(|scheme| q.redirect_uri == format!("{scheme}://{host}{path}"))
    });
    if host.is_empty() || !own {
        return Err(WebError(AppError::Invalid {
            field: "redirect_uri",
            value: q.redirect_uri.clone(),
            rule: "must be this server's /login or /api/v1/login/idp/callback".to_owned(),
        }));
    }
    let state = anju_app::access::login::random_hex(16)?;
    let nonce = anju_app::access::login::random_hex(16)?;
    let until = Timestamp::now() + jiff::SignedDuration::from_mins(5);
    {
        let mut pending = s.pending.lock().map_err(|_| poisoned())?;
        let now = Timestamp::now();
        pending.retain(|_, (_, _, t)| *t > now);
        pending.insert(
            state.clone(),
            (nonce.clone(), q.redirect_uri.clone(), until),
        );
    }
    Ok(Redirect::to(&idp.authorize_url(&state, &nonce, &q.redirect_uri)).into_response())
}

#[derive(Debug, Deserialize)]
struct IdpCallback {
    code: Option<String>,
    state: String,
    error: Option<String>,
    error_description: Option<String>,
    device: Option<String>,
}

/// The identity provider's redirect back: the code is exchanged and checked, and the
/// member signed in.
async fn idp_callback(
    State(s): State<AuthState>,
    headers: HeaderMap,
    Query(q): Query<IdpCallback>,
) -> Result<Response, WebError> {
    let Some(idp) = s.idp.clone() else {
        return Err(WebError(AppError::NotFound {
            what: "no identity provider is configured".to_owned(),
        }));
    };
    let (nonce, redirect_uri, _) = s
        .pending
        .lock()
        .map_err(|_| poisoned())?
        .remove(&q.state)
        .filter(|(_, _, until)| *until > Timestamp::now())
        .ok_or_else(|| {
            WebError(AppError::Unauthenticated {
                reason: "unknown or expired sign-in state: start again".to_owned(),
            })
        })?;
    if let Some(e) = q.error {
        return Err(WebError(AppError::Unauthenticated {
            reason: format!(
                "the identity provider refused: {e} {}",
                q.error_description.unwrap_or_default()
            ),
        }));
    }
    let code = q.code.ok_or_else(|| {
        WebError(AppError::Unauthenticated {
            reason: "the identity provider sent no code".to_owned(),
        })
    })?;
    let origin = origin(&headers, None, None, q.device)?;
    let session = run(&s, move |s| {
        let who =
            idp.exchange(&code, &redirect_uri, &nonce)
                .map_err(|e| AppError::Unauthenticated {
                    reason: format!("identity provider: {e}"),
                })?;
        logins(s).login_with_identity(&who, &origin, Timestamp::now())
    })
    .await?;
    Ok(signed_in(&session))
}

fn poisoned() -> WebError {
    WebError(AppError::Invalid {
        field: "request",
        value: String::new(),
        rule: "sign-in state unavailable".to_owned(),
    })
}

async fn logout(State(s): State<AuthState>, headers: HeaderMap) -> Result<Response, WebError> {
    let token = bearer(&headers)?;
    run(&s, move |s| logins(s).logout(&token, Timestamp::now())).await?;
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok(([(header::SET_COOKIE, clear)], StatusCode::NO_CONTENT).into_response())
}

#[derive(Debug, Deserialize)]
struct PasswordChange {
    old: String,
    new: String,
}

async fn change_password(
    State(s): State<AuthState>,
    headers: HeaderMap,
    Json(r): Json<PasswordChange>,
) -> Result<Response, WebError> {
    let p = principal(&s, &headers).await?;
    run(&s, move |s| {
        logins(s).change_password(&p, &r.old, &r.new, Timestamp::now())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn me(State(s): State<AuthState>, headers: HeaderMap) -> Result<Response, WebError> {
    let p = principal(&s, &headers).await?;
    Ok(Json(p).into_response())
}

async fn member(
    State(s): State<AuthState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let p = principal(&s, &headers).await?;
    let v = run(&s, move |s| {
        views::member(s.store.as_ref(), &s.centre, &p, &id, Timestamp::now())
    })
    .await?;
    Ok(Json(v).into_response())
}

async fn unit(
    State(s): State<AuthState>,
    headers: HeaderMap,
    Path(no): Path<String>,
) -> Result<Response, WebError> {
    let p = principal(&s, &headers).await?;
    let v = run(&s, move |s| {
        views::unit(s.store.as_ref(), &s.centre, &p, &no, Timestamp::now())
    })
    .await?;
    Ok(Json(v).into_response())
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    actor: Option<String>,
    subject: Option<String>,
    action: Option<String>,
    before: Option<i64>,
    limit: Option<usize>,
}

async fn audit_log(
    State(s): State<AuthState>,
    headers: HeaderMap,
    Query(q): Query<AuditQuery>,
) -> Result<Response, WebError> {
    let p = principal(&s, &headers).await?;
    let rows = run(&s, move |s| {
        let filter = AuditFilter {
            actor: q.actor,
            subject_id: q.subject,
            action: q.action,
            from_us: None,
            to_us: None,
        };
        views::audit_log(
            s.store.as_ref(),
            &s.centre,
            &p,
            &filter,
            q.before,
            q.limit.unwrap_or(100),
            Timestamp::now(),
        )
    })
    .await?;
    Ok(Json(rows).into_response())
}

async fn handled_by(
    State(s): State<AuthState>,
    headers: HeaderMap,
    Query(q): Query<AuditQuery>,
) -> Result<Response, WebError> {
    let p = principal(&s, &headers).await?;
    let rows = run(&s, move |s| {
        views::handled_by(
            s.store.as_ref(),
            &s.centre,
            &p,
            q.before,
            q.limit.unwrap_or(100),
        )
    })
    .await?;
    Ok(Json(rows).into_response())
}

/// The sign-in page (`/login`): SMS code, face / e-ID through the identity provider,
/// staff; once signed in, the member's account and who handled their business — all
/// through the JSON API below.
#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage;

async fn login_page() -> Response {
    crate::render(&LoginPage)
}

/// The sign-in and guarded routes.
pub fn auth_router(state: AuthState) -> Router {
    Router::new()
        .route("/login", get(login_page))
        .route("/api/v1/login/code", post(request_code))
        .route("/api/v1/login/sms", post(login_sms))
        .route("/api/v1/login/unit", post(login_unit))
        .route("/api/v1/login/staff", post(login_staff))
        .route("/api/v1/login/idp", get(idp_start))
        .route("/api/v1/login/idp/callback", get(idp_callback))
        .route("/api/v1/logout", post(logout))
        .route("/api/v1/password", post(change_password))
        .route("/api/v1/me", get(me))
        .route("/api/v1/me/handled-by", get(handled_by))
        .route("/api/v1/members/{id}", get(member))
        .route("/api/v1/units/{no}", get(unit))
        .route("/api/v1/audit-log", get(audit_log))
        .with_state(state)
}
