//! Business over the JSON API, for a signed-in session (issue 8 §2–§4): a member applies
//! for a withdrawal online (零跑腿) and follows it; a counter clerk applies for a member at
//! the hall; an approver reviews (maker-checker: the proposer and the confirmer are two
//! people). Every act passes `anju_app::access::guard::act` first — the matrix of the
//! session's role at its point, the point's business list, the channel and whose account
//! — and is stamped with the session's operator, point and channel; a refusal is a 403
//! and is in the audit log.
//!
//! Routes: `POST /api/v1/withdrawals`, `GET /api/v1/withdrawals` (a member's own),
//! `GET /api/v1/withdrawals/{no}`, `POST /api/v1/withdrawals/{no}/propose`,
//! `POST /api/v1/withdrawals/{no}/confirm`; a unit's clerk uploads the unit's lists
//! (`POST /api/v1/units/{no}/lists/{kind}`: roster, remittance, base-adjustment,
//! back-payment, as .xlsx or .csv — every bad row reported, nothing written); the
//! registry's acts one at a time, for a unit's clerk online (their own unit) or a counter
//! clerk (`POST /api/v1/units` registers a unit, `…/units/{no}/changes` 缓缴 / 封存 /
//! 启封 / 销户, `…/units/{no}/members` opens a member's account in the unit,
//! `/api/v1/members/{id}/changes` 封存 / 启封 / 内部转移 / 恢复缴存 / 冻结); a
//! self-employed person opens their own flexible-employment account
//! (`POST /api/v1/flexible/accounts`, residence verified with the departments) and asks
//! for the bill of the months they want to pay (`POST /api/v1/flexible/bills`), which
//! their bank payment quoting the bill number settles — or a clerk does both for them;
//! and the staff's list of units in arrears
//! (`/arrears`, `/api/v1/arrears`: every unit's arrears, so only roles that may view
//! units' accounts, at their point).

use std::sync::Arc;

use anju_app::AppError;
use anju_app::access::guard::{self, Target};
use anju_app::access::login::{Principal, SubjectKind};
use anju_app::import::{ImportTarget, Imported, import_list};
use anju_app::settlement::BankSet;
use anju_app::sharing::Departments;
use anju_app::withdrawal::{self as wd, NewWithdrawal, Proposal, Review, Withdrawals};
use anju_domain::access::Business;
use anju_domain::calendar::BusinessCalendar;
use anju_domain::collection::YearMonth;
use anju_domain::money::Fen;
use anju_domain::sharing::verify::Claims;
use anju_domain::withdrawal::{Ground, RepayMode};
use anju_sheets::{Format, ListKind};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::Timestamp;
use serde::Deserialize;

use crate::WebError;
use crate::auth::{AuthState, principal};

/// What the business routes need: the sign-in state and the other organisations' systems.
#[derive(Debug, Clone)]
pub struct BusinessState {
    /// Sessions, the store, the centre and its policy.
    pub auth: AuthState,
    /// The departments behind the data exchange (none: applications cannot be verified
    /// and are refused with the reason).
    pub departments: Option<Arc<Departments>>,
    /// The commissioned banks payments go through.
    pub banks: Arc<BankSet>,
}

/// The business routes.
pub fn business_router(state: BusinessState) -> Router {
    Router::new()
        .route("/api/v1/withdrawals", post(apply).get(mine))
        .route("/api/v1/withdrawals/{no}", get(show))
        .route("/api/v1/withdrawals/{no}/propose", post(propose))
        .route("/api/v1/withdrawals/{no}/confirm", post(confirm))
        .route("/api/v1/units/{no}/lists/{kind}", post(upload_list))
        .route("/api/v1/units", post(register_unit))
        .route("/api/v1/units/{no}/changes", post(change_unit))
        .route("/api/v1/units/{no}/members", post(open_member))
        .route("/api/v1/members/{id}/changes", post(change_member))
        .route("/api/v1/flexible/accounts", post(open_flexible))
        .route("/api/v1/flexible/bills", post(flexible_bill))
        .route("/arrears", get(arrears_page))
        .route("/api/v1/arrears", get(arrears_json))
        .route("/audit", get(audit_page))
        .with_state(state)
}

async fn run<T: Send + 'static>(
    s: &BusinessState,
    f: impl FnOnce(&BusinessState) -> Result<T, AppError> + Send + 'static,
) -> Result<T, WebError> {
    crate::with_state(s, f).await
}

fn invalid(field: &'static str, value: &str, rule: &str) -> AppError {
    AppError::Invalid {
        field,
        value: value.to_owned(),
        rule: rule.to_owned(),
    }
}

/// Authorizes `business` on `target` for the session's principal (`guard::act`: the
/// matrix, the point, the channel, whose data; audited) and returns the act's stamp.
fn authorized(
    s: &BusinessState,
    p: &Principal,
    business: Business,
    target: Target<'_>,
    on_behalf_of: Option<String>,
    now: Timestamp,
) -> Result<anju_domain::stamp::Stamp, AppError> {
    guard::act(
        s.auth.store.as_ref(),
        &s.auth.centre,
        p,
        business,
        target,
        on_behalf_of,
        now,
    )
}

fn id_card(field: &'static str, text: &str) -> Result<anju_domain::ids::IdCard, AppError> {
    anju_domain::ids::IdCard::parse(text).map_err(|e| invalid(field, text, &e.to_string()))
}

fn yuan(field: &'static str, text: &str) -> Result<Fen, AppError> {
    Fen::parse_yuan(text).map_err(|e| invalid(field, text, &e.to_string()))
}

/// A withdrawal application as a member sends it online, or a clerk at the counter.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplyRequest {
    /// The applicant's resident ID number: a member applies for themselves (omit it or
    /// give their own); a clerk names the member served.
    id_number: Option<String>,
    /// Ground code: purchase, loan-repayment, rent, renewal, retirement, …
    ground: String,
    /// For loan repayment: one-off, yearly or monthly.
    mode: Option<String>,
    /// Amount asked for, in yuan (default: what the ground allows).
    amount: Option<String>,
    /// What the applicant states, to be verified with the departments.
    #[serde(default)]
    claims: Claims,
    /// The spouse's resident ID number, when the ground involves the family.
    spouse: Option<String>,
    /// Parties who signed their consent at the counter (a clerk's application only).
    #[serde(default)]
    consents: Vec<String>,
    /// The client's own application number (idempotent: the same number twice is one
    /// application); generated when absent.
    application_no: Option<String>,
}

async fn apply(
    State(s): State<BusinessState>,
    headers: HeaderMap,
    Json(r): Json<ApplyRequest>,
) -> Result<Response, WebError> {
    let p = principal(&s.auth, &headers).await?;
    let v = run(&s, move |s| {
        let now = Timestamp::now();
        let id_number = person_of(&p, r.id_number)?;
        if p.kind == SubjectKind::Member && !r.consents.is_empty() {
            return Err(invalid(
                "consents",
                &r.consents.join(","),
                "only a clerk records consents signed at the counter; others consent themselves",
            ));
        }
        let ground = Ground::from_code(&r.ground)
            .ok_or_else(|| invalid("ground", &r.ground, "not a withdrawal ground"))?;
        let mode = r
            .mode
            .as_deref()
            .map(|m| {
                RepayMode::from_code(m)
                    .ok_or_else(|| invalid("mode", m, "must be one-off, yearly or monthly"))
            })
            .transpose()?;
        let requested = r.amount.as_deref().map(|a| yuan("amount", a)).transpose()?;
        let departments = s.departments.as_deref().ok_or_else(|| {
            invalid(
                "departments",
                "",
                "this server has no data exchange configured (--exchange): applications cannot be verified",
            )
        })?;
        let on_behalf = (p.kind != SubjectKind::Member).then(|| id_number.clone());
        let stamp = authorized(
            s,
            &p,
            Business::WithdrawalApply,
            Target::Member(&id_number),
            on_behalf,
            now,
        )?;
        let ctx = Withdrawals {
            store: s.auth.store.as_ref(),
            departments,
            banks: &s.banks,
            centre: &s.auth.centre,
            policy: &s.auth.policy,
        };
        let new = NewWithdrawal {
            application_no: r
                .application_no
                .unwrap_or_else(|| format!("W{}", now.as_microsecond())),
            id_number,
            ground,
            mode,
            requested,
            claims: r.claims,
            spouse: r.spouse,
            heirs: Vec::new(),
            consents: r
                .consents
                .into_iter()
                .map(|c| (c, "counter-signature".to_owned()))
                .collect(),
            stamp,
        };
        wd::apply(&ctx, &new, now)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// Whose application: the holder's resident ID number.
fn holder(s: &BusinessState, no: &str) -> Result<String, AppError> {
    s.auth
        .store
        .begin_read()?
        .withdrawal(&s.auth.centre, no)?
        .map(|w| w.id_number)
        .ok_or_else(|| AppError::NotFound {
            what: format!("withdrawal {no}"),
        })
}

fn view_business(p: &Principal) -> Business {
    if p.kind == SubjectKind::Member {
        Business::ViewOwnAccount
    } else {
        Business::ViewMemberAccount
    }
}

async fn show(
    State(s): State<BusinessState>,
    headers: HeaderMap,
    Path(no): Path<String>,
) -> Result<Response, WebError> {
    let p = principal(&s.auth, &headers).await?;
    let v = run(&s, move |s| {
        let id = holder(s, &no)?;
        guard::authorize(
            s.auth.store.as_ref(),
            &s.auth.centre,
            &p,
            view_business(&p),
            Target::Member(&id),
            Timestamp::now(),
        )?;
        wd::show(s.auth.store.as_ref(), &s.auth.centre, &no)
    })
    .await?;
    Ok(Json(v).into_response())
}

async fn mine(State(s): State<BusinessState>, headers: HeaderMap) -> Result<Response, WebError> {
    let p = principal(&s.auth, &headers).await?;
    let v = run(&s, move |s| {
        let id = p
            .id_number
            .clone()
            .filter(|_| p.kind == SubjectKind::Member)
            .ok_or_else(|| AppError::Forbidden {
                reason: "a member's own list: staff look a member up by application".to_owned(),
            })?;
        guard::authorize(
            s.auth.store.as_ref(),
            &s.auth.centre,
            &p,
            Business::ViewOwnAccount,
            Target::Member(&id),
            Timestamp::now(),
        )?;
        wd::of_member(s.auth.store.as_ref(), &s.auth.centre, &id)
    })
    .await?;
    Ok(Json(v).into_response())
}

/// The stamp of a review step on application `no`, authorized for its holder.
fn review_stamp(
    s: &BusinessState,
    p: &Principal,
    no: &str,
    now: Timestamp,
) -> Result<anju_domain::stamp::Stamp, AppError> {
    let id = holder(s, no)?;
    guard::act(
        s.auth.store.as_ref(),
        &s.auth.centre,
        p,
        Business::WithdrawalReview,
        Target::Member(&id),
        None,
        now,
    )
}

/// A reviewer's proposal: approve an amount (yuan) or refuse, with a note.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProposeRequest {
    /// Approve this amount in yuan; absent means refuse.
    approve: Option<String>,
    /// Why.
    note: String,
}

async fn propose(
    State(s): State<BusinessState>,
    headers: HeaderMap,
    Path(no): Path<String>,
    Json(r): Json<ProposeRequest>,
) -> Result<Response, WebError> {
    let p = principal(&s.auth, &headers).await?;
    let v = run(&s, move |s| {
        let now = Timestamp::now();
        let proposal = match r.approve.as_deref() {
            Some(a) => Proposal::Approve {
                amount: yuan("approve", a)?,
            },
            None => Proposal::Refuse,
        };
        let stamp = review_stamp(s, &p, &no, now)?;
        wd::propose(
            s.auth.store.as_ref(),
            &s.auth.centre,
            &no,
            &proposal,
            &r.note,
            &stamp,
            now,
        )
    })
    .await?;
    Ok(Json(v).into_response())
}

/// The checker's decision on a proposal.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfirmRequest {
    /// Agree with the proposal (true) or send it back (false).
    agree: bool,
    /// Why.
    note: String,
}

async fn confirm(
    State(s): State<BusinessState>,
    headers: HeaderMap,
    Path(no): Path<String>,
    Json(r): Json<ConfirmRequest>,
) -> Result<Response, WebError> {
    let p = principal(&s.auth, &headers).await?;
    let v = run(&s, move |s| {
        let now = Timestamp::now();
        let stamp = review_stamp(s, &p, &no, now)?;
        let ctx = Review {
            store: s.auth.store.as_ref(),
            banks: &s.banks,
            centre: &s.auth.centre,
            policy: &s.auth.policy,
        };
        wd::confirm(&ctx, &no, r.agree, &r.note, &stamp, now)
    })
    .await?;
    Ok(Json(v).into_response())
}

/// Staff who may view units' accounts see the units in arrears (a data view of every
/// unit listed: audited).
async fn arrears_of(s: &BusinessState, headers: &HeaderMap) -> Result<crate::Arrears, WebError> {
    let p = principal(&s.auth, headers).await?;
    run(s, move |s| {
        guard::authorize(
            s.auth.store.as_ref(),
            &s.auth.centre,
            &p,
            Business::ViewUnitAccount,
            Target::None,
            Timestamp::now(),
        )?;
        crate::load_arrears(s.auth.store.as_ref(), &s.auth.centre, &s.auth.policy)
    })
    .await
}

async fn arrears_page(State(s): State<BusinessState>, headers: HeaderMap) -> Response {
    match arrears_of(&s, &headers).await {
        Ok(a) => crate::render(&crate::ArrearsPage {
            business_date: a.business_date,
            rows: a.unpaid,
            missing: a.missing,
        }),
        // A browser not signed in goes to the sign-in page.
        Err(WebError(AppError::Unauthenticated { .. })) => {
            axum::response::Redirect::to("/login").into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// The ledger audit (the whole journal re-verified): a report for staff whose role has
/// reports — it is heavy, so never run for a visitor who is not signed in.
async fn audit_page(State(s): State<BusinessState>, headers: HeaderMap) -> Response {
    let audited = match principal(&s.auth, &headers).await {
        Ok(p) => {
            run(&s, move |s| {
                guard::authorize(
                    s.auth.store.as_ref(),
                    &s.auth.centre,
                    &p,
                    Business::Reports,
                    Target::None,
                    Timestamp::now(),
                )?;
                anju_app::ledger::audit(s.auth.store.as_ref(), &s.auth.centre)
            })
            .await
        }
        Err(e) => Err(e),
    };
    match audited {
        Ok(r) => crate::render(&crate::AuditPage {
            centre_code: s.auth.centre.clone(),
            clean: r.is_clean(),
            entries: r.entries,
            legs: r.legs,
            accounts: r.accounts,
            problem_count: r.problem_count,
            problems: r.problems,
        }),
        Err(WebError(AppError::Unauthenticated { .. })) => {
            axum::response::Redirect::to("/login").into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn arrears_json(
    State(s): State<BusinessState>,
    headers: HeaderMap,
) -> Result<Json<crate::Arrears>, WebError> {
    Ok(Json(arrears_of(&s, &headers).await?))
}

/// For a remittance list the month, for a base-adjustment list the year.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    month: Option<String>,
    year: Option<i16>,
}

/// A unit's list, uploaded by its clerk (or by staff for the unit at the counter): the
/// body is the file, its type says .xlsx or .csv. Imported through the same use case as
/// `anju import`; the act is authorized for the list's business on the unit.
async fn upload_list(
    State(s): State<BusinessState>,
    headers: HeaderMap,
    Path((unit_no, kind)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let p = principal(&s.auth, &headers).await?;
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let out = run(&s, move |s| {
        let now = Timestamp::now();
        let kind = ListKind::from_code(&kind).ok_or_else(|| {
            invalid(
                "kind",
                &kind,
                "one of roster, remittance, base-adjustment, back-payment",
            )
        })?;
        let format = if content_type.starts_with("text/csv") {
            Format::Csv
        } else if content_type
            .starts_with("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        {
            Format::Xlsx
        } else {
            return Err(invalid(
                "content-type",
                &content_type,
                "send the file as text/csv or as an .xlsx workbook (application/vnd.openxmlformats-officedocument.spreadsheetml.sheet)",
            ));
        };
        let business = match kind {
            ListKind::Roster => Business::MemberOpenAccount,
            ListKind::Remittance => Business::Remittance,
            ListKind::BaseAdjustment => Business::BaseAdjustment,
            ListKind::BackPayment => Business::BackPayment,
        };
        let stamp = authorized(
            s,
            &p,
            business,
            Target::Unit(&unit_no),
            Some(unit_no.clone()),
            now,
        )?;
        let month = q
            .month
            .as_deref()
            .map(|m| YearMonth::parse(m).map_err(|e| invalid("month", m, &e.to_string())))
            .transpose()?;
        let calendar = BusinessCalendar::cn().map_err(|e| invalid("calendar", "", &e.to_string()))?;
        import_list(
            s.auth.store.as_ref(),
            &s.auth.centre,
            &s.auth.policy,
            &calendar,
            kind,
            format,
            &body,
            &ImportTarget {
                unit_no,
                month,
                year: q.year,
            },
            &stamp,
            now,
        )
    })
    .await?;
    let summary = match out {
        Imported::Roster(opened) => serde_json::json!({
            "kind": "roster",
            "opened": opened.iter().map(|(account, name, base, notice)| serde_json::json!({
                "account_no": account, "name": name, "base": base.plain(), "notice": notice,
            })).collect::<Vec<_>>(),
        }),
        Imported::Remittance(b) | Imported::BackPayment(b) => serde_json::json!({
            "kind": if b.bill.kind == anju_store::collection::BillKind::BackPayment { "back-payment" } else { "remittance" },
            "bill_no": b.bill.bill_no,
            "month": b.bill.month.to_string(),
            "lines": b.bill.line_count,
            "total": b.bill.total.plain(),
            "due_on": b.bill.due_on.to_string(),
            "notices": b.notices().map(|l| l.notice.clone()).collect::<Vec<_>>(),
        }),
        Imported::BaseAdjustment(adjusted) => serde_json::json!({
            "kind": "base-adjustment",
            "adjusted": adjusted.iter().map(|a| serde_json::json!({
                "account_no": a.account_no, "old": a.old.plain(), "new": a.new.plain(),
                "notice": a.notice.as_ref().map(ToString::to_string),
            })).collect::<Vec<_>>(),
        }),
    };
    Ok((StatusCode::CREATED, Json(summary)).into_response())
}

/// A flexible-employment account (灵活就业人员开户): a person for themselves online
/// (signed in with face or e-ID, account or not), or a clerk for the person served.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenFlexibleRequest {
    /// The person's resident ID number: a person opens for themselves (omit it or give
    /// their own); a clerk names the person served.
    id_number: Option<String>,
    /// Name as on the resident ID.
    name: String,
    /// Chosen monthly base, yuan (within the policy's floor and cap).
    base: String,
    /// Chosen combined ratio, percent (within the policy's flexible-employment bounds).
    ratio: String,
}

/// The resident ID a request is about: a member's own (a different one given is
/// forbidden), or the one a clerk names.
fn person_of(p: &Principal, given: Option<String>) -> Result<String, AppError> {
    match (p.kind, given) {
        (SubjectKind::Member, given) => {
            let own = p.id_number.clone().unwrap_or_default();
            if given.as_deref().is_some_and(|g| g != own) {
                return Err(AppError::Forbidden {
                    reason: "a person acts for their own account only".to_owned(),
                });
            }
            Ok(own)
        }
        (_, Some(id)) => Ok(id),
        (_, None) => Err(invalid("id_number", "", "name the person served")),
    }
}

fn member_json(m: &anju_store::registry::MemberRow) -> serde_json::Value {
    serde_json::json!({
        "account_no": m.account_no,
        "name": m.name,
        "unit_no": m.unit_no,
        "opened_on": m.opened_on.to_string(),
        "status": m.status.code(),
        "status_zh": m.status.label_zh(),
        "base": m.base.to_string(),
        "base_fen": m.base.fen(),
        "ratio": m.flexible_ratio.map(|r| r.to_string()),
        "paid_to": m.paid_to.map(|p| p.to_string()),
    })
}

async fn open_flexible(
    State(s): State<BusinessState>,
    headers: HeaderMap,
    Json(r): Json<OpenFlexibleRequest>,
) -> Result<Response, WebError> {
    let p = principal(&s.auth, &headers).await?;
    let v = run(&s, move |s| {
        let now = Timestamp::now();
        let id_number = person_of(&p, r.id_number)?;
        let id_card = id_card("id_number", &id_number)?;
        let base = yuan("base", &r.base)?;
        let ratio = anju_domain::money::Rate::parse_percent(&r.ratio)
            .map_err(|e| invalid("ratio", &r.ratio, &e.to_string()))?;
        let departments = s.departments.as_deref().ok_or_else(|| {
            invalid(
                "departments",
                "",
                "this server has no data exchange configured (--exchange): residence cannot be verified",
            )
        })?;
        let on_behalf = (p.kind != SubjectKind::Member).then(|| id_number.clone());
        let stamp = authorized(
            s,
            &p,
            Business::MemberOpenAccount,
            Target::Member(&id_number),
            on_behalf,
            now,
        )?;
        let ctx = anju_app::sharing::Sharing {
            store: s.auth.store.as_ref(),
            departments,
            centre: &s.auth.centre,
        };
        let m = anju_app::registry::open_flexible(
            &ctx,
            &s.auth.policy,
            anju_app::registry::NewFlexible {
                id_card,
                name: r.name,
                base,
                ratio,
            },
            &stamp,
            now,
        )?;
        Ok(member_json(&m))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// The bill for months of a flexible-employment account (灵活就业缴存).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlexibleBillRequest {
    /// The person's resident ID number (a clerk's request; a person pays for their own).
    id_number: Option<String>,
    /// How many months, 1–12 (default 1).
    months: Option<u32>,
    /// First month, `YYYY-MM` (default: the month after 缴至年月).
    from: Option<String>,
    /// The commissioned bank the money is paid at (its code).
    bank: String,
}

async fn flexible_bill(
    State(s): State<BusinessState>,
    headers: HeaderMap,
    Json(r): Json<FlexibleBillRequest>,
) -> Result<Response, WebError> {
    let p = principal(&s.auth, &headers).await?;
    let v = run(&s, move |s| {
        let now = Timestamp::now();
        let id_number = person_of(&p, r.id_number)?;
        let from = r
            .from
            .as_deref()
            .map(|m| YearMonth::parse(m).map_err(|e| invalid("from", m, &e.to_string())))
            .transpose()?;
        let on_behalf = (p.kind != SubjectKind::Member).then(|| id_number.clone());
        authorized(
            s,
            &p,
            Business::FlexibleContribution,
            Target::Member(&id_number),
            on_behalf,
            now,
        )?;
        let account_no = s
            .auth
            .store
            .begin_read()?
            .member_by_id_number(&s.auth.centre, &id_number)?
            .map(|m| m.account_no)
            .ok_or_else(|| AppError::NotFound {
                what: "a provident-fund account of this person: open one first".to_owned(),
            })?;
        let b = anju_app::remittance::voluntary_bill(
            s.auth.store.as_ref(),
            &s.auth.centre,
            &s.auth.policy,
            &account_no,
            from,
            r.months.unwrap_or(1),
            &r.bank,
        )?;
        let lines: Vec<serde_json::Value> = b
            .lines
            .iter()
            .map(|l| {
                serde_json::json!({
                    "month": l.month.to_string(),
                    "base": l.base.to_string(),
                    "amount": l.total().to_string(),
                    "amount_fen": l.total().fen(),
                    "notice": l.notice,
                })
            })
            .collect();
        Ok(serde_json::json!({
            "bill_no": b.bill.bill_no,
            "account_no": account_no,
            "status": b.bill.status.code(),
            "total": b.bill.total.to_string(),
            "total_fen": b.bill.total.fen(),
            "bank": b.bill.bank_code,
            "due_on": b.bill.due_on.to_string(),
            "lines": lines,
            "how_to_pay": format!(
                "pay {} at bank {} quoting bill number {}: the bank's notice settles the bill",
                b.bill.total, b.bill.bank_code, b.bill.bill_no
            ),
        }))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

fn rate(field: &'static str, text: &str) -> Result<anju_domain::money::Rate, AppError> {
    anju_domain::money::Rate::parse_percent(text).map_err(|e| invalid(field, text, &e.to_string()))
}

fn unit_json(u: &anju_store::registry::UnitRow) -> serde_json::Value {
    serde_json::json!({
        "unit_no": u.unit_no,
        "credit_code": u.credit_code,
        "name": u.name,
        "address": u.address,
        "legal_rep": u.legal_rep,
        "payday": u.payday,
        "bank": u.bank_code,
        "unit_ratio": u.unit_ratio.to_string(),
        "member_ratio": u.member_ratio.to_string(),
        "status": u.status.code(),
        "status_zh": u.status.label_zh(),
        "opened_on": u.opened_on.to_string(),
    })
}

/// A unit's registration (单位登记开户).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterUnitRequest {
    /// Unified social credit code.
    credit_code: String,
    name: String,
    address: String,
    legal_rep: String,
    /// Payday, day of the month.
    payday: i32,
    /// Collection bank code.
    bank: String,
    /// Unit and member ratios, percent.
    unit_ratio: String,
    member_ratio: String,
}

async fn register_unit(
    State(s): State<BusinessState>,
    headers: HeaderMap,
    Json(r): Json<RegisterUnitRequest>,
) -> Result<Response, WebError> {
    let p = principal(&s.auth, &headers).await?;
    let v = run(&s, move |s| {
        let now = Timestamp::now();
        let credit_code = anju_domain::ids::CreditCode::parse(&r.credit_code)
            .map_err(|e| invalid("credit_code", &r.credit_code, &e.to_string()))?;
        let new = anju_app::registry::NewUnit {
            credit_code,
            name: r.name,
            address: r.address,
            legal_rep: r.legal_rep,
            payday: r.payday,
            bank_code: r.bank,
            unit_ratio: rate("unit_ratio", &r.unit_ratio)?,
            member_ratio: rate("member_ratio", &r.member_ratio)?,
        };
        let stamp = authorized(s, &p, Business::UnitRegister, Target::None, None, now)?;
        let u = anju_app::registry::register_unit(
            s.auth.store.as_ref(),
            &s.auth.centre,
            &s.auth.policy,
            new,
            &stamp,
            now,
        )?;
        Ok(unit_json(&u))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// A status change with its reason.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeRequest {
    /// The act's code.
    act: String,
    /// The unit a member joins (启封, 内部转移).
    unit_no: Option<String>,
    /// Why (an approval reference for 缓缴, a court order for 冻结, …).
    reason: String,
}

async fn change_unit(
    State(s): State<BusinessState>,
    headers: HeaderMap,
    Path(no): Path<String>,
    Json(r): Json<ChangeRequest>,
) -> Result<Response, WebError> {
    let p = principal(&s.auth, &headers).await?;
    let v = run(&s, move |s| {
        let now = Timestamp::now();
        if r.unit_no.is_some() {
            return Err(invalid(
                "unit_no",
                r.unit_no.as_deref().unwrap_or_default(),
                "a unit's change names no other unit",
            ));
        }
        let act = anju_app::registry::UnitAct::from_code(&r.act)?;
        let stamp = authorized(s, &p, Business::UnitChange, Target::Unit(&no), None, now)?;
        let u = anju_app::registry::change_unit(
            s.auth.store.as_ref(),
            &s.auth.centre,
            &no,
            act,
            &r.reason,
            &stamp,
            now,
        )?;
        Ok(unit_json(&u))
    })
    .await?;
    Ok(Json(v).into_response())
}

/// A member's account opened in a unit (个人开户).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenMemberRequest {
    id_number: String,
    name: String,
    /// Last year's average monthly wage, yuan: the base is derived from it.
    wage: String,
}

async fn open_member(
    State(s): State<BusinessState>,
    headers: HeaderMap,
    Path(no): Path<String>,
    Json(r): Json<OpenMemberRequest>,
) -> Result<Response, WebError> {
    let p = principal(&s.auth, &headers).await?;
    let v = run(&s, move |s| {
        let now = Timestamp::now();
        let id_card = id_card("id_number", &r.id_number)?;
        let wage = yuan("wage", &r.wage)?;
        let stamp = authorized(
            s,
            &p,
            Business::MemberOpenAccount,
            Target::Unit(&no),
            None,
            now,
        )?;
        let (m, notice) = anju_app::registry::open_member(
            s.auth.store.as_ref(),
            &s.auth.centre,
            &s.auth.policy,
            anju_app::registry::NewMember {
                id_card,
                name: r.name,
                unit_no: no,
                wage,
            },
            &stamp,
            now,
        )?;
        let mut v = member_json(&m);
        v["notice"] = serde_json::json!(notice.map(|n| n.to_string()));
        Ok(v)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// A member's status change, by resident ID number: a unit's clerk seals or transfers
/// (内部转移) their own unit's members and hires sealed members into their own unit (启封);
/// a counter clerk does any, 冻结 at the centre hall only.
async fn change_member(
    State(s): State<BusinessState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(r): Json<ChangeRequest>,
) -> Result<Response, WebError> {
    use anju_app::registry::MemberAct;
    let p = principal(&s.auth, &headers).await?;
    let v = run(&s, move |s| {
        let now = Timestamp::now();
        let act = MemberAct::from_code(&r.act, r.unit_no)?;
        // 启封 is the hiring unit's act; everything else — 内部转移 included, which the
        // unit the member leaves hands over — is on the member's present unit.
        let target = match &act {
            MemberAct::Unseal { unit_no } => Target::Unit(unit_no),
            _ => Target::Member(&id),
        };
        let stamp = authorized(s, &p, act.business(), target, None, now)?;
        let account_no = s
            .auth
            .store
            .begin_read()?
            .member_by_id_number(&s.auth.centre, &id)?
            .map(|m| m.account_no)
            .ok_or_else(|| AppError::NotFound {
                what: format!("a personal account of {id}"),
            })?;
        let m = anju_app::registry::change_member(
            s.auth.store.as_ref(),
            &s.auth.centre,
            &account_no,
            act,
            &r.reason,
            &stamp,
            now,
        )?;
        Ok(member_json(&m))
    })
    .await?;
    Ok(Json(v).into_response())
}
