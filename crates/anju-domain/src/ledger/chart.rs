//! The chart of accounts (会计科目表) and ledger account numbers.
//!
//! The chart follows the structure of HPF accounting (《住房公积金会计核算办法》): fund
//! deposits at each commissioned bank, the fund liability to members, entrusted loans,
//! interest, value-added income and its three uses (regulation Art. 29). Codes 301 and
//! 214 match the names in DOMAIN.md §4; the other three-digit numbers are Anju's and are
//! documented in ARCHITECTURE.md (confirm against the centre's own chart before go-live).
//!
//! A **control account** (总账科目) such as `201` has a **sub-ledger** (明细账): one posting
//! account per member (`201.<member account>`), per bank (`101.<bank code>`), per loan
//! (`121.<loan account>`) or per unit (`213.<unit account>`). Entries post to posting
//! accounts only; the control account's figures are a roll-up maintained in the same
//! transaction, and `anju audit` checks control = Σ sub-accounts (总分核对).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Debit (借) or credit (贷).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// 借方.
    Debit,
    /// 贷方.
    Credit,
}

impl Side {
    /// One-letter storage code: `D` or `C`.
    pub const fn code(self) -> &'static str {
        match self {
            Side::Debit => "D",
            Side::Credit => "C",
        }
    }

    /// Parses `D` or `C`.
    pub fn from_code(code: &str) -> Option<Side> {
        match code {
            "D" => Some(Side::Debit),
            "C" => Some(Side::Credit),
            _ => None,
        }
    }

    /// The other side.
    pub const fn opposite(self) -> Side {
        match self {
            Side::Debit => Side::Credit,
            Side::Credit => Side::Debit,
        }
    }

    /// 借 or 贷.
    pub const fn label_zh(self) -> &'static str {
        match self {
            Side::Debit => "借",
            Side::Credit => "贷",
        }
    }
}

/// Class of an account (会计要素).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountClass {
    /// 资产类.
    Asset,
    /// 负债类.
    Liability,
    /// 净资产类.
    NetAssets,
    /// 收入类.
    Income,
    /// 支出类.
    Expense,
}

/// Which sub-ledger, if any, an account code keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubLedger {
    /// No sub-ledger: the code itself is the posting account.
    None,
    /// One sub-account per commissioned bank (受委托银行), keyed by bank code.
    PerBank,
    /// One sub-account per member personal account (个人账户), keyed by account number.
    PerMember,
    /// One sub-account per loan account (贷款账户).
    PerLoan,
    /// One sub-account per unit account (单位账户).
    PerUnit,
}

/// One line of the chart of accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChartAccount {
    /// Account code, e.g. `201`.
    pub code: &'static str,
    /// Chinese name (会计科目名称).
    pub name_zh: &'static str,
    /// English name.
    pub name_en: &'static str,
    /// Class.
    pub class: AccountClass,
    /// Normal balance side: the side on which the balance is positive.
    pub normal: Side,
    /// The sub-ledger kept under this code.
    pub sub_ledger: SubLedger,
    /// Whether posting accounts under this code may never go below zero (available
    /// balance = balance − pending outflows). Enforced here and by a database CHECK.
    pub non_negative: bool,
}

const fn acct(
    code: &'static str,
    name_zh: &'static str,
    name_en: &'static str,
    class: AccountClass,
    sub_ledger: SubLedger,
    non_negative: bool,
) -> ChartAccount {
    let normal = match class {
        AccountClass::Asset | AccountClass::Expense => Side::Debit,
        AccountClass::Liability | AccountClass::NetAssets | AccountClass::Income => Side::Credit,
    };
    ChartAccount {
        code,
        name_zh,
        name_en,
        class,
        normal,
        sub_ledger,
        non_negative,
    }
}

use AccountClass::*;

/// The chart of accounts, in code order. The one table of codes and names.
pub const CHART: &[ChartAccount] = &[
    acct(
        "101",
        "住房公积金存款",
        "Fund deposits at commissioned banks",
        Asset,
        SubLedger::PerBank,
        false,
    ),
    acct(
        "102",
        "增值收益存款",
        "Value-added income deposits",
        Asset,
        SubLedger::PerBank,
        false,
    ),
    acct(
        "103",
        "在途资金",
        "Funds in transit between the fund's bank accounts",
        Asset,
        SubLedger::None,
        false,
    ),
    acct(
        "111",
        "应收利息",
        "Interest receivable",
        Asset,
        SubLedger::None,
        false,
    ),
    acct(
        "112",
        "其他应收款",
        "Other receivables",
        Asset,
        SubLedger::None,
        false,
    ),
    acct(
        "121",
        "委托贷款",
        "Entrusted loans",
        Asset,
        SubLedger::PerLoan,
        true,
    ),
    acct(
        "131",
        "国家债券",
        "Government and policy-bank bonds",
        Asset,
        SubLedger::None,
        false,
    ),
    acct(
        "201",
        "住房公积金",
        "Housing provident fund (owed to members)",
        Liability,
        SubLedger::PerMember,
        true,
    ),
    acct(
        "211",
        "应付利息",
        "Interest payable",
        Liability,
        SubLedger::None,
        false,
    ),
    acct(
        "212",
        "其他应付款",
        "Other payables",
        Liability,
        SubLedger::None,
        false,
    ),
    acct(
        "213",
        "暂收款",
        "Suspense receipts (unmatched or partial payments)",
        Liability,
        SubLedger::PerUnit,
        true,
    ),
    acct(
        "214",
        "城市廉租住房建设补充资金",
        "Supplementary funds for low-rent housing",
        Liability,
        SubLedger::None,
        false,
    ),
    acct(
        "215",
        "待查收款",
        "Unidentified receipts (money in a fund account no bill or unit was found for)",
        Liability,
        SubLedger::PerBank,
        true,
    ),
    acct(
        "301",
        "贷款风险准备",
        "Loan risk reserve",
        NetAssets,
        SubLedger::None,
        false,
    ),
    acct(
        "302",
        "增值收益",
        "Value-added income (undistributed)",
        NetAssets,
        SubLedger::None,
        false,
    ),
    acct(
        "401",
        "住房公积金利息收入",
        "Interest income on fund deposits",
        Income,
        SubLedger::None,
        false,
    ),
    acct(
        "402",
        "委托贷款利息收入",
        "Interest income on entrusted loans",
        Income,
        SubLedger::None,
        false,
    ),
    acct(
        "403",
        "国家债券利息收入",
        "Interest income on bonds",
        Income,
        SubLedger::None,
        false,
    ),
    acct(
        "404",
        "增值收益利息收入",
        "Interest income on value-added income deposits",
        Income,
        SubLedger::None,
        false,
    ),
    acct(
        "409",
        "其他收入",
        "Other income",
        Income,
        SubLedger::None,
        false,
    ),
    acct(
        "501",
        "住房公积金利息支出",
        "Interest expense to members",
        Expense,
        SubLedger::None,
        false,
    ),
    acct(
        "502",
        "归集手续费支出",
        "Collection fees",
        Expense,
        SubLedger::None,
        false,
    ),
    acct(
        "503",
        "委托贷款手续费支出",
        "Entrusted-loan fees",
        Expense,
        SubLedger::None,
        false,
    ),
    acct(
        "509",
        "其他支出",
        "Other expenditure",
        Expense,
        SubLedger::None,
        false,
    ),
];

/// Looks up a chart line by code.
pub fn chart_account(code: &str) -> Option<&'static ChartAccount> {
    CHART.iter().find(|a| a.code == code)
}

/// Maximum length of a sub-account key.
pub const MAX_SUB_LEN: usize = 40;

/// Why an account number is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccountNoError {
    /// The chart has no such code.
    #[error("account {value:?}: code {code:?} is not in the chart of accounts")]
    UnknownCode { value: String, code: String },
    /// The code keeps a sub-ledger, so a sub-account key is required.
    #[error(
        "account {value:?}: code {code} keeps a sub-ledger; post to {code}.<key>, not to the control account"
    )]
    SubRequired { value: String, code: String },
    /// The code keeps no sub-ledger, so no sub-account key is allowed.
    #[error("account {value:?}: code {code} keeps no sub-ledger; no .<key> allowed")]
    SubNotAllowed { value: String, code: String },
    /// The sub-account key has bad characters or length.
    #[error(
        "account {value:?}: sub-account key must be 1-{MAX_SUB_LEN} characters of A-Z a-z 0-9 - _"
    )]
    BadSub { value: String },
}

/// A ledger account number: a chart code (`302`) or a code with a sub-account key
/// (`201.330800000000123`). Held in canonical text form, with the position of its chart
/// line cached so the posting engine's per-leg lookups cost nothing. Equality, ordering
/// and hashing are those of the text, so maps keyed by `AccountNo` can be queried by
/// `&str`. The text is shared (`Arc<str>`), so copying an account number is cheap.
#[derive(Debug, Clone)]
pub struct AccountNo {
    text: Arc<str>,
    chart: u8,
}

impl PartialEq for AccountNo {
    fn eq(&self, other: &AccountNo) -> bool {
        self.text == other.text
    }
}

impl Eq for AccountNo {}

impl std::hash::Hash for AccountNo {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl PartialOrd for AccountNo {
    fn partial_cmp(&self, other: &AccountNo) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for AccountNo {
    fn cmp(&self, other: &AccountNo) -> std::cmp::Ordering {
        self.text.cmp(&other.text)
    }
}

impl std::borrow::Borrow<str> for AccountNo {
    fn borrow(&self) -> &str {
        &self.text
    }
}

fn chart_index(code: &str) -> Option<u8> {
    CHART
        .iter()
        .position(|a| a.code == code)
        .and_then(|i| u8::try_from(i).ok())
}

impl AccountNo {
    /// A posting account: for codes with a sub-ledger the key is required, otherwise
    /// it must be absent. Control accounts are made with [`AccountNo::control`].
    pub fn parse(text: &str) -> Result<AccountNo, AccountNoError> {
        let (code, sub) = match text.split_once('.') {
            Some((c, s)) => (c, Some(s)),
            None => (text, None),
        };
        let idx = chart_index(code).ok_or_else(|| AccountNoError::UnknownCode {
            value: text.to_owned(),
            code: code.to_owned(),
        })?;
        let make = || AccountNo {
            text: Arc::from(text),
            chart: idx,
        };
        match (CHART[usize::from(idx)].sub_ledger, sub) {
            (SubLedger::None, Some(_)) => Err(AccountNoError::SubNotAllowed {
                value: text.to_owned(),
                code: code.to_owned(),
            }),
            (SubLedger::None, None) => Ok(make()),
            (_, None) => Err(AccountNoError::SubRequired {
                value: text.to_owned(),
                code: code.to_owned(),
            }),
            (_, Some(s)) => {
                if s.is_empty()
                    || s.len() > MAX_SUB_LEN
                    || !s
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    return Err(AccountNoError::BadSub {
                        value: text.to_owned(),
                    });
                }
                Ok(make())
            }
        }
    }

    /// A sub-ledger posting account `code.sub`.
    pub fn sub(code: &str, sub: &str) -> Result<AccountNo, AccountNoError> {
        AccountNo::parse(&format!("{code}.{sub}"))
    }

    /// The control account of a code that keeps a sub-ledger (e.g. `201`).
    pub fn control(code: &str) -> Result<AccountNo, AccountNoError> {
        let idx = chart_index(code).ok_or_else(|| AccountNoError::UnknownCode {
            value: code.to_owned(),
            code: code.to_owned(),
        })?;
        if CHART[usize::from(idx)].sub_ledger == SubLedger::None {
            return AccountNo::parse(code);
        }
        Ok(AccountNo {
            text: Arc::from(code),
            chart: idx,
        })
    }

    /// Parses any account number that may exist in the ledger, posting or control.
    pub fn parse_any(text: &str) -> Result<AccountNo, AccountNoError> {
        if text.contains('.') {
            AccountNo::parse(text)
        } else {
            AccountNo::control(text)
        }
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The chart code part.
    pub fn code(&self) -> &'static str {
        self.chart().code
    }

    /// The sub-account key, if any.
    pub fn sub_key(&self) -> Option<&str> {
        self.text.split_once('.').map(|(_, s)| s)
    }

    /// The chart line of this account.
    pub fn chart(&self) -> &'static ChartAccount {
        // An AccountNo is only constructed with the index of its code in CHART.
        &CHART[usize::from(self.chart)]
    }

    /// The code of the control account this sub-account rolls up into, if any: a key
    /// for maps of accounts that needs no allocation.
    pub fn parent_code(&self) -> Option<&'static str> {
        if self.text.len() > self.code().len() {
            Some(self.code())
        } else {
            None
        }
    }

    /// True for a control account (a code with a sub-ledger, without a key).
    pub fn is_control(&self) -> bool {
        self.parent_code().is_none() && self.chart().sub_ledger != SubLedger::None
    }

    /// The control account that this sub-account rolls up into, if any.
    pub fn parent(&self) -> Option<AccountNo> {
        self.parent_code().map(|code| AccountNo {
            text: Arc::from(code),
            chart: self.chart,
        })
    }

    /// The account's standard name, e.g. `住房公积金-330800000000123`.
    pub fn display_name(&self) -> String {
        match self.sub_key() {
            Some(k) => format!("{}-{k}", self.chart().name_zh),
            None => self.chart().name_zh.to_owned(),
        }
    }
}

impl fmt::Display for AccountNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for AccountNo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for AccountNo {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<AccountNo, D::Error> {
        let text = String::deserialize(d)?;
        AccountNo::parse_any(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_codes_are_unique_and_sorted() {
        for w in CHART.windows(2) {
            assert!(w[0].code < w[1].code, "{} before {}", w[0].code, w[1].code);
        }
        assert_eq!(chart_account("201").unwrap().normal, Side::Credit);
        assert_eq!(chart_account("101").unwrap().normal, Side::Debit);
        assert_eq!(chart_account("501").unwrap().normal, Side::Debit);
        assert!(chart_account("201").unwrap().non_negative);
    }

    #[test]
    fn account_numbers_follow_the_chart() {
        let m = AccountNo::parse("201.330800000000123").unwrap();
        assert_eq!(m.code(), "201");
        assert_eq!(m.sub_key(), Some("330800000000123"));
        assert_eq!(m.parent().unwrap().as_str(), "201");
        assert!(!m.is_control());
        assert!(AccountNo::control("201").unwrap().is_control());
        assert_eq!(AccountNo::parse("302").unwrap().parent(), None);
        assert!(matches!(
            AccountNo::parse("201"),
            Err(AccountNoError::SubRequired { .. })
        ));
        assert!(matches!(
            AccountNo::parse("302.x"),
            Err(AccountNoError::SubNotAllowed { .. })
        ));
        assert!(matches!(
            AccountNo::parse("999"),
            Err(AccountNoError::UnknownCode { .. })
        ));
        assert!(matches!(
            AccountNo::parse("201.a b"),
            Err(AccountNoError::BadSub { .. })
        ));
        assert!(matches!(
            AccountNo::parse("201."),
            Err(AccountNoError::BadSub { .. })
        ));
        let err = AccountNo::parse("999").unwrap_err().to_string();
        assert!(err.contains("999") && err.contains("chart"), "{err}");
        assert_eq!(m.display_name(), "住房公积金-330800000000123");
    }
}
