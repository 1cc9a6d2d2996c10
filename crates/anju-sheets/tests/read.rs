#![allow(clippy::unwrap_used)]
//! Reading uploaded lists: formats, encodings, headers and row rules.

mod common;

use anju_domain::collection::YearMonth;
use anju_domain::money::Fen;
use anju_sheets::{
    Format, ListKind, RowError, Rows, SheetError, read_list, sample_rows_xlsx, template, write_list,
};
use common::{account, csv, id, rows};
use rust_xlsxwriter::{ExcelDateTime, Format as XFormat, Workbook};

fn yuan(s: &str) -> Fen {
    Fen::parse_yuan(s).unwrap()
}

fn month(s: &str) -> YearMonth {
    YearMonth::parse(s).unwrap()
}

fn row_errors(r: Result<Rows, SheetError>) -> Vec<RowError> {
    match r {
        Err(SheetError::Rows(e)) => e,
        other => panic!("expected row errors, got {other:?}"),
    }
}

#[test]
fn templates_read_back_as_empty() {
    for kind in ListKind::ALL {
        for format in [Format::Xlsx, Format::Csv] {
            let bytes = template(kind, format).unwrap();
            assert_eq!(
                read_list(kind, format, &bytes),
                Err(SheetError::Empty),
                "{kind:?} {format:?}"
            );
        }
    }
    // A blank CSV and a header-only CSV are empty too.
    assert_eq!(
        read_list(ListKind::Remittance, Format::Csv, b""),
        Err(SheetError::Empty)
    );
    assert_eq!(
        read_list(
            ListKind::Remittance,
            Format::Csv,
            &csv(&["个人账号,姓名,缴存基数", ",,"])
        ),
        Err(SheetError::Empty)
    );
}

#[test]
fn xlsx_template_has_the_header_and_an_instructions_sheet() {
    use calamine::{Reader, Xlsx};
    let bytes = template(ListKind::BackPayment, Format::Xlsx).unwrap();
    let mut book = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names(), ["补缴清册", "填写说明"]);
    let first = book.worksheet_range_at(0).unwrap().unwrap();
    assert_eq!(first.height(), 1);
    let header: Vec<String> = first
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(header, ListKind::BackPayment.headers_zh());
    let help = book.worksheet_range("填写说明").unwrap();
    let text: Vec<String> = help.cells().map(|(_, _, c)| c.to_string()).collect();
    assert!(text.iter().any(|t| t.contains("60个月")), "{text:?}");
    assert!(text.iter().any(|t| t == "33080000000001"), "{text:?}");
    assert!(text.iter().any(|t| t.contains("文本格式")), "{text:?}");
}

fn all_kinds_rows() -> Vec<Rows> {
    use anju_sheets::{BackPaymentRow, BaseAdjustmentRow, RemittanceRow, RosterRow};
    let idc = |n| anju_domain::ids::IdCard::parse(&id(n)).unwrap();
    vec![
        Rows::Roster(vec![
            RosterRow {
                id_card: idc(1),
                name: "张三".into(),
                wage: yuan("8000.00"),
            },
            RosterRow {
                id_card: anju_domain::ids::IdCard::parse("11010519491231002X").unwrap(),
                name: "买买提·艾力".into(),
                wage: yuan("1000000.00"),
            },
        ]),
        Rows::Remittance(vec![
            RemittanceRow {
                account_no: account(1),
                name: "李四".into(),
                base: yuan("5000.5"),
            },
            RemittanceRow {
                account_no: "00000000000001".into(),
                name: "=HYPERLINK()".into(),
                base: yuan("0.01"),
            },
        ]),
        Rows::BaseAdjustment(vec![BaseAdjustmentRow {
            account_no: account(2),
            id_card: idc(2),
            name: "王五".into(),
            wage: yuan("12345.67"),
        }]),
        Rows::BackPayment(vec![BackPaymentRow {
            account_no: account(3),
            name: "赵六".into(),
            from: month("202101"),
            to: month("202512"),
            base: yuan("4000"),
        }]),
    ]
}

#[test]
fn written_lists_read_back_as_the_same_rows() {
    for rows in all_kinds_rows() {
        for format in [Format::Xlsx, Format::Csv] {
            let bytes = write_list(&rows, format).unwrap();
            let back = read_list(rows.kind(), format, &bytes).unwrap();
            assert_eq!(back, rows, "{format:?}");
        }
    }
}

#[test]
fn sample_rows_read_back_typed() {
    let bytes = sample_rows_xlsx(
        ListKind::BaseAdjustment,
        &rows(&[
            &[&account(1), &id(1), "张三", "8000"],
            &[&account(2), &id(2).to_lowercase(), " 李四 ", "1,234.5"],
        ]),
    )
    .unwrap();
    let Rows::BaseAdjustment(r) =
        read_list(ListKind::BaseAdjustment, Format::Xlsx, &bytes).unwrap()
    else {
        panic!("wrong kind")
    };
    assert_eq!(r.len(), 2);
    assert_eq!(r[1].name, "李四");
    assert_eq!(r[1].wage, yuan("1234.50"));
    assert_eq!(r[1].id_card.as_str(), id(2));
}

#[test]
fn csv_in_gb18030_is_decoded() {
    let text = format!(
        "身份证号码,姓名,上年月平均工资(元)\r\n{},欧阳娜娜,6500.00\r\n{},𠮷野家,7000\r\n",
        id(7),
        id(8)
    );
    let (bytes, _, unmappable) = encoding_rs::GB18030.encode(&text);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the test file must not be UTF-8"
    );
    let Rows::Roster(r) = read_list(ListKind::Roster, Format::Csv, &bytes).unwrap() else {
        panic!("wrong kind")
    };
    assert_eq!(r[0].name, "欧阳娜娜");
    assert_eq!(r[1].name, "𠮷野家");
    assert_eq!(r[1].wage, yuan("7000"));
    // Plain GBK (what older Excel writes) is the same bytes for these characters.
    let plain = text.replace('𠮷', "吉");
    let (gbk, _, _) = encoding_rs::GBK.encode(&plain);
    assert!(read_list(ListKind::Roster, Format::Csv, &gbk).is_ok());
    // Bytes that are neither are refused as unreadable, not as a bad header.
    assert!(matches!(
        read_list(ListKind::Roster, Format::Csv, b"\xff\xff\xff,\x80\n"),
        Err(SheetError::NotReadable { .. })
    ));
}

#[test]
fn utf8_bom_is_stripped() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(csv(&[
        "个人账号,姓名,缴存基数",
        &format!("{},张三,5000", account(1)),
    ]));
    let Rows::Remittance(r) = read_list(ListKind::Remittance, Format::Csv, &bytes).unwrap() else {
        panic!("wrong kind")
    };
    assert_eq!(r[0].account_no, account(1));
    assert_eq!(r[0].base, yuan("5000"));
}

#[test]
fn numeric_cells_become_exact_text() {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    for (c, h) in ListKind::BaseAdjustment.headers_zh().iter().enumerate() {
        ws.write_string(0, u16::try_from(c).unwrap(), *h).unwrap();
    }
    // Account typed as a number (Excel shows 3.308E+13), wage typed as 5000.5.
    ws.write_number(1, 0, 33_080_000_000_001_f64).unwrap();
    ws.write_string(1, 1, id(1)).unwrap();
    ws.write_string(1, 2, "张三").unwrap();
    ws.write_number(1, 3, 5000.5).unwrap();
    // An integer wage, and one with more than two decimals.
    ws.write_number(2, 0, 33_080_000_000_002_f64).unwrap();
    ws.write_string(2, 1, id(2)).unwrap();
    ws.write_string(2, 2, "李四").unwrap();
    ws.write_number(2, 3, 8000).unwrap();
    ws.write_number(3, 0, 33_080_000_000_003_f64).unwrap();
    ws.write_string(3, 1, id(3)).unwrap();
    ws.write_string(3, 2, "王五").unwrap();
    ws.write_number(3, 3, 5000.555).unwrap();
    let bytes = book.save_to_buffer().unwrap();

    let errors = row_errors(read_list(ListKind::BaseAdjustment, Format::Xlsx, &bytes));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        (
            errors[0].row,
            errors[0].column.as_str(),
            errors[0].value.as_str()
        ),
        (4, "上年月平均工资", "5000.555")
    );
    assert!(errors[0].rule.contains("两位小数"), "{}", errors[0].rule);

    // Without the bad row the numbers come through exactly.
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    for (c, h) in ["个人账号", "姓名", "缴存基数"].iter().enumerate() {
        ws.write_string(0, u16::try_from(c).unwrap(), *h).unwrap();
    }
    ws.write_number(1, 0, 33_080_000_000_001_f64).unwrap();
    ws.write_string(1, 1, "张三").unwrap();
    ws.write_number(1, 2, 5000.5).unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let Rows::Remittance(r) = read_list(ListKind::Remittance, Format::Xlsx, &bytes).unwrap() else {
        panic!("wrong kind")
    };
    assert_eq!(r[0].account_no, "33080000000001");
    assert_eq!(r[0].base, Fen::new(500_050));
}

#[test]
fn an_id_typed_as_a_number_is_explained() {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    for (c, h) in ListKind::Roster.headers_zh().iter().enumerate() {
        ws.write_string(0, u16::try_from(c).unwrap(), *h).unwrap();
    }
    ws.write_number(1, 0, 110_105_194_912_310_020_f64).unwrap();
    ws.write_string(1, 1, "张三").unwrap();
    ws.write_number(1, 2, 8000).unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let errors = row_errors(read_list(ListKind::Roster, Format::Xlsx, &bytes));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].column, "身份证号码");
    assert!(errors[0].rule.contains("文本格式"), "{}", errors[0].rule);
}

#[test]
fn month_columns_accept_date_cells_and_text() {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    for (c, h) in ListKind::BackPayment.headers_zh().iter().enumerate() {
        ws.write_string(0, u16::try_from(c).unwrap(), *h).unwrap();
    }
    let ym = XFormat::new().set_num_format("yyyy-mm");
    ws.write_string(1, 0, account(1)).unwrap();
    ws.write_string(1, 1, "张三").unwrap();
    ws.write_datetime_with_format(1, 2, ExcelDateTime::from_ymd(2025, 11, 1).unwrap(), &ym)
        .unwrap();
    ws.write_number(1, 3, 202_602).unwrap();
    ws.write_string(1, 4, "4000").unwrap();
    ws.write_string(2, 0, account(2)).unwrap();
    ws.write_string(2, 1, "李四").unwrap();
    ws.write_string(2, 2, "2026年1月").unwrap();
    ws.write_string(2, 3, "2026-03").unwrap();
    ws.write_number(2, 4, 4000).unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let Rows::BackPayment(r) = read_list(ListKind::BackPayment, Format::Xlsx, &bytes).unwrap()
    else {
        panic!("wrong kind")
    };
    assert_eq!((r[0].from, r[0].to), (month("202511"), month("202602")));
    assert_eq!((r[1].from, r[1].to), (month("202601"), month("202603")));
}

#[test]
fn back_payment_periods_are_ordered_and_at_most_60_months() {
    let bytes = csv(&[
        "个人账号,姓名,补缴起始年月,补缴终止年月,缴存基数",
        &format!("{},张三,202101,202512,4000", account(1)),
        &format!("{},李四,202101,202601,4000", account(2)),
        &format!("{},王五,202603,202601,4000", account(3)),
    ]);
    let errors = row_errors(read_list(ListKind::BackPayment, Format::Csv, &bytes));
    let got: Vec<(usize, &str, &str)> = errors
        .iter()
        .map(|e| (e.row, e.column.as_str(), e.value.as_str()))
        .collect();
    assert_eq!(
        got,
        [(3, "补缴终止年月", "202601"), (4, "补缴终止年月", "202601")]
    );
    assert!(errors[0].rule.contains("61个月"), "{}", errors[0].rule);
    assert!(errors[1].rule.contains("早于"), "{}", errors[1].rule);
}

#[test]
fn headers_with_unit_suffix_and_english_aliases_are_accepted() {
    for header in [
        "个人账号,姓名,缴存基数(元)",
        "个人账号,姓名,缴存基数（元）",
        "ACCOUNT_NO,Name,base",
        "account_no,姓名,Base(元)",
        "个人账号,姓名,缴存基数,,,",
    ] {
        let bytes = csv(&[header, &format!("{},张三,5000,,", account(1))]);
        let r = read_list(ListKind::Remittance, Format::Csv, &bytes);
        assert!(
            matches!(r, Ok(Rows::Remittance(ref v)) if v.len() == 1),
            "{header}: {r:?}"
        );
    }
    let bytes = csv(&["ID_NUMBER,NAME,WAGE", &format!("{},张三,5000", id(1))]);
    assert!(read_list(ListKind::Roster, Format::Csv, &bytes).is_ok());
}

#[test]
fn a_wrong_header_lists_expected_and_found() {
    let bytes = csv(&["账号,姓名,基数,备注", &format!("{},张三,5000,", account(1))]);
    let err = read_list(ListKind::Remittance, Format::Csv, &bytes).unwrap_err();
    assert_eq!(
        err,
        SheetError::BadHeader {
            expected: vec!["个人账号".into(), "姓名".into(), "缴存基数".into()],
            found: vec!["账号".into(), "姓名".into(), "基数".into(), "备注".into()],
        }
    );
    assert!(
        err.to_string().contains("个人账号｜姓名｜缴存基数"),
        "{err}"
    );
    // The right columns in the wrong order, or a missing column, are wrong too.
    for header in ["姓名,个人账号,缴存基数", "个人账号,姓名"] {
        let bytes = csv(&[header, "a,b,c"]);
        assert!(matches!(
            read_list(ListKind::Remittance, Format::Csv, &bytes),
            Err(SheetError::BadHeader { .. })
        ));
    }
    // Another list's file is refused by its header.
    let roster = template(ListKind::Roster, Format::Xlsx).unwrap();
    assert!(matches!(
        read_list(ListKind::Remittance, Format::Xlsx, &roster),
        Err(SheetError::BadHeader { .. })
    ));
}

#[test]
fn every_bad_row_is_reported_with_row_column_and_value() {
    let bytes = sample_rows_xlsx(
        ListKind::Roster,
        &rows(&[
            &[&id(1), "张三", "8000"],
            &[&id(2), "", "8000"],
            &[&id(3), "王五", "7000"],
            &["110105194912310021", "赵六", "6000"],
            &[&id(5), "孙七", "abc"],
            &[&id(6), "周八", "9000"],
        ]),
    )
    .unwrap();
    let errors = row_errors(read_list(ListKind::Roster, Format::Xlsx, &bytes));
    let got: Vec<(usize, &str, &str)> = errors
        .iter()
        .map(|e| (e.row, e.column.as_str(), e.value.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (3, "姓名", ""),
            (5, "身份证号码", "110105194912310021"),
            (6, "上年月平均工资", "abc"),
        ]
    );
    assert_eq!(errors[0].rule, "不能为空");
    assert!(
        errors[1].rule.contains("check character"),
        "{}",
        errors[1].rule
    );
    assert_eq!(
        errors[1].to_string(),
        format!(
            "第5行 身份证号码 \"1101**********0021\": {}",
            errors[1].rule
        )
    );
}

#[test]
fn several_bad_cells_in_one_row_are_all_reported_in_column_order() {
    let bytes = csv(&[
        "个人账号,身份证号码,姓名,上年月平均工资",
        "1234,12345,,-1,extra",
    ]);
    let errors = row_errors(read_list(ListKind::BaseAdjustment, Format::Csv, &bytes));
    let cols: Vec<&str> = errors.iter().map(|e| e.column.as_str()).collect();
    assert_eq!(
        cols,
        ["个人账号", "身份证号码", "姓名", "上年月平均工资", "第5列"]
    );
    assert!(errors.iter().all(|e| e.row == 2));
}

#[test]
fn duplicates_name_the_first_row() {
    let bytes = csv(&[
        "个人账号,身份证号码,姓名,上年月平均工资",
        &format!("{},{},张三,5000", account(1), id(1)),
        &format!("{},{},李四,5000", account(2), id(2)),
        &format!("{},{},张三,5000", account(1), id(3)),
        &format!("{},{},李四,5000", account(4), id(2).to_lowercase()),
    ]);
    let errors = row_errors(read_list(ListKind::BaseAdjustment, Format::Csv, &bytes));
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!((errors[0].row, errors[0].column.as_str()), (4, "个人账号"));
    assert_eq!(errors[0].rule, "个人账号与第2行重复");
    assert_eq!(
        (errors[1].row, errors[1].column.as_str()),
        (5, "身份证号码")
    );
    assert_eq!(errors[1].rule, "身份证号码与第3行重复");
}

#[test]
fn amounts_with_more_than_two_decimals_or_out_of_range_are_refused() {
    let bytes = csv(&[
        "个人账号,姓名,缴存基数",
        &format!("{},a,5000.123", account(1)),
        &format!("{},b,0", account(2)),
        &format!("{},c,1000000.01", account(3)),
        &format!("{},d,1000000.00", account(4)),
    ]);
    let errors = row_errors(read_list(ListKind::Remittance, Format::Csv, &bytes));
    let got: Vec<(usize, &str)> = errors.iter().map(|e| (e.row, e.rule.as_str())).collect();
    assert_eq!(
        got,
        [
            (2, "金额最多两位小数（到分）"),
            (3, "金额必须大于0"),
            (4, "金额不能超过1,000,000.00元"),
        ]
    );
}

#[test]
fn blank_rows_are_skipped_and_row_numbers_stay_spreadsheet_rows() {
    // CSV: a blank line and a quoted two-line name (one Excel row) before a bad row.
    let bytes = csv(&[
        "个人账号,姓名,缴存基数",
        "",
        &format!("{},\"张\n三\",5000", account(1)),
        ",,",
        &format!("{},李四,x", account(2)),
    ]);
    let errors = row_errors(read_list(ListKind::Remittance, Format::Csv, &bytes));
    let got: Vec<(usize, &str)> = errors.iter().map(|e| (e.row, e.column.as_str())).collect();
    assert_eq!(got, [(3, "姓名"), (5, "缴存基数")]);

    // xlsx: an empty row between data rows.
    let bytes = sample_rows_xlsx(
        ListKind::Remittance,
        &rows(&[
            &[&account(1), "张三", "5000"],
            &["", "", ""],
            &[&account(2), "李四", "0"],
        ]),
    )
    .unwrap();
    let errors = row_errors(read_list(ListKind::Remittance, Format::Xlsx, &bytes));
    assert_eq!((errors[0].row, errors[0].column.as_str()), (4, "缴存基数"));
}

#[test]
fn unreadable_files_say_why() {
    for (format, bytes) in [
        (Format::Xlsx, b"not a workbook".to_vec()),
        (Format::Xlsx, b"PK\x03\x04broken zip".to_vec()),
        (
            Format::Csv,
            template(ListKind::Remittance, Format::Xlsx).unwrap(),
        ),
    ] {
        let err = read_list(ListKind::Remittance, format, &bytes).unwrap_err();
        assert!(matches!(err, SheetError::NotReadable { .. }), "{err:?}");
        assert!(err.to_string().starts_with("文件无法读取"), "{err}");
    }
}

#[test]
fn a_csv_written_by_excel_with_scientific_account_numbers_is_explained() {
    let bytes = csv(&["个人账号,姓名,缴存基数", "3.308E+13,张三,5000"]);
    let errors = row_errors(read_list(ListKind::Remittance, Format::Csv, &bytes));
    assert!(errors[0].rule.contains("科学计数法"), "{}", errors[0].rule);
}
