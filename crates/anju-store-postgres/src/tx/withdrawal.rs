//! Withdrawals (提取) on PostgreSQL: the applications with their decisions, their status
//! timelines and their payees (schema 7).
//!
//! - `insert_withdrawal` is one `INSERT … ON CONFLICT DO NOTHING`: with no conflict
//!   target every unique index is an arbiter, the partial index of withdrawals in flight
//!   included, so a taken number and a second withdrawal in flight are both reported as
//!   `Conflict` without a server error (and a concurrent insert of either waits for the
//!   other transaction, then does nothing if it committed). The transaction stays usable.
//! - `update_withdrawal` runs under a savepoint: an `UPDATE` has no `ON CONFLICT`, so a
//!   status that would put a second withdrawal in flight is the index's unique violation,
//!   reported as `Conflict` after the savepoint is rolled back.
//! - `insert_withdrawal_events` and `insert_payees` are one `INSERT … SELECT FROM
//!   unnest(…)` each, guarded by `NOT EXISTS`: every row or none, no savepoint. A taken or
//!   repeated key is a `Conflict` naming the first row a one-by-one loop would fail on.
//!
//! Lists come back oldest first, numbers compared byte-wise (`COLLATE "C"`), like SQLite.
//! Dates go in as `$n::text::date` and come back as `col::text`.

use std::collections::HashSet;

use anju_domain::codes::Channel;
use anju_domain::stamp::Stamp;
use anju_store::StoreError;
use anju_store::withdrawal::{PayeeRow, WithdrawalEventRow, WithdrawalRow};
use postgres::Row;

use super::{PgConn, column, database, date_str, distinct_keys, first_clash};
use crate::rows::date_of;

/// The `withdrawals` columns `withdrawal_of` reads, in order.
macro_rules! withdrawal_columns {
    () => {
        "application_no, account_no, id_number, ground, reason_code, mode, home_key, \
         requested, amount, interest, closes_account, status, decision, reason_zh, reason_en, \
         proposed_by, decided_by, business_date::text, created_at_us, updated_at_us, operator, \
         channel, service_point, on_behalf_of"
    };
}

fn withdrawal_of(r: &Row) -> Result<WithdrawalRow, StoreError> {
    let channel: &str = column(r.try_get(21))?;
    Ok(WithdrawalRow {
        application_no: column(r.try_get(0))?,
        account_no: column(r.try_get(1))?,
        id_number: column(r.try_get(2))?,
        ground: column(r.try_get(3))?,
        reason_code: column(r.try_get(4))?,
        mode: column(r.try_get(5))?,
        home_key: column(r.try_get(6))?,
        requested: column(r.try_get(7))?,
        amount: column(r.try_get(8))?,
        interest: column(r.try_get(9))?,
        closes_account: column(r.try_get(10))?,
        status: column(r.try_get(11))?,
        decision: column(r.try_get(12))?,
        reason_zh: column(r.try_get(13))?,
        reason_en: column(r.try_get(14))?,
        proposed_by: column(r.try_get(15))?,
        decided_by: column(r.try_get(16))?,
        business_date: date_of(r, 17, "withdrawals")?,
        created_at_us: column(r.try_get(18))?,
        updated_at_us: column(r.try_get(19))?,
        stamp: Stamp {
            operator: column(r.try_get(20))?,
            channel: Channel::from_code(channel).map_err(|e| StoreError::Corrupt {
                what: format!("withdrawals row: channel: {e}"),
            })?,
            service_point: column(r.try_get(22))?,
            on_behalf_of: column(r.try_get(23))?,
        },
    })
}

fn event_of(r: &Row) -> Result<WithdrawalEventRow, StoreError> {
    Ok(WithdrawalEventRow {
        application_no: column(r.try_get(0))?,
        seq: column(r.try_get(1))?,
        status: column(r.try_get(2))?,
        at_us: column(r.try_get(3))?,
        operator: column(r.try_get(4))?,
        note_zh: column(r.try_get(5))?,
        note_en: column(r.try_get(6))?,
    })
}

fn payee_of(r: &Row) -> Result<PayeeRow, StoreError> {
    Ok(PayeeRow {
        application_no: column(r.try_get(0))?,
        seq: column(r.try_get(1))?,
        id_number: column(r.try_get(2))?,
        name: column(r.try_get(3))?,
        bank_code: column(r.try_get(4))?,
        card_no: column(r.try_get(5))?,
        share_num: column(r.try_get(6))?,
        share_den: column(r.try_get(7))?,
        amount: column(r.try_get(8))?,
        serial: column(r.try_get(9))?,
    })
}

/// The `what` of a second withdrawal in flight (worded as SQLite's).
fn in_flight_what(centre: &str, w: &WithdrawalRow) -> String {
    format!(
        "a withdrawal in flight from account {} on ground {} in centre {centre}",
        w.account_no, w.ground
    )
}

/// A timeline step's key (its primary key without the centre).
type EventKey<'a> = (&'a str, i64);

fn event_key(e: &WithdrawalEventRow) -> EventKey<'_> {
    (e.application_no.as_str(), e.seq)
}

/// A payee's number (its primary key without the centre).
type PayeeKey<'a> = (&'a str, i32);

fn payee_key(p: &PayeeRow) -> PayeeKey<'_> {
    (p.application_no.as_str(), p.seq)
}

/// The `Conflict` of a payee whose number or serial is taken (worded as SQLite's).
fn payee_conflict(centre: &str, p: &PayeeRow) -> StoreError {
    StoreError::Conflict {
        what: format!(
            "payee {} of withdrawal {} or serial {} in centre {centre}",
            p.seq, p.application_no, p.serial
        ),
    }
}

impl PgConn {
    pub(super) fn insert_withdrawal(
        &mut self,
        centre: &str,
        w: &WithdrawalRow,
    ) -> Result<(), StoreError> {
        let business_date = date_str(w.business_date);
        let channel = w.stamp.channel.code();
        let n = self.execute(
            "INSERT INTO withdrawals (centre_code, application_no, account_no, id_number, ground,
                reason_code, mode, home_key, requested, amount, interest, closes_account, status,
                decision, reason_zh, reason_en, proposed_by, decided_by, business_date,
                created_at_us, updated_at_us, operator, channel, service_point, on_behalf_of)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                $17, $18, $19::text::date, $20, $21, $22, $23, $24, $25)
             ON CONFLICT DO NOTHING",
            &[
                &centre,
                &w.application_no,
                &w.account_no,
                &w.id_number,
                &w.ground,
                &w.reason_code,
                &w.mode,
                &w.home_key,
                &w.requested,
                &w.amount,
                &w.interest,
                &w.closes_account,
                &w.status,
                &w.decision,
                &w.reason_zh,
                &w.reason_en,
                &w.proposed_by,
                &w.decided_by,
                &business_date,
                &w.created_at_us,
                &w.updated_at_us,
                &w.stamp.operator,
                &channel,
                &w.stamp.service_point,
                &w.stamp.on_behalf_of,
            ],
        )?;
        if n == 1 {
            return Ok(());
        }
        // The primary key or the index of withdrawals in flight: say which.
        let taken = self
            .query_opt(
                "SELECT 1 FROM withdrawals WHERE centre_code = $1 AND application_no = $2",
                &[&centre, &w.application_no],
            )?
            .is_some();
        Err(StoreError::Conflict {
            what: if taken {
                format!("withdrawal {} in centre {centre}", w.application_no)
            } else {
                in_flight_what(centre, w)
            },
        })
    }

    pub(super) fn withdrawal(
        &mut self,
        centre: &str,
        application_no: &str,
        for_update: bool,
    ) -> Result<Option<WithdrawalRow>, StoreError> {
        let row = self.query_opt(
            if for_update {
                concat!(
                    "SELECT ",
                    withdrawal_columns!(),
                    " FROM withdrawals WHERE centre_code = $1 AND application_no = $2
                      FOR UPDATE"
                )
            } else {
                concat!(
                    "SELECT ",
                    withdrawal_columns!(),
                    " FROM withdrawals WHERE centre_code = $1 AND application_no = $2"
                )
            },
            &[&centre, &application_no],
        )?;
        row.as_ref().map(withdrawal_of).transpose()
    }

    /// Under a savepoint, so a second withdrawal in flight (the partial unique index) or
    /// a refusal of the schema's trigger changes nothing and leaves the transaction usable.
    pub(super) fn update_withdrawal(
        &mut self,
        centre: &str,
        w: &WithdrawalRow,
    ) -> Result<(), StoreError> {
        let params: [&(dyn postgres::types::ToSql + Sync); 14] = [
            &centre,
            &w.application_no,
            &w.mode,
            &w.home_key,
            &w.amount,
            &w.interest,
            &w.closes_account,
            &w.status,
            &w.decision,
            &w.reason_zh,
            &w.reason_en,
            &w.proposed_by,
            &w.decided_by,
            &w.updated_at_us,
        ];
        // Most updates can neither clash with the index of withdrawals in flight nor trip
        // the trigger: the row is in flight (it already holds its (account, ground) slot,
        // and may go anywhere), or its final status stays. Those run without a savepoint
        // (two round trips fewer); any other change — a final status leaving, which the
        // trigger refuses but for returned → paying, which may clash — takes the guarded
        // path.
        let plain = self.execute(
            "UPDATE withdrawals SET mode = $3, home_key = $4, amount = $5, interest = $6,
                closes_account = $7, status = $8, decision = $9, reason_zh = $10,
                reason_en = $11, proposed_by = $12, decided_by = $13, updated_at_us = $14
             WHERE centre_code = $1 AND application_no = $2
               AND (status IN ('submitted', 'verifying', 'review', 'proposed', 'approved', 'paying')
                    OR status = $8)",
            &params,
        )?;
        if plain == 1 {
            return Ok(());
        }
        let updated = self.atomic(|s| {
            s.execute(
                "UPDATE withdrawals SET mode = $3, home_key = $4, amount = $5, interest = $6,
                    closes_account = $7, status = $8, decision = $9, reason_zh = $10,
                    reason_en = $11, proposed_by = $12, decided_by = $13, updated_at_us = $14
                 WHERE centre_code = $1 AND application_no = $2",
                &params,
            )
        });
        match updated {
            Ok(1) => Ok(()),
            Ok(0) => Err(StoreError::NotFound {
                what: format!("withdrawal {} in centre {centre}", w.application_no),
            }),
            Ok(n) => Err(database(format!(
                "withdrawals: {n} rows updated for withdrawal {} in centre {centre}",
                w.application_no
            ))),
            // The number is not changed, so only the index of withdrawals in flight clashes.
            Err(StoreError::Conflict { .. }) => Err(StoreError::Conflict {
                what: in_flight_what(centre, w),
            }),
            Err(e) => Err(e),
        }
    }

    pub(super) fn withdrawals_of_account(
        &mut self,
        centre: &str,
        account_no: &str,
    ) -> Result<Vec<WithdrawalRow>, StoreError> {
        let rows = self.query(
            concat!(
                "SELECT ",
                withdrawal_columns!(),
                " FROM withdrawals WHERE centre_code = $1 AND account_no = $2
                 ORDER BY created_at_us, application_no COLLATE \"C\""
            ),
            &[&centre, &account_no],
        )?;
        rows.iter().map(withdrawal_of).collect()
    }

    pub(super) fn withdrawals_by_home_key(
        &mut self,
        centre: &str,
        ground: &str,
        home_key: &str,
    ) -> Result<Vec<WithdrawalRow>, StoreError> {
        let rows = self.query(
            concat!(
                "SELECT ",
                withdrawal_columns!(),
                " FROM withdrawals WHERE centre_code = $1 AND ground = $2 AND home_key = $3
                 ORDER BY created_at_us, application_no COLLATE \"C\""
            ),
            &[&centre, &ground, &home_key],
        )?;
        rows.iter().map(withdrawal_of).collect()
    }

    pub(super) fn withdrawals_with_status(
        &mut self,
        centre: &str,
        statuses: &[&str],
    ) -> Result<Vec<WithdrawalRow>, StoreError> {
        if statuses.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.query(
            concat!(
                "SELECT ",
                withdrawal_columns!(),
                " FROM withdrawals WHERE centre_code = $1 AND status = ANY($2)
                 ORDER BY created_at_us, application_no COLLATE \"C\""
            ),
            &[&centre, &statuses],
        )?;
        rows.iter().map(withdrawal_of).collect()
    }

    // ---- timeline ---------------------------------------------------------------------

    pub(super) fn insert_withdrawal_events(
        &mut self,
        centre: &str,
        rows: &[WithdrawalEventRow],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        if distinct_keys(rows, event_key) {
            let col =
                |f: fn(&WithdrawalEventRow) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
            let n = self.execute(
                "WITH incoming AS (
                     SELECT * FROM unnest($2::text[], $3::bigint[], $4::text[], $5::bigint[],
                        $6::text[], $7::text[], $8::text[])
                        AS e (application_no, seq, status, at_us, operator, note_zh, note_en)
                 )
                 INSERT INTO withdrawal_events (centre_code, application_no, seq, status, at_us,
                    operator, note_zh, note_en)
                 SELECT $1::text, i.* FROM incoming i
                 WHERE NOT EXISTS (
                     SELECT 1 FROM withdrawal_events e JOIN incoming m
                       ON e.application_no = m.application_no AND e.seq = m.seq
                     WHERE e.centre_code = $1)",
                &[
                    &centre,
                    &col(|e| &e.application_no),
                    &rows.iter().map(|e| e.seq).collect::<Vec<i64>>(),
                    &col(|e| &e.status),
                    &rows.iter().map(|e| e.at_us).collect::<Vec<i64>>(),
                    &col(|e| &e.operator),
                    &col(|e| &e.note_zh),
                    &col(|e| &e.note_en),
                ],
            )?;
            if n == rows.len() as u64 {
                return Ok(());
            }
            if n != 0 {
                // One INSERT writes all its rows or fails; never expected.
                self.failed = true;
                return Err(database(format!(
                    "withdrawal_events: {n} of {} steps written",
                    rows.len()
                )));
            }
        }
        // Refused: name the row a loop inserting one by one would fail on.
        let found = self.query(
            "SELECT application_no, seq FROM withdrawal_events
             WHERE centre_code = $1 AND (application_no, seq) IN (
                 SELECT * FROM unnest($2::text[], $3::bigint[]))",
            &[
                &centre,
                &rows
                    .iter()
                    .map(|e| e.application_no.as_str())
                    .collect::<Vec<&str>>(),
                &rows.iter().map(|e| e.seq).collect::<Vec<i64>>(),
            ],
        )?;
        let found = found
            .iter()
            .map(|r| {
                Ok((
                    column::<String>(r.try_get(0))?,
                    column::<i64>(r.try_get(1))?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let taken: HashSet<EventKey<'_>> = found.iter().map(|(a, s)| (a.as_str(), *s)).collect();
        Err(StoreError::Conflict {
            what: match first_clash(rows, event_key, &taken) {
                Some(e) => format!(
                    "step {} of withdrawal {} in centre {centre}",
                    e.seq, e.application_no
                ),
                None => format!("withdrawal steps in centre {centre}"),
            },
        })
    }

    pub(super) fn withdrawal_events(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Vec<WithdrawalEventRow>, StoreError> {
        let rows = self.query(
            "SELECT application_no, seq, status, at_us, operator, note_zh, note_en
             FROM withdrawal_events WHERE centre_code = $1 AND application_no = $2
             ORDER BY seq",
            &[&centre, &application_no],
        )?;
        rows.iter().map(event_of).collect()
    }

    // ---- payees -----------------------------------------------------------------------

    pub(super) fn insert_payees(
        &mut self,
        centre: &str,
        rows: &[PayeeRow],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        if distinct_keys(rows, payee_key) && distinct_keys(rows, |p| p.serial.as_str()) {
            let col = |f: fn(&PayeeRow) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
            let int = |f: fn(&PayeeRow) -> i64| rows.iter().map(f).collect::<Vec<i64>>();
            let n = self.execute(
                "WITH incoming AS (
                     SELECT * FROM unnest($2::text[], $3::int4[], $4::text[], $5::text[],
                        $6::text[], $7::text[], $8::bigint[], $9::bigint[], $10::bigint[],
                        $11::text[])
                        AS p (application_no, seq, id_number, name, bank_code, card_no,
                              share_num, share_den, amount, serial)
                 )
                 INSERT INTO withdrawal_payees (centre_code, application_no, seq, id_number,
                    name, bank_code, card_no, share_num, share_den, amount, serial)
                 SELECT $1::text, i.* FROM incoming i
                 WHERE NOT EXISTS (
                     SELECT 1 FROM withdrawal_payees p JOIN incoming m
                       ON (p.application_no = m.application_no AND p.seq = m.seq)
                       OR p.serial = m.serial
                     WHERE p.centre_code = $1)",
                &[
                    &centre,
                    &col(|p| &p.application_no),
                    &rows.iter().map(|p| p.seq).collect::<Vec<i32>>(),
                    &col(|p| &p.id_number),
                    &col(|p| &p.name),
                    &col(|p| &p.bank_code),
                    &col(|p| &p.card_no),
                    &int(|p| p.share_num),
                    &int(|p| p.share_den),
                    &int(|p| p.amount),
                    &col(|p| &p.serial),
                ],
            )?;
            if n == rows.len() as u64 {
                return Ok(());
            }
            if n != 0 {
                // One INSERT writes all its rows or fails; never expected.
                self.failed = true;
                return Err(database(format!(
                    "withdrawal_payees: {n} of {} payees written",
                    rows.len()
                )));
            }
        }
        // Refused: name the row a loop inserting one by one would fail on.
        let found = self.query(
            "SELECT application_no, seq, serial FROM withdrawal_payees
             WHERE centre_code = $1 AND ((application_no, seq) IN (
                     SELECT * FROM unnest($2::text[], $3::int4[]))
                 OR serial = ANY($4))",
            &[
                &centre,
                &rows
                    .iter()
                    .map(|p| p.application_no.as_str())
                    .collect::<Vec<&str>>(),
                &rows.iter().map(|p| p.seq).collect::<Vec<i32>>(),
                &rows
                    .iter()
                    .map(|p| p.serial.as_str())
                    .collect::<Vec<&str>>(),
            ],
        )?;
        let found = found
            .iter()
            .map(|r| {
                Ok((
                    column::<String>(r.try_get(0))?,
                    column::<i32>(r.try_get(1))?,
                    column::<String>(r.try_get(2))?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut numbers: HashSet<PayeeKey<'_>> =
            found.iter().map(|(a, s, _)| (a.as_str(), *s)).collect();
        let mut serials: HashSet<&str> = found.iter().map(|(_, _, s)| s.as_str()).collect();
        // A loop fails on the first row whose number or serial is taken, by the table or
        // by an earlier row.
        for p in rows {
            if !numbers.insert(payee_key(p)) | !serials.insert(p.serial.as_str()) {
                return Err(payee_conflict(centre, p));
            }
        }
        Err(StoreError::Conflict {
            what: format!("withdrawal payees in centre {centre}"),
        })
    }

    pub(super) fn payees(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Vec<PayeeRow>, StoreError> {
        let rows = self.query(
            "SELECT application_no, seq, id_number, name, bank_code, card_no, share_num,
                share_den, amount, serial
             FROM withdrawal_payees WHERE centre_code = $1 AND application_no = $2
             ORDER BY seq",
            &[&centre, &application_no],
        )?;
        rows.iter().map(payee_of).collect()
    }
}
