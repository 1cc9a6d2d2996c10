#![allow(clippy::unwrap_used)]
//! A full-size remittance list (the benchmark's input) reads completely.

mod common;

use anju_sheets::{Format, ListKind, Rows, read_list, sample_rows_xlsx};
use common::account;

#[test]
fn reads_a_ten_thousand_row_remittance_xlsx() {
    const N: u64 = 10_000;
    let rows: Vec<Vec<String>> = (0..N)
        .map(|i| {
            vec![
                account(i),
                format!("职工{i:05}"),
                format!("{}.{:02}", 3000 + i % 20_000, i % 100),
            ]
        })
        .collect();
    let bytes = sample_rows_xlsx(ListKind::Remittance, &rows).unwrap();
    let Rows::Remittance(read) = read_list(ListKind::Remittance, Format::Xlsx, &bytes).unwrap()
    else {
        panic!("wrong kind")
    };
    assert_eq!(read.len(), 10_000);
    assert_eq!(read[9_999].account_no, account(9_999));
    assert_eq!(read[9_999].base.plain(), "12999.99");
}

#[test]
fn more_than_the_row_limit_is_refused() {
    use anju_sheets::{MAX_ROWS, SheetError};
    let mut text = String::from("个人账号,姓名,缴存基数\n");
    for i in 0..=MAX_ROWS {
        text.push_str(&account(u64::try_from(i).unwrap()));
        text.push_str(",张三,5000\n");
    }
    assert_eq!(
        read_list(ListKind::Remittance, Format::Csv, text.as_bytes()),
        Err(SheetError::TooManyRows { max: MAX_ROWS })
    );
}
