//! Excel and CSV files for unit clerks (单位经办人): the lists they upload — the staff
//! roster (职工花名册), the monthly remittance list (汇缴清册), base adjustments (基数调整
//! 清册) and back-payments (补缴清册) — and the tables the centre hands back (templates,
//! statements, reports).
//!
//! * [`read_list`] reads the first worksheet of an `.xlsx` file, or a `.csv` file in UTF-8
//!   (a BOM is stripped) or GB18030/GBK (what Chinese Excel writes), checks the fixed
//!   Chinese header row (English aliases and a unit suffix such as `(元)` accepted) and
//!   validates every row. A file with bad rows is refused as a whole with **every** bad
//!   cell listed ([`SheetError::Rows`]), by spreadsheet row number (header = row 1).
//! * [`write_xlsx`], [`write_csv`], [`template`] and [`sample_rows_xlsx`] write files.
//!
//! **No float touches money.** Spreadsheet numbers arrive as `f64`; they are formatted to
//! their shortest decimal text and parsed with [`Fen::parse_yuan`], so `5000.5` is 5,000.50
//! yuan and `5000.555` is refused. Money written as a number cell is the `f64` parsed from
//! [`Fen::plain`] — never a division.
//!
//! **Personal data.** [`RowError`]'s `Display` and `Debug` mask ID-number values (the
//! `value` field keeps the cell as uploaded, for the clerk's own error page).
//!
//! [`Fen::parse_yuan`]: anju_domain::money::Fen::parse_yuan
//! [`Fen::plain`]: anju_domain::money::Fen::plain

mod error;
mod kind;
mod read;
mod rows;
mod rules;
mod write;

use std::path::Path;

pub use error::{RowError, SheetError};
pub use kind::ListKind;
pub use read::{MAX_ROWS, read_list};
pub use rows::{BackPaymentRow, BaseAdjustmentRow, RemittanceRow, RosterRow, Rows};
pub use rules::{MAX_AMOUNT, MAX_BACK_PAYMENT_MONTHS, MAX_NAME_CHARS};
pub use write::{Cell, Table, sample_rows_xlsx, template, write_csv, write_list, write_xlsx};

/// A spreadsheet file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Office Open XML workbook (`.xlsx`).
    Xlsx,
    /// Comma-separated values (`.csv`): read as UTF-8 or GB18030, written as UTF-8 with BOM.
    Csv,
}

impl Format {
    /// The format named by a file's extension (`.xlsx` or `.csv`, any case); anything else
    /// (including the old binary `.xls`) is [`SheetError::NotReadable`].
    pub fn from_path(path: &Path) -> Result<Format, SheetError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("xlsx") => Ok(Format::Xlsx),
            Some("csv") => Ok(Format::Csv),
            Some("xls") => Err(SheetError::NotReadable {
                reason: "不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 或 .csv 后上传".into(),
            }),
            Some(other) => Err(SheetError::NotReadable {
                reason: format!("不支持的文件类型 .{other}，请上传 .xlsx 或 .csv 文件"),
            }),
            None => Err(SheetError::NotReadable {
                reason: "文件名没有扩展名，请上传 .xlsx 或 .csv 文件".into(),
            }),
        }
    }

    /// The file extension without the dot: `"xlsx"` or `"csv"`.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Xlsx => "xlsx",
            Format::Csv => "csv",
        }
    }

    /// The MIME type for a download.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_path_by_extension() {
        assert_eq!(
            Format::from_path(Path::new("a/汇缴.xlsx")),
            Ok(Format::Xlsx)
        );
        assert_eq!(Format::from_path(Path::new("B.CSV")), Ok(Format::Csv));
        for bad in ["a.xls", "a.txt", "a", "a.xlsx.zip"] {
            assert!(
                matches!(
                    Format::from_path(Path::new(bad)),
                    Err(SheetError::NotReadable { .. })
                ),
                "{bad}"
            );
        }
        assert_eq!(Format::Csv.extension(), "csv");
    }
}
