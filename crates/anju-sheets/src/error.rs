//! Errors: a file that cannot be read or written, and the cells that break a rule.

use std::fmt;

/// The column header under which ID numbers are masked in messages.
const ID_COLUMN: &str = "身份证号码";

/// One cell that breaks a rule.
///
/// `Display` reads `第3行 姓名 "": 不能为空`. An ID number's value is masked in `Display`
/// and `Debug` (first and last four characters kept); the `value` field holds the cell as
/// uploaded, for the clerk's own error page.
#[derive(Clone, PartialEq, Eq)]
pub struct RowError {
    /// The 1-based spreadsheet row (the header is row 1, the first data row is row 2).
    pub row: usize,
    /// The column's Chinese header (or `第N列` for a cell beyond the header).
    pub column: String,
    /// The cell's text as read, trimmed (numbers in their shortest decimal form).
    pub value: String,
    /// The rule it breaks, in words for the clerk.
    pub rule: String,
}

impl RowError {
    /// The value as shown in messages: ID numbers masked.
    pub fn shown_value(&self) -> String {
        if self.column == ID_COLUMN {
            mask(&self.value)
        } else {
            self.value.clone()
        }
    }
}

/// Keeps the first and last four characters of a longer value.
fn mask(value: &str) -> String {
    let n = value.chars().count();
    if n <= 8 {
        return value.to_owned();
    }
    let head: String = value.chars().take(4).collect();
    let tail: String = value.chars().skip(n - 4).collect();
    format!("{head}{}{tail}", "*".repeat(n - 8))
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "第{}行 {} {:?}: {}",
            self.row,
            self.column,
            self.shown_value(),
            self.rule
        )
    }
}

impl fmt::Debug for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowError")
            .field("row", &self.row)
            .field("column", &self.column)
            .field("value", &self.shown_value())
            .field("rule", &self.rule)
            .finish()
    }
}

/// Why a file was refused (reading) or could not be produced (writing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SheetError {
    /// The bytes are not a readable file of the format (corrupt, wrong type, encoding).
    #[error("文件无法读取：{reason}")]
    NotReadable {
        /// Why, for the clerk.
        reason: String,
    },
    /// The header row is not the list's fixed header.
    #[error(
        "表头不符：应为“{}”，实为“{}”",
        expected.join("｜"),
        found.join("｜")
    )]
    BadHeader {
        /// The fixed Chinese headers, in order.
        expected: Vec<String>,
        /// The header cells found (trimmed, trailing empty cells dropped).
        found: Vec<String>,
    },
    /// No data rows (a blank file, or a header only).
    #[error("文件中没有数据行（第1行为表头，数据从第2行开始）")]
    Empty,
    /// Every cell that breaks a rule, in row then column order; the file is refused whole.
    #[error("{}", rows_summary(.0))]
    Rows(Vec<RowError>),
    /// More data rows than one upload may hold.
    #[error("数据行超过{max}行的上限，请分批上传")]
    TooManyRows {
        /// The limit.
        max: usize,
    },
    /// The writer failed (e.g. a sheet name Excel refuses, a text longer than a cell holds).
    #[error("无法生成文件：{reason}")]
    Write {
        /// Why.
        reason: String,
    },
}

/// `共3处错误：第2行 …；第5行 …；…` with at most five listed.
fn rows_summary(errors: &[RowError]) -> String {
    const SHOWN: usize = 5;
    let listed: Vec<String> = errors.iter().take(SHOWN).map(|e| e.to_string()).collect();
    let more = if errors.len() > SHOWN {
        "；……"
    } else {
        ""
    };
    format!("共{}处错误：{}{more}", errors.len(), listed.join("；"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_values_are_masked_in_messages_only() {
        let e = RowError {
            row: 3,
            column: "身份证号码".into(),
            value: "110105194912310021".into(),
            rule: "bad".into(),
        };
        assert_eq!(
            e.to_string(),
            "第3行 身份证号码 \"1101**********0021\": bad"
        );
        assert!(!format!("{e:?}").contains("110105194912310021"));
        assert_eq!(e.value, "110105194912310021");
        let n = RowError {
            column: "姓名".into(),
            value: "".into(),
            ..e.clone()
        };
        assert_eq!(n.to_string(), "第3行 姓名 \"\": bad");
        let all = SheetError::Rows(vec![e.clone(); 7]).to_string();
        assert!(all.starts_with("共7处错误：第3行"), "{all}");
        assert!(all.ends_with("……"), "{all}");
    }
}
