//! Registry rows for tests that build a centre straight through the store port (the
//! registry's own rules are tested through `anju_app::registry`): a normal unit paying
//! 12 % + 12 % through ICBC, and a normal member of it with a base and no 缴至年月.

use anju_domain::codes::{PersonalAccountStatus, UnitAccountStatus};
use anju_domain::money::{Fen, Rate};
use anju_store::registry::{MemberRow, UnitRow};
use jiff::civil::Date;

/// A normal unit `no` (credit code `TEST<no>`), payday the 10th, ICBC, 12 % + 12 %.
pub fn unit(no: &str, opened_on: Date) -> UnitRow {
    UnitRow {
        unit_no: no.to_owned(),
        credit_code: format!("TEST{no}"),
        name: format!("单位{no}"),
        address: "衢州市".to_owned(),
        legal_rep: "张三".to_owned(),
        payday: 10,
        bank_code: "ICBC".to_owned(),
        unit_ratio: Rate::from_percent(12),
        member_ratio: Rate::from_percent(12),
        status: UnitAccountStatus::Normal,
        opened_on,
    }
}

/// Member `i`: account `330800<i:08>`, ID `T<i:017>`, name `职工<i>`, normal, in `unit_no`.
pub fn member(i: usize, unit_no: Option<&str>, base: Fen, opened_on: Date) -> MemberRow {
    MemberRow {
        account_no: format!("330800{i:08}"),
        id_number: format!("T{i:017}"),
        name: format!("职工{i}"),
        unit_no: unit_no.map(str::to_owned),
        base,
        status: PersonalAccountStatus::Normal,
        before_freeze: None,
        opened_on,
        paid_to: None,
        flexible_ratio: None,
    }
}
