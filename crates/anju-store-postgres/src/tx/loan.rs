//! Loans (贷款) on PostgreSQL: the loans, their schedules, timelines and signed documents
//! (schema 8).
//!
//! Every write that can be refused (a taken number, a second open loan of an account,
//! the schema's triggers) runs under a savepoint, so a refusal changes nothing and leaves
//! the transaction usable, as on SQLite. Multi-row writes are one statement per row under
//! one savepoint: all or none. Lists come back ordered like SQLite's (numbers compared
//! byte-wise, `COLLATE "C"`). Dates go in as `$n::text::date` and come back as
//! `col::text`.

use anju_domain::codes::Channel;
use anju_domain::stamp::Stamp;
use anju_store::StoreError;
use anju_store::loan::{DayCloseRow, InstallmentRow, LoanDocumentRow, LoanEventRow, LoanRow};
use postgres::Row;

use super::{PgConn, column, date_str};
use crate::rows::{date_of, opt_date_of};

/// The `loans` columns `loan_of` reads, in order.
macro_rules! loan_columns {
    () => {
        "loan_no, application_no, account_no, id_number, co_id_number, co_account_no, kind, \
         home, bank_code, principal, rate_units, months, method, repay_day, deduct_from, \
         card_no, status, signed_on::text, disbursed_on::text, closed_on::text, outstanding, \
         risk_class, overdue_days, details, business_date::text, created_at_us, \
         updated_at_us, operator, channel, service_point, on_behalf_of"
    };
}

fn loan_of(r: &Row) -> Result<LoanRow, StoreError> {
    let channel: &str = column(r.try_get(28))?;
    Ok(LoanRow {
        loan_no: column(r.try_get(0))?,
        application_no: column(r.try_get(1))?,
        account_no: column(r.try_get(2))?,
        id_number: column(r.try_get(3))?,
        co_id_number: column(r.try_get(4))?,
        co_account_no: column(r.try_get(5))?,
        kind: column(r.try_get(6))?,
        home: column(r.try_get(7))?,
        bank_code: column(r.try_get(8))?,
        principal: column(r.try_get(9))?,
        rate_units: column(r.try_get(10))?,
        months: column(r.try_get(11))?,
        method: column(r.try_get(12))?,
        repay_day: column(r.try_get(13))?,
        deduct_from: column(r.try_get(14))?,
        card_no: column(r.try_get(15))?,
        status: column(r.try_get(16))?,
        signed_on: opt_date_of(r, 17, "loans")?,
        disbursed_on: opt_date_of(r, 18, "loans")?,
        closed_on: opt_date_of(r, 19, "loans")?,
        outstanding: column(r.try_get(20))?,
        risk_class: column(r.try_get(21))?,
        overdue_days: column(r.try_get(22))?,
        details: column(r.try_get(23))?,
        business_date: date_of(r, 24, "loans")?,
        created_at_us: column(r.try_get(25))?,
        updated_at_us: column(r.try_get(26))?,
        stamp: Stamp {
            operator: column(r.try_get(27))?,
            channel: Channel::from_code(channel).map_err(|e| StoreError::Corrupt {
                what: format!("loans row: channel: {e}"),
            })?,
            service_point: column(r.try_get(29))?,
            on_behalf_of: column(r.try_get(30))?,
        },
    })
}

const INSTALLMENT_COLUMNS: &str = "loan_no, period, due::text, principal, interest, \
    paid_principal, paid_interest, penalty, paid_penalty, status, paid_on::text";

fn installment_of(r: &Row) -> Result<InstallmentRow, StoreError> {
    Ok(InstallmentRow {
        loan_no: column(r.try_get(0))?,
        period: column(r.try_get(1))?,
        due: date_of(r, 2, "loan_installments")?,
        principal: column(r.try_get(3))?,
        interest: column(r.try_get(4))?,
        paid_principal: column(r.try_get(5))?,
        paid_interest: column(r.try_get(6))?,
        penalty: column(r.try_get(7))?,
        paid_penalty: column(r.try_get(8))?,
        status: column(r.try_get(9))?,
        paid_on: opt_date_of(r, 10, "loan_installments")?,
    })
}

impl PgConn {
    pub(super) fn count_loans(&mut self, centre: &str) -> Result<i64, StoreError> {
        self.query_one_i64(
            "SELECT COUNT(*) FROM loans WHERE centre_code = $1",
            &[&centre],
        )
    }

    pub(super) fn insert_loan(&mut self, centre: &str, l: &LoanRow) -> Result<(), StoreError> {
        let signed_on = l.signed_on.map(date_str);
        let disbursed_on = l.disbursed_on.map(date_str);
        let closed_on = l.closed_on.map(date_str);
        let business_date = date_str(l.business_date);
        let channel = l.stamp.channel.code();
        let n = self.execute(
            concat!(
                "INSERT INTO loans (centre_code, ",
                "loan_no, application_no, account_no, id_number, co_id_number, co_account_no, \
                 kind, home, bank_code, principal, rate_units, months, method, repay_day, \
                 deduct_from, card_no, status, signed_on, disbursed_on, closed_on, outstanding, \
                 risk_class, overdue_days, details, business_date, created_at_us, \
                 updated_at_us, operator, channel, service_point, on_behalf_of",
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                    $16, $17, $18, $19::text::date, $20::text::date, $21::text::date, $22, $23,
                    $24, $25, $26::text::date, $27, $28, $29, $30, $31, $32)
                 ON CONFLICT DO NOTHING"
            ),
            &[
                &centre,
                &l.loan_no,
                &l.application_no,
                &l.account_no,
                &l.id_number,
                &l.co_id_number,
                &l.co_account_no,
                &l.kind,
                &l.home,
                &l.bank_code,
                &l.principal,
                &l.rate_units,
                &l.months,
                &l.method,
                &l.repay_day,
                &l.deduct_from,
                &l.card_no,
                &l.status,
                &signed_on,
                &disbursed_on,
                &closed_on,
                &l.outstanding,
                &l.risk_class,
                &l.overdue_days,
                &l.details,
                &business_date,
                &l.created_at_us,
                &l.updated_at_us,
                &l.stamp.operator,
                &channel,
                &l.stamp.service_point,
                &l.stamp.on_behalf_of,
            ],
        )?;
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict {
                what: format!(
                    "loan {} (application {}) or an open loan of account {} in centre {centre}",
                    l.loan_no, l.application_no, l.account_no
                ),
            })
        }
    }

    pub(super) fn loan(
        &mut self,
        centre: &str,
        loan_no: &str,
        for_update: bool,
    ) -> Result<Option<LoanRow>, StoreError> {
        let row = self.query_opt(
            if for_update {
                concat!(
                    "SELECT ",
                    loan_columns!(),
                    " FROM loans WHERE centre_code = $1 AND loan_no = $2 FOR UPDATE"
                )
            } else {
                concat!(
                    "SELECT ",
                    loan_columns!(),
                    " FROM loans WHERE centre_code = $1 AND loan_no = $2"
                )
            },
            &[&centre, &loan_no],
        )?;
        row.as_ref().map(loan_of).transpose()
    }

    /// Under one savepoint: all or none.
    pub(super) fn update_loans(
        &mut self,
        centre: &str,
        rows: &[LoanRow],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.atomic(|s| {
            for l in rows {
                let signed_on = l.signed_on.map(date_str);
                let disbursed_on = l.disbursed_on.map(date_str);
                let closed_on = l.closed_on.map(date_str);
                let n = s.execute(
                    "UPDATE loans SET kind = $3, home = $4, bank_code = $5, principal = $6,
                        rate_units = $7, months = $8, method = $9, repay_day = $10,
                        deduct_from = $11, card_no = $12, status = $13,
                        signed_on = $14::text::date, disbursed_on = $15::text::date,
                        closed_on = $16::text::date, outstanding = $17, risk_class = $18,
                        overdue_days = $19, details = $20, updated_at_us = $21
                     WHERE centre_code = $1 AND loan_no = $2",
                    &[
                        &centre,
                        &l.loan_no,
                        &l.kind,
                        &l.home,
                        &l.bank_code,
                        &l.principal,
                        &l.rate_units,
                        &l.months,
                        &l.method,
                        &l.repay_day,
                        &l.deduct_from,
                        &l.card_no,
                        &l.status,
                        &signed_on,
                        &disbursed_on,
                        &closed_on,
                        &l.outstanding,
                        &l.risk_class,
                        &l.overdue_days,
                        &l.details,
                        &l.updated_at_us,
                    ],
                );
                match n {
                    Ok(1) => {}
                    Ok(_) => {
                        return Err(StoreError::NotFound {
                            what: format!("loan {} in centre {centre}", l.loan_no),
                        });
                    }
                    Err(StoreError::Conflict { .. }) => {
                        return Err(StoreError::Conflict {
                            what: format!(
                                "an open loan of account {} in centre {centre}",
                                l.account_no
                            ),
                        });
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })
    }

    /// One statement for all rows (`unnest`): a loan staying `active` keeps its status
    /// and closed-on date and must still be active; a count short of the rows names the
    /// first loan unknown or no longer active.
    pub(super) fn service_loans(
        &mut self,
        centre: &str,
        rows: &[LoanRow],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let nos: Vec<&str> = rows.iter().map(|l| l.loan_no.as_str()).collect();
        let status: Vec<&str> = rows.iter().map(|l| l.status.as_str()).collect();
        let closed_on: Vec<Option<String>> =
            rows.iter().map(|l| l.closed_on.map(date_str)).collect();
        let outstanding: Vec<i64> = rows.iter().map(|l| l.outstanding).collect();
        let class: Vec<&str> = rows.iter().map(|l| l.risk_class.as_str()).collect();
        let days: Vec<i32> = rows.iter().map(|l| l.overdue_days).collect();
        let at: Vec<i64> = rows.iter().map(|l| l.updated_at_us).collect();
        self.atomic(|s| {
            let n = s.execute(
                "UPDATE loans SET status = x.st,
                    closed_on = CASE WHEN x.st = 'active' THEN loans.closed_on
                                     ELSE x.co::date END,
                    outstanding = x.o, risk_class = x.rc, overdue_days = x.od,
                    updated_at_us = x.u
                 FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[],
                    $7::int4[], $8::bigint[]) AS x (l, st, co, o, rc, od, u)
                 WHERE loans.centre_code = $1 AND loans.loan_no = x.l
                   AND (x.st <> 'active' OR loans.status = 'active')",
                &[
                    &centre,
                    &nos,
                    &status,
                    &closed_on,
                    &outstanding,
                    &class,
                    &days,
                    &at,
                ],
            )?;
            if n != rows.len() as u64 {
                let found: Vec<(String, String)> = s
                    .query(
                        "SELECT loan_no, status FROM loans
                         WHERE centre_code = $1 AND loan_no = ANY($2)",
                        &[&centre, &nos],
                    )?
                    .iter()
                    .map(|r| (r.get(0), r.get(1)))
                    .collect();
                let missing = rows
                    .iter()
                    .find(|l| {
                        found
                            .iter()
                            .find(|(n, _)| *n == l.loan_no)
                            .is_none_or(|(_, st)| l.status == "active" && st != "active")
                    })
                    .map_or_else(|| "one of the loans".to_owned(), |l| l.loan_no.clone());
                return Err(StoreError::NotFound {
                    what: format!("active loan {missing} in centre {centre}"),
                });
            }
            Ok(())
        })
    }

    pub(super) fn loans_of_person(
        &mut self,
        centre: &str,
        id_number: &str,
    ) -> Result<Vec<LoanRow>, StoreError> {
        let rows = self.query(
            concat!(
                "SELECT ",
                loan_columns!(),
                " FROM loans WHERE centre_code = $1 AND (id_number = $2 OR co_id_number = $2)
                 ORDER BY created_at_us, loan_no COLLATE \"C\""
            ),
            &[&centre, &id_number],
        )?;
        rows.iter().map(loan_of).collect()
    }

    pub(super) fn loans_with_status(
        &mut self,
        centre: &str,
        statuses: &[&str],
    ) -> Result<Vec<LoanRow>, StoreError> {
        if statuses.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.query(
            concat!(
                "SELECT ",
                loan_columns!(),
                " FROM loans WHERE centre_code = $1 AND status = ANY($2)
                 ORDER BY loan_no COLLATE \"C\""
            ),
            &[&centre, &statuses],
        )?;
        rows.iter().map(loan_of).collect()
    }

    pub(super) fn loans_by_nos(
        &mut self,
        centre: &str,
        loan_nos: &[String],
    ) -> Result<Vec<LoanRow>, StoreError> {
        if loan_nos.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.query(
            concat!(
                "SELECT ",
                loan_columns!(),
                " FROM loans WHERE centre_code = $1 AND loan_no = ANY($2)
                 ORDER BY loan_no COLLATE \"C\""
            ),
            &[&centre, &loan_nos],
        )?;
        rows.iter().map(loan_of).collect()
    }

    // ---- schedule ---------------------------------------------------------------------

    /// One statement for all rows (`unnest`), under a savepoint for the triggers.
    pub(super) fn upsert_installments(
        &mut self,
        centre: &str,
        rows: &[InstallmentRow],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let text = |f: fn(&InstallmentRow) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
        let int = |f: fn(&InstallmentRow) -> i64| rows.iter().map(f).collect::<Vec<i64>>();
        let due: Vec<String> = rows.iter().map(|i| date_str(i.due)).collect();
        let paid_on: Vec<Option<String>> = rows.iter().map(|i| i.paid_on.map(date_str)).collect();
        let periods: Vec<i32> = rows.iter().map(|i| i.period).collect();
        let loans = text(|i| &i.loan_no);
        let principal = int(|i| i.principal);
        let interest = int(|i| i.interest);
        let paid_principal = int(|i| i.paid_principal);
        let paid_interest = int(|i| i.paid_interest);
        let penalty = int(|i| i.penalty);
        let paid_penalty = int(|i| i.paid_penalty);
        let status = text(|i| &i.status);
        self.atomic(|s| {
            s.execute(
                "INSERT INTO loan_installments (centre_code, loan_no, period, due, principal,
                    interest, paid_principal, paid_interest, penalty, paid_penalty, status,
                    paid_on)
                 SELECT $1::text, l, p, d::date, pr, i, pp, pi, pe, ppe, st, po::date
                 FROM unnest($2::text[], $3::int4[], $4::text[], $5::bigint[], $6::bigint[],
                    $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::text[],
                    $12::text[]) AS x (l, p, d, pr, i, pp, pi, pe, ppe, st, po)
                 ON CONFLICT (centre_code, loan_no, period) DO UPDATE SET due = excluded.due,
                    principal = excluded.principal, interest = excluded.interest,
                    paid_principal = excluded.paid_principal,
                    paid_interest = excluded.paid_interest, penalty = excluded.penalty,
                    paid_penalty = excluded.paid_penalty, status = excluded.status,
                    paid_on = excluded.paid_on",
                &[
                    &centre,
                    &loans,
                    &periods,
                    &due,
                    &principal,
                    &interest,
                    &paid_principal,
                    &paid_interest,
                    &penalty,
                    &paid_penalty,
                    &status,
                    &paid_on,
                ],
            )
            .map(|_| ())
        })
    }

    /// One statement for all rows (`unnest`); a count short of the rows names the first
    /// unknown (loan, period).
    pub(super) fn service_installments(
        &mut self,
        centre: &str,
        rows: &[InstallmentRow],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let int = |f: fn(&InstallmentRow) -> i64| rows.iter().map(f).collect::<Vec<i64>>();
        let loans: Vec<&str> = rows.iter().map(|i| i.loan_no.as_str()).collect();
        let periods: Vec<i32> = rows.iter().map(|i| i.period).collect();
        let paid_principal = int(|i| i.paid_principal);
        let paid_interest = int(|i| i.paid_interest);
        let penalty = int(|i| i.penalty);
        let paid_penalty = int(|i| i.paid_penalty);
        let status: Vec<&str> = rows.iter().map(|i| i.status.as_str()).collect();
        let paid_on: Vec<Option<String>> = rows.iter().map(|i| i.paid_on.map(date_str)).collect();
        let due: Vec<String> = rows.iter().map(|i| date_str(i.due)).collect();
        self.atomic(|s| {
            let n = s.execute(
                "UPDATE loan_installments SET paid_principal = x.pp, paid_interest = x.pi,
                    penalty = x.pe, paid_penalty = x.ppe, status = x.st, paid_on = x.po::date
                 FROM unnest($2::text[], $3::int4[], $4::bigint[], $5::bigint[], $6::bigint[],
                    $7::bigint[], $8::text[], $9::text[], $10::text[])
                    AS x (l, p, pp, pi, pe, ppe, st, po, d)
                 WHERE loan_installments.centre_code = $1 AND loan_installments.due = x.d::date
                   AND loan_installments.loan_no = x.l AND loan_installments.period = x.p",
                &[
                    &centre,
                    &loans,
                    &periods,
                    &paid_principal,
                    &paid_interest,
                    &penalty,
                    &paid_penalty,
                    &status,
                    &paid_on,
                    &due,
                ],
            )?;
            if n != rows.len() as u64 {
                let found: Vec<(String, i32, String)> = s
                    .query(
                        "SELECT i.loan_no, i.period, i.due::text FROM loan_installments i
                         JOIN unnest($2::text[], $3::int4[]) AS x (l, p)
                           ON i.loan_no = x.l AND i.period = x.p
                         WHERE i.centre_code = $1",
                        &[&centre, &loans, &periods],
                    )?
                    .iter()
                    .map(|r| (r.get(0), r.get(1), r.get(2)))
                    .collect();
                let missing = rows
                    .iter()
                    .find(|i| {
                        !found.iter().any(|(l, p, d)| {
                            *l == i.loan_no && *p == i.period && *d == date_str(i.due)
                        })
                    })
                    .map_or_else(
                        || "one of the periods".to_owned(),
                        |i| format!("period {} of loan {} due {}", i.period, i.loan_no, i.due),
                    );
                return Err(StoreError::NotFound {
                    what: format!("{missing} in centre {centre}"),
                });
            }
            Ok(())
        })
    }

    pub(super) fn delete_installments_from(
        &mut self,
        centre: &str,
        loan_no: &str,
        from_period: i32,
    ) -> Result<(), StoreError> {
        self.atomic(|s| {
            s.execute(
                "DELETE FROM loan_installments
                 WHERE centre_code = $1 AND loan_no = $2 AND period >= $3",
                &[&centre, &loan_no, &from_period],
            )
            .map(|_| ())
        })
    }

    pub(super) fn installments(
        &mut self,
        centre: &str,
        loan_no: &str,
    ) -> Result<Vec<InstallmentRow>, StoreError> {
        let rows = self.query(
            "SELECT loan_no, period, due::text, principal, interest, paid_principal,
                paid_interest, penalty, paid_penalty, status, paid_on::text
             FROM loan_installments WHERE centre_code = $1 AND loan_no = $2 ORDER BY period",
            &[&centre, &loan_no],
        )?;
        debug_assert!(INSTALLMENT_COLUMNS.contains("paid_on"));
        rows.iter().map(installment_of).collect()
    }

    pub(super) fn installments_unpaid_by(
        &mut self,
        centre: &str,
        date: jiff::civil::Date,
    ) -> Result<Vec<InstallmentRow>, StoreError> {
        let d = date_str(date);
        let rows = self.query(
            "SELECT loan_no, period, due::text, principal, interest, paid_principal,
                paid_interest, penalty, paid_penalty, status, paid_on::text
             FROM loan_installments
             WHERE centre_code = $1 AND due <= $2::text::date
               AND status IN ('scheduled', 'overdue')
             ORDER BY loan_no COLLATE \"C\", period",
            &[&centre, &d],
        )?;
        rows.iter().map(installment_of).collect()
    }

    // ---- timeline and documents -------------------------------------------------------

    /// One statement per step under one savepoint: all or none.
    pub(super) fn insert_loan_events(
        &mut self,
        centre: &str,
        rows: &[LoanEventRow],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.atomic(|s| {
            for e in rows {
                let r = s.execute(
                    "INSERT INTO loan_events (centre_code, loan_no, seq, event, at_us, operator,
                        note_zh, note_en)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    &[
                        &centre,
                        &e.loan_no,
                        &e.seq,
                        &e.event,
                        &e.at_us,
                        &e.operator,
                        &e.note_zh,
                        &e.note_en,
                    ],
                );
                match r {
                    Ok(_) => {}
                    Err(StoreError::Conflict { .. }) => {
                        return Err(StoreError::Conflict {
                            what: format!(
                                "step {} of loan {} in centre {centre}",
                                e.seq, e.loan_no
                            ),
                        });
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })
    }

    pub(super) fn loan_events(
        &mut self,
        centre: &str,
        loan_no: &str,
    ) -> Result<Vec<LoanEventRow>, StoreError> {
        let rows = self.query(
            "SELECT loan_no, seq, event, at_us, operator, note_zh, note_en
             FROM loan_events WHERE centre_code = $1 AND loan_no = $2 ORDER BY seq",
            &[&centre, &loan_no],
        )?;
        rows.iter()
            .map(|r| {
                Ok(LoanEventRow {
                    loan_no: column(r.try_get(0))?,
                    seq: column(r.try_get(1))?,
                    event: column(r.try_get(2))?,
                    at_us: column(r.try_get(3))?,
                    operator: column(r.try_get(4))?,
                    note_zh: column(r.try_get(5))?,
                    note_en: column(r.try_get(6))?,
                })
            })
            .collect()
    }

    pub(super) fn insert_loan_document(
        &mut self,
        centre: &str,
        d: &LoanDocumentRow,
    ) -> Result<(), StoreError> {
        let n = self.execute(
            "INSERT INTO loan_documents (centre_code, doc_no, loan_no, kind, sm3, content,
                created_at_us)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT DO NOTHING",
            &[
                &centre,
                &d.doc_no,
                &d.loan_no,
                &d.kind,
                &d.sm3,
                &d.content,
                &d.created_at_us,
            ],
        )?;
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict {
                what: format!("document {} in centre {centre}", d.doc_no),
            })
        }
    }

    pub(super) fn loan_documents(
        &mut self,
        centre: &str,
        loan_no: &str,
    ) -> Result<Vec<LoanDocumentRow>, StoreError> {
        let rows = self.query(
            "SELECT loan_no, doc_no, kind, sm3, content, created_at_us
             FROM loan_documents WHERE centre_code = $1 AND loan_no = $2
             ORDER BY created_at_us, doc_no COLLATE \"C\"",
            &[&centre, &loan_no],
        )?;
        rows.iter()
            .map(|r| {
                Ok(LoanDocumentRow {
                    loan_no: column(r.try_get(0))?,
                    doc_no: column(r.try_get(1))?,
                    kind: column(r.try_get(2))?,
                    sm3: column(r.try_get(3))?,
                    content: column(r.try_get(4))?,
                    created_at_us: column(r.try_get(5))?,
                })
            })
            .collect()
    }

    pub(super) fn day_close(
        &mut self,
        centre: &str,
        date: jiff::civil::Date,
    ) -> Result<Option<DayCloseRow>, StoreError> {
        let d = date_str(date);
        let row = self.query_opt(
            "SELECT business_date::text, closed_at_us, operator, summary FROM day_closes
             WHERE centre_code = $1 AND business_date = $2::text::date",
            &[&centre, &d],
        )?;
        row.map(|r| {
            Ok(DayCloseRow {
                business_date: date_of(&r, 0, "day_closes")?,
                closed_at_us: column(r.try_get(1))?,
                operator: column(r.try_get(2))?,
                summary: column(r.try_get(3))?,
            })
        })
        .transpose()
    }

    pub(super) fn insert_day_close(
        &mut self,
        centre: &str,
        r: &DayCloseRow,
    ) -> Result<(), StoreError> {
        let d = date_str(r.business_date);
        let n = self.execute(
            "INSERT INTO day_closes (centre_code, business_date, closed_at_us, operator, summary)
             VALUES ($1, $2::text::date, $3, $4, $5)
             ON CONFLICT DO NOTHING",
            &[&centre, &d, &r.closed_at_us, &r.operator, &r.summary],
        )?;
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict {
                what: format!("day close of {} in centre {centre}", r.business_date),
            })
        }
    }

    pub(super) fn loan_installments_unpaid_by(
        &mut self,
        centre: &str,
        loan_nos: &[String],
        date: jiff::civil::Date,
    ) -> Result<Vec<InstallmentRow>, StoreError> {
        if loan_nos.is_empty() {
            return Ok(Vec::new());
        }
        let d = date_str(date);
        let rows = self.query(
            "SELECT loan_no, period, due::text, principal, interest, paid_principal,
                paid_interest, penalty, paid_penalty, status, paid_on::text
             FROM loan_installments
             WHERE centre_code = $1 AND loan_no = ANY($2) AND due <= $3::text::date
               AND status IN ('scheduled', 'overdue')
             ORDER BY loan_no COLLATE \"C\", period",
            &[&centre, &loan_nos, &d],
        )?;
        rows.iter().map(installment_of).collect()
    }

    pub(super) fn count_loan_events(
        &mut self,
        centre: &str,
        loan_nos: &[String],
    ) -> Result<Vec<(String, i64)>, StoreError> {
        if loan_nos.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.query(
            "SELECT loan_no, COUNT(*) FROM loan_events
             WHERE centre_code = $1 AND loan_no = ANY($2)
             GROUP BY loan_no ORDER BY loan_no COLLATE \"C\"",
            &[&centre, &loan_nos],
        )?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1)))
            .collect())
    }
}
