//! Registering and releasing a loan's mortgage at the real-estate registry (抵押登记 /
//! 预告登记, 注销抵押登记) through the [`RealEstate`](super::ports::RealEstate) port.
//!
//! Each is logged in the look-up log (查询留痕) exactly like a look-up: a `pending` row
//! (the applicant as subject, department `real-estate`, query `mortgage-register` with the
//! property as parameter, or `mortgage-release` with the registration number; the
//! application's purpose; who, where, when) committed **before** the registry is asked,
//! then completed with `answered` and the SM3 of the registry's answer (the registration
//! number in `detail`), or `unavailable` with the reason. No transaction is open while the
//! registry is asked. Registering needs an open loan application; a release is also
//! allowed after it closed (the loan is paid off). Both are idempotent at the registry, so
//! calling again after an `Unavailable` (or a crash) is safe.

use anju_domain::ledger::entry::sm3_hex;
use anju_domain::sharing::{
    Department, MortgageRegistration, MortgageRelease, MortgageRequest, Purpose, Unavailable,
    check_registration_no,
};
use anju_domain::stamp::Stamp;
use anju_store::StoreError;
use anju_store::sharing::{ApplicationRow, LookupOutcome, LookupRow};
use jiff::Timestamp;
use serde::Serialize;

use super::ports::Ask;
use super::{Sharing, invalid, lock_open};
use crate::AppError;

/// The look-up log's query code of a registration.
pub const QUERY_REGISTER: &str = "mortgage-register";
/// The look-up log's query code of a release.
pub const QUERY_RELEASE: &str = "mortgage-release";

/// The application must be a loan application (purpose `loan`).
fn loan_purpose(row: &ApplicationRow) -> Result<Purpose, AppError> {
    match Purpose::from_code(&row.purpose) {
        Some(Purpose::Loan) => Ok(Purpose::Loan),
        Some(_) => Err(invalid(
            "application_no",
            &row.application_no,
            "a mortgage is registered or released only for a loan application",
        )),
        None => Err(StoreError::Corrupt {
            what: format!(
                "application {} purpose {:?}",
                row.application_no, row.purpose
            ),
        }
        .into()),
    }
}

/// Writes the pending log row in `tx` (which holds the application's lock), commits, and
/// returns the `Ask` for the registry.
fn log_pending(
    mut tx: Box<dyn anju_store::StoreTx + '_>,
    ctx: &Sharing<'_>,
    row: &ApplicationRow,
    purpose: Purpose,
    (query, param): (&str, &str),
    stamp: &Stamp,
    now: Timestamp,
) -> Result<(Ask, i64), AppError> {
    let application_no = row.application_no.as_str();
    let seq = tx.max_lookup_seq(ctx.centre, application_no)? + 1;
    tx.insert_lookups(
        ctx.centre,
        &[LookupRow {
            application_no: application_no.to_owned(),
            seq,
            subject_id: row.applicant.clone(),
            department: Department::RealEstate.code().to_owned(),
            query: query.to_owned(),
            param: param.to_owned(),
            purpose: purpose.code().to_owned(),
            requester: stamp.operator.clone(),
            channel: stamp.channel.code().to_owned(),
            service_point: stamp.service_point.clone(),
            asked_at_us: now.as_microsecond(),
            outcome: "pending".to_owned(),
            answer_hash: String::new(),
            source: String::new(),
            read_at_us: None,
            detail: String::new(),
        }],
    )?;
    tx.commit()?;
    let ask = Ask {
        subject: row.applicant.clone(),
        year: None,
        purpose,
        application_no: application_no.to_owned(),
        requester: stamp.operator.clone(),
        request_id: format!("{application_no}-{seq}"),
    };
    Ok((ask, seq))
}

/// Completes the log row `seq` with the registry's answer (or why there is none).
fn log_outcome<T: Serialize>(
    ctx: &Sharing<'_>,
    application_no: &str,
    seq: i64,
    result: &Result<T, Unavailable>,
    number: impl Fn(&T) -> &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let outcome = match result {
        Ok(answer) => {
            let payload = serde_json::to_string(answer).map_err(|e| StoreError::Corrupt {
                what: format!("cannot encode the registry's answer: {e}"),
            })?;
            LookupOutcome {
                seq,
                outcome: "answered".to_owned(),
                answer_hash: sm3_hex(payload.as_bytes()),
                source: Department::RealEstate.code().to_owned(),
                read_at_us: Some(now.as_microsecond()),
                detail: number(answer).chars().take(500).collect(),
            }
        }
        Err(u) => LookupOutcome {
            seq,
            outcome: "unavailable".to_owned(),
            answer_hash: String::new(),
            source: String::new(),
            read_at_us: None,
            detail: u.reason.chars().take(500).collect(),
        },
    };
    let mut tx = ctx.store.begin()?;
    tx.lock_application(ctx.centre, application_no)?;
    tx.complete_lookups(ctx.centre, application_no, &[outcome])?;
    tx.commit()?;
    Ok(())
}

/// Registers the mortgage of `req` (a pre-registration when `req.pre_registration`) at the
/// real-estate registry for the open loan application `req.application_no`, logged like a
/// look-up. `Ok(Err(_))` is the registry refusing (the reason says why: another loan's
/// mortgage on the property, owners not matching) or unreachable; the loan then waits and
/// the call may be repeated (idempotent by `(loan_no, property)`).
pub fn register_mortgage(
    ctx: &Sharing<'_>,
    req: &MortgageRequest,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<Result<MortgageRegistration, Unavailable>, AppError> {
    stamp
        .validate()
        .map_err(|e| invalid("stamp", "", &e.to_string()))?;
    req.check().map_err(|(field, rule)| AppError::Invalid {
        field: "mortgage",
        value: field,
        rule,
    })?;
    let mut tx = ctx.store.begin()?;
    let row = lock_open(&mut *tx, ctx.centre, &req.application_no)?;
    let purpose = loan_purpose(&row)?;
    let (ask, seq) = log_pending(
        tx,
        ctx,
        &row,
        purpose,
        (QUERY_REGISTER, &req.property),
        stamp,
        now,
    )?;
    let result = ctx.departments.real_estate.register_mortgage(&ask, req);
    log_outcome(
        ctx,
        &row.application_no,
        seq,
        &result,
        |r| r.registration_no.as_str(),
        now,
    )?;
    Ok(result)
}

/// Releases the mortgage `registration_no` (注销抵押登记) registered for the loan
/// application `application_no` — open or already closed, since a release follows the
/// payoff — logged like a look-up. `Ok(Err(_))` is the registry refusing (e.g. an unknown
/// number) or unreachable; the call may be repeated (idempotent by the number).
pub fn release_mortgage(
    ctx: &Sharing<'_>,
    application_no: &str,
    registration_no: &str,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<Result<MortgageRelease, Unavailable>, AppError> {
    stamp
        .validate()
        .map_err(|e| invalid("stamp", "", &e.to_string()))?;
    check_registration_no(registration_no)
        .map_err(|rule| invalid("registration_no", registration_no, &rule))?;
    let mut tx = ctx.store.begin()?;
    let Some(row) = tx.lock_application(ctx.centre, application_no)? else {
        return Err(AppError::NotFound {
            what: format!("application {application_no}"),
        });
    };
    let purpose = loan_purpose(&row)?;
    let (ask, seq) = log_pending(
        tx,
        ctx,
        &row,
        purpose,
        (QUERY_RELEASE, registration_no),
        stamp,
        now,
    )?;
    let result = ctx
        .departments
        .real_estate
        .release_mortgage(&ask, registration_no);
    log_outcome(
        ctx,
        &row.application_no,
        seq,
        &result,
        |r| r.registration_no.as_str(),
        now,
    )?;
    Ok(result)
}
