//! Reading an uploaded list: decode the file into rows of [`RawCell`]s, check the header,
//! validate every data row.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};

use crate::Format;
use crate::error::{RowError, SheetError};
use crate::kind::{Field, ListKind};
use crate::rows::{BackPaymentRow, BaseAdjustmentRow, RemittanceRow, RosterRow, Rows};
use crate::rules::{self, MAX_BACK_PAYMENT_MONTHS, RawCell, RawKind};

/// The most data rows one upload may hold.
pub const MAX_ROWS: usize = 200_000;

/// Reads a list of `kind` from the bytes of an uploaded file.
///
/// The first non-empty row is the header: the list's fixed Chinese headers in order
/// (or their English aliases, any case), a unit suffix such as `(元)` / `（元）` ignored,
/// trailing empty columns ignored. Fully empty rows are skipped; cells are trimmed. Row
/// numbers in errors are spreadsheet rows (header = row 1). Any bad cell refuses the
/// whole file with every bad cell listed; a file without data rows is [`SheetError::Empty`].
///
/// For xlsx the first worksheet is read. For CSV the bytes may be UTF-8 (with or without
/// BOM) or, when they are not valid UTF-8, GB18030 (a superset of GBK, as Chinese Excel
/// saves "CSV (逗号分隔)").
pub fn read_list(kind: ListKind, format: Format, bytes: &[u8]) -> Result<Rows, SheetError> {
    let mut v = Validator::new(kind);
    match format {
        Format::Xlsx => read_xlsx(bytes, &mut v)?,
        Format::Csv => read_csv(bytes, &mut v)?,
    }
    v.finish()
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const CFB_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

fn not_readable(reason: impl Into<String>) -> SheetError {
    SheetError::NotReadable {
        reason: reason.into(),
    }
}

fn read_xlsx(bytes: &[u8], v: &mut Validator) -> Result<(), SheetError> {
    if bytes.starts_with(CFB_MAGIC) {
        return Err(not_readable(
            "这是旧版 .xls 或加密的 Excel 文件；请去掉密码并另存为 .xlsx 后上传",
        ));
    }
    if !bytes.starts_with(ZIP_MAGIC) {
        return Err(not_readable("不是 .xlsx 文件（内容不是 Excel 工作簿）"));
    }
    let mut book = Xlsx::new(Cursor::new(bytes))
        .map_err(|e| not_readable(format!("不是有效的 .xlsx 文件（{e}）")))?;
    let range = match book.worksheet_range_at(0) {
        None => return Err(not_readable("工作簿中没有工作表")),
        Some(r) => r.map_err(|e| not_readable(format!("第一个工作表无法读取（{e}）")))?,
    };
    let Some((row0, col0)) = range.start() else {
        return Ok(());
    };
    v.col_offset = col0 as usize;
    for (i, row) in range.rows().enumerate() {
        let cells = row.iter().map(raw_from_data).collect();
        v.row(row0 as usize + i + 1, cells)?;
    }
    Ok(())
}

/// A calamine cell as a [`RawCell`]: numbers formatted to their shortest decimal text
/// (Rust's `Display` for `f64` never uses an exponent), dates as year/month/day.
fn raw_from_data(d: &Data) -> RawCell {
    let number = |text: String| RawCell {
        text,
        kind: RawKind::Number,
    };
    match d {
        Data::Empty => RawCell::text(""),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => RawCell::text(s),
        Data::Int(i) => number(i.to_string()),
        Data::Float(f) => number(float_text(*f)),
        Data::Bool(b) => RawCell::text(if *b { "TRUE" } else { "FALSE" }),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, m, day, ..) = dt.to_ymd_hms_milli();
            RawCell {
                text: format!("{y:04}-{m:02}-{day:02}"),
                kind: RawKind::Date(i32::from(y), i32::from(m), i32::from(day)),
            }
        }
        Data::DateTime(dt) => number(float_text(dt.as_f64())),
        Data::Error(e) => RawCell::text(&e.to_string()),
    }
}

/// The shortest decimal text that reads back as `f` (`5000.5`, `33080000000001`).
fn float_text(f: f64) -> String {
    if f.is_finite() {
        format!("{f}")
    } else {
        "#NUM!".to_owned()
    }
}

/// Decodes CSV bytes: UTF-8 (BOM stripped) or else GB18030.
fn decode_csv(bytes: &[u8]) -> Result<Cow<'_, str>, SheetError> {
    let body = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    if body.starts_with(ZIP_MAGIC) {
        return Err(not_readable(
            "这是 .xlsx 文件，不是 CSV 文件；请按 .xlsx 上传",
        ));
    }
    if body.starts_with(CFB_MAGIC) {
        return Err(not_readable("这是旧版 .xls 文件，不是 CSV 文件"));
    }
    if body.starts_with(b"\xFF\xFE") || body.starts_with(b"\xFE\xFF") {
        return Err(not_readable(
            "文件是 UTF-16（Unicode 文本）编码；请在 Excel 中另存为“CSV (逗号分隔)”或“CSV UTF-8”",
        ));
    }
    match std::str::from_utf8(body) {
        Ok(s) => Ok(Cow::Borrowed(s)),
        Err(_) => encoding_rs::GB18030
            .decode_without_bom_handling_and_without_replacement(body)
            .ok_or_else(|| not_readable("文件既不是 UTF-8 也不是 GBK/GB18030 编码的文本")),
    }
}

/// Undoes [`write_csv`](crate::write_csv)'s guard against formula injection: a leading
/// apostrophe before `=`, `+`, `-`, `@`, tab or CR.
fn unguard(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => text,
    }
}

fn read_csv(bytes: &[u8], v: &mut Validator) -> Result<(), SheetError> {
    let text = decode_csv(bytes)?;
    for (i, record) in CsvRecords::new(&text).enumerate() {
        let cells = record
            .iter()
            .map(|c| RawCell::text(unguard(rules::trim_cell(c))))
            .collect();
        v.row(i + 1, cells)?;
    }
    Ok(())
}

/// Splits CSV text into records the way Excel opens it, so that record *n* is
/// spreadsheet row *n*: a blank line is an (empty) row, a quoted cell may hold line
/// breaks and `""` for a quote, a quote that does not open a cell is literal, and a
/// record ends at CRLF, LF or CR outside quotes. An unterminated quote runs to the end.
struct CsvRecords<'a> {
    rest: &'a str,
}

impl<'a> CsvRecords<'a> {
    fn new(text: &'a str) -> CsvRecords<'a> {
        CsvRecords { rest: text }
    }
}

impl Iterator for CsvRecords<'_> {
    type Item = Vec<String>;

    fn next(&mut self) -> Option<Vec<String>> {
        if self.rest.is_empty() {
            return None;
        }
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut in_quotes = false;
        let mut at_start = true;
        let mut chars = self.rest.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if in_quotes {
                if c == '"' {
                    if chars.next_if(|&(_, n)| n == '"').is_some() {
                        field.push('"');
                    } else {
                        in_quotes = false;
                    }
                } else {
                    field.push(c);
                }
                continue;
            }
            match c {
                '"' if at_start => {
                    in_quotes = true;
                    at_start = false;
                }
                ',' => {
                    fields.push(std::mem::take(&mut field));
                    at_start = true;
                }
                '\r' | '\n' => {
                    let crlf = c == '\r' && chars.next_if(|&(_, n)| n == '\n').is_some();
                    let end = i + if crlf { 2 } else { 1 };
                    self.rest = &self.rest[end..];
                    fields.push(field);
                    return Some(fields);
                }
                _ => {
                    field.push(c);
                    at_start = false;
                }
            }
        }
        self.rest = "";
        fields.push(field);
        Some(fields)
    }
}

/// Normalises a header cell for comparison: no whitespace, no `*` required-markers, no
/// unit suffix in ASCII or full-width parentheses.
fn normalize_header(text: &str) -> String {
    let mut t: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '\u{feff}' | '\u{200b}'))
        .collect();
    if (t.ends_with(')') || t.ends_with('）'))
        && let Some(open) = t.rfind(['(', '（'])
        && open > 0
    {
        t.truncate(open);
    }
    t.trim_matches('*').to_owned()
}

/// An English alias in comparable form: lower case, without `_`, `-`.
fn alias_key(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

fn header_matches(field: Field, cell: &str) -> bool {
    let norm = normalize_header(cell);
    norm == field.header_zh() || alias_key(&norm) == alias_key(field.alias())
}

/// Checks rows as they arrive and builds the typed rows.
struct Validator {
    kind: ListKind,
    header_seen: bool,
    /// The sheet column of the first cell (0 for CSV), for naming cells beyond the header.
    col_offset: usize,
    data_rows: usize,
    errors: Vec<RowError>,
    accounts: HashMap<String, usize>,
    ids: HashMap<String, usize>,
    out: Rows,
}

impl Validator {
    fn new(kind: ListKind) -> Validator {
        let out = match kind {
            ListKind::Roster => Rows::Roster(Vec::new()),
            ListKind::Remittance => Rows::Remittance(Vec::new()),
            ListKind::BaseAdjustment => Rows::BaseAdjustment(Vec::new()),
            ListKind::BackPayment => Rows::BackPayment(Vec::new()),
        };
        Validator {
            kind,
            header_seen: false,
            col_offset: 0,
            data_rows: 0,
            errors: Vec::new(),
            accounts: HashMap::new(),
            ids: HashMap::new(),
            out,
        }
    }

    /// One spreadsheet row (1-based number).
    fn row(&mut self, row: usize, cells: Vec<RawCell>) -> Result<(), SheetError> {
        if cells.iter().all(RawCell::is_empty) {
            return Ok(());
        }
        if !self.header_seen {
            self.header_seen = true;
            return self.header(&cells);
        }
        self.data_rows += 1;
        if self.data_rows > MAX_ROWS {
            return Err(SheetError::TooManyRows { max: MAX_ROWS });
        }
        self.data(row, cells);
        Ok(())
    }

    fn header(&self, cells: &[RawCell]) -> Result<(), SheetError> {
        let used = cells
            .iter()
            .rposition(|c| !c.is_empty())
            .map_or(0, |i| i + 1);
        let found = &cells[..used];
        let fields = self.kind.fields();
        let ok = found.len() == fields.len()
            && fields
                .iter()
                .zip(found)
                .all(|(f, c)| header_matches(*f, &c.text));
        if ok {
            Ok(())
        } else {
            Err(SheetError::BadHeader {
                expected: fields.iter().map(|f| f.header_zh().to_owned()).collect(),
                found: found.iter().map(|c| c.text.clone()).collect(),
            })
        }
    }

    fn push_error(&mut self, row: usize, column: &str, cell: &RawCell, rule: String) {
        self.errors.push(RowError {
            row,
            column: column.to_owned(),
            value: cell.text.clone(),
            rule,
        });
    }

    /// Applies a rule to a field's cell, recording the error.
    fn check<T>(
        &mut self,
        row: usize,
        field: Field,
        cells: &[RawCell],
        rule: fn(&RawCell) -> Result<T, String>,
    ) -> Option<T> {
        let cell = self.cell(field, cells);
        match rule(cell) {
            Ok(v) => Some(v),
            Err(rule) => {
                let cell = cell.clone();
                self.push_error(row, field.header_zh(), &cell, rule);
                None
            }
        }
    }

    fn cell<'c>(&self, field: Field, cells: &'c [RawCell]) -> &'c RawCell {
        static EMPTY: RawCell = RawCell {
            text: String::new(),
            kind: RawKind::Text,
        };
        self.kind
            .fields()
            .iter()
            .position(|f| *f == field)
            .and_then(|i| cells.get(i))
            .unwrap_or(&EMPTY)
    }

    /// An account number, refused when an earlier row has it.
    fn account(&mut self, row: usize, cells: &[RawCell]) -> Option<String> {
        let acc = self.check(row, Field::AccountNo, cells, rules::account_no)?;
        match self.accounts.entry(acc.clone()) {
            Entry::Occupied(first) => {
                let rule = format!("个人账号与第{}行重复", first.get());
                let cell = self.cell(Field::AccountNo, cells).clone();
                self.push_error(row, Field::AccountNo.header_zh(), &cell, rule);
                None
            }
            Entry::Vacant(slot) => {
                slot.insert(row);
                Some(acc)
            }
        }
    }

    /// An ID number, refused when an earlier row has it.
    fn id_card(&mut self, row: usize, cells: &[RawCell]) -> Option<anju_domain::ids::IdCard> {
        let id = self.check(row, Field::IdNumber, cells, rules::id_card)?;
        match self.ids.entry(id.as_str().to_owned()) {
            Entry::Occupied(first) => {
                let rule = format!("身份证号码与第{}行重复", first.get());
                let cell = self.cell(Field::IdNumber, cells).clone();
                self.push_error(row, Field::IdNumber.header_zh(), &cell, rule);
                None
            }
            Entry::Vacant(slot) => {
                slot.insert(row);
                Some(id)
            }
        }
    }

    fn data(&mut self, row: usize, cells: Vec<RawCell>) {
        match self.kind {
            ListKind::Roster => {
                let id_card = self.id_card(row, &cells);
                let name = self.check(row, Field::Name, &cells, rules::name);
                let wage = self.check(row, Field::Wage, &cells, rules::amount);
                if let (Rows::Roster(out), Some(id_card), Some(name), Some(wage)) =
                    (&mut self.out, id_card, name, wage)
                {
                    out.push(RosterRow {
                        id_card,
                        name,
                        wage,
                    });
                }
            }
            ListKind::Remittance => {
                let account_no = self.account(row, &cells);
                let name = self.check(row, Field::Name, &cells, rules::name);
                let base = self.check(row, Field::Base, &cells, rules::amount);
                if let (Rows::Remittance(out), Some(account_no), Some(name), Some(base)) =
                    (&mut self.out, account_no, name, base)
                {
                    out.push(RemittanceRow {
                        account_no,
                        name,
                        base,
                    });
                }
            }
            ListKind::BaseAdjustment => {
                let account_no = self.account(row, &cells);
                let id_card = self.id_card(row, &cells);
                let name = self.check(row, Field::Name, &cells, rules::name);
                let wage = self.check(row, Field::Wage, &cells, rules::amount);
                if let (
                    Rows::BaseAdjustment(out),
                    Some(account_no),
                    Some(id_card),
                    Some(name),
                    Some(wage),
                ) = (&mut self.out, account_no, id_card, name, wage)
                {
                    out.push(BaseAdjustmentRow {
                        account_no,
                        id_card,
                        name,
                        wage,
                    });
                }
            }
            ListKind::BackPayment => {
                let account_no = self.account(row, &cells);
                let name = self.check(row, Field::Name, &cells, rules::name);
                let from = self.check(row, Field::FromMonth, &cells, rules::month);
                let mut to = self.check(row, Field::ToMonth, &cells, rules::month);
                if let (Some(f), Some(t)) = (from, to) {
                    let months = f.months_until(t) + 1;
                    let rule = if t < f {
                        Some(format!("补缴终止年月早于起始年月 {f}"))
                    } else if months > MAX_BACK_PAYMENT_MONTHS {
                        Some(format!(
                            "补缴期间为{months}个月，一次最多{MAX_BACK_PAYMENT_MONTHS}个月"
                        ))
                    } else {
                        None
                    };
                    if let Some(rule) = rule {
                        let cell = self.cell(Field::ToMonth, &cells).clone();
                        self.push_error(row, Field::ToMonth.header_zh(), &cell, rule);
                        to = None;
                    }
                }
                let base = self.check(row, Field::Base, &cells, rules::amount);
                if let (
                    Rows::BackPayment(out),
                    Some(account_no),
                    Some(name),
                    Some(from),
                    Some(to),
                    Some(base),
                ) = (&mut self.out, account_no, name, from, to, base)
                {
                    out.push(BackPaymentRow {
                        account_no,
                        name,
                        from,
                        to,
                        base,
                    });
                }
            }
        }
        let width = self.kind.fields().len();
        for (i, cell) in cells.iter().enumerate().skip(width) {
            if !cell.is_empty() {
                let column = format!("第{}列", self.col_offset + i + 1);
                let rule = format!(
                    "表头之外的列不应填写内容（{}只有{width}列）",
                    self.kind.name_zh()
                );
                self.push_error(row, &column, cell, rule);
            }
        }
    }

    fn finish(self) -> Result<Rows, SheetError> {
        if !self.errors.is_empty() {
            Err(SheetError::Rows(self.errors))
        } else if self.data_rows == 0 {
            Err(SheetError::Empty)
        } else {
            Ok(self.out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_accept_suffixes_aliases_and_spacing() {
        assert!(header_matches(Field::Wage, "上年月平均工资(元)"));
        assert!(header_matches(Field::Base, "缴存基数（元）"));
        assert!(header_matches(Field::Name, "姓　名"));
        assert!(header_matches(Field::Name, "*姓名"));
        assert!(header_matches(Field::IdNumber, "ID_Number"));
        assert!(header_matches(Field::AccountNo, "Account-No"));
        assert!(header_matches(Field::FromMonth, "FROM_MONTH"));
        assert!(!header_matches(Field::Name, "名字"));
        assert!(!header_matches(Field::Name, "(元)"));
        assert!(!header_matches(Field::Base, "基数"));
    }

    #[test]
    fn csv_decoding_prefers_utf8_then_gb18030() {
        assert_eq!(decode_csv("\u{feff}姓名".as_bytes()).unwrap(), "姓名");
        let (gbk, _, _) = encoding_rs::GB18030.encode("姓名,张三");
        assert_eq!(decode_csv(&gbk).unwrap(), "姓名,张三");
        assert!(matches!(
            decode_csv(b"PK\x03\x04rest"),
            Err(SheetError::NotReadable { .. })
        ));
        assert!(matches!(
            decode_csv(b"\xFF\xFEa\x00"),
            Err(SheetError::NotReadable { .. })
        ));
    }

    #[test]
    fn floats_print_without_exponent() {
        assert_eq!(float_text(3.3080000000001e13), "33080000000001");
        assert_eq!(float_text(5000.5), "5000.5");
        assert_eq!(float_text(8000.0), "8000");
        assert_eq!(float_text(f64::NAN), "#NUM!");
    }

    #[test]
    fn csv_records_follow_excel_rows() {
        let rec = |t: &str| CsvRecords::new(t).collect::<Vec<_>>();
        assert_eq!(
            rec("a,b\r\n\r\n\"x\ny\",\"q\"\"\"\nlast"),
            vec![
                vec!["a".to_owned(), "b".to_owned()],
                vec![String::new()],
                vec!["x\ny".to_owned(), "q\"".to_owned()],
                vec!["last".to_owned()],
            ]
        );
        assert_eq!(
            rec("a\rb\n"),
            vec![vec!["a".to_owned()], vec!["b".to_owned()]]
        );
        assert_eq!(rec("5\"1,x"), vec![vec!["5\"1".to_owned(), "x".to_owned()]]);
        assert_eq!(rec(",\n"), vec![vec![String::new(), String::new()]]);
        assert!(rec("").is_empty());
    }

    #[test]
    fn apostrophe_guard_is_undone() {
        assert_eq!(unguard("'=1+1"), "=1+1");
        assert_eq!(unguard("'abc"), "'abc");
        assert_eq!(unguard("abc"), "abc");
    }
}
