//! Rows of remittance (汇缴): bills and their lines, money received, reminders to units in
//! arrears, and year-end interest runs. Plain data with decoders for the text columns; the
//! rules live in `anju_domain::collection` and the use cases in `anju_app::remittance`.

use anju_domain::collection::YearMonth;
use anju_domain::ledger::{EntryKind, Side, TxCode};
use anju_domain::money::Fen;
use jiff::civil::Date;

use crate::StoreError;
use crate::raw::parse_date;

fn corrupt(what: String) -> StoreError {
    StoreError::Corrupt { what }
}

/// Parses a stored `YYYY-MM` month.
pub fn parse_month(column: impl std::fmt::Display, text: &str) -> Result<YearMonth, StoreError> {
    if text.len() != 7 {
        return Err(corrupt(format!("{column}: {text:?} is not YYYY-MM")));
    }
    YearMonth::parse(text).map_err(|e| corrupt(format!("{column}: {e}")))
}

/// Parses an optional stored date.
pub fn parse_opt_date(
    column: impl std::fmt::Display,
    text: Option<&str>,
) -> Result<Option<Date>, StoreError> {
    text.map(|t| parse_date(column, t)).transpose()
}

/// What a bill is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BillKind {
    /// 汇缴: a unit's monthly remittance.
    Remittance,
    /// 补缴: a unit's back-payment of missed months.
    BackPayment,
    /// 灵活就业缴存: a flexible worker's own contribution, one or more months.
    Voluntary,
}

impl BillKind {
    /// Storage code.
    pub const fn code(self) -> &'static str {
        match self {
            BillKind::Remittance => "remit",
            BillKind::BackPayment => "back-pay",
            BillKind::Voluntary => "voluntary",
        }
    }

    /// Chinese label.
    pub const fn label_zh(self) -> &'static str {
        match self {
            BillKind::Remittance => "汇缴",
            BillKind::BackPayment => "补缴",
            BillKind::Voluntary => "灵活就业缴存",
        }
    }

    /// Parses a storage code.
    pub fn from_code(code: &str) -> Result<BillKind, StoreError> {
        [
            BillKind::Remittance,
            BillKind::BackPayment,
            BillKind::Voluntary,
        ]
        .into_iter()
        .find(|k| k.code() == code)
        .ok_or_else(|| corrupt(format!("bills.kind: {code:?}")))
    }

    /// The ledger transaction code of its payment.
    pub const fn tx_code(self) -> TxCode {
        match self {
            BillKind::Remittance => TxCode::Remittance,
            BillKind::BackPayment => TxCode::BackPayment,
            BillKind::Voluntary => TxCode::VoluntaryContribution,
        }
    }
}

/// Where a bill is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BillStatus {
    /// 待确认: generated, the unit may still add, remove or change lines.
    Draft,
    /// 已确认: fixed; waiting for (the rest of) the money.
    Confirmed,
    /// 已缴: every line is paid.
    Paid,
}

impl BillStatus {
    /// Storage code.
    pub const fn code(self) -> &'static str {
        match self {
            BillStatus::Draft => "draft",
            BillStatus::Confirmed => "confirmed",
            BillStatus::Paid => "paid",
        }
    }

    /// Chinese label.
    pub const fn label_zh(self) -> &'static str {
        match self {
            BillStatus::Draft => "待确认",
            BillStatus::Confirmed => "已确认待缴",
            BillStatus::Paid => "已缴",
        }
    }

    /// Parses a storage code.
    pub fn from_code(code: &str) -> Result<BillStatus, StoreError> {
        [BillStatus::Draft, BillStatus::Confirmed, BillStatus::Paid]
            .into_iter()
            .find(|k| k.code() == code)
            .ok_or_else(|| corrupt(format!("bills.status: {code:?}")))
    }
}

/// A bill (缴存清册): what a unit (or a flexible worker) owes for one or more months.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillRow {
    /// Bill number, unique in the centre.
    pub bill_no: String,
    /// Who pays: the unit number, or the personal account number of a flexible worker.
    pub payer: String,
    /// Kind.
    pub kind: BillKind,
    /// The month (汇缴年月); for back-payments and advance payments, the first month.
    pub month: YearMonth,
    /// Status.
    pub status: BillStatus,
    /// Σ lines (unit + member shares).
    pub total: Fen,
    /// Number of lines.
    pub line_count: i64,
    /// The commissioned bank the money is paid into (`101.<bank>`).
    pub bank_code: String,
    /// Last day to pay without being in arrears.
    pub due_on: Date,
    /// Business date generated.
    pub created_on: Date,
    /// Business date confirmed.
    pub confirmed_on: Option<Date>,
    /// Business date paid in full.
    pub paid_on: Option<Date>,
}

/// One member-month of a bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillLineRow {
    /// The bill.
    pub bill_no: String,
    /// Line number from 1.
    pub line_no: i64,
    /// Personal account.
    pub account_no: String,
    /// Member's name (as on the bill).
    pub name: String,
    /// The month this line pays (缴存年月).
    pub month: YearMonth,
    /// Contribution base.
    pub base: Fen,
    /// Unit share.
    pub unit_share: Fen,
    /// Member share.
    pub member_share: Fen,
    /// A visible notice (e.g. the wage was clamped to the cap); empty when none.
    pub notice: String,
    /// Key of the ledger entry that paid the line, once paid.
    pub paid_entry: Option<String>,
}

impl BillLineRow {
    /// Unit + member share.
    pub fn total(&self) -> Fen {
        Fen::new(self.unit_share.fen() + self.member_share.fen())
    }
}

/// A bill line as a payment needs it: who is credited, for which month, how much, and
/// whether the line is paid already ([`crate::StoreTx::lines_due`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineDue {
    /// Personal account.
    pub account_no: String,
    /// The month the line pays (缴存年月).
    pub month: YearMonth,
    /// Unit + member share.
    pub total: Fen,
    /// Paid already (on its own, or by the bill's payment).
    pub paid: bool,
}

impl From<&BillLineRow> for LineDue {
    fn from(l: &BillLineRow) -> LineDue {
        LineDue {
            account_no: l.account_no.clone(),
            month: l.month,
            total: l.total(),
            paid: l.paid_entry.is_some(),
        }
    }
}

/// Collects [`LineDue`]s read in any order into one list per bill number asked, in the
/// order asked and by line number (a bill asked twice gets its lines twice; one that
/// does not exist, none): what every store's [`crate::StoreTx::lines_due`] returns.
#[derive(Debug)]
pub struct DueByBill<'a> {
    asked: &'a [String],
    first: std::collections::HashMap<&'a str, usize>,
    lines: Vec<Vec<(i64, LineDue)>>,
}

impl<'a> DueByBill<'a> {
    /// Nothing collected yet for `asked`.
    pub fn new(asked: &'a [String]) -> DueByBill<'a> {
        let mut first = std::collections::HashMap::with_capacity(asked.len());
        for (i, no) in asked.iter().enumerate() {
            first.entry(no.as_str()).or_insert(i);
        }
        DueByBill {
            asked,
            first,
            lines: vec![Vec::new(); asked.len()],
        }
    }

    /// Adds line `line_no` of `bill_no`; a bill not asked for is ignored.
    pub fn push(&mut self, bill_no: &str, line_no: i64, line: LineDue) {
        if let Some(&i) = self.first.get(bill_no) {
            self.lines[i].push((line_no, line));
        }
    }

    /// The lists, one per bill number asked.
    pub fn finish(mut self) -> Vec<Vec<LineDue>> {
        let mut out: Vec<Vec<LineDue>> = Vec::with_capacity(self.asked.len());
        for (i, no) in self.asked.iter().enumerate() {
            let first = self.first[no.as_str()];
            if first == i {
                let mut lines = std::mem::take(&mut self.lines[i]);
                lines.sort_by_key(|(n, _)| *n);
                out.push(lines.into_iter().map(|(_, l)| l).collect());
            } else {
                let again = out[first].clone();
                out.push(again);
            }
        }
        out
    }
}

/// Money received from a payer (a bank notice or a counter payment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptRow {
    /// The bank's serial number or the counter voucher: the idempotency key.
    pub receipt_key: String,
    /// Who paid (unit or personal account number).
    pub payer: String,
    /// The bill it was for, if named.
    pub bill_no: Option<String>,
    /// Amount.
    pub amount: Fen,
    /// Business date received.
    pub received_on: Date,
    /// Bank it arrived at.
    pub bank_code: String,
    /// Key of the ledger entry that recorded it.
    pub entry_key: String,
    /// When recorded, µs since the Unix epoch.
    pub recorded_at_us: i64,
}

/// A bill paid in full by one entry, as the monthly batch records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullPayment {
    /// The money received (its `entry_key` paid every unpaid line).
    pub receipt: ReceiptRow,
    /// The bill with its new status and paid date.
    pub bill: BillRow,
    /// The month for which members' 缴至年月 advance, if one.
    pub advance: Option<YearMonth>,
    /// The accounts of the lines this payment settled, in line order: with `advance`,
    /// those whose 缴至年月 move to it (from the month before, or from unset). A store may
    /// move them from this list instead of reading the bill's lines back.
    pub accounts: Vec<String>,
}

/// A reminder (催缴) sent to a unit in arrears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderRow {
    /// The overdue bill.
    pub bill_no: String,
    /// Business date sent.
    pub sent_on: Date,
    /// Working days past the due date.
    pub overdue_days: i64,
    /// What was still owed.
    pub amount_due: Fen,
}

/// A completed year-end interest settlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterestRunRow {
    /// Settlement year (the period ends on its June 30).
    pub year: i16,
    /// Last day of the period.
    pub period_end: Date,
    /// Accounts credited with interest.
    pub accounts: i64,
    /// Interest paid in all.
    pub total: Fen,
    /// Journal entries posted.
    pub entries: i64,
    /// Business date run.
    pub run_on: Date,
    /// When recorded, µs since the Unix epoch.
    pub recorded_at_us: i64,
}

/// One leg on one account with its entry's facts: a line of a statement (对账单).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegRow {
    /// Journal sequence number.
    pub seq: i64,
    /// The entry's idempotency key.
    pub key: String,
    /// Entry kind.
    pub kind: EntryKind,
    /// Why money moved.
    pub code: TxCode,
    /// Business date.
    pub business_date: Date,
    /// Value date.
    pub value_date: Date,
    /// Side.
    pub side: Side,
    /// Amount.
    pub amount: Fen,
    /// The entry's memo.
    pub memo: String,
}

/// A `legs ⋈ entries` row as read.
#[derive(Debug, Clone)]
pub struct RawLeg {
    pub seq: i64,
    pub key: String,
    pub kind: String,
    pub code: String,
    pub business_date: String,
    pub value_date: String,
    pub side: String,
    pub amount: i64,
    pub memo: String,
}

impl RawLeg {
    /// Decodes the row.
    pub fn decode(self) -> Result<LegRow, StoreError> {
        let at = |column| crate::raw::At {
            table: "journal_entries",
            key: &self.seq,
            column,
        };
        Ok(LegRow {
            kind: EntryKind::from_code(&self.kind)
                .map_err(|e| corrupt(format!("{}: {e}", at("kind"))))?,
            code: TxCode::from_code(&self.code)
                .map_err(|e| corrupt(format!("{}: {e}", at("code"))))?,
            business_date: parse_date(at("business_date"), &self.business_date)?,
            value_date: parse_date(at("value_date"), &self.value_date)?,
            side: Side::from_code(&self.side).ok_or_else(|| corrupt(at("side").to_string()))?,
            amount: Fen::new(self.amount),
            seq: self.seq,
            key: self.key,
            memo: self.memo,
        })
    }
}

/// A `bills` row as read.
#[derive(Debug, Clone)]
pub struct RawBill {
    pub bill_no: String,
    pub payer: String,
    pub kind: String,
    pub month: String,
    pub status: String,
    pub total_fen: i64,
    pub line_count: i64,
    pub bank_code: String,
    pub due_on: String,
    pub created_on: String,
    pub confirmed_on: Option<String>,
    pub paid_on: Option<String>,
}

impl RawBill {
    /// Decodes the row.
    pub fn decode(self) -> Result<BillRow, StoreError> {
        let at = |column| crate::raw::At {
            table: "bills",
            key: &self.bill_no,
            column,
        };
        Ok(BillRow {
            kind: BillKind::from_code(&self.kind)?,
            month: parse_month(at("month"), &self.month)?,
            status: BillStatus::from_code(&self.status)?,
            total: Fen::new(self.total_fen),
            line_count: self.line_count,
            due_on: parse_date(at("due_on"), &self.due_on)?,
            created_on: parse_date(at("created_on"), &self.created_on)?,
            confirmed_on: parse_opt_date(at("confirmed_on"), self.confirmed_on.as_deref())?,
            paid_on: parse_opt_date(at("paid_on"), self.paid_on.as_deref())?,
            bill_no: self.bill_no,
            payer: self.payer,
            bank_code: self.bank_code,
        })
    }
}

/// A `bill_lines` row as read.
#[derive(Debug, Clone)]
pub struct RawBillLine {
    pub bill_no: String,
    pub line_no: i64,
    pub account_no: String,
    pub name: String,
    pub month: String,
    pub base_fen: i64,
    pub unit_fen: i64,
    pub member_fen: i64,
    pub notice: String,
    pub paid_entry: Option<String>,
}

impl RawBillLine {
    /// Decodes the row.
    pub fn decode(self) -> Result<BillLineRow, StoreError> {
        let key = crate::raw::Key2(&self.bill_no, &self.line_no);
        let at = crate::raw::At {
            table: "bill_lines",
            key: &key,
            column: "month",
        };
        Ok(BillLineRow {
            month: parse_month(at, &self.month)?,
            base: Fen::new(self.base_fen),
            unit_share: Fen::new(self.unit_fen),
            member_share: Fen::new(self.member_fen),
            bill_no: self.bill_no,
            line_no: self.line_no,
            account_no: self.account_no,
            name: self.name,
            notice: self.notice,
            paid_entry: self.paid_entry,
        })
    }
}

/// A `receipts` row as read.
#[derive(Debug, Clone)]
pub struct RawReceipt {
    pub receipt_key: String,
    pub payer: String,
    pub bill_no: Option<String>,
    pub amount_fen: i64,
    pub received_on: String,
    pub bank_code: String,
    pub entry_key: String,
    pub recorded_at_us: i64,
}

impl RawReceipt {
    /// Decodes the row.
    pub fn decode(self) -> Result<ReceiptRow, StoreError> {
        let at = crate::raw::At {
            table: "receipts",
            key: &self.receipt_key,
            column: "received_on",
        };
        Ok(ReceiptRow {
            received_on: parse_date(at, &self.received_on)?,
            amount: Fen::new(self.amount_fen),
            receipt_key: self.receipt_key,
            payer: self.payer,
            bill_no: self.bill_no,
            bank_code: self.bank_code,
            entry_key: self.entry_key,
            recorded_at_us: self.recorded_at_us,
        })
    }
}

/// A `reminders` row as read.
#[derive(Debug, Clone)]
pub struct RawReminder {
    pub bill_no: String,
    pub sent_on: String,
    pub overdue_days: i64,
    pub amount_due_fen: i64,
}

impl RawReminder {
    /// Decodes the row.
    pub fn decode(self) -> Result<ReminderRow, StoreError> {
        let at = crate::raw::At {
            table: "reminders",
            key: &self.bill_no,
            column: "sent_on",
        };
        Ok(ReminderRow {
            sent_on: parse_date(at, &self.sent_on)?,
            overdue_days: self.overdue_days,
            amount_due: Fen::new(self.amount_due_fen),
            bill_no: self.bill_no,
        })
    }
}

/// An `interest_runs` row as read.
#[derive(Debug, Clone)]
pub struct RawInterestRun {
    pub year: i32,
    pub period_end: String,
    pub accounts: i64,
    pub total_fen: i64,
    pub entries: i64,
    pub run_on: String,
    pub recorded_at_us: i64,
}

impl RawInterestRun {
    /// Decodes the row.
    pub fn decode(self) -> Result<InterestRunRow, StoreError> {
        let at = |column| crate::raw::At {
            table: "interest_runs",
            key: &self.year,
            column,
        };
        Ok(InterestRunRow {
            year: i16::try_from(self.year).map_err(|_| corrupt(at("year").to_string()))?,
            period_end: parse_date(at("period_end"), &self.period_end)?,
            run_on: parse_date(at("run_on"), &self.run_on)?,
            accounts: self.accounts,
            total: Fen::new(self.total_fen),
            entries: self.entries,
            recorded_at_us: self.recorded_at_us,
        })
    }
}
