//! Access (issue 8) on SQLite: service points, staff, unit clerks, phone bindings,
//! one-time codes, sessions, known devices, sign-in attempts, the audit log,
//! notifications and approvals (schema 9), and policy versions (schema 10).
//!
//! Plain functions over the transaction's connection. Every write is one statement, so a
//! refused one changes nothing and leaves the transaction usable; a conditional update
//! that changes nothing is told apart (`NotFound` or `Conflict`) by reading the row.

use anju_store::StoreError;
use anju_store::access::{
    ApprovalRow, AttemptCounts, AuditFilter, AuditRow, NotificationPrefRow, NotificationRow,
    OtpChallengeRow, PhoneBindingRow, PolicyVersionRow, ServicePointRow, SessionRow, StaffRow,
    UnitClerkRow,
};
use jiff::civil::Date;
use rusqlite::{Connection, OptionalExtension, params};

use crate::db_err;
use crate::rows::{Cols, conflict_as, date_str, query_opt, query_rows};

/// A page size as an SQL LIMIT.
fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Runs a write; how many rows it changed.
fn exec(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<usize, StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut st| st.execute(p))
        .map_err(db_err)
}

/// Whether a row matches (`SELECT 1 …`).
fn exists(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<bool, StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut st| st.query_row(p, |_| Ok(())).optional())
        .map(|r| r.is_some())
        .map_err(db_err)
}

/// The error for a conditional update that changed nothing: `Conflict` (with `state`) if
/// the row exists, else `NotFound`.
fn refused(found: bool, what: String, state: &str) -> StoreError {
    if found {
        StoreError::Conflict {
            what: format!("{what} {state}"),
        }
    } else {
        StoreError::NotFound { what }
    }
}

/// `NotFound` unless one row changed.
fn one(n: usize, what: impl FnOnce() -> String) -> Result<(), StoreError> {
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound { what: what() })
    }
}

// ---- service points -------------------------------------------------------------------

const POINT_COLUMNS: &str = "code, name, point_type, county, town, village, bank_code, \
    businesses, status, opened_on, closed_on";

fn point_of(c: &Cols<'_, '_>) -> Result<ServicePointRow, StoreError> {
    Ok(ServicePointRow {
        code: c.get(0)?,
        name: c.get(1)?,
        point_type: c.get(2)?,
        county: c.get(3)?,
        town: c.get(4)?,
        village: c.get(5)?,
        bank_code: c.get(6)?,
        businesses: c.get(7)?,
        status: c.get(8)?,
        opened_on: c.date(9)?,
        closed_on: c.opt_date(10)?,
    })
}

pub(crate) fn insert_service_point(
    conn: &Connection,
    centre: &str,
    p: &ServicePointRow,
) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "INSERT INTO service_points (centre_code, {POINT_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    ))
    .and_then(|mut st| {
        st.execute(params![
            centre,
            p.code,
            p.name,
            p.point_type,
            p.county,
            p.town,
            p.village,
            p.bank_code,
            p.businesses,
            p.status,
            date_str(p.opened_on),
            p.closed_on.map(date_str)
        ])
    })
    .map_err(conflict_as(|| {
        format!("service point {} in centre {centre}", p.code)
    }))
    .map(|_| ())
}

pub(crate) fn service_point(
    conn: &Connection,
    centre: &str,
    code: &str,
) -> Result<Option<ServicePointRow>, StoreError> {
    query_opt(
        conn,
        "service_points",
        &format!("SELECT {POINT_COLUMNS} FROM service_points WHERE centre_code = ?1 AND code = ?2"),
        params![centre, code],
        point_of,
    )
}

pub(crate) fn service_points(
    conn: &Connection,
    centre: &str,
    point_type: Option<&str>,
    status: Option<&str>,
) -> Result<Vec<ServicePointRow>, StoreError> {
    query_rows(
        conn,
        "service_points",
        &format!(
            "SELECT {POINT_COLUMNS} FROM service_points
             WHERE centre_code = ?1 AND (?2 IS NULL OR point_type = ?2)
               AND (?3 IS NULL OR status = ?3)
             ORDER BY code"
        ),
        params![centre, point_type, status],
        point_of,
    )
}

fn point_exists(conn: &Connection, centre: &str, code: &str) -> Result<bool, StoreError> {
    exists(
        conn,
        "SELECT 1 FROM service_points WHERE centre_code = ?1 AND code = ?2",
        params![centre, code],
    )
}

pub(crate) fn set_point_businesses(
    conn: &Connection,
    centre: &str,
    code: &str,
    businesses: &str,
) -> Result<(), StoreError> {
    let n = exec(
        conn,
        "UPDATE service_points SET businesses = ?3 WHERE centre_code = ?1 AND code = ?2",
        params![centre, code, businesses],
    )?;
    one(n, || format!("service point {code} in centre {centre}"))
}

pub(crate) fn close_service_point(
    conn: &Connection,
    centre: &str,
    code: &str,
    on: Date,
) -> Result<(), StoreError> {
    let n = exec(
        conn,
        "UPDATE service_points SET status = 'closed', closed_on = ?3
         WHERE centre_code = ?1 AND code = ?2 AND status = 'open'",
        params![centre, code, date_str(on)],
    )?;
    if n == 1 {
        return Ok(());
    }
    Err(refused(
        point_exists(conn, centre, code)?,
        format!("service point {code} in centre {centre}"),
        "is closed already",
    ))
}

pub(crate) fn reopen_service_point(
    conn: &Connection,
    centre: &str,
    code: &str,
) -> Result<(), StoreError> {
    let n = exec(
        conn,
        "UPDATE service_points SET status = 'open', closed_on = NULL
         WHERE centre_code = ?1 AND code = ?2 AND status = 'closed'",
        params![centre, code],
    )?;
    if n == 1 {
        return Ok(());
    }
    Err(refused(
        point_exists(conn, centre, code)?,
        format!("service point {code} in centre {centre}"),
        "is open",
    ))
}

// ---- staff ----------------------------------------------------------------------------

const STAFF_COLUMNS: &str = "staff_id, name, role, service_point, password_hash, \
    password_changed_at_us, totp_secret, totp_last_step, failed_attempts, locked_until_us, \
    status, created_at_us";

fn staff_of(c: &Cols<'_, '_>) -> Result<StaffRow, StoreError> {
    Ok(StaffRow {
        staff_id: c.get(0)?,
        name: c.get(1)?,
        role: c.get(2)?,
        service_point: c.get(3)?,
        password_hash: c.get(4)?,
        password_changed_at_us: c.get(5)?,
        totp_secret: c.get(6)?,
        totp_last_step: c.get(7)?,
        failed_attempts: c.get(8)?,
        locked_until_us: c.get(9)?,
        status: c.get(10)?,
        created_at_us: c.get(11)?,
    })
}

pub(crate) fn insert_staff(
    conn: &Connection,
    centre: &str,
    s: &StaffRow,
) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "INSERT INTO staff (centre_code, {STAFF_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
    ))
    .and_then(|mut st| {
        st.execute(params![
            centre,
            s.staff_id,
            s.name,
            s.role,
            s.service_point,
            s.password_hash,
            s.password_changed_at_us,
            s.totp_secret,
            s.totp_last_step,
            s.failed_attempts,
            s.locked_until_us,
            s.status,
            s.created_at_us
        ])
    })
    .map_err(conflict_as(|| {
        format!("staff {} in centre {centre}", s.staff_id)
    }))
    .map(|_| ())
}

pub(crate) fn staff(
    conn: &Connection,
    centre: &str,
    staff_id: &str,
) -> Result<Option<StaffRow>, StoreError> {
    query_opt(
        conn,
        "staff",
        &format!("SELECT {STAFF_COLUMNS} FROM staff WHERE centre_code = ?1 AND staff_id = ?2"),
        params![centre, staff_id],
        staff_of,
    )
}

pub(crate) fn staff_list(
    conn: &Connection,
    centre: &str,
    service_point: Option<&str>,
) -> Result<Vec<StaffRow>, StoreError> {
    query_rows(
        conn,
        "staff",
        &format!(
            "SELECT {STAFF_COLUMNS} FROM staff
             WHERE centre_code = ?1 AND (?2 IS NULL OR service_point = ?2) ORDER BY staff_id"
        ),
        params![centre, service_point],
        staff_of,
    )
}

/// One `UPDATE staff SET {set} WHERE …` with `?3…` bound after the key.
pub(crate) fn update_staff(
    conn: &Connection,
    centre: &str,
    staff_id: &str,
    set: &str,
    rest: &[&dyn rusqlite::ToSql],
) -> Result<(), StoreError> {
    let mut p: Vec<&dyn rusqlite::ToSql> = vec![&centre, &staff_id];
    p.extend_from_slice(rest);
    let n = exec(
        conn,
        &format!("UPDATE staff SET {set} WHERE centre_code = ?1 AND staff_id = ?2"),
        p.as_slice(),
    )?;
    one(n, || format!("staff {staff_id} in centre {centre}"))
}

pub(crate) fn record_staff_failure(
    conn: &Connection,
    centre: &str,
    staff_id: &str,
    lock_after: i32,
    locked_until_us: i64,
) -> Result<i32, StoreError> {
    conn.prepare_cached(
        "UPDATE staff SET failed_attempts = failed_attempts + 1,
            locked_until_us = CASE WHEN failed_attempts + 1 >= ?3 THEN ?4
                                   ELSE locked_until_us END
         WHERE centre_code = ?1 AND staff_id = ?2
         RETURNING failed_attempts",
    )
    .and_then(|mut st| {
        st.query_row(
            params![centre, staff_id, lock_after, locked_until_us],
            |r| r.get(0),
        )
        .optional()
    })
    .map_err(db_err)?
    .ok_or_else(|| StoreError::NotFound {
        what: format!("staff {staff_id} in centre {centre}"),
    })
}

pub(crate) fn record_staff_success(
    conn: &Connection,
    centre: &str,
    staff_id: &str,
    totp_step: Option<i64>,
) -> Result<(), StoreError> {
    let n = exec(
        conn,
        "UPDATE staff SET failed_attempts = 0, locked_until_us = NULL,
            totp_last_step = COALESCE(?3, totp_last_step)
         WHERE centre_code = ?1 AND staff_id = ?2
           AND (?3 IS NULL OR totp_last_step IS NULL OR totp_last_step < ?3)",
        params![centre, staff_id, totp_step],
    )?;
    if n == 1 {
        return Ok(());
    }
    Err(refused(
        staff(conn, centre, staff_id)?.is_some(),
        format!("staff {staff_id} in centre {centre}"),
        "used that one-time code's time step already",
    ))
}

pub(crate) fn disable_staff(
    conn: &Connection,
    centre: &str,
    staff_id: &str,
) -> Result<(), StoreError> {
    let n = exec(
        conn,
        "UPDATE staff SET status = 'disabled'
         WHERE centre_code = ?1 AND staff_id = ?2 AND status <> 'disabled'",
        params![centre, staff_id],
    )?;
    if n == 1 {
        return Ok(());
    }
    Err(refused(
        staff(conn, centre, staff_id)?.is_some(),
        format!("staff {staff_id} in centre {centre}"),
        "is disabled already",
    ))
}

// ---- unit clerks ----------------------------------------------------------------------

const CLERK_COLUMNS: &str = "unit_no, id_number, name, phone, password_hash, \
    password_changed_at_us, failed_attempts, locked_until_us, authorised_at_us, revoked_at_us";

fn clerk_of(c: &Cols<'_, '_>) -> Result<UnitClerkRow, StoreError> {
    Ok(UnitClerkRow {
        unit_no: c.get(0)?,
        id_number: c.get(1)?,
        name: c.get(2)?,
        phone: c.get(3)?,
        password_hash: c.get(4)?,
        password_changed_at_us: c.get(5)?,
        failed_attempts: c.get(6)?,
        locked_until_us: c.get(7)?,
        authorised_at_us: c.get(8)?,
        revoked_at_us: c.get(9)?,
    })
}

fn clerk_what(centre: &str, unit_no: &str, id_number: &str) -> String {
    format!("clerk {id_number} of unit {unit_no} in centre {centre}")
}

pub(crate) fn insert_unit_clerk(
    conn: &Connection,
    centre: &str,
    k: &UnitClerkRow,
) -> Result<(), StoreError> {
    let n = exec(
        conn,
        &format!(
            "INSERT INTO unit_clerks (centre_code, {CLERK_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (centre_code, unit_no, id_number) DO UPDATE SET
                name = excluded.name, phone = excluded.phone,
                password_hash = excluded.password_hash,
                password_changed_at_us = excluded.password_changed_at_us,
                failed_attempts = excluded.failed_attempts,
                locked_until_us = excluded.locked_until_us,
                authorised_at_us = excluded.authorised_at_us,
                revoked_at_us = excluded.revoked_at_us
             WHERE unit_clerks.revoked_at_us IS NOT NULL"
        ),
        params![
            centre,
            k.unit_no,
            k.id_number,
            k.name,
            k.phone,
            k.password_hash,
            k.password_changed_at_us,
            k.failed_attempts,
            k.locked_until_us,
            k.authorised_at_us,
            k.revoked_at_us
        ],
    )?;
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict {
            what: format!(
                "{} is authorised already",
                clerk_what(centre, &k.unit_no, &k.id_number)
            ),
        })
    }
}

pub(crate) fn unit_clerk(
    conn: &Connection,
    centre: &str,
    unit_no: &str,
    id_number: &str,
) -> Result<Option<UnitClerkRow>, StoreError> {
    query_opt(
        conn,
        "unit_clerks",
        &format!(
            "SELECT {CLERK_COLUMNS} FROM unit_clerks
             WHERE centre_code = ?1 AND unit_no = ?2 AND id_number = ?3"
        ),
        params![centre, unit_no, id_number],
        clerk_of,
    )
}

pub(crate) fn unit_clerks(
    conn: &Connection,
    centre: &str,
    unit_no: &str,
) -> Result<Vec<UnitClerkRow>, StoreError> {
    query_rows(
        conn,
        "unit_clerks",
        &format!(
            "SELECT {CLERK_COLUMNS} FROM unit_clerks
             WHERE centre_code = ?1 AND unit_no = ?2 ORDER BY id_number"
        ),
        params![centre, unit_no],
        clerk_of,
    )
}

pub(crate) fn revoke_unit_clerk(
    conn: &Connection,
    centre: &str,
    unit_no: &str,
    id_number: &str,
    at_us: i64,
) -> Result<(), StoreError> {
    let n = exec(
        conn,
        "UPDATE unit_clerks SET revoked_at_us = ?4
         WHERE centre_code = ?1 AND unit_no = ?2 AND id_number = ?3 AND revoked_at_us IS NULL",
        params![centre, unit_no, id_number, at_us],
    )?;
    if n == 1 {
        return Ok(());
    }
    Err(refused(
        unit_clerk(conn, centre, unit_no, id_number)?.is_some(),
        clerk_what(centre, unit_no, id_number),
        "is revoked already",
    ))
}

pub(crate) fn set_unit_clerk_password(
    conn: &Connection,
    centre: &str,
    unit_no: &str,
    id_number: &str,
    hash: &str,
    at_us: i64,
) -> Result<(), StoreError> {
    let n = exec(
        conn,
        "UPDATE unit_clerks SET password_hash = ?4, password_changed_at_us = ?5,
            failed_attempts = 0, locked_until_us = NULL
         WHERE centre_code = ?1 AND unit_no = ?2 AND id_number = ?3",
        params![centre, unit_no, id_number, hash, at_us],
    )?;
    one(n, || clerk_what(centre, unit_no, id_number))
}

pub(crate) fn record_unit_clerk_failure(
    conn: &Connection,
    centre: &str,
    unit_no: &str,
    id_number: &str,
    lock_after: i32,
    locked_until_us: i64,
) -> Result<i32, StoreError> {
    conn.prepare_cached(
        "UPDATE unit_clerks SET failed_attempts = failed_attempts + 1,
            locked_until_us = CASE WHEN failed_attempts + 1 >= ?4 THEN ?5
                                   ELSE locked_until_us END
         WHERE centre_code = ?1 AND unit_no = ?2 AND id_number = ?3
         RETURNING failed_attempts",
    )
    .and_then(|mut st| {
        st.query_row(
            params![centre, unit_no, id_number, lock_after, locked_until_us],
            |r| r.get(0),
        )
        .optional()
    })
    .map_err(db_err)?
    .ok_or_else(|| StoreError::NotFound {
        what: clerk_what(centre, unit_no, id_number),
    })
}

pub(crate) fn record_unit_clerk_success(
    conn: &Connection,
    centre: &str,
    unit_no: &str,
    id_number: &str,
) -> Result<(), StoreError> {
    let n = exec(
        conn,
        "UPDATE unit_clerks SET failed_attempts = 0, locked_until_us = NULL
         WHERE centre_code = ?1 AND unit_no = ?2 AND id_number = ?3",
        params![centre, unit_no, id_number],
    )?;
    one(n, || clerk_what(centre, unit_no, id_number))
}

// ---- phone bindings -------------------------------------------------------------------

fn binding_of(c: &Cols<'_, '_>) -> Result<PhoneBindingRow, StoreError> {
    Ok(PhoneBindingRow {
        id_number: c.get(0)?,
        phone: c.get(1)?,
        bound_at_us: c.get(2)?,
        bound_by: c.get(3)?,
    })
}

pub(crate) fn bind_phone(
    conn: &Connection,
    centre: &str,
    b: &PhoneBindingRow,
) -> Result<(), StoreError> {
    exec(
        conn,
        "INSERT INTO member_phones (centre_code, id_number, phone, bound_at_us, bound_by)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (centre_code, id_number) DO UPDATE SET phone = excluded.phone,
            bound_at_us = excluded.bound_at_us, bound_by = excluded.bound_by",
        params![centre, b.id_number, b.phone, b.bound_at_us, b.bound_by],
    )
    .map_err(|e| match e {
        StoreError::Conflict { .. } => StoreError::Conflict {
            what: format!(
                "phone {} in centre {centre} is bound to another person",
                b.phone
            ),
        },
        other => other,
    })
    .map(|_| ())
}

pub(crate) fn phone_binding(
    conn: &Connection,
    centre: &str,
    column: &'static str,
    value: &str,
) -> Result<Option<PhoneBindingRow>, StoreError> {
    let sql = match column {
        "phone" => {
            "SELECT id_number, phone, bound_at_us, bound_by FROM member_phones
             WHERE centre_code = ?1 AND phone = ?2"
        }
        _ => {
            "SELECT id_number, phone, bound_at_us, bound_by FROM member_phones
             WHERE centre_code = ?1 AND id_number = ?2"
        }
    };
    query_opt(
        conn,
        "member_phones",
        sql,
        params![centre, value],
        binding_of,
    )
}

pub(crate) fn unbind_phone(
    conn: &Connection,
    centre: &str,
    id_number: &str,
) -> Result<bool, StoreError> {
    exec(
        conn,
        "DELETE FROM member_phones WHERE centre_code = ?1 AND id_number = ?2",
        params![centre, id_number],
    )
    .map(|n| n > 0)
}

// ---- one-time codes -------------------------------------------------------------------

const OTP_COLUMNS: &str =
    "id, phone, purpose, code_hash, created_at_us, expires_at_us, attempts, consumed_at_us";

fn otp_of(c: &Cols<'_, '_>) -> Result<OtpChallengeRow, StoreError> {
    Ok(OtpChallengeRow {
        id: c.get(0)?,
        phone: c.get(1)?,
        purpose: c.get(2)?,
        code_hash: c.get(3)?,
        created_at_us: c.get(4)?,
        expires_at_us: c.get(5)?,
        attempts: c.get(6)?,
        consumed_at_us: c.get(7)?,
    })
}

pub(crate) fn insert_otp(
    conn: &Connection,
    centre: &str,
    o: &OtpChallengeRow,
) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO otp_challenges (centre_code, phone, purpose, code_hash, created_at_us,
            expires_at_us, attempts, consumed_at_us)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
    )
    .and_then(|mut st| {
        st.query_row(
            params![
                centre,
                o.phone,
                o.purpose,
                o.code_hash,
                o.created_at_us,
                o.expires_at_us,
                o.attempts,
                o.consumed_at_us
            ],
            |r| r.get(0),
        )
    })
    .map_err(db_err)
}

fn otp(conn: &Connection, centre: &str, id: i64) -> Result<Option<OtpChallengeRow>, StoreError> {
    query_opt(
        conn,
        "otp_challenges",
        &format!("SELECT {OTP_COLUMNS} FROM otp_challenges WHERE centre_code = ?1 AND id = ?2"),
        params![centre, id],
        otp_of,
    )
}

pub(crate) fn open_otp(
    conn: &Connection,
    centre: &str,
    phone: &str,
    purpose: &str,
    now_us: i64,
) -> Result<Option<OtpChallengeRow>, StoreError> {
    query_opt(
        conn,
        "otp_challenges",
        &format!(
            "SELECT {OTP_COLUMNS} FROM otp_challenges
             WHERE centre_code = ?1 AND phone = ?2 AND purpose = ?3
               AND consumed_at_us IS NULL AND expires_at_us > ?4
             ORDER BY id DESC LIMIT 1"
        ),
        params![centre, phone, purpose, now_us],
        otp_of,
    )
}

pub(crate) fn count_otps_since(
    conn: &Connection,
    centre: &str,
    phone: &str,
    since_us: i64,
) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "SELECT COUNT(*) FROM otp_challenges
         WHERE centre_code = ?1 AND phone = ?2 AND created_at_us >= ?3",
    )
    .and_then(|mut st| st.query_row(params![centre, phone, since_us], |r| r.get(0)))
    .map_err(db_err)
}

pub(crate) fn record_otp_attempt(
    conn: &Connection,
    centre: &str,
    id: i64,
) -> Result<i32, StoreError> {
    let n: Option<i32> = conn
        .prepare_cached(
            "UPDATE otp_challenges SET attempts = attempts + 1
             WHERE centre_code = ?1 AND id = ?2 AND consumed_at_us IS NULL
             RETURNING attempts",
        )
        .and_then(|mut st| st.query_row(params![centre, id], |r| r.get(0)).optional())
        .map_err(db_err)?;
    match n {
        Some(n) => Ok(n),
        None => Err(refused(
            otp(conn, centre, id)?.is_some(),
            format!("one-time code {id} in centre {centre}"),
            "is used already",
        )),
    }
}

pub(crate) fn consume_otp(
    conn: &Connection,
    centre: &str,
    id: i64,
    at_us: i64,
) -> Result<(), StoreError> {
    let n = exec(
        conn,
        "UPDATE otp_challenges SET consumed_at_us = ?3
         WHERE centre_code = ?1 AND id = ?2 AND consumed_at_us IS NULL",
        params![centre, id, at_us],
    )?;
    if n == 1 {
        return Ok(());
    }
    Err(refused(
        otp(conn, centre, id)?.is_some(),
        format!("one-time code {id} in centre {centre}"),
        "is used already",
    ))
}

// ---- sessions and devices -------------------------------------------------------------

const SESSION_COLUMNS: &str = "token_hash, subject_kind, subject_id, role, service_point, \
    channel, device, created_at_us, last_seen_at_us, expires_at_us, revoked_at_us";

fn session_of(c: &Cols<'_, '_>) -> Result<SessionRow, StoreError> {
    Ok(SessionRow {
        token_hash: c.get(0)?,
        subject_kind: c.get(1)?,
        subject_id: c.get(2)?,
        role: c.get(3)?,
        service_point: c.get(4)?,
        channel: c.get(5)?,
        device: c.get(6)?,
        created_at_us: c.get(7)?,
        last_seen_at_us: c.get(8)?,
        expires_at_us: c.get(9)?,
        revoked_at_us: c.get(10)?,
    })
}

pub(crate) fn insert_session(
    conn: &Connection,
    centre: &str,
    s: &SessionRow,
) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "INSERT INTO sessions (centre_code, {SESSION_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    ))
    .and_then(|mut st| {
        st.execute(params![
            centre,
            s.token_hash,
            s.subject_kind,
            s.subject_id,
            s.role,
            s.service_point,
            s.channel,
            s.device,
            s.created_at_us,
            s.last_seen_at_us,
            s.expires_at_us,
            s.revoked_at_us
        ])
    })
    .map_err(conflict_as(|| {
        format!("a session token in centre {centre}")
    }))
    .map(|_| ())
}

pub(crate) fn session(
    conn: &Connection,
    centre: &str,
    token_hash: &str,
) -> Result<Option<SessionRow>, StoreError> {
    query_opt(
        conn,
        "sessions",
        &format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE centre_code = ?1 AND token_hash = ?2"
        ),
        params![centre, token_hash],
        session_of,
    )
}

/// Sets `column` of an unrevoked session.
pub(crate) fn update_session(
    conn: &Connection,
    centre: &str,
    token_hash: &str,
    column: &'static str,
    at_us: i64,
) -> Result<(), StoreError> {
    let sql = match column {
        "revoked_at_us" => {
            "UPDATE sessions SET revoked_at_us = ?3
             WHERE centre_code = ?1 AND token_hash = ?2 AND revoked_at_us IS NULL"
        }
        _ => {
            "UPDATE sessions SET last_seen_at_us = ?3
             WHERE centre_code = ?1 AND token_hash = ?2 AND revoked_at_us IS NULL"
        }
    };
    let n = exec(conn, sql, params![centre, token_hash, at_us])?;
    if n == 1 {
        return Ok(());
    }
    Err(refused(
        session(conn, centre, token_hash)?.is_some(),
        format!("session in centre {centre}"),
        "is revoked",
    ))
}

pub(crate) fn revoke_sessions_of(
    conn: &Connection,
    centre: &str,
    kind: &str,
    id: &str,
    at_us: i64,
) -> Result<u64, StoreError> {
    exec(
        conn,
        "UPDATE sessions SET revoked_at_us = ?4
         WHERE centre_code = ?1 AND subject_kind = ?2 AND subject_id = ?3
           AND revoked_at_us IS NULL",
        params![centre, kind, id, at_us],
    )
    .map(|n| n as u64)
}

pub(crate) fn sessions_of(
    conn: &Connection,
    centre: &str,
    kind: &str,
    id: &str,
) -> Result<Vec<SessionRow>, StoreError> {
    query_rows(
        conn,
        "sessions",
        &format!(
            "SELECT {SESSION_COLUMNS} FROM sessions
             WHERE centre_code = ?1 AND subject_kind = ?2 AND subject_id = ?3
             ORDER BY created_at_us DESC, token_hash"
        ),
        params![centre, kind, id],
        session_of,
    )
}

pub(crate) fn remember_device(
    conn: &Connection,
    centre: &str,
    kind: &str,
    id: &str,
    device: &str,
    at_us: i64,
) -> Result<bool, StoreError> {
    exec(
        conn,
        "INSERT INTO known_devices (centre_code, subject_kind, subject_id, device,
            first_seen_at_us)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        params![centre, kind, id, device, at_us],
    )
    .map(|n| n == 1)
}

// ---- sign-in attempts -----------------------------------------------------------------

pub(crate) fn insert_login_attempt(
    conn: &Connection,
    centre: &str,
    key: &str,
    at_us: i64,
    ok: bool,
) -> Result<(), StoreError> {
    exec(
        conn,
        "INSERT INTO login_attempts (centre_code, attempt_key, at_us, ok) VALUES (?1, ?2, ?3, ?4)",
        params![centre, key, at_us, ok],
    )
    .map(|_| ())
}

pub(crate) fn count_login_attempts(
    conn: &Connection,
    centre: &str,
    key: &str,
    since_us: i64,
) -> Result<AttemptCounts, StoreError> {
    conn.prepare_cached(
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE NOT ok) FROM login_attempts
         WHERE centre_code = ?1 AND attempt_key = ?2 AND at_us >= ?3",
    )
    .and_then(|mut st| {
        st.query_row(params![centre, key, since_us], |r| {
            Ok(AttemptCounts {
                attempts: r.get(0)?,
                failures: r.get(1)?,
            })
        })
    })
    .map_err(db_err)
}

pub(crate) fn prune_login_attempts(
    conn: &Connection,
    centre: &str,
    before_us: i64,
) -> Result<u64, StoreError> {
    exec(
        conn,
        "DELETE FROM login_attempts WHERE centre_code = ?1 AND at_us < ?2",
        params![centre, before_us],
    )
    .map(|n| n as u64)
}

// ---- audit log ------------------------------------------------------------------------

const AUDIT_COLUMNS: &str = "seq, at_us, actor, actor_role, service_point, channel, action, \
    business, subject_id, subject_unit, object, outcome, detail, prev_hash, entry_hash";

fn audit_of(c: &Cols<'_, '_>) -> Result<AuditRow, StoreError> {
    Ok(AuditRow {
        seq: c.get(0)?,
        at_us: c.get(1)?,
        actor: c.get(2)?,
        actor_role: c.get(3)?,
        service_point: c.get(4)?,
        channel: c.get(5)?,
        action: c.get(6)?,
        business: c.get(7)?,
        subject_id: c.get(8)?,
        subject_unit: c.get(9)?,
        object: c.get(10)?,
        outcome: c.get(11)?,
        detail: c.get(12)?,
        prev_hash: c.get(13)?,
        entry_hash: c.get(14)?,
    })
}

pub(crate) fn audit_head(
    conn: &Connection,
    centre: &str,
) -> Result<Option<(i64, String)>, StoreError> {
    query_opt(
        conn,
        "audit_log",
        "SELECT seq, entry_hash FROM audit_log WHERE centre_code = ?1
         ORDER BY seq DESC LIMIT 1",
        params![centre],
        |c| Ok((c.get(0)?, c.get(1)?)),
    )
}

pub(crate) fn append_audit(
    conn: &Connection,
    centre: &str,
    a: &AuditRow,
) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "INSERT INTO audit_log (centre_code, {AUDIT_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
    ))
    .and_then(|mut st| {
        st.execute(params![
            centre,
            a.seq,
            a.at_us,
            a.actor,
            a.actor_role,
            a.service_point,
            a.channel,
            a.action,
            a.business,
            a.subject_id,
            a.subject_unit,
            a.object,
            a.outcome,
            a.detail,
            a.prev_hash,
            a.entry_hash
        ])
    })
    .map_err(conflict_as(|| {
        format!("audit row {} in centre {centre}", a.seq)
    }))
    .map(|_| ())
}

pub(crate) fn audit_range(
    conn: &Connection,
    centre: &str,
    after: i64,
    limit: usize,
) -> Result<Vec<AuditRow>, StoreError> {
    query_rows(
        conn,
        "audit_log",
        &format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE centre_code = ?1 AND seq > ?2
             ORDER BY seq LIMIT ?3"
        ),
        params![centre, after, limit_of(limit)],
        audit_of,
    )
}

pub(crate) fn search_audit(
    conn: &Connection,
    centre: &str,
    f: &AuditFilter,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<AuditRow>, StoreError> {
    query_rows(
        conn,
        "audit_log",
        &format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log
             WHERE centre_code = ?1 AND (?2 IS NULL OR seq < ?2)
               AND (?3 IS NULL OR actor = ?3) AND (?4 IS NULL OR subject_id = ?4)
               AND (?5 IS NULL OR action = ?5) AND (?6 IS NULL OR at_us >= ?6)
               AND (?7 IS NULL OR at_us < ?7)
             ORDER BY seq DESC LIMIT ?8"
        ),
        params![
            centre,
            before,
            f.actor,
            f.subject_id,
            f.action,
            f.from_us,
            f.to_us,
            limit_of(limit)
        ],
        audit_of,
    )
}

// ---- notifications --------------------------------------------------------------------

pub(crate) fn set_notification_pref(
    conn: &Connection,
    centre: &str,
    p: &NotificationPrefRow,
) -> Result<(), StoreError> {
    exec(
        conn,
        "INSERT INTO notification_prefs (centre_code, id_number, kind, enabled)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (centre_code, id_number, kind) DO UPDATE SET enabled = excluded.enabled",
        params![centre, p.id_number, p.kind, p.enabled],
    )
    .map(|_| ())
}

pub(crate) fn notification_prefs(
    conn: &Connection,
    centre: &str,
    id_number: &str,
) -> Result<Vec<NotificationPrefRow>, StoreError> {
    query_rows(
        conn,
        "notification_prefs",
        "SELECT id_number, kind, enabled FROM notification_prefs
         WHERE centre_code = ?1 AND id_number = ?2 ORDER BY kind",
        params![centre, id_number],
        |c| {
            Ok(NotificationPrefRow {
                id_number: c.get(0)?,
                kind: c.get(1)?,
                enabled: c.get(2)?,
            })
        },
    )
}

const NOTIFICATION_COLUMNS: &str =
    "id, id_number, kind, body, created_at_us, status, sent_at_us, error";

fn notification_of(c: &Cols<'_, '_>) -> Result<NotificationRow, StoreError> {
    Ok(NotificationRow {
        id: c.get(0)?,
        id_number: c.get(1)?,
        kind: c.get(2)?,
        body: c.get(3)?,
        created_at_us: c.get(4)?,
        status: c.get(5)?,
        sent_at_us: c.get(6)?,
        error: c.get(7)?,
    })
}

pub(crate) fn insert_notification(
    conn: &Connection,
    centre: &str,
    n: &NotificationRow,
) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO notifications (centre_code, id_number, kind, body, created_at_us, status,
            sent_at_us, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
    )
    .and_then(|mut st| {
        st.query_row(
            params![
                centre,
                n.id_number,
                n.kind,
                n.body,
                n.created_at_us,
                n.status,
                n.sent_at_us,
                n.error
            ],
            |r| r.get(0),
        )
    })
    .map_err(db_err)
}

pub(crate) fn pending_notifications(
    conn: &Connection,
    centre: &str,
    limit: usize,
) -> Result<Vec<NotificationRow>, StoreError> {
    query_rows(
        conn,
        "notifications",
        &format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications
             WHERE centre_code = ?1 AND status = 'pending' ORDER BY id LIMIT ?2"
        ),
        params![centre, limit_of(limit)],
        notification_of,
    )
}

pub(crate) fn finish_notification(
    conn: &Connection,
    centre: &str,
    id: i64,
    status: &str,
    at_us: i64,
    error: Option<&str>,
) -> Result<(), StoreError> {
    let n = exec(
        conn,
        "UPDATE notifications SET status = ?3,
            sent_at_us = CASE WHEN ?3 = 'sent' THEN ?4 ELSE NULL END, error = ?5
         WHERE centre_code = ?1 AND id = ?2 AND status = 'pending'",
        params![centre, id, status, at_us, error],
    )?;
    if n == 1 {
        return Ok(());
    }
    let found = exists(
        conn,
        "SELECT 1 FROM notifications WHERE centre_code = ?1 AND id = ?2",
        params![centre, id],
    )?;
    Err(refused(
        found,
        format!("notification {id} in centre {centre}"),
        "is no longer pending",
    ))
}

pub(crate) fn notifications_of(
    conn: &Connection,
    centre: &str,
    id_number: &str,
    limit: usize,
) -> Result<Vec<NotificationRow>, StoreError> {
    query_rows(
        conn,
        "notifications",
        &format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications
             WHERE centre_code = ?1 AND id_number = ?2 ORDER BY id DESC LIMIT ?3"
        ),
        params![centre, id_number, limit_of(limit)],
        notification_of,
    )
}

pub(crate) fn notify_cursor(conn: &Connection, centre: &str) -> Result<i64, StoreError> {
    query_opt(
        conn,
        "notify_cursors",
        "SELECT last_seq FROM notify_cursors WHERE centre_code = ?1",
        params![centre],
        |c| c.get(0),
    )
    .map(|v| v.unwrap_or(0))
}

pub(crate) fn set_notify_cursor(
    conn: &Connection,
    centre: &str,
    seq: i64,
) -> Result<(), StoreError> {
    exec(
        conn,
        "INSERT INTO notify_cursors (centre_code, last_seq) VALUES (?1, ?2)
         ON CONFLICT (centre_code) DO UPDATE SET last_seq = excluded.last_seq",
        params![centre, seq],
    )
    .map(|_| ())
}

// ---- approvals ------------------------------------------------------------------------

const APPROVAL_COLUMNS: &str = "id, business, object, payload, maker, made_at_us, checker, \
    checked_at_us, decision, reason";

fn approval_of(c: &Cols<'_, '_>) -> Result<ApprovalRow, StoreError> {
    Ok(ApprovalRow {
        id: c.get(0)?,
        business: c.get(1)?,
        object: c.get(2)?,
        payload: c.get(3)?,
        maker: c.get(4)?,
        made_at_us: c.get(5)?,
        checker: c.get(6)?,
        checked_at_us: c.get(7)?,
        decision: c.get(8)?,
        reason: c.get(9)?,
    })
}

pub(crate) fn insert_approval(
    conn: &Connection,
    centre: &str,
    a: &ApprovalRow,
) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO approvals (centre_code, business, object, payload, maker, made_at_us,
            checker, checked_at_us, decision, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
    )
    .and_then(|mut st| {
        st.query_row(
            params![
                centre,
                a.business,
                a.object,
                a.payload,
                a.maker,
                a.made_at_us,
                a.checker,
                a.checked_at_us,
                a.decision,
                a.reason
            ],
            |r| r.get(0),
        )
    })
    .map_err(db_err)
}

pub(crate) fn approval(
    conn: &Connection,
    centre: &str,
    id: i64,
) -> Result<Option<ApprovalRow>, StoreError> {
    query_opt(
        conn,
        "approvals",
        &format!("SELECT {APPROVAL_COLUMNS} FROM approvals WHERE centre_code = ?1 AND id = ?2"),
        params![centre, id],
        approval_of,
    )
}

pub(crate) fn pending_approvals(
    conn: &Connection,
    centre: &str,
    business: Option<&str>,
) -> Result<Vec<ApprovalRow>, StoreError> {
    query_rows(
        conn,
        "approvals",
        &format!(
            "SELECT {APPROVAL_COLUMNS} FROM approvals
             WHERE centre_code = ?1 AND decision = 'pending' AND (?2 IS NULL OR business = ?2)
             ORDER BY id"
        ),
        params![centre, business],
        approval_of,
    )
}

pub(crate) fn decide_approval(
    conn: &Connection,
    centre: &str,
    id: i64,
    decision: &str,
    checker: &str,
    at_us: i64,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    let n = exec(
        conn,
        "UPDATE approvals SET decision = ?3, checker = ?4, checked_at_us = ?5, reason = ?6
         WHERE centre_code = ?1 AND id = ?2 AND decision = 'pending'",
        params![centre, id, decision, checker, at_us, reason],
    )?;
    if n == 1 {
        return Ok(());
    }
    Err(refused(
        approval(conn, centre, id)?.is_some(),
        format!("approval {id} in centre {centre}"),
        "is decided already",
    ))
}

// ---- policy versions ------------------------------------------------------------------

const POLICY_COLUMNS: &str = "version, sm3, text, adopted_at_us, maker, checker, approval_id";

fn policy_version_of(c: &Cols<'_, '_>) -> Result<PolicyVersionRow, StoreError> {
    Ok(PolicyVersionRow {
        version: c.get(0)?,
        sm3: c.get(1)?,
        text: c.get(2)?,
        adopted_at_us: c.get(3)?,
        maker: c.get(4)?,
        checker: c.get(5)?,
        approval_id: c.get(6)?,
    })
}

pub(crate) fn insert_policy_version(
    conn: &Connection,
    centre: &str,
    p: &PolicyVersionRow,
) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "INSERT INTO policy_versions (centre_code, {POLICY_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    ))
    .and_then(|mut st| {
        st.execute(params![
            centre,
            p.version,
            p.sm3,
            p.text,
            p.adopted_at_us,
            p.maker,
            p.checker,
            p.approval_id
        ])
    })
    .map_err(conflict_as(|| {
        format!("policy version {} in centre {centre}", p.version)
    }))
    .map(|_| ())
}

pub(crate) fn policy_versions(
    conn: &Connection,
    centre: &str,
) -> Result<Vec<PolicyVersionRow>, StoreError> {
    query_rows(
        conn,
        "policy_versions",
        &format!(
            "SELECT {POLICY_COLUMNS} FROM policy_versions WHERE centre_code = ?1 ORDER BY version"
        ),
        params![centre],
        policy_version_of,
    )
}

pub(crate) fn current_policy(
    conn: &Connection,
    centre: &str,
) -> Result<Option<PolicyVersionRow>, StoreError> {
    query_opt(
        conn,
        "policy_versions",
        &format!(
            "SELECT {POLICY_COLUMNS} FROM policy_versions WHERE centre_code = ?1
             ORDER BY version DESC LIMIT 1"
        ),
        params![centre],
        policy_version_of,
    )
}
