//! Anju over HTTP: server-rendered pages and the JSON API (`/api/v1`). This crate is the
//! only one that knows HTTP, and [`WebError`] is the one place where application errors
//! become HTTP statuses.
//!
//! Stores are synchronous (a transaction is a blocking database conversation), so every
//! handler runs its use case on the blocking pool with `spawn_blocking`.

pub mod auth;
pub mod business;

use std::sync::Arc;

use anju_app::AppError;
use anju_app::ledger;
use anju_domain::ledger::{AccountNo, CHART, SubLedger};
use anju_store::Store;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

/// What every handler needs.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Arc<dyn Store>,
    /// The centre this server serves.
    pub centre: String,
    /// The centre's policy.
    pub policy: Arc<anju_domain::policy::Policy>,
}

/// An application error on its way to an HTTP response:
/// `{"error": "snake_case_code", "message": "…"}` with a fitting status.
#[derive(Debug)]
pub struct WebError(pub AppError);

impl From<AppError> for WebError {
    fn from(e: AppError) -> WebError {
        WebError(e)
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            AppError::Invalid { .. } | AppError::Entry { .. } | AppError::Rows { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::NotFound { .. } => StatusCode::NOT_FOUND,
            AppError::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
            AppError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Store(anju_store::StoreError::Conflict { .. }) => StatusCode::CONFLICT,
            AppError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::error!(error = %self.0, "request failed");
        }
        let mut body = serde_json::json!({ "error": self.0.code(), "message": self.0.to_string() });
        // Every bad row of a list, not only the first ones the message names.
        if let AppError::Rows { problems } = &self.0 {
            body["rows"] = problems
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "row": p.row, "field": p.field, "value": p.value, "rule": p.rule
                    })
                })
                .collect();
        }
        (status, Json(body)).into_response()
    }
}

/// Runs a use case with a clone of the handler's state on the blocking pool.
pub(crate) async fn with_state<S: Clone + Send + 'static, T: Send + 'static>(
    s: &S,
    f: impl FnOnce(&S) -> Result<T, AppError> + Send + 'static,
) -> Result<T, WebError> {
    let s = s.clone();
    blocking(move || f(&s)).await
}

/// Runs a use case on the blocking pool (stores are synchronous).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, WebError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| {
            WebError(AppError::Invalid {
                field: "request",
                value: String::new(),
                rule: format!("worker failed: {e}"),
            })
        })?
        .map_err(WebError)
}

/// The routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(status_page))
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/v1/status", get(status_json))
        .with_state(state)
}

/// One general-ledger line.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerLine {
    /// Account code.
    pub no: String,
    /// Chinese name.
    pub name_zh: &'static str,
    /// English name.
    pub name_en: &'static str,
    /// Balance, yuan with separators.
    pub balance: String,
    /// Balance in fen.
    pub balance_fen: i64,
}

/// The centre's status.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Centre code.
    pub centre_code: String,
    /// Centre name.
    pub centre_name: String,
    /// Business date.
    pub business_date: String,
    /// Registered units (缴存单位).
    pub units: i64,
    /// Personal accounts (个人账户).
    pub members: i64,
    /// Ledger accounts.
    pub accounts: i64,
    /// Journal entries.
    pub entries: i64,
    /// Journal legs.
    pub legs: i64,
    /// Chain head sequence number.
    pub head_seq: i64,
    /// Chain head hash.
    pub head_hash: String,
    /// General ledger (top-level accounts).
    pub ledger: Vec<LedgerLine>,
}

fn load_status(store: &dyn Store, centre: &str) -> Result<Status, AppError> {
    let mut tx = store.begin_read()?;
    let c = ledger::centre(tx.as_mut(), centre)?;
    let counts = tx.counts(centre)?;
    let units = tx.count_units(centre)?;
    let members = tx.count_members(centre)?;
    let nos: Vec<AccountNo> = CHART
        .iter()
        .filter_map(|a| {
            if a.sub_ledger == SubLedger::None {
                AccountNo::parse(a.code).ok()
            } else {
                AccountNo::control(a.code).ok()
            }
        })
        .collect();
    let mut accounts = tx.load_accounts(centre, &nos)?;
    accounts.sort_by(|a, b| a.no.cmp(&b.no));
    let ledger = accounts
        .into_iter()
        .map(|a| LedgerLine {
            name_zh: a.no.chart().name_zh,
            name_en: a.no.chart().name_en,
            no: a.no.to_string(),
            balance: a.balance.grouped(),
            balance_fen: a.balance.fen(),
        })
        .collect();
    Ok(Status {
        centre_code: c.code,
        centre_name: c.name,
        business_date: c.business_date.to_string(),
        units,
        members,
        accounts: counts.accounts,
        entries: counts.entries,
        legs: counts.legs,
        head_seq: c.head.seq,
        head_hash: c.head.hash.to_hex(),
        ledger,
    })
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    centre_code: String,
    centre_name: String,
    business_date: String,
    units: i64,
    members: i64,
    accounts: i64,
    entries: i64,
    legs: i64,
    head_seq: i64,
    head_hash: String,
    ledger: Vec<LedgerLine>,
}

#[derive(Template)]
#[template(path = "audit.html")]
pub(crate) struct AuditPage {
    pub(crate) centre_code: String,
    pub(crate) clean: bool,
    pub(crate) entries: i64,
    pub(crate) legs: i64,
    pub(crate) accounts: usize,
    pub(crate) problem_count: usize,
    pub(crate) problems: Vec<String>,
}

pub(crate) fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

async fn status_page(State(st): State<AppState>) -> Result<Response, WebError> {
    let s = blocking(move || load_status(st.store.as_ref(), &st.centre)).await?;
    Ok(render(&StatusPage {
        centre_code: s.centre_code,
        centre_name: s.centre_name,
        business_date: s.business_date,
        units: s.units,
        members: s.members,
        accounts: s.accounts,
        entries: s.entries,
        legs: s.legs,
        head_seq: s.head_seq,
        head_hash: s.head_hash,
        ledger: s.ledger,
    }))
}

async fn status_json(State(st): State<AppState>) -> Result<Json<Status>, WebError> {
    Ok(Json(
        blocking(move || load_status(st.store.as_ref(), &st.centre)).await?,
    ))
}

/// One bill in arrears, for staff to follow up (unit-level data only).
#[derive(Debug, Clone, Serialize)]
pub struct ArrearLine {
    /// Bill number.
    pub bill_no: String,
    /// Unit (or flexible worker's account) number.
    pub payer: String,
    /// Unit name.
    pub payer_name: String,
    /// Month, YYYY-MM.
    pub month: String,
    /// Due date.
    pub due_on: String,
    /// Working days past due.
    pub overdue_days: i64,
    /// Owed, yuan.
    pub outstanding: String,
    /// Held in suspense, yuan.
    pub held: String,
    /// Reminders sent.
    pub reminders: usize,
}

/// A unit-month due but never billed.
#[derive(Debug, Clone, Serialize)]
pub struct MissingLine {
    /// Unit number.
    pub unit_no: String,
    /// Unit name.
    pub unit_name: String,
    /// Month, YYYY-MM.
    pub month: String,
    /// Due date.
    pub due_on: String,
    /// Members due.
    pub members_due: usize,
}

/// Unpaid bills and unit-months never billed.
#[derive(Debug, Clone, Serialize)]
pub struct Arrears {
    /// Business date.
    pub business_date: String,
    /// Bills past their due date, not fully paid.
    pub unpaid: Vec<ArrearLine>,
    /// Unit-months due but never billed.
    pub missing: Vec<MissingLine>,
}

pub(crate) fn load_arrears(
    store: &dyn Store,
    centre: &str,
    policy: &anju_domain::policy::Policy,
) -> Result<Arrears, AppError> {
    let calendar =
        anju_domain::calendar::BusinessCalendar::cn().map_err(|e| AppError::Invalid {
            field: "calendar",
            value: String::new(),
            rule: e.to_string(),
        })?;
    let business = store
        .begin_read()?
        .centre(centre)?
        .map(|c| c.business_date.to_string())
        .unwrap_or_default();
    let rows = anju_app::remittance::arrears(store, centre, &calendar)?
        .into_iter()
        .map(|a| ArrearLine {
            bill_no: a.bill.bill_no,
            // A flexible worker's bill names a person: show only the account number.
            payer_name: if a.bill.kind == anju_store::collection::BillKind::Voluntary {
                String::new()
            } else {
                a.payer_name
            },
            payer: a.bill.payer,
            month: a.bill.month.to_string(),
            due_on: a.bill.due_on.to_string(),
            overdue_days: a.overdue_days,
            outstanding: a.outstanding.plain(),
            held: a.held.plain(),
            reminders: a.reminders,
        })
        .collect();
    let missing = anju_app::remittance::missing_bills(store, centre, policy, &calendar)?
        .into_iter()
        .map(|m| MissingLine {
            unit_no: m.unit_no,
            unit_name: m.unit_name,
            month: m.month.to_string(),
            due_on: m.due_on.to_string(),
            members_due: m.members_due,
        })
        .collect();
    Ok(Arrears {
        business_date: business,
        unpaid: rows,
        missing,
    })
}

#[derive(Template)]
#[template(path = "arrears.html")]
pub(crate) struct ArrearsPage {
    pub(crate) business_date: String,
    pub(crate) rows: Vec<ArrearLine>,
    pub(crate) missing: Vec<MissingLine>,
}

/// Serves `state` on `listener` until the process is stopped.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    serve_with(listener, state, Router::new()).await
}

/// Serves the routes plus `extra` (routes of adapters the binary wires in, such as the
/// banks' notice callback), with the peer address available to handlers.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    extra: Router,
) -> std::io::Result<()> {
    let app = router(state).merge(extra);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .await
}
