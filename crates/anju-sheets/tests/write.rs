#![allow(clippy::unwrap_used)]
//! Writing tables: xlsx layout and CSV bytes.

use std::io::Cursor;

use anju_domain::collection::YearMonth;
use anju_domain::money::Fen;
use anju_sheets::{Cell, SheetError, Table, write_csv, write_xlsx};
use calamine::{Data, Reader, Xlsx};

fn statement() -> Table {
    let mut t = Table::new(
        "汇缴明细",
        ["个人账号", "姓名", "缴存年月", "金额", "笔数", "入账日期"],
    );
    t.title = Some("衢州市住房公积金 汇缴明细（2026年7月）".into());
    t.rows.push(vec![
        Cell::Text("33080000000001".into()),
        Cell::Text("张三".into()),
        Cell::Month(YearMonth::parse("202607").unwrap()),
        Cell::Money(Fen::new(123_456)),
        Cell::Int(1),
        Cell::Date("2026-07-15".parse().unwrap()),
    ]);
    t.rows.push(vec![
        Cell::Text("33080000000002".into()),
        Cell::Text("@李四".into()),
        Cell::Empty,
        Cell::Money(Fen::new(5)),
        Cell::Int(2),
        Cell::Empty,
    ]);
    t.footer.push(vec![
        Cell::Text("合计".into()),
        Cell::Empty,
        Cell::Empty,
        Cell::Money(Fen::new(123_461)),
        Cell::Int(3),
    ]);
    t
}

#[test]
fn xlsx_has_title_header_rows_and_footer_with_numeric_money() {
    let mut other = Table::new("第二张", ["a"]);
    other.rows.push(vec![Cell::Int(9_007_199_254_740_993)]);
    let bytes = write_xlsx(&[statement(), other]).unwrap();
    let mut book = Xlsx::new(Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names(), ["汇缴明细", "第二张"]);
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<&[Data]> = range.rows().collect();
    assert_eq!(rows.len(), 5);
    assert_eq!(
        rows[0][0],
        Data::String("衢州市住房公积金 汇缴明细（2026年7月）".into())
    );
    assert_eq!(rows[1][3], Data::String("金额".into()));
    assert_eq!(rows[2][0], Data::String("33080000000001".into()));
    assert_eq!(rows[2][2], Data::String("2026-07".into()));
    assert_eq!(rows[2][3], Data::Float(1234.56));
    assert_eq!(rows[2][4], Data::Float(1.0));
    let Data::DateTime(date) = rows[2][5] else {
        panic!("not a date cell: {:?}", rows[2][5])
    };
    assert_eq!(date.to_ymd_hms_milli(), (2026, 7, 15, 0, 0, 0, 0));
    assert_eq!(rows[3][3], Data::Float(0.05));
    assert_eq!(rows[4][0], Data::String("合计".into()));
    assert_eq!(rows[4][3], Data::Float(1234.61));
    // Integers beyond 2^53 are written as text rather than rounded.
    let second = book.worksheet_range_at(1).unwrap().unwrap();
    assert_eq!(
        second.rows().nth(1).unwrap()[0],
        Data::String("9007199254740993".into())
    );
}

#[test]
fn xlsx_refuses_a_sheet_name_excel_refuses() {
    let t = Table::new("a/b", ["x"]);
    assert!(matches!(write_xlsx(&[t]), Err(SheetError::Write { .. })));
}

#[test]
fn csv_is_utf8_with_bom_and_plain_money() {
    let bytes = write_csv(&statement()).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    assert_eq!(
        text,
        "个人账号,姓名,缴存年月,金额,笔数,入账日期\r\n\
         33080000000001,张三,202607,1234.56,1,2026-07-15\r\n\
         33080000000002,'@李四,,0.05,2,\r\n\
         合计,,,1234.61,3\r\n"
    );
}
