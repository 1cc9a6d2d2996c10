//! Cell rules: what each column accepts, with the clerk-facing reason when it does not.
//!
//! Every rule takes a [`RawCell`] (the trimmed text plus what kind of spreadsheet cell it
//! came from) and returns the typed value or the rule it breaks.

use anju_domain::collection::YearMonth;
use anju_domain::ids::IdCard;
use anju_domain::money::Fen;

/// The largest amount a list may carry: 1,000,000.00 yuan.
pub const MAX_AMOUNT: Fen = Fen::new(100_000_000);
/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 50;
/// The most months one back-payment row may cover (both ends included).
pub const MAX_BACK_PAYMENT_MONTHS: i32 = 60;

/// What kind of spreadsheet cell a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawKind {
    /// Text (every CSV cell, xlsx strings, booleans and error values).
    Text,
    /// A number cell, already formatted to its shortest decimal text.
    Number,
    /// A date cell: year, month, day.
    Date(i32, i32, i32),
}

/// A cell as read: trimmed text and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawCell {
    pub(crate) text: String,
    pub(crate) kind: RawKind,
}

impl RawCell {
    pub(crate) fn text(text: &str) -> RawCell {
        RawCell {
            text: trim_cell(text).to_owned(),
            kind: RawKind::Text,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

/// Trims whitespace (incl. the full-width space U+3000 and NBSP) and stray BOMs /
/// zero-width spaces that copy-paste leaves behind.
pub(crate) fn trim_cell(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_whitespace() || matches!(c, '\u{feff}' | '\u{200b}'))
}

const EMPTY: &str = "不能为空";

/// Whether a text looks like Excel's scientific notation (`3.308E+13`).
fn looks_scientific(text: &str) -> bool {
    let upper = text.to_ascii_uppercase();
    upper.contains("E+")
        && upper
            .bytes()
            .all(|b| b.is_ascii_digit() || b"E+.-".contains(&b))
}

/// 个人账号: exactly 14 ASCII digits.
pub(crate) fn account_no(cell: &RawCell) -> Result<String, String> {
    let t = &cell.text;
    if t.is_empty() {
        return Err(EMPTY.into());
    }
    if t.len() == 14 && t.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(t.clone());
    }
    if looks_scientific(t) {
        return Err(
            "个人账号被 Excel 显示为科学计数法，已丢失数字；请将该列设为文本格式后重新填写14位账号"
                .into(),
        );
    }
    if cell.kind == RawKind::Number && t.len() < 14 && t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "个人账号应为14位数字，此处为数字单元格只有{}位（开头的0可能被 Excel 去掉了，请将该列设为文本格式）",
            t.len()
        ));
    }
    Err("个人账号应为14位数字".into())
}

/// 身份证号码: an 18-character resident ID number; the rule is the domain's reason.
pub(crate) fn id_card(cell: &RawCell) -> Result<IdCard, String> {
    let t = &cell.text;
    if t.is_empty() {
        return Err(EMPTY.into());
    }
    IdCard::parse(t).map_err(|e| {
        if cell.kind == RawKind::Number || looks_scientific(t) {
            format!(
                "身份证号码被存成了数字，Excel 只保留15位有效数字，末尾数字已丢失；请将该列设为文本格式后重新填写（{e}）"
            )
        } else {
            e.to_string()
        }
    })
}

/// 姓名: 1–50 characters, none of them control characters.
pub(crate) fn name(cell: &RawCell) -> Result<String, String> {
    let t = &cell.text;
    if t.is_empty() {
        return Err(EMPTY.into());
    }
    let n = t.chars().count();
    if n > MAX_NAME_CHARS {
        return Err(format!("姓名最多{MAX_NAME_CHARS}个字符，此处{n}个"));
    }
    if t.chars()
        .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))
    {
        return Err("姓名含有换行、制表符等不可打印的字符".into());
    }
    Ok(t.clone())
}

/// Removes well-formed thousands separators (`1,234,567.89`); `None` if commas are
/// present but not in groups of three.
fn strip_grouping(text: &str) -> Option<String> {
    if !text.contains(',') {
        return Some(text.to_owned());
    }
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text, None),
    };
    let int = int.strip_prefix('-').unwrap_or(int);
    let mut groups = int.split(',');
    let first = groups.next()?;
    if first.is_empty() || first.len() > 3 || !first.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut out = String::from(first);
    for g in groups {
        if g.len() != 3 || !g.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        out.push_str(g);
    }
    if text.starts_with('-') {
        out.insert(0, '-');
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    Some(out)
}

/// An amount of yuan: positive, at most two decimals, at most [`MAX_AMOUNT`]. Accepts
/// thousands separators and a trailing `元`.
pub(crate) fn amount(cell: &RawCell) -> Result<Fen, String> {
    let t = &cell.text;
    if t.is_empty() {
        return Err(EMPTY.into());
    }
    if let RawKind::Date(..) = cell.kind {
        return Err("应为金额（元），此处是日期单元格".into());
    }
    let bad = || "应为金额（元），如 8000.00".to_owned();
    let bare = trim_cell(t.strip_suffix('元').unwrap_or(t));
    let plain = strip_grouping(bare).ok_or_else(bad)?;
    match Fen::parse_yuan(&plain) {
        Ok(f) if f.fen() <= 0 => Err("金额必须大于0".into()),
        Ok(f) if f > MAX_AMOUNT => Err(format!("金额不能超过{MAX_AMOUNT}元")),
        Ok(f) => Ok(f),
        Err(_) => {
            let digits = plain.strip_prefix('-').unwrap_or(&plain);
            let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
            let decimal = !int.is_empty()
                && int.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit());
            if decimal && frac.len() > 2 {
                Err("金额最多两位小数（到分）".into())
            } else if decimal && !digits.ends_with('.') {
                // Well-formed but too large for i64 fen.
                Err(format!("金额不能超过{MAX_AMOUNT}元"))
            } else {
                Err(bad())
            }
        }
    }
}

/// A month: `YYYYMM`, `YYYY-MM`, `YYYY/MM`, `YYYY.MM`, `YYYY年MM月`, a full date in those
/// shapes (the day is ignored once checked), or a date cell.
pub(crate) fn month(cell: &RawCell) -> Result<YearMonth, String> {
    let t = &cell.text;
    if t.is_empty() {
        return Err(EMPTY.into());
    }
    let bad = || "年月应为 YYYYMM 或 YYYY-MM 格式，如 202601".to_owned();
    if let RawKind::Date(y, m, _) = cell.kind {
        return match (i16::try_from(y), i8::try_from(m)) {
            (Ok(y), Ok(m)) => YearMonth::new(y, m).ok_or_else(bad),
            _ => Err(bad()),
        };
    }
    if let Ok(m) = YearMonth::parse(t) {
        return Ok(m);
    }
    // An ISO datetime from a date cell (`2026-01-01T00:00:00`): keep the date part.
    let t = t.split_once('T').map_or(t.as_str(), |(d, _)| d);
    let parts: Vec<&str> = t.split(['-', '/', '.', '年', '月', '日']).collect();
    // `2026年1月` splits into ["2026", "1", ""]: drop one trailing empty part.
    let parts = match parts.split_last() {
        Some((last, rest)) if last.is_empty() && (t.ends_with('月') || t.ends_with('日')) => rest,
        _ => &parts[..],
    };
    let num = |s: &str, max_len: usize| -> Option<i32> {
        (!s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (year, mon, day) = match parts {
        [y, m] if y.len() == 4 => (num(y, 4), num(m, 2), Some(1)),
        [y, m, d] if y.len() == 4 => (num(y, 4), num(m, 2), num(d, 2)),
        _ => return Err(bad()),
    };
    let (Some(year), Some(mon), Some(day)) = (year, mon, day) else {
        return Err(bad());
    };
    let (Ok(y), Ok(m), Ok(d)) = (i16::try_from(year), i8::try_from(mon), i8::try_from(day)) else {
        return Err(bad());
    };
    if jiff::civil::Date::new(y, m, d).is_err() {
        return Err(bad());
    }
    YearMonth::new(y, m).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> RawCell {
        RawCell::text(s)
    }

    fn n(s: &str) -> RawCell {
        RawCell {
            text: s.into(),
            kind: RawKind::Number,
        }
    }

    #[test]
    fn accounts_are_fourteen_digits() {
        assert_eq!(
            account_no(&t(" 33080000000001 ")).unwrap(),
            "33080000000001"
        );
        assert_eq!(account_no(&n("33080000000001")).unwrap(), "33080000000001");
        assert_eq!(account_no(&t("")).unwrap_err(), "不能为空");
        assert!(account_no(&t("3308000000000")).is_err());
        assert!(account_no(&t("３３０８００００００００01")).is_err());
        assert!(
            account_no(&t("3.308E+13"))
                .unwrap_err()
                .contains("科学计数法")
        );
        assert!(
            account_no(&n("3080000000001"))
                .unwrap_err()
                .contains("开头的0")
        );
    }

    #[test]
    fn amounts_are_positive_fen_within_the_cap() {
        let ok = |s: &str| amount(&t(s)).unwrap().fen();
        assert_eq!(ok("5000.5"), 500_050);
        assert_eq!(ok("123,456.78"), 12_345_678);
        assert_eq!(ok(" 1,000 元"), 100_000);
        assert_eq!(ok("8000元"), 800_000);
        assert_eq!(ok("1000000.00"), 100_000_000);
        assert_eq!(amount(&n("5000.5")).unwrap().fen(), 500_050);
        assert_eq!(
            amount(&t("5000.555")).unwrap_err(),
            "金额最多两位小数（到分）"
        );
        assert_eq!(amount(&t("0")).unwrap_err(), "金额必须大于0");
        assert_eq!(amount(&t("-5")).unwrap_err(), "金额必须大于0");
        assert!(
            amount(&t("1000000.01"))
                .unwrap_err()
                .contains("不能超过1,000,000.00")
        );
        assert!(
            amount(&t("99999999999999999999"))
                .unwrap_err()
                .contains("不能超过")
        );
        for bad in ["abc", "1,23.00", "1e3", "5.", ".5", "¥5"] {
            assert!(amount(&t(bad)).unwrap_err().contains("应为金额"), "{bad}");
        }
        let date = RawCell {
            text: "2026-01-01".into(),
            kind: RawKind::Date(2026, 1, 1),
        };
        assert!(amount(&date).unwrap_err().contains("日期"));
    }

    #[test]
    fn months_in_the_shapes_clerks_type() {
        let m = |s: &str| month(&t(s)).unwrap().compact();
        for (input, want) in [
            ("202601", "202601"),
            ("2026-01", "202601"),
            ("2026/1", "202601"),
            ("2026.01", "202601"),
            ("2026年1月", "202601"),
            ("2026-01-15", "202601"),
            ("2026/1/31", "202601"),
            ("2026-01-01T00:00:00", "202601"),
        ] {
            assert_eq!(m(input), want, "{input}");
        }
        assert_eq!(month(&n("202607")).unwrap().compact(), "202607");
        let date = RawCell {
            text: "2026-07-01".into(),
            kind: RawKind::Date(2026, 7, 1),
        };
        assert_eq!(month(&date).unwrap().compact(), "202607");
        for bad in [
            "2026",
            "202613",
            "2026-02-30",
            "26-01",
            "Jan-26",
            "2026-1-1-1",
        ] {
            assert!(month(&t(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_printable_and_short() {
        assert_eq!(name(&t("买买提·艾力")).unwrap(), "买买提·艾力");
        assert!(name(&t(&"张".repeat(51))).unwrap_err().contains("51"));
        assert!(name(&t("张\n三")).is_err());
        assert!(name(&t("")).is_err());
    }

    #[test]
    fn ids_use_the_domain_reason() {
        assert!(id_card(&t("11010519491231002x")).is_ok());
        let e = id_card(&t("110105194912310021")).unwrap_err();
        assert!(e.contains("check character"), "{e}");
        assert!(!e.contains("110105194912310021"));
        let e = id_card(&n("110105194912310000")).unwrap_err();
        assert!(e.contains("文本格式"), "{e}");
    }
}
