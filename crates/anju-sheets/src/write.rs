//! Writing tables: xlsx workbooks (one worksheet per table), UTF-8 CSV with BOM, and the
//! list templates clerks fill in.

use std::borrow::Cow;

use anju_domain::collection::YearMonth;
use anju_domain::money::Fen;
use rust_xlsxwriter::{
    Color, ExcelDateTime, Format as XlsxFormat, FormatAlign, FormatBorder, Workbook, Worksheet,
    XlsxError,
};

use crate::Format;
use crate::error::SheetError;
use crate::kind::{Field, ListKind};
use crate::read::MAX_ROWS;
use crate::rows::Rows;
use crate::rules::{MAX_AMOUNT, MAX_BACK_PAYMENT_MONTHS, MAX_NAME_CHARS};

/// A cell of a table to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Text, written as text (codes such as account numbers stay text).
    Text(String),
    /// Money: a number cell formatted `#,##0.00` in xlsx, `1234.56` in CSV.
    Money(Fen),
    /// A whole number (a count): a number cell in xlsx.
    Int(i64),
    /// A date: a date cell `yyyy-mm-dd` in xlsx, `2026-07-15` in CSV.
    Date(jiff::civil::Date),
    /// A contribution month: text `2026-07` in xlsx, `202607` in CSV (Excel would turn
    /// `2026-07` in a CSV into a date).
    Month(YearMonth),
    /// Nothing.
    Empty,
}

/// A table: one worksheet of an xlsx file, or one CSV file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    /// The worksheet name (Excel: at most 31 characters, none of `[]:*?/\`).
    pub sheet_name: String,
    /// A title in a merged row above the headers (xlsx only).
    pub title: Option<String>,
    /// The header row (bold and frozen in xlsx).
    pub headers: Vec<String>,
    /// The data rows.
    pub rows: Vec<Vec<Cell>>,
    /// Rows after the data, e.g. 合计 (bold in xlsx).
    pub footer: Vec<Vec<Cell>>,
}

impl Table {
    /// A table with a sheet name and headers, no title, rows or footer yet.
    pub fn new<S: Into<String>>(
        sheet_name: impl Into<String>,
        headers: impl IntoIterator<Item = S>,
    ) -> Table {
        Table {
            sheet_name: sheet_name.into(),
            headers: headers.into_iter().map(Into::into).collect(),
            ..Table::default()
        }
    }
}

fn write_err(e: XlsxError) -> SheetError {
    SheetError::Write {
        reason: e.to_string(),
    }
}

/// Rows of a sheet are `u32` in rust_xlsxwriter.
fn row_num(index: usize) -> Result<u32, SheetError> {
    u32::try_from(index).map_err(|_| SheetError::Write {
        reason: format!("row {index} is beyond what a worksheet holds"),
    })
}

fn col_num(index: usize) -> Result<u16, SheetError> {
    u16::try_from(index).map_err(|_| SheetError::Write {
        reason: format!("column {index} is beyond what a worksheet holds"),
    })
}

/// The number Excel stores for an amount: the `f64` nearest its decimal text (no
/// float arithmetic: parsing the exact decimal rounds once, correctly).
fn money_number(f: Fen) -> Result<f64, SheetError> {
    f.plain().parse::<f64>().map_err(|e| SheetError::Write {
        reason: format!("amount {}: {e}", f.plain()),
    })
}

/// Integers up to 2⁵³ are exact as `f64`; larger ones are written as text.
const MAX_EXACT_INT: i64 = 1 << 53;

/// Display width in Excel's character units: CJK and other wide characters count 2.
fn display_width(text: &str) -> usize {
    text.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

/// The cell formats of one workbook.
struct Styles {
    title: XlsxFormat,
    header: XlsxFormat,
    money: XlsxFormat,
    int: XlsxFormat,
    date: XlsxFormat,
    bold: XlsxFormat,
    bold_money: XlsxFormat,
    bold_int: XlsxFormat,
    bold_date: XlsxFormat,
    text_column: XlsxFormat,
    money_column: XlsxFormat,
    wrap: XlsxFormat,
}

const MONEY_FORMAT: &str = "#,##0.00";
const DATE_FORMAT: &str = "yyyy-mm-dd";

impl Styles {
    fn new() -> Styles {
        let bold = XlsxFormat::new().set_bold();
        Styles {
            title: XlsxFormat::new()
                .set_bold()
                .set_font_size(14)
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter),
            header: XlsxFormat::new()
                .set_bold()
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_background_color(Color::RGB(0x00D9_E1F2))
                .set_border(FormatBorder::Thin),
            money: XlsxFormat::new().set_num_format(MONEY_FORMAT),
            int: XlsxFormat::new().set_num_format("0"),
            date: XlsxFormat::new().set_num_format(DATE_FORMAT),
            bold_money: bold.clone().set_num_format(MONEY_FORMAT),
            bold_int: bold.clone().set_num_format("0"),
            bold_date: bold.clone().set_num_format(DATE_FORMAT),
            bold,
            text_column: XlsxFormat::new().set_num_format("@"),
            money_column: XlsxFormat::new().set_num_format(MONEY_FORMAT),
            wrap: XlsxFormat::new()
                .set_text_wrap()
                .set_align(FormatAlign::Top),
        }
    }
}

fn write_cell(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    cell: &Cell,
    bold: bool,
    st: &Styles,
) -> Result<(), SheetError> {
    let pick = |plain: &'_ XlsxFormat, strong: &'_ XlsxFormat| -> XlsxFormat {
        if bold { strong.clone() } else { plain.clone() }
    };
    match cell {
        Cell::Empty => {}
        Cell::Text(s) if s.is_empty() => {}
        Cell::Text(s) => {
            if bold {
                ws.write_string_with_format(row, col, s, &st.bold)
            } else {
                ws.write_string(row, col, s)
            }
            .map_err(write_err)?;
        }
        Cell::Money(f) => {
            ws.write_number_with_format(
                row,
                col,
                money_number(*f)?,
                &pick(&st.money, &st.bold_money),
            )
            .map_err(write_err)?;
        }
        Cell::Int(n) if (-MAX_EXACT_INT..=MAX_EXACT_INT).contains(n) => {
            let number: f64 = n.to_string().parse().map_err(|e| SheetError::Write {
                reason: format!("integer {n}: {e}"),
            })?;
            ws.write_number_with_format(row, col, number, &pick(&st.int, &st.bold_int))
                .map_err(write_err)?;
        }
        Cell::Int(n) => {
            ws.write_string(row, col, n.to_string())
                .map_err(write_err)?;
        }
        Cell::Date(d) => {
            let excel = match (
                u16::try_from(d.year()),
                u8::try_from(d.month()),
                u8::try_from(d.day()),
            ) {
                (Ok(y), Ok(m), Ok(day)) => ExcelDateTime::from_ymd(y, m, day).ok(),
                _ => None,
            };
            match excel {
                Some(dt) => {
                    ws.write_datetime_with_format(row, col, &dt, &pick(&st.date, &st.bold_date))
                }
                // Outside Excel's date range (before 1900): write the ISO text.
                None => ws.write_string(row, col, d.to_string()),
            }
            .map_err(write_err)?;
        }
        Cell::Month(m) => {
            if bold {
                ws.write_string_with_format(row, col, m.to_string(), &st.bold)
            } else {
                ws.write_string(row, col, m.to_string())
            }
            .map_err(write_err)?;
        }
    }
    Ok(())
}

/// The width a cell needs, in character units.
fn cell_width(cell: &Cell) -> usize {
    match cell {
        Cell::Text(s) => display_width(s),
        Cell::Money(f) => f.grouped().len(),
        Cell::Int(n) => n.to_string().len(),
        Cell::Date(_) => 10,
        Cell::Month(_) => 7,
        Cell::Empty => 0,
    }
}

/// Column widths from the headers, the first rows and the footer, padded and bounded.
fn column_widths(table: &Table) -> Vec<u32> {
    const SAMPLE_ROWS: usize = 2_000;
    let mut widths: Vec<usize> = table.headers.iter().map(|h| display_width(h)).collect();
    let rows = table.rows.iter().take(SAMPLE_ROWS).chain(&table.footer);
    for row in rows {
        if widths.len() < row.len() {
            widths.resize(row.len(), 0);
        }
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell_width(cell));
        }
    }
    widths
        .into_iter()
        .map(|w| u32::try_from((w + 3).clamp(8, 60)).unwrap_or(60))
        .collect()
}

/// Writes one table into a worksheet; `text_columns` and `money_columns` get a column
/// format so that what a clerk types there stays text or shows as money.
fn write_table(
    ws: &mut Worksheet,
    table: &Table,
    st: &Styles,
    text_columns: &[usize],
    money_columns: &[usize],
) -> Result<(), SheetError> {
    ws.set_name(&table.sheet_name).map_err(write_err)?;
    let widths = column_widths(table);
    for (c, w) in widths.iter().enumerate() {
        let col = col_num(c)?;
        ws.set_column_width(col, *w).map_err(write_err)?;
        if text_columns.contains(&c) {
            ws.set_column_format(col, &st.text_column)
                .map_err(write_err)?;
        } else if money_columns.contains(&c) {
            ws.set_column_format(col, &st.money_column)
                .map_err(write_err)?;
        }
    }
    let mut r = 0_usize;
    if let Some(title) = &table.title {
        let last = col_num(widths.len().max(1) - 1)?;
        if last > 0 {
            ws.merge_range(0, 0, 0, last, title, &st.title)
                .map_err(write_err)?;
        } else {
            ws.write_string_with_format(0, 0, title, &st.title)
                .map_err(write_err)?;
        }
        ws.set_row_height(0, 24).map_err(write_err)?;
        r += 1;
    }
    if !table.headers.is_empty() {
        let hr = row_num(r)?;
        for (c, h) in table.headers.iter().enumerate() {
            ws.write_string_with_format(hr, col_num(c)?, h, &st.header)
                .map_err(write_err)?;
        }
        r += 1;
        ws.set_freeze_panes(row_num(r)?, 0).map_err(write_err)?;
    }
    for (bold, row) in table
        .rows
        .iter()
        .map(|row| (false, row))
        .chain(table.footer.iter().map(|row| (true, row)))
    {
        let rr = row_num(r)?;
        for (c, cell) in row.iter().enumerate() {
            write_cell(ws, rr, col_num(c)?, cell, bold, st)?;
        }
        r += 1;
    }
    Ok(())
}

/// Writes an xlsx workbook with one worksheet per table (in order): the optional title
/// merged above the headers, a bold frozen header row, money as `#,##0.00` number cells,
/// bold footer rows, and column widths fitted to the content (CJK counted double).
pub fn write_xlsx(tables: &[Table]) -> Result<Vec<u8>, SheetError> {
    let st = Styles::new();
    let mut book = Workbook::new();
    for table in tables {
        let ws = book.add_worksheet();
        write_table(ws, table, &st, &[], &[])?;
    }
    book.save_to_buffer().map_err(write_err)
}

/// Text that Excel would read as a formula (`=`, `+`, `-`, `@`, tab, CR first) gets a
/// leading apostrophe; plain signed numbers (`-5`, `+1.5`) are left alone.
fn guard(text: &str) -> Cow<'_, str> {
    let risky = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let signed_number = text.starts_with(['+', '-'])
        && text.len() > 1
        && text[1..].bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text[1..].bytes().filter(|&b| b == b'.').count() <= 1
        && text[1..].bytes().any(|b| b.is_ascii_digit());
    if risky && !signed_number {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

fn csv_text(cell: &Cell) -> Cow<'_, str> {
    match cell {
        Cell::Text(s) => guard(s),
        Cell::Money(f) => Cow::Owned(f.plain()),
        Cell::Int(n) => Cow::Owned(n.to_string()),
        Cell::Date(d) => Cow::Owned(d.to_string()),
        Cell::Month(m) => Cow::Owned(m.compact()),
        Cell::Empty => Cow::Borrowed(""),
    }
}

fn csv_err(e: impl std::fmt::Display) -> SheetError {
    SheetError::Write {
        reason: format!("CSV: {e}"),
    }
}

/// Writes a table as CSV: UTF-8 with BOM (so Excel shows Chinese correctly), headers,
/// rows, then footer rows; money as plain `1234.56`. The title is not written. Text that
/// Excel would take for a formula is prefixed with an apostrophe, which
/// [`read_list`](crate::read_list) removes again.
pub fn write_csv(table: &Table) -> Result<Vec<u8>, SheetError> {
    let mut out = Vec::with_capacity(64 + table.rows.len() * 48);
    out.extend_from_slice(b"\xEF\xBB\xBF");
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    if !table.headers.is_empty() {
        w.write_record(table.headers.iter().map(|h| guard(h).into_owned()))
            .map_err(csv_err)?;
    }
    for row in table.rows.iter().chain(&table.footer) {
        w.write_record(row.iter().map(|c| csv_text(c).into_owned()))
            .map_err(csv_err)?;
    }
    w.into_inner().map_err(csv_err)
}

/// Writes typed rows back as a list file with the fixed headers (the inverse of
/// [`read_list`](crate::read_list)).
pub fn write_list(rows: &Rows, format: Format) -> Result<Vec<u8>, SheetError> {
    let table = rows.to_table();
    match format {
        Format::Xlsx => write_list_xlsx(rows.kind(), &table),
        Format::Csv => write_csv(&table),
    }
}

/// A list workbook: the table on the first sheet with code columns formatted as text
/// and amount columns as money.
fn write_list_xlsx(kind: ListKind, table: &Table) -> Result<Vec<u8>, SheetError> {
    let st = Styles::new();
    let mut book = Workbook::new();
    let (text_columns, money_columns) = column_kinds(kind);
    write_table(
        book.add_worksheet(),
        table,
        &st,
        &text_columns,
        &money_columns,
    )?;
    book.save_to_buffer().map_err(write_err)
}

fn column_kinds(kind: ListKind) -> (Vec<usize>, Vec<usize>) {
    let fields = kind.fields();
    let pick = |p: fn(Field) -> bool| {
        fields
            .iter()
            .enumerate()
            .filter(|(_, f)| p(**f))
            .map(|(i, _)| i)
            .collect()
    };
    (pick(Field::is_code), pick(Field::is_money))
}

/// Writes a list file of `kind` from raw text cells (one `Vec` per data row, in header
/// order), every cell as text — for tests, benchmarks and demo data.
pub fn sample_rows_xlsx(kind: ListKind, rows: &[Vec<String>]) -> Result<Vec<u8>, SheetError> {
    let mut table = Table::new(kind.name_zh(), kind.headers_zh().iter().copied());
    table.rows = rows
        .iter()
        .map(|r| r.iter().map(|s| Cell::Text(s.clone())).collect())
        .collect();
    write_list_xlsx(kind, &table)
}

/// The blank list a clerk downloads: xlsx with the header row on the first sheet (code
/// columns pre-formatted as text so Excel keeps account and ID numbers intact) and a
/// second sheet 填写说明 explaining each column with an example row; CSV with the header
/// row only (UTF-8 with BOM). Reading a template back gives [`SheetError::Empty`].
pub fn template(kind: ListKind, format: Format) -> Result<Vec<u8>, SheetError> {
    let table = Table::new(kind.name_zh(), kind.headers_zh().iter().copied());
    match format {
        Format::Csv => write_csv(&table),
        Format::Xlsx => {
            let st = Styles::new();
            let mut book = Workbook::new();
            let (text_columns, money_columns) = column_kinds(kind);
            write_table(
                book.add_worksheet(),
                &table,
                &st,
                &text_columns,
                &money_columns,
            )?;
            write_instructions(book.add_worksheet(), kind, &st)?;
            book.save_to_buffer().map_err(write_err)
        }
    }
}

/// The 填写说明 sheet: one line per column (header, rule, example), the general rules,
/// then the example row laid out as in the list.
fn write_instructions(ws: &mut Worksheet, kind: ListKind, st: &Styles) -> Result<(), SheetError> {
    ws.set_name("填写说明").map_err(write_err)?;
    let fields = kind.fields();
    let width = fields.len().max(3);
    ws.set_column_width(0, 18).map_err(write_err)?;
    ws.set_column_width(1, 70).map_err(write_err)?;
    ws.set_column_width(2, 22).map_err(write_err)?;
    for c in 3..width {
        ws.set_column_width(col_num(c)?, 18).map_err(write_err)?;
    }
    let title = format!("{}填写说明", kind.name_zh());
    ws.merge_range(0, 0, 0, col_num(width - 1)?, &title, &st.title)
        .map_err(write_err)?;
    ws.set_row_height(0, 24).map_err(write_err)?;
    for (c, h) in ["栏目", "填写要求", "示例"].iter().enumerate() {
        ws.write_string_with_format(1, col_num(c)?, *h, &st.header)
            .map_err(write_err)?;
    }
    let mut r = 2_u32;
    for f in fields {
        ws.write_string_with_format(r, 0, f.header_zh(), &st.bold)
            .map_err(write_err)?;
        ws.write_string_with_format(r, 1, f.instruction(), &st.wrap)
            .map_err(write_err)?;
        ws.write_string(r, 2, f.example()).map_err(write_err)?;
        r += 1;
    }
    r += 1;
    ws.write_string_with_format(r, 0, "通用要求", &st.bold)
        .map_err(write_err)?;
    let general = [
        "第1行为表头，请勿修改表头文字和列的顺序（表头后可带单位，如“缴存基数(元)”）；数据从第2行开始，空行会被忽略。"
            .to_owned(),
        format!("姓名最多{MAX_NAME_CHARS}个字符；金额单位为元，最多两位小数，不超过{MAX_AMOUNT}元。"),
        if kind == ListKind::BackPayment {
            format!("补缴起止年月之间（含两端）最多{MAX_BACK_PAYMENT_MONTHS}个月。")
        } else {
            "同一个人在一个文件中只能出现一次。".to_owned()
        },
        format!("一个文件最多{MAX_ROWS}行数据；可上传 .xlsx（读取第一个工作表）或 .csv（UTF-8 或 GBK 编码）。"),
        "任何一行不符合要求时，整个文件不予受理，系统会列出全部有误的行、列和原因，改正后重新上传。".to_owned(),
    ];
    for line in &general {
        ws.write_string_with_format(r, 1, line, &st.wrap)
            .map_err(write_err)?;
        r += 1;
    }
    r += 1;
    ws.write_string_with_format(r, 0, "示例行", &st.bold)
        .map_err(write_err)?;
    r += 1;
    for (c, f) in fields.iter().enumerate() {
        let col = col_num(c)?;
        ws.write_string_with_format(r, col, f.header_zh(), &st.header)
            .map_err(write_err)?;
        ws.write_string(r + 1, col, f.example())
            .map_err(write_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_guard_blocks_formulas_but_not_numbers() {
        assert_eq!(guard("=1+1"), "'=1+1");
        assert_eq!(guard("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(guard("-2+3"), "'-2+3");
        assert_eq!(guard("-5.5"), "-5.5");
        assert_eq!(guard("+1"), "+1");
        assert_eq!(guard("张三"), "张三");
        assert_eq!(guard("-"), "'-");
    }

    #[test]
    fn widths_count_cjk_double_and_stay_bounded() {
        let mut t = Table::new("s", ["个人账号", "x"]);
        t.rows.push(vec![
            Cell::Text("a".repeat(100)),
            Cell::Money(Fen::new(123_456_789)),
        ]);
        assert_eq!(column_widths(&t), vec![60, 15]);
        assert_eq!(display_width("姓名ab"), 6);
    }

    #[test]
    fn money_numbers_come_from_the_decimal_text() {
        assert_eq!(
            money_number(Fen::new(500_050)).unwrap().to_string(),
            "5000.5"
        );
        assert_eq!(money_number(Fen::new(-5)).unwrap().to_string(), "-0.05");
    }
}
