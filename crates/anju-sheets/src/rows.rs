//! The typed rows of each list.

use anju_domain::collection::YearMonth;
use anju_domain::ids::IdCard;
use anju_domain::money::Fen;

use crate::kind::ListKind;
use crate::write::{Cell, Table};

/// A row of the staff roster (职工花名册): a member to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterRow {
    /// 身份证号码.
    pub id_card: IdCard,
    /// 姓名.
    pub name: String,
    /// 上年月平均工资 (the base is derived from it under the policy).
    pub wage: Fen,
}

/// A row of the remittance list (汇缴清册).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemittanceRow {
    /// 个人账号: 14 ASCII digits.
    pub account_no: String,
    /// 姓名.
    pub name: String,
    /// 缴存基数.
    pub base: Fen,
}

/// A row of the base adjustment list (基数调整清册).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseAdjustmentRow {
    /// 个人账号: 14 ASCII digits.
    pub account_no: String,
    /// 身份证号码.
    pub id_card: IdCard,
    /// 姓名.
    pub name: String,
    /// 上年月平均工资.
    pub wage: Fen,
}

/// A row of the back-payment list (补缴清册): `from ≤ to`, at most 60 months.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackPaymentRow {
    /// 个人账号: 14 ASCII digits.
    pub account_no: String,
    /// 姓名.
    pub name: String,
    /// 补缴起始年月.
    pub from: YearMonth,
    /// 补缴终止年月 (inclusive).
    pub to: YearMonth,
    /// 缴存基数.
    pub base: Fen,
}

/// The rows of a list that passed every rule, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rows {
    /// 职工花名册.
    Roster(Vec<RosterRow>),
    /// 汇缴清册.
    Remittance(Vec<RemittanceRow>),
    /// 基数调整清册.
    BaseAdjustment(Vec<BaseAdjustmentRow>),
    /// 补缴清册.
    BackPayment(Vec<BackPaymentRow>),
}

impl Rows {
    /// The list kind.
    pub fn kind(&self) -> ListKind {
        match self {
            Rows::Roster(_) => ListKind::Roster,
            Rows::Remittance(_) => ListKind::Remittance,
            Rows::BaseAdjustment(_) => ListKind::BaseAdjustment,
            Rows::BackPayment(_) => ListKind::BackPayment,
        }
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        match self {
            Rows::Roster(r) => r.len(),
            Rows::Remittance(r) => r.len(),
            Rows::BaseAdjustment(r) => r.len(),
            Rows::BackPayment(r) => r.len(),
        }
    }

    /// True when there are no rows (never the case for rows returned by
    /// [`read_list`](crate::read_list)).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows as a table with the list's fixed headers, ready for
    /// [`write_xlsx`](crate::write_xlsx) or [`write_csv`](crate::write_csv); reading the
    /// written file back gives the same rows.
    pub fn to_table(&self) -> Table {
        let text = |s: &str| Cell::Text(s.to_owned());
        let rows: Vec<Vec<Cell>> = match self {
            Rows::Roster(r) => r
                .iter()
                .map(|r| vec![text(r.id_card.as_str()), text(&r.name), Cell::Money(r.wage)])
                .collect(),
            Rows::Remittance(r) => r
                .iter()
                .map(|r| vec![text(&r.account_no), text(&r.name), Cell::Money(r.base)])
                .collect(),
            Rows::BaseAdjustment(r) => r
                .iter()
                .map(|r| {
                    vec![
                        text(&r.account_no),
                        text(r.id_card.as_str()),
                        text(&r.name),
                        Cell::Money(r.wage),
                    ]
                })
                .collect(),
            Rows::BackPayment(r) => r
                .iter()
                .map(|r| {
                    vec![
                        text(&r.account_no),
                        text(&r.name),
                        Cell::Month(r.from),
                        Cell::Month(r.to),
                        Cell::Money(r.base),
                    ]
                })
                .collect(),
        };
        let kind = self.kind();
        Table {
            sheet_name: kind.name_zh().to_owned(),
            title: None,
            headers: kind.headers_zh().iter().map(|h| (*h).to_owned()).collect(),
            rows,
            footer: Vec::new(),
        }
    }
}
