//! Rows of the collection registry: units (缴存单位), members' personal accounts
//! (个人账户) and their dated status events. Plain data; the rules that produce them live
//! in `anju_domain::collection` and the use cases in `anju_app::registry`.

use anju_domain::codes::{CollectionBusinessType, PersonalAccountStatus, UnitAccountStatus};
use anju_domain::collection::YearMonth;
use anju_domain::money::{Fen, Rate};
use anju_domain::stamp::Stamp;
use jiff::civil::Date;

/// A contributing unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRow {
    /// Unit account number (单位账号), unique in the centre.
    pub unit_no: String,
    /// Unified social credit code, unique in the centre.
    pub credit_code: String,
    /// Name (单位名称).
    pub name: String,
    /// Address (单位地址).
    pub address: String,
    /// Legal representative (法定代表人).
    pub legal_rep: String,
    /// Payday (发薪日), day of month 1–31.
    pub payday: i32,
    /// Collection bank (归集银行) code; the fund's deposit account is `101.<code>`.
    pub bank_code: String,
    /// Unit contribution ratio (单位缴存比例).
    pub unit_ratio: Rate,
    /// Member contribution ratio (个人缴存比例).
    pub member_ratio: Rate,
    /// Account status (DWZHZT).
    pub status: UnitAccountStatus,
    /// Registration date.
    pub opened_on: Date,
}

/// A member's personal account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    /// Personal account number (个人账号); the ledger account is `201.<account_no>`.
    pub account_no: String,
    /// Resident ID number, unique in the centre (one account per person, REG Art. 13).
    pub id_number: String,
    /// Name.
    pub name: String,
    /// The unit the member contributes through (none for a flexible worker or a sealed
    /// account that left its unit).
    pub unit_no: Option<String>,
    /// Monthly contribution base (缴存基数).
    pub base: Fen,
    /// Account status (GRZHZT).
    pub status: PersonalAccountStatus,
    /// The status to return to when unfrozen.
    pub before_freeze: Option<PersonalAccountStatus>,
    /// Opening date.
    pub opened_on: Date,
    /// 缴至年月: the last month paid without a gap since the first (none before any).
    pub paid_to: Option<YearMonth>,
    /// For a flexible-employment contributor (灵活就业人员): the combined ratio chosen;
    /// `None` for an employee whose unit pays.
    pub flexible_ratio: Option<Rate>,
}

/// One dated status change of a unit or member account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// Whose: `unit:<unit_no>` or `member:<account_no>`.
    pub subject: String,
    /// Position in the subject's history, from 1.
    pub event_no: i64,
    /// Business date.
    pub date: Date,
    /// Standard business type (GJHTQYWLX).
    pub business: CollectionBusinessType,
    /// Status code before (empty for an opening).
    pub from_status: String,
    /// Status code after.
    pub to_status: String,
    /// Why.
    pub reason: String,
    /// Who, where, how.
    pub stamp: Stamp,
    /// When recorded, µs since the Unix epoch.
    pub recorded_at_us: i64,
}
