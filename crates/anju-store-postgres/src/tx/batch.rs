//! The monthly remittance batch in bulk: a whole centre's bills generated, read and paid
//! in a handful of statements instead of several round trips per bill.
//!
//! Reads take their keys as one array (`= ANY($2)`, in chunks) and sort in Rust, byte-wise
//! like SQLite. Writes send one array per column through `unnest` (bill lines go through
//! binary COPY), each under one savepoint, so a batch is all-or-nothing and a `Conflict`
//! or `NotFound` leaves the transaction usable.

use std::collections::HashSet;
use std::fmt::Write as _;

use anju_domain::collection::YearMonth;
use anju_domain::money::Fen;
use anju_store::StoreError;
use anju_store::collection::{BillLineRow, BillRow, DueByBill, FullPayment, LineDue, ReceiptRow};
use anju_store::registry::{MemberRow, UnitRow};

use super::{ANY_CHUNK, BULK_ROWS, PgConn, check_line_nos, column, date_str};
use crate::rows::{
    bill_columns, bill_line_columns, bill_lines_from, member_columns, receipt_columns, unit_columns,
};

/// Rows per `INSERT … SELECT FROM unnest(…)` / `UPDATE … FROM unnest(…)` statement.
const ROW_CHUNK: usize = 20_000;

/// `key` of each item, each once, in first-seen order.
fn distinct<'a, T>(items: &'a [T], key: impl Fn(&'a T) -> &'a str) -> Vec<&'a str> {
    let mut seen = HashSet::with_capacity(items.len());
    items.iter().map(key).filter(|k| seen.insert(*k)).collect()
}

/// The `Conflict` of a bill whose number or month is taken (worded as `insert_bill`).
fn bill_conflict(b: &BillRow) -> StoreError {
    StoreError::Conflict {
        what: format!(
            "bill {} or a {} bill of {} for {}",
            b.bill_no,
            b.kind.label_zh(),
            b.payer,
            b.month
        ),
    }
}

/// The `Conflict` of a receipt whose key is taken (worded as `insert_receipt`).
fn receipt_conflict(centre: &str, r: &ReceiptRow) -> StoreError {
    StoreError::Conflict {
        what: format!("receipt {} in centre {centre}", r.receipt_key),
    }
}

/// The `NotFound` of a bill (worded as `update_bill`).
fn missing_bill(centre: &str, bill_no: &str) -> StoreError {
    StoreError::NotFound {
        what: format!("bill {bill_no} in centre {centre}"),
    }
}

/// Which of `items` the database did not take: given the keys an
/// `INSERT … ON CONFLICT DO NOTHING RETURNING key` returned, the index of the first item
/// whose key is not among them or repeats an earlier item's.
fn first_not_inserted<T>(
    items: &[T],
    key: impl Fn(&T) -> &str,
    returned: Vec<String>,
) -> Option<usize> {
    if returned.len() == items.len() {
        return None;
    }
    let mut returned: HashSet<String> = returned.into_iter().collect();
    items.iter().position(|i| !returned.remove(key(i)))
}

/// The payments as one array per column, for `unnest`: each bill and paying entry, the
/// month its members advance to (NULL for none) and the month before it (NULL for none or
/// for 1900-01, when only an unset 缴至年月 moves), and the payment's position.
struct Advances<'a> {
    bills: Vec<&'a str>,
    keys: Vec<&'a str>,
    months: Vec<Option<String>>,
    prevs: Vec<Option<String>>,
    ords: Vec<i64>,
}

impl<'a> Advances<'a> {
    fn of(payments: &'a [FullPayment]) -> Advances<'a> {
        Advances {
            bills: payments.iter().map(|p| p.bill.bill_no.as_str()).collect(),
            keys: payments
                .iter()
                .map(|p| p.receipt.entry_key.as_str())
                .collect(),
            months: payments
                .iter()
                .map(|p| p.advance.map(|m| format!("{m}")))
                .collect(),
            prevs: payments
                .iter()
                .map(|p| p.advance.and_then(|m| m.plus(-1)).map(|m| format!("{m}")))
                .collect(),
            ords: (0..payments.len() as i64).collect(),
        }
    }
}

impl PgConn {
    pub(super) fn units_all(&mut self, centre: &str) -> Result<Vec<UnitRow>, StoreError> {
        let rows = self.query(
            concat!(
                "SELECT ",
                unit_columns!(),
                " FROM units WHERE centre_code = $1"
            ),
            &[&centre],
        )?;
        let mut out = rows
            .iter()
            .map(Self::unit_of)
            .collect::<Result<Vec<_>, _>>()?;
        // Byte-wise, like SQLite, whatever the database's collation.
        out.sort_unstable_by(|a, b| a.unit_no.cmp(&b.unit_no));
        Ok(out)
    }

    pub(super) fn members_with_unit(&mut self, centre: &str) -> Result<Vec<MemberRow>, StoreError> {
        let mut out = Vec::new();
        self.for_each(
            concat!(
                "SELECT ",
                member_columns!(),
                " FROM members WHERE centre_code = $1 AND unit_no IS NOT NULL"
            ),
            &[&centre],
            |r| {
                out.push(Self::member_of(r)?);
                Ok(())
            },
        )?;
        // Byte-wise, like SQLite, whatever the database's collation (account numbers are
        // unique, so the order is total).
        out.sort_unstable_by(|a, b| (&a.unit_no, &a.account_no).cmp(&(&b.unit_no, &b.account_no)));
        Ok(out)
    }

    pub(super) fn remittance_bills_of_month(
        &mut self,
        centre: &str,
        month: YearMonth,
    ) -> Result<Vec<BillRow>, StoreError> {
        let rows = self.query(
            concat!(
                "SELECT ",
                bill_columns!(),
                " FROM bills WHERE centre_code = $1 AND month = $2 AND kind = 'remit'"
            ),
            &[&centre, &format!("{month}")],
        )?;
        let mut out = rows
            .iter()
            .map(Self::bill_of)
            .collect::<Result<Vec<_>, _>>()?;
        // One remittance bill per payer and month: the order is total.
        out.sort_unstable_by(|a, b| a.payer.cmp(&b.payer));
        Ok(out)
    }

    /// All bills in one `INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING` per
    /// [`ROW_CHUNK`] bills, then all lines by binary COPY, under one savepoint. A bill whose
    /// number or (remittance) month is taken — in the database or earlier in the batch —
    /// is reported as `Conflict` naming the first such bill, as `insert_bill` names it; a
    /// bill whose lines repeat a line number, as `insert_bill` reports it (whichever the
    /// loop would meet first). Either way nothing of the batch is written and the
    /// transaction stays usable. (Lines can then clash only with stray rows of a bill
    /// that did not exist, or with another bill's lines carrying its number, a caller's
    /// bug: that is a generic `Conflict`, also undone.)
    pub(super) fn insert_bills(
        &mut self,
        centre: &str,
        bills: &[(BillRow, Vec<BillLineRow>)],
    ) -> Result<(), StoreError> {
        if bills.is_empty() {
            return Ok(());
        }
        // The first bill whose own lines repeat a number: the loop stops there, unless an
        // earlier bill's number or month is taken.
        let bad = bills.iter().position(|(_, l)| check_line_nos(l).is_err());
        let mut lines: Vec<&BillLineRow> = bills.iter().flat_map(|(_, l)| l).collect();
        // In primary-key order, so the key's index grows at its right edge (cheapest).
        fn key<'l>(l: &&'l BillLineRow) -> (&'l str, i64) {
            (l.bill_no.as_str(), l.line_no)
        }
        if !lines.windows(2).all(|w| key(&w[0]) <= key(&w[1])) {
            lines.sort_unstable_by(|a, b| key(a).cmp(&key(b)));
        }
        self.atomic(|s| {
            for chunk in bills[..bad.unwrap_or(bills.len())].chunks(ROW_CHUNK) {
                s.insert_bill_rows(centre, chunk)?;
            }
            if let Some(i) = bad {
                return check_line_nos(&bills[i].1);
            }
            if lines.len() <= BULK_ROWS {
                for (_, l) in bills {
                    s.insert_lines(centre, l)?;
                }
                return Ok(());
            }
            let mut month = String::with_capacity(7);
            s.copy_in(
                "COPY bill_lines (centre_code, bill_no, line_no, account_no, name, month,
                    base_fen, unit_fen, member_fen, notice, paid_entry)
                 FROM STDIN (FORMAT binary)",
                &lines,
                |c, l| {
                    month.clear();
                    // Writing to a String cannot fail.
                    let _ = write!(month, "{}", l.month);
                    c.row(11);
                    c.text(centre);
                    c.text(&l.bill_no);
                    c.bigint(l.line_no);
                    c.text(&l.account_no);
                    c.text(&l.name);
                    c.text(&month);
                    c.bigint(l.base.fen());
                    c.bigint(l.unit_share.fen());
                    c.bigint(l.member_share.fen());
                    c.text(&l.notice);
                    c.opt_text(l.paid_entry.as_deref());
                },
            )?;
            Ok(())
        })
    }

    /// One statement for the bill rows of `bills`; `Conflict` naming the first not taken.
    fn insert_bill_rows(
        &mut self,
        centre: &str,
        bills: &[(BillRow, Vec<BillLineRow>)],
    ) -> Result<(), StoreError> {
        let b = || bills.iter().map(|(b, _)| b);
        let nos: Vec<&str> = b().map(|b| b.bill_no.as_str()).collect();
        let payers: Vec<&str> = b().map(|b| b.payer.as_str()).collect();
        let kinds: Vec<&str> = b().map(|b| b.kind.code()).collect();
        let months: Vec<String> = b().map(|b| format!("{}", b.month)).collect();
        let statuses: Vec<&str> = b().map(|b| b.status.code()).collect();
        let totals: Vec<i64> = b().map(|b| b.total.fen()).collect();
        let counts: Vec<i64> = b().map(|b| b.line_count).collect();
        let banks: Vec<&str> = b().map(|b| b.bank_code.as_str()).collect();
        let due: Vec<String> = b().map(|b| date_str(b.due_on)).collect();
        let created: Vec<String> = b().map(|b| date_str(b.created_on)).collect();
        let confirmed: Vec<Option<String>> = b().map(|b| b.confirmed_on.map(date_str)).collect();
        let paid: Vec<Option<String>> = b().map(|b| b.paid_on.map(date_str)).collect();
        let rows = self.query(
            "INSERT INTO bills (centre_code, bill_no, payer, kind, month, status, total_fen,
                line_count, bank_code, due_on, created_on, confirmed_on, paid_on)
             SELECT $1::text, v.bill_no, v.payer, v.kind, v.month, v.status, v.total_fen,
                v.line_count, v.bank_code, v.due_on::date, v.created_on::date,
                v.confirmed_on::date, v.paid_on::date
             FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                $7::bigint[], $8::bigint[], $9::text[], $10::text[], $11::text[], $12::text[],
                $13::text[])
                AS v(bill_no, payer, kind, month, status, total_fen, line_count, bank_code,
                     due_on, created_on, confirmed_on, paid_on)
             ON CONFLICT DO NOTHING
             RETURNING bill_no",
            &[
                &centre, &nos, &payers, &kinds, &months, &statuses, &totals, &counts, &banks, &due,
                &created, &confirmed, &paid,
            ],
        )?;
        let returned = rows
            .iter()
            .map(|r| column(r.try_get(0)))
            .collect::<Result<Vec<String>, _>>()?;
        match first_not_inserted(bills, |(b, _)| b.bill_no.as_str(), returned) {
            Some(i) => Err(bill_conflict(&bills[i].0)),
            None => Ok(()),
        }
    }

    pub(super) fn bills_by_nos(
        &mut self,
        centre: &str,
        bill_nos: &[String],
    ) -> Result<Vec<BillRow>, StoreError> {
        let nos = distinct(bill_nos, String::as_str);
        let mut out = Vec::with_capacity(nos.len());
        for chunk in nos.chunks(ANY_CHUNK) {
            self.for_each(
                concat!(
                    "SELECT ",
                    bill_columns!(),
                    " FROM bills WHERE centre_code = $1 AND bill_no = ANY($2)"
                ),
                &[&centre, &chunk],
                |r| {
                    out.push(Self::bill_of(r)?);
                    Ok(())
                },
            )?;
        }
        Ok(out)
    }

    pub(super) fn lines_of_bills(
        &mut self,
        centre: &str,
        bill_nos: &[String],
    ) -> Result<Vec<BillLineRow>, StoreError> {
        let nos = distinct(bill_nos, String::as_str);
        let mut out = Vec::new();
        for chunk in nos.chunks(ANY_CHUNK) {
            self.for_each(
                concat!(
                    "SELECT ",
                    bill_line_columns!(),
                    bill_lines_from!(),
                    "WHERE l.centre_code = $1 AND l.bill_no = ANY($2)"
                ),
                &[&centre, &chunk],
                |r| {
                    out.push(Self::bill_line_of(r)?);
                    Ok(())
                },
            )?;
        }
        // Byte-wise, like SQLite, whatever the database's collation.
        out.sort_unstable_by(|a, b| (&a.bill_no, a.line_no).cmp(&(&b.bill_no, b.line_no)));
        Ok(out)
    }

    /// [`anju_store::StoreTx::lines_due`]: only what a payment uses, per bill in the order
    /// asked, lines by number.
    pub(super) fn lines_due(
        &mut self,
        centre: &str,
        bill_nos: &[String],
    ) -> Result<Vec<Vec<LineDue>>, StoreError> {
        let mut due = DueByBill::new(bill_nos);
        let nos = distinct(bill_nos, String::as_str);
        for chunk in nos.chunks(ANY_CHUNK) {
            self.for_each(
                concat!(
                    "SELECT l.bill_no, l.line_no, l.account_no, l.month, l.unit_fen + l.member_fen,
                        coalesce(l.paid_entry, b.paid_entry) IS NOT NULL",
                    bill_lines_from!(),
                    "WHERE l.centre_code = $1 AND l.bill_no = ANY($2)"
                ),
                &[&centre, &chunk],
                |r| {
                    let bill_no: &str = column(r.try_get(0))?;
                    let month: &str = column(r.try_get(3))?;
                    let month = anju_store::collection::parse_month(
                        anju_store::raw::At {
                            table: "bill_lines",
                            key: &bill_no,
                            column: "month",
                        },
                        month,
                    )?;
                    let line = LineDue {
                        account_no: column(r.try_get(2))?,
                        month,
                        total: Fen::new(column(r.try_get(4))?),
                        paid: column(r.try_get(5))?,
                    };
                    due.push(bill_no, column(r.try_get(1))?, line);
                    Ok(())
                },
            )?;
        }
        Ok(due.finish())
    }

    pub(super) fn receipts_by_keys(
        &mut self,
        centre: &str,
        keys: &[String],
    ) -> Result<Vec<ReceiptRow>, StoreError> {
        let keys = distinct(keys, String::as_str);
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(ANY_CHUNK) {
            self.for_each(
                concat!(
                    "SELECT ",
                    receipt_columns!(),
                    " FROM receipts WHERE centre_code = $1 AND receipt_key = ANY($2)"
                ),
                &[&centre, &chunk],
                |r| {
                    out.push(Self::receipt_of(r)?);
                    Ok(())
                },
            )?;
        }
        Ok(out)
    }

    /// The trait's loop (receipt, lines, 缴至年月, bill, payment after payment) in three
    /// set-wise statements under one savepoint: all receipts; every unpaid line of each
    /// bill marked paid by its (first) payment's entry and the members' 缴至年月 advanced
    /// (two statements when a bill is paid twice in the batch); every bill saved (its last
    /// payment's row wins). The result equals the loop's, including a member advanced by
    /// several payments for different months (applied in payment order, in Rust). On `Conflict` (a receipt key taken, in the database or
    /// earlier in the batch) or `NotFound` (a bill that does not exist) — whichever the
    /// loop would have met first — nothing of the batch is written and the transaction
    /// stays usable.
    pub(super) fn record_full_payments(
        &mut self,
        centre: &str,
        payments: &[FullPayment],
    ) -> Result<(), StoreError> {
        if payments.is_empty() {
            return Ok(());
        }
        self.atomic(|s| {
            for (n, chunk) in payments.chunks(ROW_CHUNK).enumerate() {
                if let Some(i) = s.insert_receipt_rows(centre, chunk)? {
                    // The loop saves bill after bill: a missing bill before the clashing
                    // receipt would have stopped it first.
                    let at = n * ROW_CHUNK + i;
                    if let Some(missing) = s.first_missing_bill(centre, &payments[..at])? {
                        return Err(missing_bill(centre, missing));
                    }
                    return Err(receipt_conflict(centre, &payments[at].receipt));
                }
            }
            let adv = Advances::of(payments);
            let once = distinct(payments, |p| p.bill.bill_no.as_str()).len() == payments.len();
            let mixed = s.with_work_mem(|s| {
                if once {
                    s.mark_and_advance(centre, &adv)
                } else {
                    s.mark_bills_paid(centre, payments)?;
                    s.advance_paid_to_all(centre, &adv)
                }
            })?;
            if !mixed.is_empty() {
                s.replay_advances(centre, &adv, &mixed)?;
            }
            s.update_bills(centre, payments)
        })
    }

    /// Inserts the receipts of `payments`; the index of the first whose key was taken.
    fn insert_receipt_rows(
        &mut self,
        centre: &str,
        payments: &[FullPayment],
    ) -> Result<Option<usize>, StoreError> {
        let r = || payments.iter().map(|p| &p.receipt);
        let keys: Vec<&str> = r().map(|r| r.receipt_key.as_str()).collect();
        let payers: Vec<&str> = r().map(|r| r.payer.as_str()).collect();
        let bill_nos: Vec<Option<&str>> = r().map(|r| r.bill_no.as_deref()).collect();
        let amounts: Vec<i64> = r().map(|r| r.amount.fen()).collect();
        let received: Vec<String> = r().map(|r| date_str(r.received_on)).collect();
        let banks: Vec<&str> = r().map(|r| r.bank_code.as_str()).collect();
        let entries: Vec<&str> = r().map(|r| r.entry_key.as_str()).collect();
        let recorded: Vec<i64> = r().map(|r| r.recorded_at_us).collect();
        let rows = self.query(
            "INSERT INTO receipts (centre_code, receipt_key, payer, bill_no, amount_fen,
                received_on, bank_code, entry_key, recorded_at_us)
             SELECT $1::text, v.receipt_key, v.payer, v.bill_no, v.amount_fen,
                v.received_on::date, v.bank_code, v.entry_key, v.recorded_at_us
             FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[],
                $7::text[], $8::text[], $9::bigint[])
                AS v(receipt_key, payer, bill_no, amount_fen, received_on, bank_code,
                     entry_key, recorded_at_us)
             ON CONFLICT DO NOTHING
             RETURNING receipt_key",
            &[
                &centre, &keys, &payers, &bill_nos, &amounts, &received, &banks, &entries,
                &recorded,
            ],
        )?;
        let returned = rows
            .iter()
            .map(|r| column(r.try_get(0)))
            .collect::<Result<Vec<String>, _>>()?;
        Ok(first_not_inserted(
            payments,
            |p| p.receipt.receipt_key.as_str(),
            returned,
        ))
    }

    /// The first bill of `payments` (in order) that does not exist.
    fn first_missing_bill<'p>(
        &mut self,
        centre: &str,
        payments: &'p [FullPayment],
    ) -> Result<Option<&'p str>, StoreError> {
        let nos = distinct(payments, |p| p.bill.bill_no.as_str());
        let mut existing = HashSet::with_capacity(nos.len());
        for chunk in nos.chunks(ANY_CHUNK) {
            for r in self.query(
                "SELECT bill_no FROM bills WHERE centre_code = $1 AND bill_no = ANY($2)",
                &[&centre, &chunk],
            )? {
                existing.insert(column::<String>(r.try_get(0))?);
            }
        }
        Ok(nos.into_iter().find(|no| !existing.contains(*no)))
    }

    /// The common case (each bill paid once) in one statement: each payment's entry
    /// recorded on its bill (schema 12: it pays every line not paid on its own, without
    /// touching the lines), and every member on a line so paid for the payment's `advance`
    /// month moved to it where 缴至年月 is unset or the month before. Lines the entry had
    /// already paid come back too, as the loop's `advance_paid_to` sees them. A member named with one month (on any number of
    /// lines) ends the same however often that month is applied, so the members are
    /// joined to the marked lines directly (`UPDATE … FROM` uses one of several matching
    /// rows, all alike here); the members named with different months, whose result
    /// depends on the payments' order, are left alone and returned for
    /// [`PgConn::replay_advances`].
    fn mark_and_advance(
        &mut self,
        centre: &str,
        a: &Advances<'_>,
    ) -> Result<Vec<String>, StoreError> {
        let rows = self.query(
            "WITH paid AS (
                 UPDATE bills AS b SET paid_entry = v.k
                 FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])
                    AS v(b, k, m, prev)
                 WHERE b.centre_code = $1 AND b.bill_no = v.b
                   AND (b.paid_entry IS NULL OR b.paid_entry = v.k)
                 RETURNING b.bill_no, v.k, v.m, v.prev
             ), marked AS (
                 SELECT l.account_no, l.month = p.m AS due, p.m, p.prev
                 FROM paid AS p
                 JOIN bill_lines AS l ON l.centre_code = $1 AND l.bill_no = p.bill_no
                 WHERE l.paid_entry IS NULL OR l.paid_entry = p.k
             ), mixed AS (
                 SELECT account_no FROM marked WHERE due GROUP BY account_no
                 HAVING min(m) <> max(m)
             ), moved AS (
                 UPDATE members SET paid_to = d.m FROM marked AS d
                 WHERE d.due AND members.centre_code = $1
                   AND members.account_no = d.account_no
                   AND (members.paid_to IS NULL OR members.paid_to = d.prev)
                   AND NOT EXISTS (SELECT 1 FROM mixed WHERE mixed.account_no = d.account_no)
                 RETURNING 1
             )
             SELECT account_no FROM mixed",
            &[&centre, &a.bills, &a.keys, &a.months, &a.prevs],
        )?;
        rows.iter().map(|r| column(r.try_get(0))).collect()
    }

    /// Each bill with unpaid lines marked paid (on the bill) by the entry of the bill's
    /// first payment (a later payment of the same bill finds nothing unpaid, as in the
    /// loop).
    fn mark_bills_paid(
        &mut self,
        centre: &str,
        payments: &[FullPayment],
    ) -> Result<(), StoreError> {
        let mut seen = HashSet::with_capacity(payments.len());
        let firsts: Vec<&FullPayment> = payments
            .iter()
            .filter(|p| seen.insert(p.bill.bill_no.as_str()))
            .collect();
        let bills: Vec<&str> = firsts.iter().map(|p| p.bill.bill_no.as_str()).collect();
        let keys: Vec<&str> = firsts
            .iter()
            .map(|p| p.receipt.entry_key.as_str())
            .collect();
        self.execute(
            "UPDATE bills AS b SET paid_entry = v.k
             FROM unnest($2::text[], $3::text[]) AS v(b, k)
             WHERE b.centre_code = $1 AND b.bill_no = v.b AND b.paid_entry IS NULL
               AND EXISTS (SELECT 1 FROM bill_lines AS l WHERE l.centre_code = $1
                   AND l.bill_no = v.b AND l.paid_entry IS NULL)",
            &[&centre, &bills, &keys],
        )?;
        Ok(())
    }

    /// `advance_paid_to` for every payment with `advance`, after all lines were marked
    /// (which leaves each payment's own lines as the loop saw them: a bill has no unpaid
    /// line left once paid): as in [`PgConn::mark_and_advance`], returning the members
    /// named with different months.
    fn advance_paid_to_all(
        &mut self,
        centre: &str,
        a: &Advances<'_>,
    ) -> Result<Vec<String>, StoreError> {
        // `g` is read by the UPDATE and by the final SELECT, so it is computed once; the
        // members are found by key whatever the planner thinks `g` holds.
        let rows = self.query(
            "WITH g AS (
                 SELECT l.account_no, min(v.m) AS m, max(v.m) AS last, min(v.prev) AS prev
                 FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])
                    AS v(b, k, m, prev)
                 JOIN bills AS bb ON bb.centre_code = $1 AND bb.bill_no = v.b
                 JOIN bill_lines AS l
                   ON l.centre_code = $1 AND l.bill_no = v.b
                  AND coalesce(l.paid_entry, bb.paid_entry) = v.k AND l.month = v.m
                 GROUP BY l.account_no
             ), moved AS (
                 UPDATE members SET paid_to = g.m FROM g
                 WHERE members.centre_code = $1 AND members.account_no = g.account_no
                   AND g.m = g.last
                   AND (members.paid_to IS NULL OR members.paid_to = g.prev)
                 RETURNING 1
             )
             SELECT account_no FROM g WHERE m <> last",
            &[&centre, &a.bills, &a.keys, &a.months, &a.prevs],
        )?;
        rows.iter().map(|r| column(r.try_get(0))).collect()
    }

    /// For members named by payments for different months (`accounts`, which the set-wise
    /// statement left alone): applies their lines' months one after another in payment
    /// order, as the loop would, and saves the members whose 缴至年月 moved.
    fn replay_advances(
        &mut self,
        centre: &str,
        a: &Advances<'_>,
        accounts: &[String],
    ) -> Result<(), StoreError> {
        let rows = self.query(
            "SELECT l.account_no, v.ord, v.m, v.prev
             FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])
                AS v(b, k, m, prev, ord)
             JOIN bills AS bb ON bb.centre_code = $1 AND bb.bill_no = v.b
             JOIN bill_lines AS l
               ON l.centre_code = $1 AND l.bill_no = v.b
              AND coalesce(l.paid_entry, bb.paid_entry) = v.k AND l.month = v.m
             WHERE l.account_no = ANY($7)",
            &[
                &centre, &a.bills, &a.keys, &a.months, &a.prevs, &a.ords, &accounts,
            ],
        )?;
        let mut candidates = rows
            .iter()
            .map(|r| {
                Ok((
                    column::<String>(r.try_get(0))?,
                    column::<i64>(r.try_get(1))?,
                    column::<String>(r.try_get(2))?,
                    column::<Option<String>>(r.try_get(3))?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        candidates.sort_unstable();
        let rows = self.query(
            "SELECT account_no, paid_to FROM members
             WHERE centre_code = $1 AND account_no = ANY($2)",
            &[&centre, &accounts],
        )?;
        let mut moved_accounts = Vec::new();
        let mut moved_to = Vec::new();
        for r in &rows {
            let account: String = column(r.try_get(0))?;
            let start: Option<String> = column(r.try_get(1))?;
            let mut paid_to = start.clone();
            let first = candidates.partition_point(|c| c.0 < account);
            for (_, _, month, prev) in candidates[first..].iter().take_while(|c| c.0 == account) {
                if paid_to.is_none() || (prev.is_some() && paid_to == *prev) {
                    paid_to = Some(month.clone());
                }
            }
            if paid_to != start {
                moved_accounts.push(account);
                moved_to.push(paid_to);
            }
        }
        if moved_accounts.is_empty() {
            return Ok(());
        }
        self.execute(
            "UPDATE members SET paid_to = v.p
             FROM unnest($2::text[], $3::text[]) AS v(a, p)
             WHERE members.centre_code = $1 AND members.account_no = v.a",
            &[&centre, &moved_accounts, &moved_to],
        )?;
        Ok(())
    }

    /// Saves every paid bill (a bill paid twice: its last payment's row, as in the loop);
    /// `NotFound` naming the first bill that does not exist.
    fn update_bills(&mut self, centre: &str, payments: &[FullPayment]) -> Result<(), StoreError> {
        let mut seen = HashSet::with_capacity(payments.len());
        let mut lasts: Vec<&BillRow> = payments
            .iter()
            .rev()
            .map(|p| &p.bill)
            .filter(|b| seen.insert(b.bill_no.as_str()))
            .collect();
        lasts.reverse();
        let mut updated = 0;
        for chunk in lasts.chunks(ROW_CHUNK) {
            let nos: Vec<&str> = chunk.iter().map(|b| b.bill_no.as_str()).collect();
            let statuses: Vec<&str> = chunk.iter().map(|b| b.status.code()).collect();
            let totals: Vec<i64> = chunk.iter().map(|b| b.total.fen()).collect();
            let counts: Vec<i64> = chunk.iter().map(|b| b.line_count).collect();
            let confirmed: Vec<Option<String>> =
                chunk.iter().map(|b| b.confirmed_on.map(date_str)).collect();
            let paid: Vec<Option<String>> = chunk.iter().map(|b| b.paid_on.map(date_str)).collect();
            let due: Vec<String> = chunk.iter().map(|b| date_str(b.due_on)).collect();
            updated += self.execute(
                "UPDATE bills AS b SET status = v.status, total_fen = v.total_fen,
                    line_count = v.line_count, confirmed_on = v.confirmed_on::date,
                    paid_on = v.paid_on::date, due_on = v.due_on::date
                 FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[],
                    $7::text[], $8::text[])
                    AS v(bill_no, status, total_fen, line_count, confirmed_on, paid_on, due_on)
                 WHERE b.centre_code = $1 AND b.bill_no = v.bill_no",
                &[
                    &centre, &nos, &statuses, &totals, &counts, &confirmed, &paid, &due,
                ],
            )?;
        }
        if updated != lasts.len() as u64
            && let Some(no) = self.first_missing_bill(centre, payments)?
        {
            return Err(missing_bill(centre, no));
        }
        Ok(())
    }
}
