//! Importing the lists units upload (.xlsx or .csv, read by `anju-sheets`): the roster of
//! new members (职工花名册), a month's remittance list (汇缴清册), the base-adjustment list
//! (基数调整清册) and the back-payment list (补缴清册). Every bad row is reported — the
//! file's own problems (headers, cell formats) and the rules checked against the centre's
//! records — with its spreadsheet row number (the header is row 1), and nothing is written
//! when any row is bad.

use anju_domain::calendar::BusinessCalendar;
use anju_domain::collection::{UnitStatus, YearMonth, check_base, remittance_due};
use anju_domain::money::Fen;
use anju_domain::policy::Policy;
use anju_domain::stamp::Stamp;
use anju_sheets::{Format, ListKind, Rows, SheetError, read_list};
use anju_store::Store;
use anju_store::collection::{BillKind, BillLineRow, BillRow, BillStatus};
use jiff::Timestamp;

use crate::ledger::lock_centre;
use crate::registry::{AdjustedBase, BaseAdjustment, NewMember, adjust_bases, open_member_in};
use crate::remittance::{BackPayLine, BaseInput, Bill, back_payment_bill};
use crate::{AppError, RowProblem};

/// Spreadsheet row of the list's `i`-th data row (0-based): the header is row 1.
fn sheet_row(i: usize) -> usize {
    i + 2
}

fn problem(row: usize, field: &str, value: &str, rule: impl Into<String>) -> RowProblem {
    RowProblem {
        row,
        field: field.to_owned(),
        value: value.to_owned(),
        rule: rule.into(),
    }
}

/// Turns a file-level problem into the application error.
pub fn sheet_error(e: SheetError) -> AppError {
    match e {
        SheetError::Rows(rows) => AppError::Rows {
            problems: rows
                .into_iter()
                .map(|r| RowProblem {
                    row: r.row,
                    field: r.column.clone(),
                    value: r.shown_value(),
                    rule: r.rule,
                })
                .collect(),
        },
        other => AppError::Invalid {
            field: "file",
            value: String::new(),
            rule: other.to_string(),
        },
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    /// Members opened from a roster: (account number, name, base, notice).
    Roster(Vec<(String, String, Fen, Option<String>)>),
    /// A draft remittance bill made from the list (the unit confirms it).
    Remittance(Bill),
    /// Bases adjusted.
    BaseAdjustment(Vec<AdjustedBase>),
    /// A confirmed back-payment bill.
    BackPayment(Bill),
}

/// Where an import goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportTarget {
    /// The unit uploading.
    pub unit_no: String,
    /// For a remittance list: the month.
    pub month: Option<YearMonth>,
    /// For a base-adjustment list: the contribution year (from July 1).
    pub year: Option<i16>,
}

/// Reads and applies one uploaded list (see the module docs).
#[allow(clippy::too_many_arguments)]
pub fn import_list(
    store: &dyn Store,
    centre: &str,
    policy: &Policy,
    calendar: &BusinessCalendar,
    kind: ListKind,
    format: Format,
    bytes: &[u8],
    target: &ImportTarget,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<Imported, AppError> {
    let rows = read_list(kind, format, bytes).map_err(sheet_error)?;
    match rows {
        Rows::Roster(rows) => {
            let mut tx = store.begin()?;
            let c = lock_centre(tx.as_mut(), centre)?;
            let mut problems = Vec::new();
            let mut opened = Vec::new();
            for (i, r) in rows.into_iter().enumerate() {
                let masked = r.id_card.masked();
                let res = open_member_in(
                    tx.as_mut(),
                    &c,
                    policy,
                    NewMember {
                        id_card: r.id_card,
                        name: r.name,
                        unit_no: target.unit_no.clone(),
                        wage: r.wage,
                    },
                    stamp,
                    now,
                );
                match res {
                    Ok((m, notice)) => {
                        opened.push((m.account_no, m.name, m.base, notice.map(|n| n.to_string())))
                    }
                    Err(AppError::Invalid { field, rule, .. }) => {
                        problems.push(problem(sheet_row(i), field, &masked, rule));
                    }
                    Err(other) => return Err(other),
                }
            }
            if !problems.is_empty() {
                return Err(AppError::Rows { problems });
            }
            tx.commit()?;
            Ok(Imported::Roster(opened))
        }
        Rows::Remittance(rows) => {
            let month = target.month.ok_or_else(|| AppError::Invalid {
                field: "month",
                value: String::new(),
                rule: "a remittance list is for one month: give the month".to_owned(),
            })?;
            remittance_from_list(
                store,
                centre,
                policy,
                calendar,
                &target.unit_no,
                month,
                &rows,
            )
            .map(Imported::Remittance)
        }
        Rows::BaseAdjustment(rows) => {
            let year = target.year.ok_or_else(|| AppError::Invalid {
                field: "year",
                value: String::new(),
                rule: "a base-adjustment list is for one contribution year: give the year"
                    .to_owned(),
            })?;
            let list: Vec<BaseAdjustment> = rows
                .iter()
                .map(|r| BaseAdjustment {
                    account_no: r.account_no.clone(),
                    wage: r.wage,
                })
                .collect();
            // The person named must be the account's holder.
            {
                let mut tx = store.begin_read()?;
                let mut problems = Vec::new();
                for (i, r) in rows.iter().enumerate() {
                    if let Some(m) = tx.member(centre, &r.account_no)?
                        && m.id_number != r.id_card.as_str()
                    {
                        problems.push(problem(
                            sheet_row(i),
                            "身份证号码",
                            &r.id_card.masked(),
                            format!(
                                "does not match the holder of personal account {}",
                                r.account_no
                            ),
                        ));
                    }
                }
                if !problems.is_empty() {
                    return Err(AppError::Rows { problems });
                }
            }
            adjust_bases(
                store,
                centre,
                policy,
                &target.unit_no,
                year,
                &list,
                stamp,
                now,
            )
            .map(Imported::BaseAdjustment)
            .map_err(|e| match e {
                AppError::Rows { problems } => AppError::Rows {
                    problems: problems
                        .into_iter()
                        .map(|p| RowProblem {
                            row: p.row + 1,
                            ..p
                        })
                        .collect(),
                },
                other => other,
            })
        }
        Rows::BackPayment(rows) => {
            let lines: Vec<BackPayLine> = rows
                .iter()
                .map(|r| BackPayLine {
                    account_no: r.account_no.clone(),
                    from: r.from,
                    to: r.to,
                    base: BaseInput::Base(r.base),
                })
                .collect();
            back_payment_bill(store, centre, policy, calendar, &target.unit_no, &lines)
                .map(Imported::BackPayment)
        }
    }
}

/// A draft remittance bill for `month` from the unit's own list: every row must be a
/// contributing member of the unit (name as on record) not yet paid for the month, with a
/// base typed within the floor and cap.
pub fn remittance_from_list(
    store: &dyn Store,
    centre: &str,
    policy: &Policy,
    calendar: &BusinessCalendar,
    unit_no: &str,
    month: YearMonth,
    rows: &[anju_sheets::RemittanceRow],
) -> Result<Bill, AppError> {
    let mut tx = store.begin()?;
    let c = lock_centre(tx.as_mut(), centre)?;
    let unit = tx
        .unit(centre, unit_no)?
        .ok_or_else(|| AppError::NotFound {
            what: format!("unit {unit_no}"),
        })?;
    if !UnitStatus(unit.status).may_remit() {
        return Err(AppError::Invalid {
            field: "unit_no",
            value: unit_no.to_owned(),
            rule: format!("unit is {}; it cannot remit", unit.status.label_zh()),
        });
    }
    if let Some(existing) = tx.remittance_bill(centre, unit_no, month)? {
        return Err(AppError::Invalid {
            field: "month",
            value: month.to_string(),
            rule: format!(
                "unit {unit_no} already has remittance bill {} for this month",
                existing.bill_no
            ),
        });
    }
    if month > YearMonth::of(c.business_date) {
        return Err(AppError::Invalid {
            field: "month",
            value: month.to_string(),
            rule: "is after the business month".to_owned(),
        });
    }
    let rule = policy
        .contribution_on(month.first_day())
        .map_err(|e| AppError::Invalid {
            field: "month",
            value: month.to_string(),
            rule: e.to_string(),
        })?;
    let roster: std::collections::HashMap<String, anju_store::registry::MemberRow> = tx
        .members_of_unit(centre, unit_no)?
        .into_iter()
        .map(|m| (m.account_no.clone(), m))
        .collect();
    let bill_no = crate::remittance::next_bill_no(tx.as_mut(), centre, BillKind::Remittance)?;
    let mut problems = Vec::new();
    let mut lines = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let row = sheet_row(i);
        let Some(m) = roster.get(&r.account_no) else {
            problems.push(problem(
                row,
                "个人账号",
                &r.account_no,
                format!("is not a member of unit {unit_no}"),
            ));
            continue;
        };
        if m.name != r.name {
            problems.push(problem(
                row,
                "姓名",
                &r.name,
                format!("the holder of {} is {}", r.account_no, m.name),
            ));
            continue;
        }
        if m.status != anju_domain::codes::PersonalAccountStatus::Normal {
            problems.push(problem(
                row,
                "个人账号",
                &r.account_no,
                format!(
                    "account is {}; it cannot receive contributions",
                    m.status.label_zh()
                ),
            ));
            continue;
        }
        if m.paid_to.is_some_and(|p| p >= month) {
            problems.push(problem(
                row,
                "个人账号",
                &r.account_no,
                format!(
                    "is already paid up to {}",
                    m.paid_to.map(|p| p.to_string()).unwrap_or_default()
                ),
            ));
            continue;
        }
        let base = match check_base(r.base, rule) {
            Ok(b) => b,
            Err(e) => {
                problems.push(problem(row, "缴存基数", &r.base.plain(), e.to_string()));
                continue;
            }
        };
        let unit_share = base.mul_rate(unit.unit_ratio, rule.rounding);
        let member_share = base.mul_rate(unit.member_ratio, rule.rounding);
        match (unit_share, member_share) {
            (Ok(u), Ok(mm)) => lines.push(BillLineRow {
                bill_no: bill_no.clone(),
                line_no: lines.len() as i64 + 1,
                account_no: m.account_no.clone(),
                name: m.name.clone(),
                month,
                base,
                unit_share: u,
                member_share: mm,
                notice: String::new(),
                paid_entry: None,
            }),
            _ => problems.push(problem(
                row,
                "缴存基数",
                &r.base.plain(),
                "amount out of range",
            )),
        }
    }
    if !problems.is_empty() {
        return Err(AppError::Rows { problems });
    }
    let bill = BillRow {
        bill_no,
        payer: unit_no.to_owned(),
        kind: BillKind::Remittance,
        month,
        status: BillStatus::Draft,
        total: Fen::new(lines.iter().map(|l| l.total().fen()).sum()),
        line_count: lines.len() as i64,
        bank_code: unit.bank_code.clone(),
        due_on: remittance_due(month, unit.payday, rule, calendar).map_err(|e| {
            AppError::Invalid {
                field: "month",
                value: month.to_string(),
                rule: e.to_string(),
            }
        })?,
        created_on: c.business_date,
        confirmed_on: None,
        paid_on: None,
    };
    tx.insert_bill(centre, &bill, &lines)?;
    tx.commit()?;
    Ok(Bill { bill, lines })
}
