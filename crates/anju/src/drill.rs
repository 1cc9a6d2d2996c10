//! `anju bank-drill`: the settlement fault drill (演练). Against a running `anju bank-sim`
//! (with whatever faults it was started with), it pays thousands of withdrawals to
//! members' cards and collects thousands of remittance bills from units' accounts, with
//! concurrent workers and batches, while receiving the bank's notices on its own callback
//! server. It may be killed at any moment and run again with the same arguments: the
//! fixture is made once, every instruction has a serial derived from its number (a rerun
//! sends only what was never recorded, and asks the bank about everything else), and the
//! drill ends by settling every instruction, reconciling the day, and comparing the bank's
//! balances with Anju's ledger. It prints one JSON line and exits 0 only if every check
//! holds:
//!
//! * every instruction is settled (executed or definitely not), none twice;
//! * the bank executed exactly the instructions Anju shows as executed;
//! * the fund account's balance at the bank equals ledger account `101.<bank>`, each card
//!   holds exactly the payouts executed to it, each unit account lost exactly its
//!   executed collections;
//! * reconciliation finds no difference; `anju audit` is clean; no notice was refused.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anju_app::ledger::{audit, open_centre, post_batch, set_business_date};
use anju_app::remittance::generate_month;
use anju_app::settlement::{self, BankSet, Collection, NewBank, Payout, Settlement, register_bank};
use anju_bank::client::{BankClient, BankSettings};
use anju_bank::sim::admin::AdminClient;
use anju_domain::calendar::BusinessCalendar;
use anju_domain::codes::{PersonalAccountStatus, SettlementBusinessType, UnitAccountStatus};
use anju_domain::collection::YearMonth;
use anju_domain::ledger::{AccountNo, AccountState, EntryRequest, Leg, TxCode};
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::Policy;
use anju_domain::stamp::Stamp;
use anju_store::Store;
use anju_store::registry::{MemberRow, UnitRow};
use anju_store::settlement::{CardRow, UnitBankAccountRow};
use jiff::Timestamp;
use jiff::civil::{Date, date};

use crate::settle::{NoticeState, notice_router};

/// The drill's centre and bank.
pub const CENTRE: &str = "330800000000000";
/// The fund's account at the drill bank.
pub fn fund_account(bank: &str) -> String {
    format!("3305016600000000{bank:0>4}")
}
/// Each member's opening balance.
const OPENING_FEN: i64 = 1_000_000;
/// Each unit account's balance at the bank.
const UNIT_FUNDS_FEN: i64 = 1_000_000_000;
/// The drill's business day.
const DAY: Date = date(2026, 5, 11);

/// `anju bank-drill` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct DrillArgs {
    /// Database URL (sqlite://PATH or postgres://…); made and seeded on the first run.
    #[arg(long)]
    pub db: String,
    /// The bank simulator's base URL.
    #[arg(long)]
    pub bank_url: String,
    /// Bank code the simulator plays.
    #[arg(long, default_value = "105")]
    pub bank: String,
    /// The simulator's secret (ANJU_BANK_SECRET, else the development secret).
    #[arg(long)]
    pub secret: Option<String>,
    /// Where to receive the bank's notices (the simulator's --callback points here,
    /// path /bank/notices).
    #[arg(long, default_value = "127.0.0.1:7190")]
    pub listen: SocketAddr,
    /// Instructions in all: even numbers pay out, odd numbers collect.
    #[arg(long, default_value_t = 10_000)]
    pub count: usize,
    /// Concurrent workers.
    #[arg(long, default_value_t = 8)]
    pub workers: usize,
    /// Instructions per request (a batch payment or collection when above 1).
    #[arg(long, default_value_t = 5)]
    pub batch: usize,
    /// Our timeout for one request to the bank, ms (a simulator hanging longer looks
    /// like a lost answer).
    #[arg(long, default_value_t = 1_000)]
    pub request_timeout_ms: u64,
    /// How long to keep settling after the last send before giving up.
    #[arg(long, default_value_t = 180)]
    pub settle_secs: u64,
}

fn units_for(count: usize) -> usize {
    // Five months of bills per unit: one collection each.
    count.div_ceil(2).div_ceil(5).max(1)
}

pub(crate) fn members_for(count: usize) -> usize {
    (units_for(count) * 2).max(2)
}

fn unit_no(u: usize) -> String {
    format!("330800{:06}", u + 1)
}
pub(crate) fn member_no(i: usize) -> String {
    format!("330800{i:08}")
}
pub(crate) fn card_no(i: usize) -> String {
    format!("6227{i:015}")
}
fn unit_account(u: usize) -> String {
    format!("3305{u:015}")
}

/// Makes the drill's centre once: the bank, units with accounts at the bank, members with
/// opening balances and cards, five months of confirmed bills; and the same accounts at
/// the simulator.
fn fixture(
    store: &dyn Store,
    policy: &Policy,
    admin: &AdminClient,
    bank: &str,
    count: usize,
) -> anyhow::Result<()> {
    let fund = fund_account(bank);
    let units = units_for(count);
    let members = members_for(count);
    let fresh = store.begin_read()?.centre(CENTRE)?.is_none();
    if fresh {
        let now = Timestamp::now();
        let opened = date(2025, 12, 1);
        open_centre(store, CENTRE, "衢州市住房公积金管理中心", opened, now)?;
        register_bank(
            store,
            CENTRE,
            &NewBank {
                code: bank.to_owned(),
                name: "演练银行".to_owned(),
                fund_account: fund.clone(),
                fund_account_name: "衢州市住房公积金管理中心".to_owned(),
            },
        )?;
        let mut tx = store.begin()?;
        let mut accounts = Vec::new();
        for u in 0..units {
            tx.insert_unit(
                CENTRE,
                &UnitRow {
                    unit_no: unit_no(u),
                    credit_code: format!("DRILL{u:013}"),
                    name: format!("演练单位{u}"),
                    address: "衢州市".to_owned(),
                    legal_rep: "张三".to_owned(),
                    payday: 10,
                    bank_code: bank.to_owned(),
                    unit_ratio: Rate::from_percent(12),
                    member_ratio: Rate::from_percent(12),
                    status: UnitAccountStatus::Normal,
                    opened_on: opened,
                },
            )?;
            tx.insert_unit_bank_account(
                CENTRE,
                &UnitBankAccountRow {
                    unit_no: unit_no(u),
                    bank_code: bank.to_owned(),
                    account: unit_account(u),
                    name: format!("演练单位{u}"),
                },
            )?;
            accounts.push(AccountState::open(
                AccountNo::sub("213", &unit_no(u))?,
                opened,
            ));
        }
        for i in 0..members {
            tx.insert_member(
                CENTRE,
                &MemberRow {
                    account_no: member_no(i),
                    id_number: format!("D{i:017}"),
                    name: format!("职工{i}"),
                    unit_no: Some(unit_no(i % units)),
                    base: Fen::new(300_000 + (i as i64 % 50) * 1_000),
                    status: PersonalAccountStatus::Normal,
                    before_freeze: None,
                    opened_on: opened,
                    paid_to: None,
                    flexible_ratio: None,
                },
            )?;
            tx.bind_card(
                CENTRE,
                &CardRow {
                    account_no: member_no(i),
                    bank_code: bank.to_owned(),
                    card_no: card_no(i),
                    holder: format!("职工{i}"),
                    bound_on: opened,
                },
            )?;
            accounts.push(AccountState::open(
                AccountNo::sub("201", &member_no(i))?,
                opened,
            ));
        }
        accounts.sort_by(|a, b| a.no.cmp(&b.no));
        tx.insert_accounts(CENTRE, &accounts)?;
        tx.commit()?;
        // Opening balances migrated from the previous system.
        let stamp = Stamp::system("drill");
        let opening: Vec<EntryRequest> = (0..members)
            .map(|i| {
                Ok(EntryRequest::posted(
                    format!("drill-open:{}", member_no(i)),
                    TxCode::OpeningBalance,
                    opened,
                    opened,
                    vec![
                        Leg::debit(AccountNo::sub("101", bank)?, Fen::new(OPENING_FEN)),
                        Leg::credit(AccountNo::sub("201", &member_no(i))?, Fen::new(OPENING_FEN)),
                    ],
                    "期初余额",
                    stamp.clone(),
                ))
            })
            .collect::<anyhow::Result<_>>()?;
        post_batch(store, CENTRE, opening, now)?;
        let calendar = BusinessCalendar::cn()?;
        for m in 1..=5 {
            set_business_date(store, CENTRE, date(2026, m, 5))?;
            generate_month(
                store,
                CENTRE,
                policy,
                &calendar,
                YearMonth::of(date(2026, m, 5)),
                &mut |_, _| {},
            )?;
        }
        set_business_date(store, CENTRE, DAY)?;
    }
    // The same accounts at the bank (idempotent: an account that exists is left alone).
    let ledger_fund = store
        .begin_read()?
        .load_accounts(CENTRE, &[AccountNo::sub("101", bank)?])?
        .pop()
        .map_or(0, |a| a.balance.fen());
    if fresh {
        admin.open_account(&fund, "衢州市住房公积金管理中心", ledger_fund)?;
        for u in 0..units {
            admin.open_account(&unit_account(u), &format!("演练单位{u}"), UNIT_FUNDS_FEN)?;
        }
        for i in 0..members {
            admin.open_account(&card_no(i), &format!("职工{i}"), 0)?;
        }
    }
    Ok(())
}

/// The drill's fixture for a benchmark's scratch database.
pub(crate) fn fixture_for_bench(
    store: &dyn Store,
    policy: &Policy,
    admin: &AdminClient,
    bank: &str,
    count: usize,
) -> anyhow::Result<()> {
    fixture(store, policy, admin, bank, count)
}

/// One instruction of the drill.
fn payout(i: usize, members: usize) -> Payout {
    Payout {
        serial: format!("DP{i:07}"),
        account_no: member_no((i / 2) % members),
        amount: Fen::new(100 * (1 + (i as i64 * 7919) % 500)),
        business_type: SettlementBusinessType::PartialWithdrawal,
        memo: "提取演练".to_owned(),
        target: String::new(),
        stamp: Stamp::system("drill"),
    }
}

fn collection(i: usize, bill_no: &str) -> Collection {
    Collection {
        serial: format!("DC{i:07}"),
        bill_no: bill_no.to_owned(),
        unit_account: None,
        amount: None,
        stamp: Stamp::system("drill"),
    }
}

/// Runs the drill.
pub fn run(args: &DrillArgs, policy: &Policy) -> anyhow::Result<u8> {
    let started = Instant::now();
    let store: Arc<dyn Store> = crate::db::open(&args.db)?;
    let admin = AdminClient::new(&args.bank_url);
    fixture(store.as_ref(), policy, &admin, &args.bank, args.count)?;
    let secret = args
        .secret
        .clone()
        .or_else(|| std::env::var("ANJU_BANK_SECRET").ok())
        .unwrap_or_else(|| anju_bank::sim::DEV_SECRET.to_owned());
    let mut settings = BankSettings::new(&args.bank, &args.bank_url, "anju", &secret);
    settings.request_timeout = Duration::from_millis(args.request_timeout_ms);
    let mut banks = BankSet::new();
    banks.insert(Arc::new(BankClient::new(settings.clone())?));

    // Anju's notice callback.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let listener = rt.block_on(tokio::net::TcpListener::bind(args.listen))?;
    let router = notice_router(NoticeState::new(store.clone(), CENTRE, &[settings]));
    rt.spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });

    let members = members_for(args.count);
    let mut bills: Vec<String> = {
        let mut tx = store.begin_read()?;
        let mut all = Vec::new();
        for u in 0..units_for(args.count) {
            all.extend(
                tx.bills_of(CENTRE, &unit_no(u))?
                    .into_iter()
                    .map(|b| b.bill_no),
            );
        }
        all
    };
    bills.sort();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let batch = args.batch.max(1);
    let failures = std::sync::Mutex::new(Vec::<String>::new());
    std::thread::scope(|scope| {
        for _ in 0..args.workers.max(1) {
            scope.spawn(|| {
                let s = Settlement {
                    store: store.as_ref(),
                    banks: &banks,
                    centre: CENTRE,
                };
                loop {
                    let from = next.fetch_add(batch, Ordering::Relaxed);
                    if from >= args.count {
                        break;
                    }
                    let to = (from + batch).min(args.count);
                    let pays: Vec<Payout> = (from..to)
                        .filter(|i| i % 2 == 0)
                        .map(|i| payout(i, members))
                        .collect();
                    let colls: Vec<Collection> = (from..to)
                        .filter(|i| i % 2 == 1)
                        .filter_map(|i| bills.get(i / 2).map(|b| collection(i, b)))
                        .collect();
                    let now = Timestamp::now();
                    let r1 = settlement::pay_members(&s, &pays, now);
                    let r2 = settlement::collect(&s, &colls, now);
                    for r in [r1.map(|v| v.len()), r2.map(|v| v.len())] {
                        if let Err(e) = r {
                            failures.lock().map(|mut f| f.push(e.to_string())).ok();
                        }
                    }
                    let n = done.fetch_add(to - from, Ordering::Relaxed) + (to - from);
                    if n / 500 != (n - (to - from)) / 500 {
                        println!("progress {n}");
                        let _ = std::io::stdout().flush();
                    }
                }
            });
        }
    });
    let send_ms = started.elapsed().as_millis();
    let failures = failures.into_inner().unwrap_or_default();

    // Settle everything: ask the bank until every instruction has a definite answer.
    let s = Settlement {
        store: store.as_ref(),
        banks: &banks,
        centre: CENTRE,
    };
    let deadline = Instant::now() + Duration::from_secs(args.settle_secs);
    loop {
        settlement::resolve_all(&s, None, Timestamp::now(), 100_000).ok();
        let open = unsettled(store.as_ref())?;
        if open == 0 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // Let the bank deliver every notice still queued (they must all be no-ops by now).
    admin.flush_notices().ok();
    // Reconcile the bank's business day (the value date of everything it executed).
    let bank_day = admin.stats()?.business_date;
    let report = settlement::reconcile(&s, &args.bank, bank_day, Timestamp::now())?;

    // Compare the bank's books with Anju's.
    let counts: HashMap<String, i64> = store
        .begin_read()?
        .instruction_counts(CENTRE)?
        .into_iter()
        .collect();
    let executed = counts.get("executed").copied().unwrap_or(0);
    let not_executed = counts.get("not_executed").copied().unwrap_or(0);
    let unknown = unsettled(store.as_ref())?;
    let bank_accounts: HashMap<String, i64> = admin
        .accounts()?
        .into_iter()
        .map(|a| (a.account, a.balance_fen))
        .collect();
    let ledger_fund = store
        .begin_read()?
        .load_accounts(CENTRE, &[AccountNo::sub("101", &args.bank)?])?
        .pop()
        .map_or(0, |a| a.balance.fen());
    let bank_fund = bank_accounts
        .get(&fund_account(&args.bank))
        .copied()
        .unwrap_or(i64::MIN);
    // Expected per-account balances from Anju's executed instructions.
    let mut expected: HashMap<String, i64> = HashMap::new();
    for i in 0..members {
        expected.insert(card_no(i), 0);
    }
    for u in 0..units_for(args.count) {
        expected.insert(unit_account(u), UNIT_FUNDS_FEN);
    }
    let serials: Vec<String> = (0..args.count)
        .map(|i| {
            if i % 2 == 0 {
                format!("DP{i:07}")
            } else {
                format!("DC{i:07}")
            }
        })
        .collect();
    let refs: Vec<&str> = serials.iter().map(String::as_str).collect();
    let rows = settlement::instructions(store.as_ref(), CENTRE, &refs)?;
    for r in rows.iter().filter(|r| r.state == "executed") {
        if r.kind == "payment" {
            *expected.entry(r.credit_account.clone()).or_default() += r.amount;
        } else {
            *expected.entry(r.debit_account.clone()).or_default() -= r.amount;
        }
    }
    let account_diffs: Vec<String> = expected
        .iter()
        .filter(|(a, v)| bank_accounts.get(*a) != Some(v))
        .map(|(a, v)| format!("{a}: bank {:?}, expected {v}", bank_accounts.get(a)))
        .take(10)
        .collect();
    let stats = admin.stats()?;
    let audit_clean = audit(store.as_ref(), CENTRE)?.is_clean();
    let refusals = settlement::notice_refusals(store.as_ref(), CENTRE, 10)?.len();
    let checks = [
        ("all_recorded", rows.len() == args.count),
        ("all_settled", unknown == 0),
        (
            "bank_executed_equals_anju",
            stats.ledger.executed == executed,
        ),
        ("fund_balance_equal", bank_fund == ledger_fund),
        ("accounts_equal", account_diffs.is_empty()),
        (
            "reconciled",
            report.mismatches.is_empty()
                && report.open_items.is_empty()
                && report.run.bank_lines == executed,
        ),
        ("audit_clean", audit_clean),
        ("no_refused_notices", refusals == 0),
        ("no_errors", failures.is_empty()),
    ];
    let ok = checks.iter().all(|(_, v)| *v);
    println!(
        "{}",
        serde_json::json!({
            "drill": "settlement",
            "backend": store.backend().name(),
            "instructions": args.count,
            "recorded": rows.len(),
            "executed": executed,
            "not_executed": not_executed,
            "unsettled": unknown,
            "bank": {
                "executed": stats.ledger.executed,
                "rejected": stats.ledger.rejected,
                "closed_serials": stats.ledger.closed_serials,
                "notices": stats.ledger.notices,
                "notices_delivered": stats.ledger.notices_delivered,
                "duplicate_notices_sent": stats.ledger.duplicate_notices_sent,
            },
            "fund_balance": {"bank": bank_fund, "ledger": ledger_fund},
            "account_differences": account_diffs,
            "reconciliation": crate::settle::report_json(&report),
            "errors": failures.iter().take(10).collect::<Vec<_>>(),
            "checks": checks.iter().map(|(k, v)| (k.to_string(), serde_json::Value::Bool(*v))).collect::<serde_json::Map<_, _>>(),
            "send_ms": send_ms,
            "total_s": started.elapsed().as_secs(),
            "ok": ok,
        })
    );
    Ok(u8::from(!ok))
}

fn unsettled(store: &dyn Store) -> anyhow::Result<i64> {
    Ok(store
        .begin_read()?
        .instruction_counts(CENTRE)?
        .into_iter()
        .filter(|(k, _)| k == "in_flight" || k == "created")
        .map(|(_, v)| v)
        .sum())
}
