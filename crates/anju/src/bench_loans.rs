//! `anju bench close-day`: the issue-7 target — the daily loan batch of a centre with
//! 50,000 active loans under 2 s on SQLite. The figures are printed (one JSON line), never
//! asserted.
//!
//! The centre is built on a fresh database (setup, not timed): one member account per
//! borrower holding a provident-fund balance, a loan account `121.<loan>` holding the
//! principal outstanding (the member balances and the loan book are posted through the
//! ledger as opening entries, so `anju audit` passes), each loan's schedule written with
//! `upsert_installments` (every unpaid period and the last 12 paid ones; the batch reads
//! only unpaid rows due by the date, through a partial index), the repayment days as
//! `--due` says — `month`: spread evenly over days 1–28 as in a real loan book (about
//! 1/28 of the loans due on each closed date, plus those behind); `thirds`: a third on
//! each of the three closed dates; `all`: every loan due on the first (the worst case) —
//! half repaying from the provident fund and
//! half by card through `anju bank-sim` (a child process on loopback), and 2 % behind by
//! one to three periods with no money (fund balance 0, card balance 0: they stay overdue
//! and accrue penalty). Then `anju_app::dayclose::close_day` is timed on three consecutive
//! business dates, and the ledger is audited.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anju_app::dayclose::close_day as close;
use anju_app::ledger::{audit_anchored, open_centre, post_batch, set_business_date};
use anju_app::loan::Details;
use anju_app::loan::servicing::Servicing;
use anju_app::settlement::ports::{Bank, BankAnswer, Instruction, Statement, Unreachable};
use anju_app::settlement::{BankSet, NewBank, register_bank};
use anju_bank::sim::ledger::OpenAccount;
use anju_bank::sim::process::BankSimProcess;
use anju_domain::calendar::BusinessCalendar;
use anju_domain::codes::{Channel, PersonalAccountStatus, UnitAccountStatus};
use anju_domain::ledger::{AccountNo, AccountState, EntryRequest, Leg, TxCode};
use anju_domain::loan::{self, Method};
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::{Policy, QUZHOU_POLICY};
use anju_domain::stamp::Stamp;
use anju_store::loan::{InstallmentRow, LoanRow};
use anju_store::registry::{MemberRow, UnitRow};
use anju_store::settlement::CardRow;
use anju_store::{Backend, Store};
use jiff::Timestamp;
use jiff::civil::{Date, date};

use crate::bench::{peak_rss_mb, scratch, seconds};
use crate::drill::{CENTRE, fund_account};

const BANK: &str = "105";
const CENTRE_NAME: &str = "衢州市住房公积金管理中心";
/// The centre opens (and the opening entries are dated) on this day…
const OPENED: Date = date(2026, 1, 5);
/// …and the first closed business date (every loan's repayment day is its day).
const FIRST: Date = date(2026, 11, 20);
/// Consecutive business dates closed.
const DAYS: usize = 3;
/// Paid periods written before the first unpaid one (older ones are left out).
const HISTORY: usize = 12;
/// When the loans of the bench fall due (`anju bench close-day --due`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Due {
    /// Repayment days spread evenly over days 1–28, as in a real loan book.
    Month,
    /// A third of the loans due on each of the three closed dates.
    Thirds,
    /// Every loan due on the first closed date (the worst case).
    All,
}

/// Loans per setup transaction.
const CHUNK: usize = 1_000;
/// Two loans in this many (one repaying by card, one from the fund) are behind.
const OVERDUE_EVERY: usize = 100;
/// A paying fund borrower's balance: 80,000.00 yuan.
const FUND_BALANCE_FEN: i64 = 8_000_000;
/// A card borrower's provident-fund balance: 30,000.00 yuan.
const CARD_MEMBER_BALANCE_FEN: i64 = 3_000_000;
/// A paying card borrower's card balance at the bank: 50,000.00 yuan.
const CARD_BALANCE_FEN: i64 = 5_000_000;

/// Time spent in the bank's calls (submit and status), µs.
#[derive(Debug)]
struct TimedBank {
    inner: Arc<dyn Bank>,
    us: Arc<AtomicU64>,
}

impl TimedBank {
    fn time<T>(&self, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let r = f();
        let us = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.us.fetch_add(us, Ordering::Relaxed);
        r
    }
}

impl Bank for TimedBank {
    fn code(&self) -> &str {
        self.inner.code()
    }
    fn submit(&self, batch: &[Instruction]) -> Vec<Result<BankAnswer, Unreachable>> {
        self.time(|| self.inner.submit(batch))
    }
    fn status(&self, serial: &str) -> Result<BankAnswer, Unreachable> {
        self.time(|| self.inner.status(serial))
    }
    fn balance(&self, account: &str) -> Result<Fen, Unreachable> {
        self.inner.balance(account)
    }
    fn statement(&self, account: &str, date: Date) -> Result<Statement, Unreachable> {
        self.inner.statement(account, date)
    }
}

fn clerk() -> Stamp {
    Stamp {
        operator: "staff:S0001".to_owned(),
        channel: Channel::Counter,
        service_point: "hall-kecheng".to_owned(),
        on_behalf_of: None,
    }
}

fn account_no(i: usize) -> String {
    format!("330800{i:08}")
}

fn card_no(i: usize) -> String {
    format!("6217{i:015}")
}

fn loan_no(i: usize) -> String {
    format!("DK{:012}", i + 1)
}

/// One loan of the fixture and what goes with it.
struct Fixture {
    loan: LoanRow,
    schedule: Vec<InstallmentRow>,
    /// The borrower's provident-fund balance, fen.
    fund_balance: i64,
    /// The card's balance at the bank, fen (card borrowers).
    card_balance: Option<i64>,
}

/// Loan `i`: principal 200,000–790,000 yuan, 10–30 years with 12–72 periods left at
/// [`FIRST`] (a seasoned book), periods due before it paid (but 1–3 of two loans in a
/// hundred), 2.85 % a year. Of the paid periods only the last [`HISTORY`] are written.
fn fixture(i: usize, policy: &Policy, due: Due) -> anyhow::Result<Fixture> {
    let rule = policy.loan_servicing_on(FIRST)?;
    let principal = 20_000_000 + (i as i64 % 60) * 1_000_000;
    let months = [120u32, 180, 240, 300, 360][i % 5];
    let method = if i % 4 == 3 {
        Method::EqualPrincipal
    } else {
        Method::EqualInstallment
    };
    let rate = Rate::parse_percent("2.85")?;
    let repay_day = match due {
        Due::All => FIRST.day(),
        Due::Thirds => FIRST.day() + (i % DAYS) as i8,
        Due::Month => 1 + (i % 28) as i8,
    };
    // A seasoned book: 12-72 periods left.
    let ago = i64::from(months) - 12 - (i as i64 * 7) % 61;
    let disbursed = FIRST
        .checked_sub(jiff::Span::new().months(ago))?
        .with()
        .day(1 + (i % 27) as i8)
        .build()?;
    let first_day = u8::try_from(repay_day)?;
    let rows = loan::schedule(
        Fen::new(principal),
        rate,
        months,
        method,
        Some((disbursed, first_day)),
    )?;
    // Half from the provident fund, half by card — on every repayment day.
    let fund = match due {
        Due::Month => (i / 28).is_multiple_of(2),
        Due::Thirds | Due::All => i.is_multiple_of(2),
    };
    let behind = if i % OVERDUE_EVERY == 7 || i % OVERDUE_EVERY == 32 {
        1 + (i / OVERDUE_EVERY) % 3
    } else {
        0
    };
    let yesterday = FIRST.yesterday()?;
    let past: usize = rows
        .iter()
        .filter(|r| r.due.is_some_and(|d| d < FIRST))
        .count();
    let no = loan_no(i);
    let mut schedule = Vec::with_capacity(rows.len());
    let mut paid_principal = 0;
    let mut oldest_overdue: Option<Date> = None;
    for (k, r) in rows.iter().enumerate() {
        let due = r
            .due
            .ok_or_else(|| anyhow::anyhow!("a schedule row without a due date"))?;
        let mut row = InstallmentRow {
            loan_no: no.clone(),
            period: i32::try_from(r.period)?,
            due,
            principal: r.principal.fen(),
            interest: r.interest.fen(),
            paid_principal: 0,
            paid_interest: 0,
            penalty: 0,
            paid_penalty: 0,
            status: "scheduled".to_owned(),
            paid_on: None,
        };
        if due < FIRST {
            if k + behind < past {
                paid_principal += row.principal;
                if k + behind + HISTORY < past {
                    // Paid long ago: not written (the batch never reads paid rows).
                    continue;
                }
                row.paid_principal = row.principal;
                row.paid_interest = row.interest;
                row.status = "paid".to_owned();
                row.paid_on = Some(due);
            } else {
                // Behind: overdue with the penalty accrued to yesterday's close.
                let days = (yesterday - due).get_days();
                if i64::from(days) > i64::from(rule.grace_days) {
                    row.status = "overdue".to_owned();
                    oldest_overdue = oldest_overdue.or(Some(due));
                    let base = match rule.penalty_base {
                        anju_domain::policy::PenaltyBase::Principal => row.principal,
                        _ => row.principal + row.interest,
                    };
                    row.penalty = loan::penalty(
                        Fen::new(base),
                        rate,
                        rule.penalty_multiplier,
                        u32::try_from(days)?,
                    )?
                    .fen();
                }
            }
        }
        schedule.push(row);
    }
    let overdue_days = oldest_overdue.map_or(0, |d| (yesterday - d).get_days());
    let class = loan::classify(u32::try_from(overdue_days)?, rule);
    let details = Details {
        contract_no: format!("QZ-2026-{i:06}"),
        requested: principal,
        requested_months: months,
        price: Some(principal * 2),
        address: format!("衢州市柯城区安居苑{}幢{}室", i / 100 + 1, 101 + i % 100),
        seller_name: "衢州锦绣置业有限公司".to_owned(),
        seller_account: "33050100000000001234".to_owned(),
        seller_bank: BANK.to_owned(),
        ..Details::default()
    };
    let signed = disbursed.checked_sub(jiff::Span::new().days(3))?;
    let loan = LoanRow {
        loan_no: no,
        application_no: format!("LA{i:08}"),
        account_no: account_no(i),
        id_number: format!("B{i:017}"),
        co_id_number: None,
        co_account_no: None,
        kind: "hpf".to_owned(),
        home: "first".to_owned(),
        bank_code: BANK.to_owned(),
        principal,
        rate_units: rate.units(),
        months: i32::try_from(months)?,
        method: method.code().to_owned(),
        repay_day: i32::from(repay_day),
        deduct_from: if fund { "fund" } else { "card" }.to_owned(),
        card_no: card_no(i),
        status: "active".to_owned(),
        signed_on: Some(signed),
        disbursed_on: Some(disbursed),
        closed_on: None,
        outstanding: principal - paid_principal,
        risk_class: class.code().to_owned(),
        overdue_days,
        details: serde_json::to_string(&details)?,
        business_date: signed,
        created_at_us: Timestamp::now().as_microsecond(),
        updated_at_us: Timestamp::now().as_microsecond(),
        stamp: clerk(),
    };
    let (fund_balance, card_balance) = match (fund, behind > 0) {
        (true, false) => (FUND_BALANCE_FEN, None),
        (true, true) => (0, None),
        (false, false) => (CARD_MEMBER_BALANCE_FEN, Some(CARD_BALANCE_FEN)),
        (false, true) => (CARD_MEMBER_BALANCE_FEN, Some(0)),
    };
    Ok(Fixture {
        loan,
        schedule,
        fund_balance,
        card_balance,
    })
}

/// Builds the centre (see the module doc); returns the bank accounts to seed the bank
/// simulator with and the number of schedule rows written.
fn build(
    store: &dyn Store,
    policy: &Policy,
    loans: usize,
    due: Due,
) -> anyhow::Result<(Vec<OpenAccount>, usize)> {
    let now = Timestamp::now();
    open_centre(store, CENTRE, CENTRE_NAME, OPENED, now)?;
    let fund = fund_account(BANK);
    register_bank(
        store,
        CENTRE,
        &NewBank {
            code: BANK.into(),
            name: "中国建设银行衢州分行".into(),
            fund_account: fund.clone(),
            fund_account_name: CENTRE_NAME.into(),
        },
    )?;
    let unit_no = "330800000001".to_owned();
    {
        let mut tx = store.begin()?;
        tx.insert_unit(
            CENTRE,
            &UnitRow {
                unit_no: unit_no.clone(),
                credit_code: "BENCH0000000000001".to_owned(),
                name: "基准测试单位".to_owned(),
                address: "衢州市".to_owned(),
                legal_rep: "张三".to_owned(),
                payday: 10,
                bank_code: BANK.to_owned(),
                unit_ratio: Rate::from_percent(12),
                member_ratio: Rate::from_percent(12),
                status: UnitAccountStatus::Normal,
                opened_on: OPENED,
            },
        )?;
        tx.insert_accounts(
            CENTRE,
            &[AccountState::open(AccountNo::sub("213", &unit_no)?, OPENED)],
        )?;
        tx.commit()?;
    }
    let bank = AccountNo::sub("101", BANK)?;
    let mut cards = vec![OpenAccount {
        account: fund,
        name: CENTRE_NAME.to_owned(),
        balance_fen: 0,
        frozen: None,
    }];
    let mut rows_written = 0;
    let mut start = 0;
    while start < loans {
        let end = (start + CHUNK).min(loans);
        let fixtures = (start..end)
            .map(|i| fixture(i, policy, due))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut tx = store.begin()?;
        let mut accounts = Vec::with_capacity(2 * fixtures.len());
        for (k, f) in fixtures.iter().enumerate() {
            let i = start + k;
            tx.insert_member(
                CENTRE,
                &MemberRow {
                    account_no: f.loan.account_no.clone(),
                    id_number: f.loan.id_number.clone(),
                    name: format!("职工{i}"),
                    unit_no: Some(unit_no.clone()),
                    base: Fen::new(800_000),
                    status: PersonalAccountStatus::Normal,
                    before_freeze: None,
                    opened_on: OPENED,
                    paid_to: None,
                    flexible_ratio: None,
                },
            )?;
            tx.bind_card(
                CENTRE,
                &CardRow {
                    account_no: f.loan.account_no.clone(),
                    bank_code: BANK.to_owned(),
                    card_no: f.loan.card_no.clone(),
                    holder: format!("职工{i}"),
                    bound_on: OPENED,
                },
            )?;
            accounts.push(AccountState::open(
                AccountNo::sub("201", &f.loan.account_no)?,
                OPENED,
            ));
            accounts.push(AccountState::open(
                AccountNo::sub("121", &f.loan.loan_no)?,
                OPENED,
            ));
            tx.insert_loan(CENTRE, &f.loan)?;
            tx.upsert_installments(CENTRE, &f.schedule)?;
            rows_written += f.schedule.len();
            if let Some(balance) = f.card_balance {
                cards.push(OpenAccount {
                    account: f.loan.card_no.clone(),
                    name: format!("职工{i}"),
                    balance_fen: balance,
                    frozen: None,
                });
            }
        }
        accounts.sort_by(|a, b| a.no.cmp(&b.no));
        tx.insert_accounts(CENTRE, &accounts)?;
        tx.commit()?;
        // The members' balances and the loan book, as opening entries.
        let mut entries = Vec::with_capacity(2 * fixtures.len());
        for f in &fixtures {
            let member = AccountNo::sub("201", &f.loan.account_no)?;
            if f.fund_balance > 0 {
                entries.push(EntryRequest::posted(
                    format!("open:{}", f.loan.account_no),
                    TxCode::OpeningBalance,
                    OPENED,
                    OPENED,
                    vec![
                        Leg::debit(bank.clone(), Fen::new(f.fund_balance)),
                        Leg::credit(member, Fen::new(f.fund_balance)),
                    ],
                    "期初余额",
                    Stamp::system("migration"),
                ));
            }
            entries.push(EntryRequest::posted(
                format!("open-loan:{}", f.loan.loan_no),
                TxCode::OpeningBalance,
                OPENED,
                OPENED,
                vec![
                    Leg::debit(
                        AccountNo::sub("121", &f.loan.loan_no)?,
                        Fen::new(f.loan.outstanding),
                    ),
                    Leg::credit(bank.clone(), Fen::new(f.loan.outstanding)),
                ],
                "期初贷款余额（已放款本金余额）",
                Stamp::system("migration"),
            ));
        }
        post_batch(store, CENTRE, entries, now)?;
        start = end;
    }
    set_business_date(store, CENTRE, FIRST)?;
    Ok((cards, rows_written))
}

/// `anju bench close-day`.
pub fn close_day(backend: Backend, db: Option<&str>, loans: usize, due: Due) -> anyhow::Result<()> {
    anyhow::ensure!(loans > 0, "--loans must be > 0");
    let t_setup = Instant::now();
    let s = scratch(backend, db)?;
    let store = s.store.as_ref();
    let policy = Policy::from_toml(QUZHOU_POLICY)?;
    let (cards, schedule_rows) = build(store, &policy, loans, due)?;
    let dir = tempfile::tempdir()?;
    let accounts_file = dir.path().join("accounts.json");
    std::fs::write(&accounts_file, serde_json::to_vec(&cards)?)?;
    let exe = std::env::current_exe()?;
    let accounts_arg = accounts_file.to_string_lossy().into_owned();
    let sim = BankSimProcess::start(
        &exe,
        &dir.path().join("bank.db"),
        &[
            "--bank",
            BANK,
            "--date",
            &FIRST.to_string(),
            "--accounts",
            &accounts_arg,
        ],
    )?;
    // The simulator prints its address before it has seeded the accounts.
    let admin = sim.admin();
    let waited = Instant::now();
    while !admin.healthy() {
        anyhow::ensure!(
            waited.elapsed().as_secs() < 120,
            "bank-sim not ready after 120 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let bank_us = Arc::new(AtomicU64::new(0));
    let mut banks = BankSet::new();
    banks.insert(Arc::new(TimedBank {
        inner: Arc::new(sim.client()?),
        us: bank_us.clone(),
    }));
    let lenders = anju_app::lending::LenderSet::new();
    let ctx = Servicing {
        store,
        banks: &banks,
        lenders: &lenders,
        centre: CENTRE,
        policy: &policy,
    };
    let calendar = BusinessCalendar::cn()?;
    let stamp = Stamp::system("dayclose");
    let setup_us = t_setup.elapsed().as_micros();

    let mut closes = Vec::with_capacity(DAYS);
    let mut day = FIRST;
    for _ in 0..DAYS {
        bank_us.store(0, Ordering::Relaxed);
        let t = Instant::now();
        let r = close(&ctx, &calendar, day, &stamp, Timestamp::now())?;
        let us = t.elapsed().as_micros();
        let bank = u128::from(bank_us.load(Ordering::Relaxed));
        anyhow::ensure!(!r.already, "{day} was closed before");
        let l = &r.loans;
        closes.push(format!(
            "{{\"date\":\"{day}\",\"loans_due\":{},\"fund_repayments\":{},\"fund_amount\":\"{}\",\"deductions_sent\":{},\"deductions_executed\":{},\"overdue_loans\":{},\"newly_overdue\":{},\"penalty_accrued\":\"{}\",\"reclassified\":{},\"instructions_queried\":{},\"wall_s\":{},\"bank_s\":{},\"anju_s\":{},\"met\":{}}}",
            l.loans_due,
            l.fund_repayments,
            Fen::new(l.fund_amount_fen),
            l.deductions_sent,
            l.deductions_executed,
            l.overdue_loans,
            l.newly_overdue,
            Fen::new(l.penalty_accrued_fen),
            l.reclassified,
            r.instructions_queried,
            seconds(us),
            seconds(bank),
            seconds(us.saturating_sub(bank)),
            us < 2_000_000
        ));
        day = day.tomorrow()?;
    }
    // Closing a closed date again changes nothing.
    let t = Instant::now();
    let again = close(&ctx, &calendar, FIRST, &stamp, Timestamp::now())?;
    let again_us = t.elapsed().as_micros();
    anyhow::ensure!(again.already, "closing {FIRST} again was not idempotent");
    let t = Instant::now();
    let audit = audit_anchored(store, CENTRE, &[])?;
    let audit_us = t.elapsed().as_micros();
    println!(
        "{{\"bench\":\"close-day\",\"backend\":\"{}\",\"loans\":{loans},\"due\":\"{}\",\"schedule_rows\":{schedule_rows},\"closes\":[{}],\"again_s\":{},\"target_s\":2,\"audit_clean\":{},\"audit_entries\":{},\"audit_s\":{},\"setup_s\":{},\"machine\":\"{}\",\"peak_rss_mb\":{}}}",
        backend.name(),
        match due {
            Due::Month => "repayment days spread over days 1-28 of the month",
            Due::Thirds => "a third of the loans on each date",
            Due::All => "every loan on the first date",
        },
        closes.join(","),
        seconds(again_us),
        audit.is_clean(),
        audit.entries,
        seconds(audit_us),
        seconds(setup_us),
        crate::bench_withdraw::machine(),
        peak_rss_mb()
    );
    if !audit.is_clean() {
        eprintln!(
            "audit: {}",
            audit
                .problems
                .first()
                .map(ToString::to_string)
                .unwrap_or_default()
        );
    }
    drop(sim);
    Ok(())
}
