//! Statements (对账单): a member's history — every posted entry with its business type,
//! amount, the balance after it and the months it paid (缴存年月) — and a unit's history
//! of bills and money received; paged for pages and APIs, whole for .xlsx downloads.

use std::collections::HashMap;

use anju_domain::collection::YearMonth;
use anju_domain::ledger::{AccountNo, EntryKind, TxCode};
use anju_domain::money::Fen;
use anju_sheets::{Cell, Table};
use anju_store::Store;
use anju_store::collection::{BillRow, ReceiptRow};
use anju_store::registry::{MemberRow, UnitRow};
use jiff::civil::Date;

use crate::AppError;

/// Most lines on one page.
pub const MAX_PER_PAGE: usize = 500;

/// One line of a member's statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    /// Journal sequence number.
    pub seq: i64,
    /// Business date.
    pub business_date: Date,
    /// Value date (起息日).
    pub value_date: Date,
    /// Why money moved.
    pub code: TxCode,
    /// Posted, completed, or a reversal (冲正).
    pub kind: EntryKind,
    /// Change to the member's balance (positive = credited).
    pub amount: i64,
    /// Balance after this line.
    pub balance_after: Fen,
    /// Months paid by this entry (缴存年月), for contributions.
    pub months: Vec<YearMonth>,
    /// The entry's memo.
    pub memo: String,
}

impl StatementLine {
    /// The business type shown (冲正 for a reversal, else the code's label).
    pub fn business_zh(&self) -> &'static str {
        if self.kind == EntryKind::Reversal {
            "冲正"
        } else {
            self.code.label_zh()
        }
    }
}

/// A page of a member's statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberStatement {
    /// The member.
    pub member: MemberRow,
    /// Current balance.
    pub balance: Fen,
    /// Lines on this page, oldest first.
    pub lines: Vec<StatementLine>,
    /// Lines in all.
    pub total_lines: usize,
    /// Page number from 1.
    pub page: usize,
    /// Lines per page.
    pub per_page: usize,
}

fn page_bounds(total: usize, page: usize, per_page: usize) -> Result<(usize, usize), AppError> {
    if page == 0 || per_page == 0 || per_page > MAX_PER_PAGE {
        return Err(AppError::Invalid {
            field: "page",
            value: format!("{page}/{per_page}"),
            rule: format!("page from 1, 1-{MAX_PER_PAGE} lines per page"),
        });
    }
    let start = (page - 1).saturating_mul(per_page).min(total);
    Ok((start, (start + per_page).min(total)))
}

/// A member's statement, page `page` of `per_page` lines (oldest first).
pub fn member_statement(
    store: &dyn Store,
    centre: &str,
    account_no: &str,
    page: usize,
    per_page: usize,
) -> Result<MemberStatement, AppError> {
    let mut tx = store.begin_read()?;
    let member = tx
        .member(centre, account_no)?
        .ok_or_else(|| AppError::NotFound {
            what: format!("personal account {account_no}"),
        })?;
    let no = AccountNo::sub("201", account_no).map_err(|e| AppError::Invalid {
        field: "account_no",
        value: account_no.to_owned(),
        rule: e.to_string(),
    })?;
    let normal = no.chart().normal;
    let mut months: HashMap<String, Vec<YearMonth>> = HashMap::new();
    for (key, m) in tx.paid_lines_of(centre, account_no)? {
        months.entry(key).or_default().push(m);
    }
    let legs = tx.account_legs(centre, no.as_str())?;
    let mut balance: i64 = 0;
    let mut lines = Vec::with_capacity(legs.len());
    for l in legs {
        if !matches!(
            l.kind,
            EntryKind::Posted | EntryKind::PostPending | EntryKind::Reversal
        ) {
            continue;
        }
        let amount = if l.side == normal {
            l.amount.fen()
        } else {
            -l.amount.fen()
        };
        balance += amount;
        lines.push(StatementLine {
            seq: l.seq,
            business_date: l.business_date,
            value_date: l.value_date,
            code: l.code,
            kind: l.kind,
            amount,
            balance_after: Fen::new(balance),
            months: months.get(&l.key).cloned().unwrap_or_default(),
            memo: l.memo,
        });
    }
    let total_lines = lines.len();
    let (start, end) = page_bounds(total_lines, page, per_page)?;
    Ok(MemberStatement {
        member,
        balance: Fen::new(balance),
        lines: lines.drain(start..end).collect(),
        total_lines,
        page,
        per_page,
    })
}

fn months_text(months: &[YearMonth]) -> String {
    match (months.first(), months.last()) {
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(a), Some(b)) => format!("{a}至{b}"),
        _ => String::new(),
    }
}

/// The whole statement as a table (for .xlsx / CSV download).
pub fn member_statement_table(s: &MemberStatement) -> Table {
    let mut t = Table::new(
        "个人明细账",
        [
            "日期",
            "起息日",
            "业务类型",
            "发生额",
            "余额",
            "缴存年月",
            "摘要",
        ],
    );
    t.title = Some(format!(
        "{} 个人账号 {} 缴至年月 {} 余额 {}",
        s.member.name,
        s.member.account_no,
        s.member.paid_to.map_or("—".to_owned(), |p| p.to_string()),
        s.balance
    ));
    for l in &s.lines {
        t.rows.push(vec![
            Cell::Date(l.business_date),
            Cell::Date(l.value_date),
            Cell::Text(l.business_zh().to_owned()),
            Cell::Money(Fen::new(l.amount)),
            Cell::Money(l.balance_after),
            Cell::Text(months_text(&l.months)),
            Cell::Text(l.memo.clone()),
        ]);
    }
    t
}

/// A unit's history: its bills (newest first, paged) and the money it paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitStatement {
    /// The unit.
    pub unit: UnitRow,
    /// Bills on this page, newest first.
    pub bills: Vec<BillRow>,
    /// Bills in all.
    pub total_bills: usize,
    /// Every receipt, oldest first.
    pub receipts: Vec<ReceiptRow>,
    /// Held in the unit's suspense account.
    pub held: Fen,
    /// Page number from 1.
    pub page: usize,
}

/// A unit's statement, page `page` of `per_page` bills.
pub fn unit_statement(
    store: &dyn Store,
    centre: &str,
    unit_no: &str,
    page: usize,
    per_page: usize,
) -> Result<UnitStatement, AppError> {
    let mut tx = store.begin_read()?;
    let unit = tx
        .unit(centre, unit_no)?
        .ok_or_else(|| AppError::NotFound {
            what: format!("unit {unit_no}"),
        })?;
    let mut bills = tx.bills_of(centre, unit_no)?;
    bills.reverse();
    let total_bills = bills.len();
    let (start, end) = page_bounds(total_bills, page, per_page)?;
    let receipts = tx.receipts_of(centre, unit_no)?;
    let suspense = AccountNo::sub("213", unit_no).map_err(|e| AppError::Invalid {
        field: "unit_no",
        value: unit_no.to_owned(),
        rule: e.to_string(),
    })?;
    let held = tx
        .load_accounts(centre, &[suspense])?
        .pop()
        .map_or(Fen::ZERO, |a| a.balance);
    Ok(UnitStatement {
        unit,
        bills: bills.drain(start..end).collect(),
        total_bills,
        receipts,
        held,
        page,
    })
}

/// A unit's statement as two tables: bills and receipts.
pub fn unit_statement_tables(s: &UnitStatement) -> Vec<Table> {
    let mut bills = Table::new(
        "缴存清册",
        [
            "清册号",
            "类型",
            "年月",
            "状态",
            "人数",
            "金额",
            "应缴截止日",
            "缴清日",
        ],
    );
    bills.title = Some(format!(
        "{} 单位账号 {} 暂收款 {}",
        s.unit.name, s.unit.unit_no, s.held
    ));
    for b in &s.bills {
        bills.rows.push(vec![
            Cell::Text(b.bill_no.clone()),
            Cell::Text(b.kind.label_zh().to_owned()),
            Cell::Month(b.month),
            Cell::Text(b.status.label_zh().to_owned()),
            Cell::Int(b.line_count),
            Cell::Money(b.total),
            Cell::Date(b.due_on),
            b.paid_on.map_or(Cell::Empty, Cell::Date),
        ]);
    }
    let mut receipts = Table::new("到账记录", ["流水号", "清册号", "到账日", "银行", "金额"]);
    for r in &s.receipts {
        receipts.rows.push(vec![
            Cell::Text(r.receipt_key.clone()),
            Cell::Text(r.bill_no.clone().unwrap_or_default()),
            Cell::Date(r.received_on),
            Cell::Text(r.bank_code.clone()),
            Cell::Money(r.amount),
        ]);
    }
    vec![bills, receipts]
}

/// A bill as a table with a 合计 footer (the unit's download of its bill).
pub fn bill_table(bill: &crate::remittance::Bill) -> Table {
    let b = &bill.bill;
    let mut t = Table::new(
        "缴存清册",
        [
            "序号",
            "个人账号",
            "姓名",
            "缴存年月",
            "缴存基数",
            "单位缴存额",
            "个人缴存额",
            "月缴存额",
            "提示",
        ],
    );
    t.title = Some(format!(
        "{} {} {} 单位 {} 应缴截止日 {} 状态 {}",
        b.kind.label_zh(),
        b.bill_no,
        b.month,
        b.payer,
        b.due_on,
        b.status.label_zh()
    ));
    let (mut unit, mut member) = (0i64, 0i64);
    for l in &bill.lines {
        unit += l.unit_share.fen();
        member += l.member_share.fen();
        t.rows.push(vec![
            Cell::Int(l.line_no),
            Cell::Text(l.account_no.clone()),
            Cell::Text(l.name.clone()),
            Cell::Month(l.month),
            Cell::Money(l.base),
            Cell::Money(l.unit_share),
            Cell::Money(l.member_share),
            Cell::Money(l.total()),
            Cell::Text(l.notice.clone()),
        ]);
    }
    t.footer.push(vec![
        Cell::Text("合计".to_owned()),
        Cell::Empty,
        Cell::Text(format!("{}人", bill.lines.len())),
        Cell::Empty,
        Cell::Empty,
        Cell::Money(Fen::new(unit)),
        Cell::Money(Fen::new(member)),
        Cell::Money(b.total),
        Cell::Empty,
    ]);
    t
}
