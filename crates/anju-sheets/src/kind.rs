//! The four list kinds and their fixed columns.

use std::fmt;

/// A column of an uploaded list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Field {
    AccountNo,
    IdNumber,
    Name,
    Wage,
    Base,
    FromMonth,
    ToMonth,
}

impl Field {
    /// The fixed Chinese header.
    pub(crate) const fn header_zh(self) -> &'static str {
        match self {
            Field::AccountNo => "个人账号",
            Field::IdNumber => "身份证号码",
            Field::Name => "姓名",
            Field::Wage => "上年月平均工资",
            Field::Base => "缴存基数",
            Field::FromMonth => "补缴起始年月",
            Field::ToMonth => "补缴终止年月",
        }
    }

    /// The accepted English alias (compared case-insensitively, ignoring `_`, `-` and
    /// spaces).
    pub(crate) const fn alias(self) -> &'static str {
        match self {
            Field::AccountNo => "account_no",
            Field::IdNumber => "id_number",
            Field::Name => "name",
            Field::Wage => "wage",
            Field::Base => "base",
            Field::FromMonth => "from_month",
            Field::ToMonth => "to_month",
        }
    }

    /// What a clerk must write, for the template's 填写说明 sheet.
    pub(crate) fn instruction(self) -> &'static str {
        match self {
            Field::AccountNo => {
                "必填。14位数字的个人公积金账号。请将该列设为文本格式，避免 Excel 把账号变成科学计数法；同一文件中不得重复。"
            }
            Field::IdNumber => {
                "必填。18位居民身份证号码，最后一位可为 X。请将该列设为文本格式（数字格式只保留15位有效数字）；15位一代身份证号码不受理；同一文件中不得重复。"
            }
            Field::Name => "必填。与身份证件一致，1至50个字符，不得含换行等控制字符。",
            Field::Wage => {
                "必填。单位：元。职工上年度月平均工资，大于0，最多两位小数，不超过1,000,000.00。不要填写千分位以外的符号。"
            }
            Field::Base => {
                "必填。单位：元。当月缴存基数，大于0，最多两位小数，不超过1,000,000.00。"
            }
            Field::FromMonth => {
                "必填。补缴的第一个月，格式 YYYYMM 或 YYYY-MM，如 202601；也可填日期单元格。"
            }
            Field::ToMonth => {
                "必填。补缴的最后一个月，格式同上，不得早于起始年月；起止之间（含两端）最多60个月。"
            }
        }
    }

    /// An example value for the template.
    pub(crate) fn example(self) -> &'static str {
        match self {
            Field::AccountNo => "33080000000001",
            Field::IdNumber => "11010519491231002X",
            Field::Name => "张三",
            Field::Wage => "8000.00",
            Field::Base => "8000.00",
            Field::FromMonth => "202601",
            Field::ToMonth => "202603",
        }
    }

    /// Whether the column holds a text code that Excel must not turn into a number.
    pub(crate) fn is_code(self) -> bool {
        matches!(self, Field::AccountNo | Field::IdNumber)
    }

    /// Whether the column holds an amount of yuan.
    pub(crate) fn is_money(self) -> bool {
        matches!(self, Field::Wage | Field::Base)
    }
}

/// Which list a clerk uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListKind {
    /// 职工花名册: new members to open, with their declared wage.
    Roster,
    /// 汇缴清册: the members and bases a unit pays for in a month.
    Remittance,
    /// 基数调整清册: new bases from last year's average wage.
    BaseAdjustment,
    /// 补缴清册: months paid late, per member.
    BackPayment,
}

const ROSTER: [Field; 3] = [Field::IdNumber, Field::Name, Field::Wage];
const REMITTANCE: [Field; 3] = [Field::AccountNo, Field::Name, Field::Base];
const BASE_ADJUSTMENT: [Field; 4] = [Field::AccountNo, Field::IdNumber, Field::Name, Field::Wage];
const BACK_PAYMENT: [Field; 5] = [
    Field::AccountNo,
    Field::Name,
    Field::FromMonth,
    Field::ToMonth,
    Field::Base,
];

/// The headers of a field list, computed at compile time.
macro_rules! headers {
    ($fields:ident, $n:literal, $f:ident) => {{
        let mut out: [&str; $n] = [""; $n];
        let mut i = 0;
        while i < $n {
            out[i] = $fields[i].$f();
            i += 1;
        }
        out
    }};
}

const ROSTER_ZH: [&str; 3] = headers!(ROSTER, 3, header_zh);
const REMITTANCE_ZH: [&str; 3] = headers!(REMITTANCE, 3, header_zh);
const BASE_ADJUSTMENT_ZH: [&str; 4] = headers!(BASE_ADJUSTMENT, 4, header_zh);
const BACK_PAYMENT_ZH: [&str; 5] = headers!(BACK_PAYMENT, 5, header_zh);
const ROSTER_EN: [&str; 3] = headers!(ROSTER, 3, alias);
const REMITTANCE_EN: [&str; 3] = headers!(REMITTANCE, 3, alias);
const BASE_ADJUSTMENT_EN: [&str; 4] = headers!(BASE_ADJUSTMENT, 4, alias);
const BACK_PAYMENT_EN: [&str; 5] = headers!(BACK_PAYMENT, 5, alias);

impl ListKind {
    /// Every kind, in a stable order.
    pub const ALL: [ListKind; 4] = [
        ListKind::Roster,
        ListKind::Remittance,
        ListKind::BaseAdjustment,
        ListKind::BackPayment,
    ];

    pub(crate) fn fields(self) -> &'static [Field] {
        match self {
            ListKind::Roster => &ROSTER,
            ListKind::Remittance => &REMITTANCE,
            ListKind::BaseAdjustment => &BASE_ADJUSTMENT,
            ListKind::BackPayment => &BACK_PAYMENT,
        }
    }

    /// The list's Chinese name, e.g. `汇缴清册`.
    pub fn name_zh(self) -> &'static str {
        match self {
            ListKind::Roster => "职工花名册",
            ListKind::Remittance => "汇缴清册",
            ListKind::BaseAdjustment => "基数调整清册",
            ListKind::BackPayment => "补缴清册",
        }
    }

    /// The fixed Chinese headers, in order.
    pub fn headers_zh(self) -> &'static [&'static str] {
        match self {
            ListKind::Roster => &ROSTER_ZH,
            ListKind::Remittance => &REMITTANCE_ZH,
            ListKind::BaseAdjustment => &BASE_ADJUSTMENT_ZH,
            ListKind::BackPayment => &BACK_PAYMENT_ZH,
        }
    }

    /// The accepted English header aliases, in order.
    pub fn headers_en(self) -> &'static [&'static str] {
        match self {
            ListKind::Roster => &ROSTER_EN,
            ListKind::Remittance => &REMITTANCE_EN,
            ListKind::BaseAdjustment => &BASE_ADJUSTMENT_EN,
            ListKind::BackPayment => &BACK_PAYMENT_EN,
        }
    }

    /// A stable machine code: `roster`, `remittance`, `base-adjustment`, `back-payment`.
    pub fn code(self) -> &'static str {
        match self {
            ListKind::Roster => "roster",
            ListKind::Remittance => "remittance",
            ListKind::BaseAdjustment => "base-adjustment",
            ListKind::BackPayment => "back-payment",
        }
    }

    /// The kind with this machine code.
    pub fn from_code(code: &str) -> Option<ListKind> {
        ListKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// The Chinese name.
impl fmt::Display for ListKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name_zh())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_headers_are_fixed() {
        for k in ListKind::ALL {
            assert_eq!(ListKind::from_code(k.code()), Some(k));
            assert_eq!(k.headers_zh().len(), k.fields().len());
            assert_eq!(k.headers_en().len(), k.fields().len());
        }
        assert_eq!(ListKind::from_code("nope"), None);
        assert_eq!(
            ListKind::BackPayment.headers_zh(),
            [
                "个人账号",
                "姓名",
                "补缴起始年月",
                "补缴终止年月",
                "缴存基数"
            ]
        );
        assert_eq!(ListKind::Roster.to_string(), "职工花名册");
    }
}
