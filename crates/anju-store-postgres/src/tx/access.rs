//! Access (issue 8) on PostgreSQL: service points, staff, unit clerks, phone bindings,
//! one-time codes, sessions, known devices, sign-in attempts, the audit log,
//! notifications and approvals (schema 9), and policy versions (schema 10).
//!
//! A taken key is found with `ON CONFLICT DO NOTHING` (or a conditional upsert) and a
//! refused state with a conditional `UPDATE`, so neither aborts the transaction; the two
//! writes that may break a constraint on purpose (binding a phone bound to another
//! person, a checker who is the maker) run under a savepoint. Lists come back ordered
//! like SQLite's (codes compared byte-wise, `COLLATE "C"`). Dates go in as
//! `$n::text::date` and come back as `col::text`.

use anju_store::StoreError;
use anju_store::access::{
    ApprovalRow, AttemptCounts, AuditFilter, AuditRow, NotificationPrefRow, NotificationRow,
    OtpChallengeRow, PhoneBindingRow, PolicyVersionRow, ServicePointRow, SessionRow, StaffRow,
    UnitClerkRow,
};
use jiff::civil::Date;
use postgres::Row;

use super::{PgConn, column, date_str};
use crate::rows::{date_of, opt_date_of};

/// A page size as an SQL LIMIT.
fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
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
fn one(n: u64, what: impl FnOnce() -> String) -> Result<(), StoreError> {
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound { what: what() })
    }
}

macro_rules! point_columns {
    () => {
        "code, name, point_type, county, town, village, bank_code, businesses, status, \
         opened_on::text, closed_on::text"
    };
}

fn point_of(r: &Row) -> Result<ServicePointRow, StoreError> {
    Ok(ServicePointRow {
        code: column(r.try_get(0))?,
        name: column(r.try_get(1))?,
        point_type: column(r.try_get(2))?,
        county: column(r.try_get(3))?,
        town: column(r.try_get(4))?,
        village: column(r.try_get(5))?,
        bank_code: column(r.try_get(6))?,
        businesses: column(r.try_get(7))?,
        status: column(r.try_get(8))?,
        opened_on: date_of(r, 9, "service_points")?,
        closed_on: opt_date_of(r, 10, "service_points")?,
    })
}

macro_rules! staff_columns {
    () => {
        "staff_id, name, role, service_point, password_hash, password_changed_at_us, \
         totp_secret, totp_last_step, failed_attempts, locked_until_us, status, created_at_us"
    };
}

fn staff_of(r: &Row) -> Result<StaffRow, StoreError> {
    Ok(StaffRow {
        staff_id: column(r.try_get(0))?,
        name: column(r.try_get(1))?,
        role: column(r.try_get(2))?,
        service_point: column(r.try_get(3))?,
        password_hash: column(r.try_get(4))?,
        password_changed_at_us: column(r.try_get(5))?,
        totp_secret: column(r.try_get(6))?,
        totp_last_step: column(r.try_get(7))?,
        failed_attempts: column(r.try_get(8))?,
        locked_until_us: column(r.try_get(9))?,
        status: column(r.try_get(10))?,
        created_at_us: column(r.try_get(11))?,
    })
}

macro_rules! clerk_columns {
    () => {
        "unit_no, id_number, name, phone, password_hash, password_changed_at_us, \
         failed_attempts, locked_until_us, authorised_at_us, revoked_at_us"
    };
}

fn clerk_of(r: &Row) -> Result<UnitClerkRow, StoreError> {
    Ok(UnitClerkRow {
        unit_no: column(r.try_get(0))?,
        id_number: column(r.try_get(1))?,
        name: column(r.try_get(2))?,
        phone: column(r.try_get(3))?,
        password_hash: column(r.try_get(4))?,
        password_changed_at_us: column(r.try_get(5))?,
        failed_attempts: column(r.try_get(6))?,
        locked_until_us: column(r.try_get(7))?,
        authorised_at_us: column(r.try_get(8))?,
        revoked_at_us: column(r.try_get(9))?,
    })
}

fn clerk_what(centre: &str, unit_no: &str, id_number: &str) -> String {
    format!("clerk {id_number} of unit {unit_no} in centre {centre}")
}

fn binding_of(r: &Row) -> Result<PhoneBindingRow, StoreError> {
    Ok(PhoneBindingRow {
        id_number: column(r.try_get(0))?,
        phone: column(r.try_get(1))?,
        bound_at_us: column(r.try_get(2))?,
        bound_by: column(r.try_get(3))?,
    })
}

macro_rules! otp_columns {
    () => {
        "id, phone, purpose, code_hash, created_at_us, expires_at_us, attempts, consumed_at_us"
    };
}

fn otp_of(r: &Row) -> Result<OtpChallengeRow, StoreError> {
    Ok(OtpChallengeRow {
        id: column(r.try_get(0))?,
        phone: column(r.try_get(1))?,
        purpose: column(r.try_get(2))?,
        code_hash: column(r.try_get(3))?,
        created_at_us: column(r.try_get(4))?,
        expires_at_us: column(r.try_get(5))?,
        attempts: column(r.try_get(6))?,
        consumed_at_us: column(r.try_get(7))?,
    })
}

macro_rules! session_columns {
    () => {
        "token_hash, subject_kind, subject_id, role, service_point, channel, device, \
         created_at_us, last_seen_at_us, expires_at_us, revoked_at_us"
    };
}

fn session_of(r: &Row) -> Result<SessionRow, StoreError> {
    Ok(SessionRow {
        token_hash: column(r.try_get(0))?,
        subject_kind: column(r.try_get(1))?,
        subject_id: column(r.try_get(2))?,
        role: column(r.try_get(3))?,
        service_point: column(r.try_get(4))?,
        channel: column(r.try_get(5))?,
        device: column(r.try_get(6))?,
        created_at_us: column(r.try_get(7))?,
        last_seen_at_us: column(r.try_get(8))?,
        expires_at_us: column(r.try_get(9))?,
        revoked_at_us: column(r.try_get(10))?,
    })
}

macro_rules! audit_columns {
    () => {
        "seq, at_us, actor, actor_role, service_point, channel, action, business, \
         subject_id, subject_unit, object, outcome, detail, prev_hash, entry_hash"
    };
}

fn audit_of(r: &Row) -> Result<AuditRow, StoreError> {
    Ok(AuditRow {
        seq: column(r.try_get(0))?,
        at_us: column(r.try_get(1))?,
        actor: column(r.try_get(2))?,
        actor_role: column(r.try_get(3))?,
        service_point: column(r.try_get(4))?,
        channel: column(r.try_get(5))?,
        action: column(r.try_get(6))?,
        business: column(r.try_get(7))?,
        subject_id: column(r.try_get(8))?,
        subject_unit: column(r.try_get(9))?,
        object: column(r.try_get(10))?,
        outcome: column(r.try_get(11))?,
        detail: column(r.try_get(12))?,
        prev_hash: column(r.try_get(13))?,
        entry_hash: column(r.try_get(14))?,
    })
}

macro_rules! notification_columns {
    () => {
        "id, id_number, kind, body, created_at_us, status, sent_at_us, error"
    };
}

fn notification_of(r: &Row) -> Result<NotificationRow, StoreError> {
    Ok(NotificationRow {
        id: column(r.try_get(0))?,
        id_number: column(r.try_get(1))?,
        kind: column(r.try_get(2))?,
        body: column(r.try_get(3))?,
        created_at_us: column(r.try_get(4))?,
        status: column(r.try_get(5))?,
        sent_at_us: column(r.try_get(6))?,
        error: column(r.try_get(7))?,
    })
}

macro_rules! approval_columns {
    () => {
        "id, business, object, payload, maker, made_at_us, checker, checked_at_us, decision, \
         reason"
    };
}

macro_rules! policy_columns {
    () => {
        "version, sm3, text, adopted_at_us, maker, checker, approval_id"
    };
}

fn policy_version_of(r: &Row) -> Result<PolicyVersionRow, StoreError> {
    let version: i32 = column(r.try_get(0))?;
    Ok(PolicyVersionRow {
        version: i64::from(version),
        sm3: column(r.try_get(1))?,
        text: column(r.try_get(2))?,
        adopted_at_us: column(r.try_get(3))?,
        maker: column(r.try_get(4))?,
        checker: column(r.try_get(5))?,
        approval_id: column(r.try_get(6))?,
    })
}

fn approval_of(r: &Row) -> Result<ApprovalRow, StoreError> {
    Ok(ApprovalRow {
        id: column(r.try_get(0))?,
        business: column(r.try_get(1))?,
        object: column(r.try_get(2))?,
        payload: column(r.try_get(3))?,
        maker: column(r.try_get(4))?,
        made_at_us: column(r.try_get(5))?,
        checker: column(r.try_get(6))?,
        checked_at_us: column(r.try_get(7))?,
        decision: column(r.try_get(8))?,
        reason: column(r.try_get(9))?,
    })
}

impl PgConn {
    // ---- service points ---------------------------------------------------------------

    pub(super) fn insert_service_point(
        &mut self,
        centre: &str,
        p: &ServicePointRow,
    ) -> Result<(), StoreError> {
        let opened_on = date_str(p.opened_on);
        let closed_on = p.closed_on.map(date_str);
        let n = self.execute(
            "INSERT INTO service_points (centre_code, code, name, point_type, county, town,
                village, bank_code, businesses, status, opened_on, closed_on)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::text::date, $12::text::date)
             ON CONFLICT DO NOTHING",
            &[
                &centre,
                &p.code,
                &p.name,
                &p.point_type,
                &p.county,
                &p.town,
                &p.village,
                &p.bank_code,
                &p.businesses,
                &p.status,
                &opened_on,
                &closed_on,
            ],
        )?;
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict {
                what: format!("service point {} in centre {centre}", p.code),
            })
        }
    }

    pub(super) fn service_point(
        &mut self,
        centre: &str,
        code: &str,
    ) -> Result<Option<ServicePointRow>, StoreError> {
        let row = self.query_opt(
            concat!(
                "SELECT ",
                point_columns!(),
                " FROM service_points WHERE centre_code = $1 AND code = $2"
            ),
            &[&centre, &code],
        )?;
        row.as_ref().map(point_of).transpose()
    }

    pub(super) fn service_points(
        &mut self,
        centre: &str,
        point_type: Option<&str>,
        status: Option<&str>,
    ) -> Result<Vec<ServicePointRow>, StoreError> {
        let rows = self.query(
            concat!(
                "SELECT ",
                point_columns!(),
                " FROM service_points
                 WHERE centre_code = $1 AND ($2::text IS NULL OR point_type = $2)
                   AND ($3::text IS NULL OR status = $3)
                 ORDER BY code COLLATE \"C\""
            ),
            &[&centre, &point_type, &status],
        )?;
        rows.iter().map(point_of).collect()
    }

    fn point_exists(&mut self, centre: &str, code: &str) -> Result<bool, StoreError> {
        Ok(self
            .query_opt(
                "SELECT 1 FROM service_points WHERE centre_code = $1 AND code = $2",
                &[&centre, &code],
            )?
            .is_some())
    }

    pub(super) fn set_point_businesses(
        &mut self,
        centre: &str,
        code: &str,
        businesses: &str,
    ) -> Result<(), StoreError> {
        let n = self.execute(
            "UPDATE service_points SET businesses = $3 WHERE centre_code = $1 AND code = $2",
            &[&centre, &code, &businesses],
        )?;
        one(n, || format!("service point {code} in centre {centre}"))
    }

    pub(super) fn close_service_point(
        &mut self,
        centre: &str,
        code: &str,
        on: Date,
    ) -> Result<(), StoreError> {
        let on = date_str(on);
        let n = self.execute(
            "UPDATE service_points SET status = 'closed', closed_on = $3::text::date
             WHERE centre_code = $1 AND code = $2 AND status = 'open'",
            &[&centre, &code, &on],
        )?;
        if n == 1 {
            return Ok(());
        }
        Err(refused(
            self.point_exists(centre, code)?,
            format!("service point {code} in centre {centre}"),
            "is closed already",
        ))
    }

    pub(super) fn reopen_service_point(
        &mut self,
        centre: &str,
        code: &str,
    ) -> Result<(), StoreError> {
        let n = self.execute(
            "UPDATE service_points SET status = 'open', closed_on = NULL
             WHERE centre_code = $1 AND code = $2 AND status = 'closed'",
            &[&centre, &code],
        )?;
        if n == 1 {
            return Ok(());
        }
        Err(refused(
            self.point_exists(centre, code)?,
            format!("service point {code} in centre {centre}"),
            "is open",
        ))
    }

    // ---- staff ------------------------------------------------------------------------

    pub(super) fn insert_staff(&mut self, centre: &str, s: &StaffRow) -> Result<(), StoreError> {
        let n = self.execute(
            concat!(
                "INSERT INTO staff (centre_code, ",
                staff_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                 ON CONFLICT DO NOTHING"
            ),
            &[
                &centre,
                &s.staff_id,
                &s.name,
                &s.role,
                &s.service_point,
                &s.password_hash,
                &s.password_changed_at_us,
                &s.totp_secret,
                &s.totp_last_step,
                &s.failed_attempts,
                &s.locked_until_us,
                &s.status,
                &s.created_at_us,
            ],
        )?;
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict {
                what: format!("staff {} in centre {centre}", s.staff_id),
            })
        }
    }

    pub(super) fn staff(
        &mut self,
        centre: &str,
        staff_id: &str,
    ) -> Result<Option<StaffRow>, StoreError> {
        let row = self.query_opt(
            concat!(
                "SELECT ",
                staff_columns!(),
                " FROM staff WHERE centre_code = $1 AND staff_id = $2"
            ),
            &[&centre, &staff_id],
        )?;
        row.as_ref().map(staff_of).transpose()
    }

    pub(super) fn staff_list(
        &mut self,
        centre: &str,
        service_point: Option<&str>,
    ) -> Result<Vec<StaffRow>, StoreError> {
        let rows = self.query(
            concat!(
                "SELECT ",
                staff_columns!(),
                " FROM staff WHERE centre_code = $1 AND ($2::text IS NULL OR service_point = $2)
                 ORDER BY staff_id COLLATE \"C\""
            ),
            &[&centre, &service_point],
        )?;
        rows.iter().map(staff_of).collect()
    }

    pub(super) fn set_staff_password(
        &mut self,
        centre: &str,
        staff_id: &str,
        hash: &str,
        at_us: i64,
    ) -> Result<(), StoreError> {
        let n = self.execute(
            "UPDATE staff SET password_hash = $3, password_changed_at_us = $4,
                failed_attempts = 0, locked_until_us = NULL
             WHERE centre_code = $1 AND staff_id = $2",
            &[&centre, &staff_id, &hash, &at_us],
        )?;
        one(n, || format!("staff {staff_id} in centre {centre}"))
    }

    pub(super) fn record_staff_failure(
        &mut self,
        centre: &str,
        staff_id: &str,
        lock_after: i32,
        locked_until_us: i64,
    ) -> Result<i32, StoreError> {
        let row = self.query_opt(
            "UPDATE staff SET failed_attempts = failed_attempts + 1,
                locked_until_us = CASE WHEN failed_attempts + 1 >= $3 THEN $4
                                       ELSE locked_until_us END
             WHERE centre_code = $1 AND staff_id = $2
             RETURNING failed_attempts",
            &[&centre, &staff_id, &lock_after, &locked_until_us],
        )?;
        match row {
            Some(r) => column(r.try_get(0)),
            None => Err(StoreError::NotFound {
                what: format!("staff {staff_id} in centre {centre}"),
            }),
        }
    }

    pub(super) fn record_staff_success(
        &mut self,
        centre: &str,
        staff_id: &str,
        totp_step: Option<i64>,
    ) -> Result<(), StoreError> {
        let n = self.execute(
            "UPDATE staff SET failed_attempts = 0, locked_until_us = NULL,
                totp_last_step = COALESCE($3, totp_last_step)
             WHERE centre_code = $1 AND staff_id = $2
               AND ($3::bigint IS NULL OR totp_last_step IS NULL OR totp_last_step < $3)",
            &[&centre, &staff_id, &totp_step],
        )?;
        if n == 1 {
            return Ok(());
        }
        Err(refused(
            self.staff(centre, staff_id)?.is_some(),
            format!("staff {staff_id} in centre {centre}"),
            "used that one-time code's time step already",
        ))
    }

    pub(super) fn set_staff_totp(
        &mut self,
        centre: &str,
        staff_id: &str,
        secret: Option<&str>,
    ) -> Result<(), StoreError> {
        let n = self.execute(
            "UPDATE staff SET totp_secret = $3, totp_last_step = NULL
             WHERE centre_code = $1 AND staff_id = $2",
            &[&centre, &staff_id, &secret],
        )?;
        one(n, || format!("staff {staff_id} in centre {centre}"))
    }

    pub(super) fn set_staff_role(
        &mut self,
        centre: &str,
        staff_id: &str,
        role: &str,
    ) -> Result<(), StoreError> {
        let n = self.execute(
            "UPDATE staff SET role = $3 WHERE centre_code = $1 AND staff_id = $2",
            &[&centre, &staff_id, &role],
        )?;
        one(n, || format!("staff {staff_id} in centre {centre}"))
    }

    pub(super) fn set_staff_point(
        &mut self,
        centre: &str,
        staff_id: &str,
        service_point: &str,
    ) -> Result<(), StoreError> {
        let n = self.execute(
            "UPDATE staff SET service_point = $3 WHERE centre_code = $1 AND staff_id = $2",
            &[&centre, &staff_id, &service_point],
        )?;
        one(n, || format!("staff {staff_id} in centre {centre}"))
    }

    pub(super) fn disable_staff(&mut self, centre: &str, staff_id: &str) -> Result<(), StoreError> {
        let n = self.execute(
            "UPDATE staff SET status = 'disabled'
             WHERE centre_code = $1 AND staff_id = $2 AND status <> 'disabled'",
            &[&centre, &staff_id],
        )?;
        if n == 1 {
            return Ok(());
        }
        Err(refused(
            self.staff(centre, staff_id)?.is_some(),
            format!("staff {staff_id} in centre {centre}"),
            "is disabled already",
        ))
    }

    // ---- unit clerks ------------------------------------------------------------------

    pub(super) fn insert_unit_clerk(
        &mut self,
        centre: &str,
        k: &UnitClerkRow,
    ) -> Result<(), StoreError> {
        let n = self.execute(
            concat!(
                "INSERT INTO unit_clerks (centre_code, ",
                clerk_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
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
            &[
                &centre,
                &k.unit_no,
                &k.id_number,
                &k.name,
                &k.phone,
                &k.password_hash,
                &k.password_changed_at_us,
                &k.failed_attempts,
                &k.locked_until_us,
                &k.authorised_at_us,
                &k.revoked_at_us,
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

    pub(super) fn unit_clerk(
        &mut self,
        centre: &str,
        unit_no: &str,
        id_number: &str,
    ) -> Result<Option<UnitClerkRow>, StoreError> {
        let row = self.query_opt(
            concat!(
                "SELECT ",
                clerk_columns!(),
                " FROM unit_clerks WHERE centre_code = $1 AND unit_no = $2 AND id_number = $3"
            ),
            &[&centre, &unit_no, &id_number],
        )?;
        row.as_ref().map(clerk_of).transpose()
    }

    pub(super) fn unit_clerks(
        &mut self,
        centre: &str,
        unit_no: &str,
    ) -> Result<Vec<UnitClerkRow>, StoreError> {
        let rows = self.query(
            concat!(
                "SELECT ",
                clerk_columns!(),
                " FROM unit_clerks WHERE centre_code = $1 AND unit_no = $2
                 ORDER BY id_number COLLATE \"C\""
            ),
            &[&centre, &unit_no],
        )?;
        rows.iter().map(clerk_of).collect()
    }

    pub(super) fn revoke_unit_clerk(
        &mut self,
        centre: &str,
        unit_no: &str,
        id_number: &str,
        at_us: i64,
    ) -> Result<(), StoreError> {
        let n = self.execute(
            "UPDATE unit_clerks SET revoked_at_us = $4
             WHERE centre_code = $1 AND unit_no = $2 AND id_number = $3
               AND revoked_at_us IS NULL",
            &[&centre, &unit_no, &id_number, &at_us],
        )?;
        if n == 1 {
            return Ok(());
        }
        Err(refused(
            self.unit_clerk(centre, unit_no, id_number)?.is_some(),
            clerk_what(centre, unit_no, id_number),
            "is revoked already",
        ))
    }

    pub(super) fn set_unit_clerk_password(
        &mut self,
        centre: &str,
        unit_no: &str,
        id_number: &str,
        hash: &str,
        at_us: i64,
    ) -> Result<(), StoreError> {
        let n = self.execute(
            "UPDATE unit_clerks SET password_hash = $4, password_changed_at_us = $5,
                failed_attempts = 0, locked_until_us = NULL
             WHERE centre_code = $1 AND unit_no = $2 AND id_number = $3",
            &[&centre, &unit_no, &id_number, &hash, &at_us],
        )?;
        one(n, || clerk_what(centre, unit_no, id_number))
    }

    pub(super) fn record_unit_clerk_failure(
        &mut self,
        centre: &str,
        unit_no: &str,
        id_number: &str,
        lock_after: i32,
        locked_until_us: i64,
    ) -> Result<i32, StoreError> {
        let row = self.query_opt(
            "UPDATE unit_clerks SET failed_attempts = failed_attempts + 1,
                locked_until_us = CASE WHEN failed_attempts + 1 >= $4 THEN $5
                                       ELSE locked_until_us END
             WHERE centre_code = $1 AND unit_no = $2 AND id_number = $3
             RETURNING failed_attempts",
            &[&centre, &unit_no, &id_number, &lock_after, &locked_until_us],
        )?;
        match row {
            Some(r) => column(r.try_get(0)),
            None => Err(StoreError::NotFound {
                what: clerk_what(centre, unit_no, id_number),
            }),
        }
    }

    pub(super) fn record_unit_clerk_success(
        &mut self,
        centre: &str,
        unit_no: &str,
        id_number: &str,
    ) -> Result<(), StoreError> {
        let n = self.execute(
            "UPDATE unit_clerks SET failed_attempts = 0, locked_until_us = NULL
             WHERE centre_code = $1 AND unit_no = $2 AND id_number = $3",
            &[&centre, &unit_no, &id_number],
        )?;
        one(n, || clerk_what(centre, unit_no, id_number))
    }

    // ---- phone bindings ---------------------------------------------------------------

    /// Under a savepoint: a phone bound to another person breaks the unique index.
    pub(super) fn bind_phone(
        &mut self,
        centre: &str,
        b: &PhoneBindingRow,
    ) -> Result<(), StoreError> {
        self.atomic(|s| {
            s.execute(
                "INSERT INTO member_phones (centre_code, id_number, phone, bound_at_us, bound_by)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (centre_code, id_number) DO UPDATE SET phone = excluded.phone,
                    bound_at_us = excluded.bound_at_us, bound_by = excluded.bound_by",
                &[&centre, &b.id_number, &b.phone, &b.bound_at_us, &b.bound_by],
            )
            .map(|_| ())
        })
        .map_err(|e| match e {
            StoreError::Conflict { .. } => StoreError::Conflict {
                what: format!(
                    "phone {} in centre {centre} is bound to another person",
                    b.phone
                ),
            },
            other => other,
        })
    }

    pub(super) fn phone_binding(
        &mut self,
        centre: &str,
        phone: &str,
    ) -> Result<Option<PhoneBindingRow>, StoreError> {
        let row = self.query_opt(
            "SELECT id_number, phone, bound_at_us, bound_by FROM member_phones
             WHERE centre_code = $1 AND phone = $2",
            &[&centre, &phone],
        )?;
        row.as_ref().map(binding_of).transpose()
    }

    pub(super) fn phone_of_person(
        &mut self,
        centre: &str,
        id_number: &str,
    ) -> Result<Option<PhoneBindingRow>, StoreError> {
        let row = self.query_opt(
            "SELECT id_number, phone, bound_at_us, bound_by FROM member_phones
             WHERE centre_code = $1 AND id_number = $2",
            &[&centre, &id_number],
        )?;
        row.as_ref().map(binding_of).transpose()
    }

    pub(super) fn unbind_phone(
        &mut self,
        centre: &str,
        id_number: &str,
    ) -> Result<bool, StoreError> {
        self.execute(
            "DELETE FROM member_phones WHERE centre_code = $1 AND id_number = $2",
            &[&centre, &id_number],
        )
        .map(|n| n > 0)
    }

    // ---- one-time codes ---------------------------------------------------------------

    pub(super) fn insert_otp(
        &mut self,
        centre: &str,
        o: &OtpChallengeRow,
    ) -> Result<i64, StoreError> {
        self.query_one_i64(
            "INSERT INTO otp_challenges (centre_code, phone, purpose, code_hash, created_at_us,
                expires_at_us, attempts, consumed_at_us)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            &[
                &centre,
                &o.phone,
                &o.purpose,
                &o.code_hash,
                &o.created_at_us,
                &o.expires_at_us,
                &o.attempts,
                &o.consumed_at_us,
            ],
        )
    }

    fn otp_exists(&mut self, centre: &str, id: i64) -> Result<bool, StoreError> {
        Ok(self
            .query_opt(
                "SELECT 1 FROM otp_challenges WHERE centre_code = $1 AND id = $2",
                &[&centre, &id],
            )?
            .is_some())
    }

    pub(super) fn open_otp(
        &mut self,
        centre: &str,
        phone: &str,
        purpose: &str,
        now_us: i64,
    ) -> Result<Option<OtpChallengeRow>, StoreError> {
        let row = self.query_opt(
            concat!(
                "SELECT ",
                otp_columns!(),
                " FROM otp_challenges
                 WHERE centre_code = $1 AND phone = $2 AND purpose = $3
                   AND consumed_at_us IS NULL AND expires_at_us > $4
                 ORDER BY id DESC LIMIT 1"
            ),
            &[&centre, &phone, &purpose, &now_us],
        )?;
        row.as_ref().map(otp_of).transpose()
    }

    pub(super) fn count_otps_since(
        &mut self,
        centre: &str,
        phone: &str,
        since_us: i64,
    ) -> Result<i64, StoreError> {
        self.query_one_i64(
            "SELECT COUNT(*) FROM otp_challenges
             WHERE centre_code = $1 AND phone = $2 AND created_at_us >= $3",
            &[&centre, &phone, &since_us],
        )
    }

    pub(super) fn record_otp_attempt(&mut self, centre: &str, id: i64) -> Result<i32, StoreError> {
        let row = self.query_opt(
            "UPDATE otp_challenges SET attempts = attempts + 1
             WHERE centre_code = $1 AND id = $2 AND consumed_at_us IS NULL
             RETURNING attempts",
            &[&centre, &id],
        )?;
        match row {
            Some(r) => column(r.try_get(0)),
            None => Err(refused(
                self.otp_exists(centre, id)?,
                format!("one-time code {id} in centre {centre}"),
                "is used already",
            )),
        }
    }

    pub(super) fn consume_otp(
        &mut self,
        centre: &str,
        id: i64,
        at_us: i64,
    ) -> Result<(), StoreError> {
        let n = self.execute(
            "UPDATE otp_challenges SET consumed_at_us = $3
             WHERE centre_code = $1 AND id = $2 AND consumed_at_us IS NULL",
            &[&centre, &id, &at_us],
        )?;
        if n == 1 {
            return Ok(());
        }
        Err(refused(
            self.otp_exists(centre, id)?,
            format!("one-time code {id} in centre {centre}"),
            "is used already",
        ))
    }

    // ---- sessions and devices ---------------------------------------------------------

    pub(super) fn insert_session(
        &mut self,
        centre: &str,
        s: &SessionRow,
    ) -> Result<(), StoreError> {
        let n = self.execute(
            concat!(
                "INSERT INTO sessions (centre_code, ",
                session_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                 ON CONFLICT DO NOTHING"
            ),
            &[
                &centre,
                &s.token_hash,
                &s.subject_kind,
                &s.subject_id,
                &s.role,
                &s.service_point,
                &s.channel,
                &s.device,
                &s.created_at_us,
                &s.last_seen_at_us,
                &s.expires_at_us,
                &s.revoked_at_us,
            ],
        )?;
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict {
                what: format!("a session token in centre {centre}"),
            })
        }
    }

    pub(super) fn session(
        &mut self,
        centre: &str,
        token_hash: &str,
    ) -> Result<Option<SessionRow>, StoreError> {
        let row = self.query_opt(
            concat!(
                "SELECT ",
                session_columns!(),
                " FROM sessions WHERE centre_code = $1 AND token_hash = $2"
            ),
            &[&centre, &token_hash],
        )?;
        row.as_ref().map(session_of).transpose()
    }

    /// Sets the last use (`revoke` false) or the revocation of an unrevoked session.
    pub(super) fn update_session(
        &mut self,
        centre: &str,
        token_hash: &str,
        revoke: bool,
        at_us: i64,
    ) -> Result<(), StoreError> {
        let n = self.execute(
            if revoke {
                "UPDATE sessions SET revoked_at_us = $3
                 WHERE centre_code = $1 AND token_hash = $2 AND revoked_at_us IS NULL"
            } else {
                "UPDATE sessions SET last_seen_at_us = $3
                 WHERE centre_code = $1 AND token_hash = $2 AND revoked_at_us IS NULL"
            },
            &[&centre, &token_hash, &at_us],
        )?;
        if n == 1 {
            return Ok(());
        }
        Err(refused(
            self.session(centre, token_hash)?.is_some(),
            format!("session in centre {centre}"),
            "is revoked",
        ))
    }

    pub(super) fn revoke_sessions_of(
        &mut self,
        centre: &str,
        kind: &str,
        id: &str,
        at_us: i64,
    ) -> Result<u64, StoreError> {
        self.execute(
            "UPDATE sessions SET revoked_at_us = $4
             WHERE centre_code = $1 AND subject_kind = $2 AND subject_id = $3
               AND revoked_at_us IS NULL",
            &[&centre, &kind, &id, &at_us],
        )
    }

    pub(super) fn sessions_of(
        &mut self,
        centre: &str,
        kind: &str,
        id: &str,
    ) -> Result<Vec<SessionRow>, StoreError> {
        let rows = self.query(
            concat!(
                "SELECT ",
                session_columns!(),
                " FROM sessions WHERE centre_code = $1 AND subject_kind = $2 AND subject_id = $3
                 ORDER BY created_at_us DESC, token_hash COLLATE \"C\""
            ),
            &[&centre, &kind, &id],
        )?;
        rows.iter().map(session_of).collect()
    }

    pub(super) fn remember_device(
        &mut self,
        centre: &str,
        kind: &str,
        id: &str,
        device: &str,
        at_us: i64,
    ) -> Result<bool, StoreError> {
        self.execute(
            "INSERT INTO known_devices (centre_code, subject_kind, subject_id, device,
                first_seen_at_us)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            &[&centre, &kind, &id, &device, &at_us],
        )
        .map(|n| n == 1)
    }

    // ---- sign-in attempts -------------------------------------------------------------

    pub(super) fn insert_login_attempt(
        &mut self,
        centre: &str,
        key: &str,
        at_us: i64,
        ok: bool,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO login_attempts (centre_code, attempt_key, at_us, ok)
             VALUES ($1, $2, $3, $4)",
            &[&centre, &key, &at_us, &ok],
        )
        .map(|_| ())
    }

    pub(super) fn count_login_attempts(
        &mut self,
        centre: &str,
        key: &str,
        since_us: i64,
    ) -> Result<AttemptCounts, StoreError> {
        let row = self.query_opt(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE NOT ok) FROM login_attempts
             WHERE centre_code = $1 AND attempt_key = $2 AND at_us >= $3",
            &[&centre, &key, &since_us],
        )?;
        match row {
            Some(r) => Ok(AttemptCounts {
                attempts: column(r.try_get(0))?,
                failures: column(r.try_get(1))?,
            }),
            None => Ok(AttemptCounts::default()),
        }
    }

    pub(super) fn prune_login_attempts(
        &mut self,
        centre: &str,
        before_us: i64,
    ) -> Result<u64, StoreError> {
        self.execute(
            "DELETE FROM login_attempts WHERE centre_code = $1 AND at_us < $2",
            &[&centre, &before_us],
        )
    }

    // ---- audit log --------------------------------------------------------------------

    pub(super) fn audit_head(&mut self, centre: &str) -> Result<Option<(i64, String)>, StoreError> {
        let row = self.query_opt(
            "SELECT seq, entry_hash FROM audit_log WHERE centre_code = $1
             ORDER BY seq DESC LIMIT 1",
            &[&centre],
        )?;
        row.map(|r| Ok((column(r.try_get(0))?, column(r.try_get(1))?)))
            .transpose()
    }

    pub(super) fn append_audit(&mut self, centre: &str, a: &AuditRow) -> Result<(), StoreError> {
        let n = self.execute(
            concat!(
                "INSERT INTO audit_log (centre_code, ",
                audit_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                    $16)
                 ON CONFLICT DO NOTHING"
            ),
            &[
                &centre,
                &a.seq,
                &a.at_us,
                &a.actor,
                &a.actor_role,
                &a.service_point,
                &a.channel,
                &a.action,
                &a.business,
                &a.subject_id,
                &a.subject_unit,
                &a.object,
                &a.outcome,
                &a.detail,
                &a.prev_hash,
                &a.entry_hash,
            ],
        )?;
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict {
                what: format!("audit row {} in centre {centre}", a.seq),
            })
        }
    }

    pub(super) fn audit_range(
        &mut self,
        centre: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let limit = limit_of(limit);
        let rows = self.query(
            concat!(
                "SELECT ",
                audit_columns!(),
                " FROM audit_log WHERE centre_code = $1 AND seq > $2 ORDER BY seq LIMIT $3"
            ),
            &[&centre, &after, &limit],
        )?;
        rows.iter().map(audit_of).collect()
    }

    pub(super) fn search_audit(
        &mut self,
        centre: &str,
        f: &AuditFilter,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let limit = limit_of(limit);
        let rows = self.query(
            concat!(
                "SELECT ",
                audit_columns!(),
                " FROM audit_log
                 WHERE centre_code = $1 AND ($2::bigint IS NULL OR seq < $2)
                   AND ($3::text IS NULL OR actor = $3)
                   AND ($4::text IS NULL OR subject_id = $4)
                   AND ($5::text IS NULL OR action = $5)
                   AND ($6::bigint IS NULL OR at_us >= $6)
                   AND ($7::bigint IS NULL OR at_us < $7)
                 ORDER BY seq DESC LIMIT $8"
            ),
            &[
                &centre,
                &before,
                &f.actor,
                &f.subject_id,
                &f.action,
                &f.from_us,
                &f.to_us,
                &limit,
            ],
        )?;
        rows.iter().map(audit_of).collect()
    }

    // ---- notifications ----------------------------------------------------------------

    pub(super) fn set_notification_pref(
        &mut self,
        centre: &str,
        p: &NotificationPrefRow,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO notification_prefs (centre_code, id_number, kind, enabled)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (centre_code, id_number, kind) DO UPDATE SET enabled = excluded.enabled",
            &[&centre, &p.id_number, &p.kind, &p.enabled],
        )
        .map(|_| ())
    }

    pub(super) fn notification_prefs(
        &mut self,
        centre: &str,
        id_number: &str,
    ) -> Result<Vec<NotificationPrefRow>, StoreError> {
        let rows = self.query(
            "SELECT id_number, kind, enabled FROM notification_prefs
             WHERE centre_code = $1 AND id_number = $2 ORDER BY kind COLLATE \"C\"",
            &[&centre, &id_number],
        )?;
        rows.iter()
            .map(|r| {
                Ok(NotificationPrefRow {
                    id_number: column(r.try_get(0))?,
                    kind: column(r.try_get(1))?,
                    enabled: column(r.try_get(2))?,
                })
            })
            .collect()
    }

    pub(super) fn insert_notification(
        &mut self,
        centre: &str,
        n: &NotificationRow,
    ) -> Result<i64, StoreError> {
        self.query_one_i64(
            "INSERT INTO notifications (centre_code, id_number, kind, body, created_at_us,
                status, sent_at_us, error)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            &[
                &centre,
                &n.id_number,
                &n.kind,
                &n.body,
                &n.created_at_us,
                &n.status,
                &n.sent_at_us,
                &n.error,
            ],
        )
    }

    pub(super) fn pending_notifications(
        &mut self,
        centre: &str,
        limit: usize,
    ) -> Result<Vec<NotificationRow>, StoreError> {
        let limit = limit_of(limit);
        let rows = self.query(
            concat!(
                "SELECT ",
                notification_columns!(),
                " FROM notifications WHERE centre_code = $1 AND status = 'pending'
                 ORDER BY id LIMIT $2"
            ),
            &[&centre, &limit],
        )?;
        rows.iter().map(notification_of).collect()
    }

    pub(super) fn finish_notification(
        &mut self,
        centre: &str,
        id: i64,
        status: &str,
        at_us: i64,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let n = self.execute(
            "UPDATE notifications SET status = $3,
                sent_at_us = CASE WHEN $3 = 'sent' THEN $4::bigint ELSE NULL END, error = $5
             WHERE centre_code = $1 AND id = $2 AND status = 'pending'",
            &[&centre, &id, &status, &at_us, &error],
        )?;
        if n == 1 {
            return Ok(());
        }
        let found = self
            .query_opt(
                "SELECT 1 FROM notifications WHERE centre_code = $1 AND id = $2",
                &[&centre, &id],
            )?
            .is_some();
        Err(refused(
            found,
            format!("notification {id} in centre {centre}"),
            "is no longer pending",
        ))
    }

    pub(super) fn notifications_of(
        &mut self,
        centre: &str,
        id_number: &str,
        limit: usize,
    ) -> Result<Vec<NotificationRow>, StoreError> {
        let limit = limit_of(limit);
        let rows = self.query(
            concat!(
                "SELECT ",
                notification_columns!(),
                " FROM notifications WHERE centre_code = $1 AND id_number = $2
                 ORDER BY id DESC LIMIT $3"
            ),
            &[&centre, &id_number, &limit],
        )?;
        rows.iter().map(notification_of).collect()
    }

    pub(super) fn notify_cursor(&mut self, centre: &str) -> Result<i64, StoreError> {
        let row = self.query_opt(
            "SELECT last_seq FROM notify_cursors WHERE centre_code = $1",
            &[&centre],
        )?;
        row.map_or(Ok(0), |r| column(r.try_get(0)))
    }

    pub(super) fn set_notify_cursor(&mut self, centre: &str, seq: i64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO notify_cursors (centre_code, last_seq) VALUES ($1, $2)
             ON CONFLICT (centre_code) DO UPDATE SET last_seq = excluded.last_seq",
            &[&centre, &seq],
        )
        .map(|_| ())
    }

    // ---- approvals --------------------------------------------------------------------

    pub(super) fn insert_approval(
        &mut self,
        centre: &str,
        a: &ApprovalRow,
    ) -> Result<i64, StoreError> {
        self.query_one_i64(
            "INSERT INTO approvals (centre_code, business, object, payload, maker, made_at_us,
                checker, checked_at_us, decision, reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            &[
                &centre,
                &a.business,
                &a.object,
                &a.payload,
                &a.maker,
                &a.made_at_us,
                &a.checker,
                &a.checked_at_us,
                &a.decision,
                &a.reason,
            ],
        )
    }

    pub(super) fn approval(
        &mut self,
        centre: &str,
        id: i64,
    ) -> Result<Option<ApprovalRow>, StoreError> {
        let row = self.query_opt(
            concat!(
                "SELECT ",
                approval_columns!(),
                " FROM approvals WHERE centre_code = $1 AND id = $2"
            ),
            &[&centre, &id],
        )?;
        row.as_ref().map(approval_of).transpose()
    }

    pub(super) fn pending_approvals(
        &mut self,
        centre: &str,
        business: Option<&str>,
    ) -> Result<Vec<ApprovalRow>, StoreError> {
        let rows = self.query(
            concat!(
                "SELECT ",
                approval_columns!(),
                " FROM approvals
                 WHERE centre_code = $1 AND decision = 'pending'
                   AND ($2::text IS NULL OR business = $2)
                 ORDER BY id"
            ),
            &[&centre, &business],
        )?;
        rows.iter().map(approval_of).collect()
    }

    /// Under a savepoint: a checker who is the maker breaks a CHECK.
    pub(super) fn decide_approval(
        &mut self,
        centre: &str,
        id: i64,
        decision: &str,
        checker: &str,
        at_us: i64,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let n = self.atomic(|s| {
            s.execute(
                "UPDATE approvals SET decision = $3, checker = $4, checked_at_us = $5,
                    reason = $6
                 WHERE centre_code = $1 AND id = $2 AND decision = 'pending'",
                &[&centre, &id, &decision, &checker, &at_us, &reason],
            )
        })?;
        if n == 1 {
            return Ok(());
        }
        Err(refused(
            self.approval(centre, id)?.is_some(),
            format!("approval {id} in centre {centre}"),
            "is decided already",
        ))
    }

    // ---- policy versions --------------------------------------------------------------

    /// Under a savepoint: a gap breaks the schema's trigger.
    pub(super) fn insert_policy_version(
        &mut self,
        centre: &str,
        p: &PolicyVersionRow,
    ) -> Result<(), StoreError> {
        let version = i32::try_from(p.version).map_err(|_| StoreError::Corrupt {
            what: format!("policy version {} out of range", p.version),
        })?;
        let n = self.atomic(|s| {
            s.execute(
                "INSERT INTO policy_versions (centre_code, version, sm3, text, adopted_at_us,
                    maker, checker, approval_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT DO NOTHING",
                &[
                    &centre,
                    &version,
                    &p.sm3,
                    &p.text,
                    &p.adopted_at_us,
                    &p.maker,
                    &p.checker,
                    &p.approval_id,
                ],
            )
        })?;
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict {
                what: format!("policy version {} in centre {centre}", p.version),
            })
        }
    }

    pub(super) fn policy_versions(
        &mut self,
        centre: &str,
    ) -> Result<Vec<PolicyVersionRow>, StoreError> {
        let rows = self.query(
            concat!(
                "SELECT ",
                policy_columns!(),
                " FROM policy_versions WHERE centre_code = $1 ORDER BY version"
            ),
            &[&centre],
        )?;
        rows.iter().map(policy_version_of).collect()
    }

    pub(super) fn current_policy(
        &mut self,
        centre: &str,
    ) -> Result<Option<PolicyVersionRow>, StoreError> {
        let row = self.query_opt(
            concat!(
                "SELECT ",
                policy_columns!(),
                " FROM policy_versions WHERE centre_code = $1 ORDER BY version DESC LIMIT 1"
            ),
            &[&centre],
        )?;
        row.as_ref().map(policy_version_of).transpose()
    }
}
