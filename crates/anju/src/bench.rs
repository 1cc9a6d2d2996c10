//! `anju bench`: throughput and latency of the production posting path, printed as one
//! JSON line so BENCHMARKS.md can quote it. Targets are checked here, never in tests.
//!
//! * `bench post`: M member postings over N member accounts as monthly remittances (one
//!   entry per unit bill of about 37 members, one transaction per month), through
//!   `anju_app::ledger::post_in` with the hash chain, running figures and idempotency keys.
//! * `bench online`: one withdrawal-style entry per durable transaction (synchronous=FULL
//!   on SQLite), reporting latency percentiles and entries per second.
//!
//! No floats: rates and times are computed and printed in integer arithmetic.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anju_app::ledger::{open_accounts, open_centre, post_batch, post_one, set_business_date};
use anju_domain::codes::Channel;
use anju_domain::ledger::{AccountNo, EntryRequest, Leg, TxCode};
use anju_domain::money::Fen;
use anju_domain::stamp::Stamp;
use anju_store::{Backend, Store};
use anju_store_postgres::PostgresStore;
use anju_store_sqlite::SqliteStore;
use jiff::Timestamp;
use jiff::civil::date;

/// Members per unit bill, as in Quzhou (223,873 members / 5,986 units ≈ 37).
pub const MEMBERS_PER_UNIT: usize = 37;
const CENTRE: &str = "330800000000000";
const BANKS: &[&str] = &["ICBC", "ABC", "CCB", "BOC", "QZRCB"];

/// A scratch database that is removed afterwards.
pub struct Scratch {
    /// The store.
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take()
            && let Ok(mut c) = postgres::Client::connect(&admin, postgres::NoTls)
        {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// Makes a fresh database on `backend` (`db` is the PostgreSQL admin URL).
pub fn scratch(backend: Backend, db: Option<&str>) -> anyhow::Result<Scratch> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir()?;
            let path: PathBuf = dir.path().join("bench.db");
            Ok(Scratch {
                store: Arc::new(SqliteStore::open(&path)?),
                _dir: Some(dir),
                pg: None,
            })
        }
        Backend::Postgres => {
            let admin = db
                .unwrap_or("postgres://postgres@127.0.0.1:5432/postgres")
                .to_owned();
            let name = format!("anju_bench_{}", std::process::id());
            let mut c = postgres::Client::connect(&admin, postgres::NoTls)
                .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL at {admin}: {e}"))?;
            // Two calls: PostgreSQL runs neither statement inside a multi-statement batch.
            c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
            c.batch_execute(&format!("CREATE DATABASE {name}"))?;
            let url = with_db(&admin, &name);
            Ok(Scratch {
                store: Arc::new(PostgresStore::open(&url)?),
                _dir: None,
                pg: Some((admin, name)),
            })
        }
    }
}

fn with_db(admin: &str, db: &str) -> String {
    let base = admin.split('?').next().unwrap_or(admin);
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host = match base[scheme_end..].find('/') {
        Some(p) => &base[..p + scheme_end],
        None => base,
    };
    format!("{host}/{db}")
}

/// Peak resident memory of this process in MiB (VmHWM), 0 if unknown.
pub fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// The `p`-th percentile (nearest rank) of sorted, non-empty `sorted`.
pub(crate) fn percentile(sorted: &[u128], p: usize) -> u128 {
    sorted[((sorted.len() * p).div_ceil(100))
        .saturating_sub(1)
        .min(sorted.len() - 1)]
}

pub(crate) fn seconds(us: u128) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

fn member(i: usize) -> anyhow::Result<AccountNo> {
    Ok(AccountNo::sub("201", &format!("330800{i:07}"))?)
}

/// `anju bench post`.
pub fn post(
    backend: Backend,
    db: Option<&str>,
    accounts: usize,
    postings: usize,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        accounts > 0 && postings > 0,
        "--accounts and --postings must be > 0"
    );
    let s = scratch(backend, db)?;
    let store = s.store.as_ref();
    let now = Timestamp::now();
    let start = date(2026, 1, 1);
    open_centre(store, CENTRE, "衢州市住房公积金管理中心", start, now)?;
    let mut nos: Vec<AccountNo> = BANKS
        .iter()
        .map(|b| AccountNo::sub("101", b))
        .collect::<Result<_, _>>()?;
    for i in 0..accounts {
        nos.push(member(i)?);
    }
    let t_open = Instant::now();
    open_accounts(store, CENTRE, &nos, start)?;
    let open_us = t_open.elapsed().as_micros();

    let stamp = Stamp {
        operator: "system:bench".to_owned(),
        channel: Channel::Batch,
        service_point: "centre".to_owned(),
        on_behalf_of: None,
    };
    let units = accounts.div_ceil(MEMBERS_PER_UNIT);
    let mut remaining = postings;
    let mut month = 0i8;
    let mut entries = 0usize;
    // Timed: moving the business date and posting. Building each month's bills (the
    // caller's work, like generating a remittance bill) is not part of the posting path.
    let mut posting_us: u128 = 0;
    while remaining > 0 {
        let day = date(2026 + i16::from(month / 12), month % 12 + 1, 10);
        let t = Instant::now();
        set_business_date(store, CENTRE, day)?;
        posting_us += t.elapsed().as_micros();
        let mut reqs = Vec::with_capacity(units);
        for u in 0..units {
            if remaining == 0 {
                break;
            }
            let first = u * MEMBERS_PER_UNIT;
            let last = ((u + 1) * MEMBERS_PER_UNIT).min(accounts);
            let mut legs = Vec::with_capacity(last - first + 1);
            let mut total = 0i64;
            for i in first..last {
                if remaining == 0 {
                    break;
                }
                let amount = 50_000 + (i as i64 % 1000) * 3;
                total += amount;
                // The roster's account numbers, as a remittance job has them.
                legs.push(Leg::credit(nos[BANKS.len() + i].clone(), Fen::new(amount)));
                remaining -= 1;
            }
            legs.insert(
                0,
                Leg::debit(
                    AccountNo::sub("101", BANKS[u % BANKS.len()])?,
                    Fen::new(total),
                ),
            );
            if legs.len() < 2 {
                break;
            }
            reqs.push(EntryRequest::posted(
                format!("remit:U{u:05}:{}", day),
                TxCode::Remittance,
                day,
                day,
                legs,
                "汇缴",
                stamp.clone(),
            ));
        }
        entries += reqs.len();
        let t = Instant::now();
        post_batch(store, CENTRE, reqs, now)?;
        posting_us += t.elapsed().as_micros();
        month += 1;
    }
    let us = posting_us.max(1);
    let per_s = (postings as u128) * 1_000_000 / us;
    println!(
        "{{\"bench\":\"post\",\"backend\":\"{}\",\"accounts\":{accounts},\"postings\":{postings},\"entries\":{entries},\"postings_per_s\":{per_s},\"elapsed_s\":{},\"open_accounts_s\":{},\"peak_rss_mb\":{}}}",
        backend.name(),
        seconds(us),
        seconds(open_us),
        peak_rss_mb()
    );
    Ok(())
}

/// `anju bench online`.
pub fn online(backend: Backend, db: Option<&str>, entries: usize) -> anyhow::Result<()> {
    anyhow::ensure!(entries > 0, "--entries must be > 0");
    let s = scratch(backend, db)?;
    let store = s.store.as_ref();
    let now = Timestamp::now();
    let day = date(2026, 1, 5);
    open_centre(store, CENTRE, "衢州市住房公积金管理中心", day, now)?;
    let members = 1000usize;
    let mut nos = vec![AccountNo::sub("101", "ICBC")?];
    for i in 0..members {
        nos.push(member(i)?);
    }
    open_accounts(store, CENTRE, &nos, day)?;
    // Fund every member first.
    let mut legs = vec![Leg::debit(
        AccountNo::sub("101", "ICBC")?,
        Fen::new(members as i64 * 10_000_000),
    )];
    for i in 0..members {
        legs.push(Leg::credit(member(i)?, Fen::new(10_000_000)));
    }
    post_one(
        store,
        CENTRE,
        EntryRequest::posted(
            "fund",
            TxCode::OpeningBalance,
            day,
            day,
            legs,
            "",
            Stamp::system("bench"),
        ),
        now,
    )?;
    let stamp = Stamp {
        operator: "member:bench".to_owned(),
        channel: Channel::MobileApp,
        service_point: "online".to_owned(),
        on_behalf_of: None,
    };
    let mut lat_us: Vec<u128> = Vec::with_capacity(entries);
    let t = Instant::now();
    for i in 0..entries {
        let req = EntryRequest::posted(
            format!("w:{i}"),
            TxCode::Withdrawal,
            day,
            day,
            vec![
                Leg::debit(member(i % members)?, Fen::new(100)),
                Leg::credit(AccountNo::sub("101", "ICBC")?, Fen::new(100)),
            ],
            "提取",
            stamp.clone(),
        );
        let t1 = Instant::now();
        post_one(store, CENTRE, req, now)?;
        lat_us.push(t1.elapsed().as_micros());
    }
    let us = t.elapsed().as_micros().max(1);
    lat_us.sort_unstable();
    let pct = |p: usize| percentile(&lat_us, p);
    println!(
        "{{\"bench\":\"online\",\"backend\":\"{}\",\"entries\":{entries},\"entries_per_s\":{},\"p50_us\":{},\"p99_us\":{},\"max_us\":{},\"elapsed_s\":{},\"peak_rss_mb\":{}}}",
        backend.name(),
        (entries as u128) * 1_000_000 / us,
        pct(50),
        pct(99),
        lat_us[lat_us.len() - 1],
        seconds(us),
        peak_rss_mb()
    );
    Ok(())
}

/// A centre with `units` units and `members` members spread evenly over them, opened on
/// `opened` and loaded directly through the store port in one transaction (fixture only:
/// not timed; the registry's use cases open accounts one by one, as clerks do).
fn collection_fixture(
    store: &dyn Store,
    units: usize,
    members: usize,
    opened: jiff::civil::Date,
) -> anyhow::Result<Vec<String>> {
    use anju_domain::codes::{PersonalAccountStatus, UnitAccountStatus};
    use anju_domain::ledger::AccountState;
    use anju_domain::money::Rate;
    use anju_store::registry::{MemberRow, UnitRow};
    let now = Timestamp::now();
    open_centre(store, CENTRE, "衢州市住房公积金管理中心", opened, now)?;
    let mut tx = store.begin()?;
    let mut accounts: Vec<AccountState> = BANKS
        .iter()
        .map(|b| AccountNo::sub("101", b).map(|no| AccountState::open(no, opened)))
        .collect::<Result<_, _>>()?;
    let mut unit_nos = Vec::with_capacity(units);
    for u in 0..units {
        let unit_no = format!("330800{:06}", u + 1);
        tx.insert_unit(
            CENTRE,
            &UnitRow {
                unit_no: unit_no.clone(),
                credit_code: format!("BENCH{u:013}"),
                name: format!("基准测试单位{u}"),
                address: "衢州市".to_owned(),
                legal_rep: "张三".to_owned(),
                payday: 10,
                bank_code: BANKS[u % BANKS.len()].to_owned(),
                unit_ratio: Rate::from_percent(12),
                member_ratio: Rate::from_percent(12),
                status: UnitAccountStatus::Normal,
                opened_on: opened,
            },
        )?;
        accounts.push(AccountState::open(AccountNo::sub("213", &unit_no)?, opened));
        unit_nos.push(unit_no);
    }
    for i in 0..members {
        let account_no = format!("330800{i:08}");
        tx.insert_member(
            CENTRE,
            &MemberRow {
                account_no: account_no.clone(),
                id_number: format!("B{i:017}"),
                name: format!("职工{i}"),
                unit_no: Some(unit_nos[i % units].clone()),
                base: Fen::new(300_000 + (i as i64 % 2_000) * 100),
                status: PersonalAccountStatus::Normal,
                before_freeze: None,
                opened_on: opened,
                paid_to: None,
                flexible_ratio: None,
            },
        )?;
        accounts.push(AccountState::open(
            AccountNo::sub("201", &account_no)?,
            opened,
        ));
    }
    accounts.sort_by(|a, b| a.no.cmp(&b.no));
    tx.insert_accounts(CENTRE, &accounts)?;
    tx.commit()?;
    // As after any bulk load (a migration): planner statistics, the WAL folded in.
    store.optimize()?;
    Ok(unit_nos)
}

/// `anju bench remit`: the monthly remittance of a whole centre — every unit's bill
/// generated from its roster and confirmed (`generate_month`), then every bill paid in
/// full by bank notice in one batch (`pay_bills_in`: one entry per bill crediting each
/// member, receipts, lines marked paid, 缴至年月 advanced).
pub fn remit(
    backend: Backend,
    db: Option<&str>,
    units: usize,
    members: usize,
    history: u32,
) -> anyhow::Result<()> {
    use anju_domain::calendar::BusinessCalendar;
    use anju_domain::collection::YearMonth;
    use anju_domain::policy::{Policy, QUZHOU_POLICY};
    anyhow::ensure!(
        units > 0 && members >= units,
        "need units > 0 and members ≥ units"
    );
    anyhow::ensure!(history <= 120, "--history is at most 120 months");
    let s = scratch(backend, db)?;
    let store = s.store.as_ref();
    let policy = Policy::from_toml(QUZHOU_POLICY)?;
    let calendar = BusinessCalendar::cn()?;
    let month = YearMonth::of(date(2026, 2, 10));
    // Members are billed from the month after they open.
    let first = month
        .plus(-(history as i32) - 1)
        .ok_or_else(|| anyhow::anyhow!("--history {history} reaches before year 1"))?;
    let t_fix = Instant::now();
    collection_fixture(store, units, members, date(first.year(), first.month(), 5))?;
    // History: the months before the timed one, generated and paid in full by the same
    // code (so members have 缴至年月, balances, lines and legs, as in a running centre).
    for k in (1..=history).rev() {
        let m = month
            .plus(-(k as i32))
            .ok_or_else(|| anyhow::anyhow!("--history {history} reaches before year 1"))?;
        remit_month(store, &policy, &calendar, m)?;
    }
    if history > 0 {
        store.optimize()?;
    }
    let fixture_us = t_fix.elapsed().as_micros();
    let run = remit_month(store, &policy, &calendar, month)?;
    let total = run.generate_us + run.pay_us;
    println!(
        "{{\"bench\":\"remit\",\"backend\":\"{}\",\"units\":{units},\"members\":{members},\"history_months\":{history},\"bills\":{},\"lines\":{},\"generate_s\":{},\"pay_s\":{},\"total_s\":{},\"fixture_s\":{},\"peak_rss_mb\":{}}}",
        backend.name(),
        run.bills,
        run.lines,
        seconds(run.generate_us),
        seconds(run.pay_us),
        seconds(total),
        seconds(fixture_us),
        peak_rss_mb()
    );
    Ok(())
}

/// One month of `bench remit`: generated and paid, each step timed.
struct RemitRun {
    bills: usize,
    lines: usize,
    generate_us: u128,
    pay_us: u128,
}

fn remit_month(
    store: &dyn Store,
    policy: &anju_domain::policy::Policy,
    calendar: &anju_domain::calendar::BusinessCalendar,
    month: anju_domain::collection::YearMonth,
) -> anyhow::Result<RemitRun> {
    use anju_app::remittance::{Payment, generate_month, pay_bills_in};
    let day = date(month.year(), month.month(), 10);
    set_business_date(store, CENTRE, day)?;
    let now = Timestamp::now();
    let t = Instant::now();
    let bills = generate_month(store, CENTRE, policy, calendar, month, &mut |_, _| {})?;
    let generate_us = t.elapsed().as_micros();
    let payments: Vec<Payment> = bills
        .iter()
        .map(|b| Payment {
            bill_no: b.bill.bill_no.clone(),
            receipt_key: format!("{}-{}", b.bill.bank_code, b.bill.bill_no),
            amount: b.bill.total,
            bank_code: None,
        })
        .collect();
    let lines: usize = bills.iter().map(|b| b.lines.len()).sum();
    drop(bills);
    let t2 = Instant::now();
    let mut tx = store.begin()?;
    let out = pay_bills_in(
        tx.as_mut(),
        CENTRE,
        &payments,
        &Stamp::system("bank-notice"),
        now,
    )?;
    tx.commit()?;
    let pay_us = t2.elapsed().as_micros();
    anyhow::ensure!(out.len() == payments.len(), "every bill paid");
    Ok(RemitRun {
        bills: payments.len(),
        lines,
        generate_us,
        pay_us,
    })
}

/// `anju bench interest`: the year-end settlement of `accounts` member accounts that each
/// received two deposits in the year (one from opening, one mid-year).
pub fn interest(backend: Backend, db: Option<&str>, accounts: usize) -> anyhow::Result<()> {
    use anju_app::interest::settle_interest;
    use anju_domain::policy::{Policy, QUZHOU_POLICY};
    anyhow::ensure!(accounts > 0, "--accounts must be > 0");
    let s = scratch(backend, db)?;
    let store = s.store.as_ref();
    let policy = Policy::from_toml(QUZHOU_POLICY)?;
    let now = Timestamp::now();
    let start = date(2025, 7, 1);
    open_centre(store, CENTRE, "衢州市住房公积金管理中心", start, now)?;
    let mut nos = vec![AccountNo::sub("101", "ICBC")?];
    for i in 0..accounts {
        nos.push(member(i)?);
    }
    open_accounts(store, CENTRE, &nos, start)?;
    let t_fix = Instant::now();
    for (n, day) in [date(2025, 7, 10), date(2026, 1, 12)]
        .into_iter()
        .enumerate()
    {
        set_business_date(store, CENTRE, day)?;
        let mut reqs = Vec::new();
        for (c, chunk) in nos[1..].chunks(MEMBERS_PER_UNIT).enumerate() {
            let mut legs: Vec<Leg> = chunk
                .iter()
                .enumerate()
                .map(|(j, no)| Leg::credit(no.clone(), Fen::new(100_000 + (j as i64) * 77)))
                .collect();
            let total: i64 = legs.iter().map(|l| l.amount.fen()).sum();
            legs.insert(0, Leg::debit(nos[0].clone(), Fen::new(total)));
            reqs.push(EntryRequest::posted(
                format!("fix:{n}:{c}"),
                TxCode::Remittance,
                day,
                day,
                legs,
                "汇缴",
                Stamp::system("bench"),
            ));
        }
        post_batch(store, CENTRE, reqs, now)?;
    }
    let fixture_us = t_fix.elapsed().as_micros();
    set_business_date(store, CENTRE, date(2026, 6, 30))?;
    let t = Instant::now();
    let run = settle_interest(
        store,
        CENTRE,
        &policy,
        2026,
        &Stamp::system("interest"),
        now,
    )?;
    let us = t.elapsed().as_micros();
    println!(
        "{{\"bench\":\"interest\",\"backend\":\"{}\",\"accounts\":{accounts},\"credited\":{},\"total_fen\":{},\"entries\":{},\"settle_s\":{},\"fixture_s\":{},\"peak_rss_mb\":{}}}",
        backend.name(),
        run.run.accounts,
        run.run.total.fen(),
        run.run.entries,
        seconds(us),
        seconds(fixture_us),
        peak_rss_mb()
    );
    Ok(())
}

/// `anju bench import`: reading and validating a `rows`-row remittance .xlsx against the
/// roster and storing the draft bill (`import_list`).
pub fn import(backend: Backend, db: Option<&str>, rows: usize) -> anyhow::Result<()> {
    use anju_app::import::{ImportTarget, import_list};
    use anju_domain::calendar::BusinessCalendar;
    use anju_domain::collection::YearMonth;
    use anju_domain::policy::{Policy, QUZHOU_POLICY};
    use anju_sheets::{Format, ListKind, sample_rows_xlsx};
    anyhow::ensure!(rows > 0, "--rows must be > 0");
    let s = scratch(backend, db)?;
    let store = s.store.as_ref();
    let policy = Policy::from_toml(QUZHOU_POLICY)?;
    let calendar = BusinessCalendar::cn()?;
    let units = collection_fixture(store, 1, rows, date(2026, 1, 5))?;
    set_business_date(store, CENTRE, date(2026, 2, 10))?;
    let cells: Vec<Vec<String>> = (0..rows)
        .map(|i| {
            vec![
                format!("330800{i:08}"),
                format!("职工{i}"),
                Fen::new(300_000 + (i as i64 % 2_000) * 100).plain(),
            ]
        })
        .collect();
    let bytes = sample_rows_xlsx(ListKind::Remittance, &cells)?;
    let target = ImportTarget {
        unit_no: units[0].clone(),
        month: YearMonth::new(2026, 2),
        year: None,
    };
    let t = Instant::now();
    let out = import_list(
        store,
        CENTRE,
        &policy,
        &calendar,
        ListKind::Remittance,
        Format::Xlsx,
        &bytes,
        &target,
        &Stamp::system("bench"),
        Timestamp::now(),
    )?;
    let us = t.elapsed().as_micros();
    let lines = match out {
        anju_app::import::Imported::Remittance(b) => b.lines.len(),
        _ => 0,
    };
    anyhow::ensure!(lines == rows, "every row became a bill line");
    println!(
        "{{\"bench\":\"import\",\"backend\":\"{}\",\"rows\":{rows},\"file_bytes\":{},\"import_s\":{},\"peak_rss_mb\":{}}}",
        backend.name(),
        bytes.len(),
        seconds(us),
        peak_rss_mb()
    );
    Ok(())
}

/// `anju bench verify`: the verification of house-purchase withdrawals (identity of the
/// applicant and spouse, marriage, purchase contract, property) through the HTTP client
/// against `anju exchange-sim` running as a separate process on loopback, with
/// `concurrency` verifications in flight. Each verification is the whole use case: the
/// application locked, every look-up logged before it is made, the departments asked in
/// parallel, the log completed and the answers cached, the checks evaluated.
pub fn verify(
    backend: Backend,
    db: Option<&str>,
    members: usize,
    applications: usize,
    concurrency: usize,
) -> anyhow::Result<()> {
    use anju_app::sharing::{NewApplication, Sharing, open_application, verify_application};
    use anju_domain::codes::{PersonalAccountStatus, UnitAccountStatus};
    use anju_domain::ids::IdCard;
    use anju_domain::ledger::AccountState;
    use anju_domain::money::Rate;
    use anju_domain::sharing::verify::{ApplicationKind, Claims, Role};
    use anju_exchange::sim::generate::{CentrePerson, generate};
    use anju_store::registry::{MemberRow, UnitRow};

    anyhow::ensure!(members >= 100, "--members must be at least 100");
    anyhow::ensure!(
        applications > 0 && concurrency > 0,
        "--applications and --concurrency must be > 0"
    );
    let s = scratch(backend, db)?;
    let store = s.store.as_ref();
    let now = Timestamp::now();
    let day = date(2026, 11, 27);
    open_centre(store, CENTRE, "衢州市住房公积金管理中心", day, now)?;
    // Fixture (not timed): one unit, `members` members with valid resident IDs.
    let mut people = Vec::with_capacity(members);
    {
        let mut tx = store.begin()?;
        let unit_no = "330800000001".to_owned();
        tx.insert_unit(
            CENTRE,
            &UnitRow {
                unit_no: unit_no.clone(),
                credit_code: "91330802MA2DXXXX2".to_owned(),
                name: "衢州市基准科技有限公司".to_owned(),
                address: "衢州市柯城区".to_owned(),
                legal_rep: "张三".to_owned(),
                payday: 10,
                bank_code: "ICBC".to_owned(),
                unit_ratio: Rate::from_percent(12),
                member_ratio: Rate::from_percent(12),
                status: UnitAccountStatus::Normal,
                opened_on: day,
            },
        )?;
        let mut accounts = vec![AccountState::open(AccountNo::sub("213", &unit_no)?, day)];
        for i in 0..members {
            let birth =
                date(1960, 1, 1).checked_add(jiff::Span::new().days((i * 7 % 14_000) as i64))?;
            let first17 = format!("330802{}{:03}", birth.strftime("%Y%m%d"), i % 1000);
            let id = IdCard::with_check_char(&first17)?;
            let account_no = format!("330800{i:08}");
            let name = format!("职工{i}");
            tx.insert_member(
                CENTRE,
                &MemberRow {
                    account_no: account_no.clone(),
                    id_number: id.as_str().to_owned(),
                    name: name.clone(),
                    unit_no: Some(unit_no.clone()),
                    base: Fen::new(800_000),
                    status: PersonalAccountStatus::Normal,
                    before_freeze: None,
                    opened_on: day,
                    paid_to: None,
                    flexible_ratio: None,
                },
            )?;
            accounts.push(AccountState::open(AccountNo::sub("201", &account_no)?, day));
            people.push(CentrePerson {
                id_number: id.as_str().to_owned(),
                name,
                employer_name: Some("衢州市基准科技有限公司".to_owned()),
                employer_credit_code: Some("91330802MA2DXXXX2".to_owned()),
                monthly_base: Fen::new(800_000),
                opened_on: date(2015, 3, 1),
                status: PersonalAccountStatus::Normal,
            });
        }
        accounts.sort_by(|a, b| a.no.cmp(&b.no));
        tx.insert_accounts(CENTRE, &accounts)?;
        tx.commit()?;
    }
    let dataset = generate(&people, 42, day)?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("dataset.json");
    dataset.save(&path)?;
    // Married members (the spouse check needs civil affairs), with their contract if any.
    let mut cases = Vec::new();
    for p in &people {
        let Some(rec) = dataset.people.get(&p.id_number) else {
            continue;
        };
        let Some(spouse) = rec.marriage.as_ref().and_then(|m| m.spouse_id.clone()) else {
            continue;
        };
        let contract = rec
            .contracts
            .iter()
            .find(|c| !c.cancelled)
            .map(|c| c.contract_no.clone());
        cases.push((p.id_number.clone(), spouse, contract));
    }
    anyhow::ensure!(
        !cases.is_empty(),
        "the generated dataset has no married member"
    );
    let mut nos = Vec::with_capacity(applications);
    for i in 0..applications {
        let (applicant, spouse, contract) = &cases[i % cases.len()];
        let no = format!("TQ-BENCH-{i:07}");
        open_application(
            store,
            CENTRE,
            &NewApplication {
                application_no: no.clone(),
                kind: ApplicationKind::WithdrawPurchase,
                parties: vec![
                    (applicant.clone(), Role::Applicant),
                    (spouse.clone(), Role::Spouse),
                ],
                claims: Claims {
                    contract_no: contract.clone(),
                    ..Claims::default()
                },
                consents: vec![(spouse.clone(), "e-signature".to_owned())],
                stamp: Stamp::system("bench"),
            },
            day,
            now,
        )?;
        nos.push(no);
    }
    let sim = crate::sharing::SimProcess::start(&path, &[])?;
    let departments = sim.departments()?;
    let ctx = Sharing {
        store,
        departments: &departments,
        centre: CENTRE,
    };
    let stamp = Stamp {
        operator: "member:bench".to_owned(),
        channel: Channel::MobileApp,
        service_point: "online".to_owned(),
        on_behalf_of: None,
    };
    // Warm the connection pool and the statement caches (not timed).
    verify_application(&ctx, &nos[0], &stamp, day, now)?;
    let next = std::sync::atomic::AtomicUsize::new(1);
    let t = Instant::now();
    let results: Vec<anyhow::Result<(Vec<u128>, usize)>> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..concurrency)
            .map(|_| {
                sc.spawn(|| -> anyhow::Result<(Vec<u128>, usize)> {
                    let mut lat = Vec::new();
                    let mut unavailable = 0;
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(no) = nos.get(i) else {
                            break;
                        };
                        let t1 = Instant::now();
                        let v = verify_application(&ctx, no, &stamp, day, now)?;
                        lat.push(t1.elapsed().as_micros());
                        unavailable += usize::from(v.any_unavailable());
                    }
                    Ok((lat, unavailable))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a bench thread panicked")))
            })
            .collect()
    });
    let us = t.elapsed().as_micros().max(1);
    let mut lat_us = Vec::new();
    let mut unavailable = 0;
    for r in results {
        let (l, u) = r?;
        lat_us.extend(l);
        unavailable += u;
    }
    anyhow::ensure!(
        !lat_us.is_empty(),
        "nothing was verified (use --applications > 1)"
    );
    lat_us.sort_unstable();
    let pct = |p: usize| percentile(&lat_us, p);
    println!(
        "{{\"bench\":\"verify\",\"backend\":\"{}\",\"verifications\":{},\"concurrency\":{concurrency},\"lookups_each\":5,\"per_s\":{},\"p50_us\":{},\"p95_us\":{},\"p99_us\":{},\"max_us\":{},\"unavailable\":{unavailable},\"elapsed_s\":{},\"peak_rss_mb\":{}}}",
        backend.name(),
        lat_us.len(),
        (lat_us.len() as u128) * 1_000_000 / us,
        pct(50),
        pct(95),
        pct(99),
        lat_us[lat_us.len() - 1],
        seconds(us),
        peak_rss_mb()
    );
    // The exchange alone: the same five look-ups per case, asked as `gather` asks them
    // (one batch), with the same concurrency, but no log, cache or database — to show which part
    // of the time is the departments' and which is the access log's.
    let keys: Vec<Vec<anju_domain::sharing::FactKey>> = cases
        .iter()
        .map(|(a, sp, _)| {
            use anju_domain::sharing::{FactKey, Query};
            vec![
                FactKey::new(Query::Identity, a),
                FactKey::new(Query::Identity, sp),
                FactKey::new(Query::Marriage, a),
                FactKey::new(Query::Contracts, a),
                FactKey::new(Query::Properties, a),
            ]
        })
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let t = Instant::now();
    let mut fetch_us: Vec<u128> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..concurrency)
            .map(|_| {
                sc.spawn(|| {
                    let mut lat = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= applications {
                            break;
                        }
                        let ks = &keys[i % keys.len()];
                        let ask = |k: &anju_domain::sharing::FactKey| anju_app::sharing::Ask {
                            subject: k.subject.clone(),
                            year: None,
                            purpose: anju_domain::sharing::Purpose::Withdrawal,
                            application_no: format!("TQ-FETCH-{i}"),
                            requester: "member:bench".to_owned(),
                            request_id: format!("TQ-FETCH-{i}"),
                        };
                        let asks: Vec<_> = ks.iter().map(|k| (k.clone(), ask(k))).collect();
                        let t1 = Instant::now();
                        let _ = departments.fetch_many(&asks);
                        lat.push(t1.elapsed().as_micros());
                    }
                    lat
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let fetch_total = t.elapsed().as_micros().max(1);
    fetch_us.sort_unstable();
    if !fetch_us.is_empty() {
        let fp = |p: usize| percentile(&fetch_us, p);
        println!(
            "{{\"bench\":\"verify-exchange-only\",\"cases\":{},\"concurrency\":{concurrency},\"lookups_each\":5,\"per_s\":{},\"p50_us\":{},\"p99_us\":{},\"max_us\":{}}}",
            fetch_us.len(),
            (fetch_us.len() as u128) * 1_000_000 / fetch_total,
            fp(50),
            fp(99),
            fetch_us[fetch_us.len() - 1]
        );
    }
    drop(sim);
    Ok(())
}

/// `anju bench schedule`: `count` repayment schedules of 360 months per method, with
/// principals from 100,000 to 1,500,000 yuan and rates from 2 % to 4 %, each with a
/// first period by actual days; prints the time per method and in all (target: 10,000
/// schedules under 1 s).
pub fn schedule(count: usize) -> anyhow::Result<()> {
    use anju_domain::loan::{Method, schedule};
    use anju_domain::money::{Fen, Rate};
    let first = jiff::civil::date(2026, 11, 5);
    let mut times = Vec::new();
    let mut rows = 0usize;
    let mut check = 0i64;
    for method in Method::ALL {
        let t0 = std::time::Instant::now();
        for i in 0..count {
            let k = i as i64;
            let principal = Fen::new(10_000_000 + (k * 7_919_003) % 140_000_000);
            let annual = Rate::parse_percent(&format!("{}.{:03}", 2 + k % 2, (k * 37) % 1000))?;
            let s = schedule(principal, annual, 360, method, Some((first, 20)))?;
            rows += s.len();
            check = check.wrapping_add(s.iter().map(|r| r.interest.fen()).sum::<i64>());
        }
        times.push((method, t0.elapsed().as_micros()));
    }
    let total: u128 = times.iter().map(|(_, t)| t).sum();
    let per: Vec<String> = times
        .iter()
        .map(|(m, t)| format!("\"{}_s\":{}", m.code().replace('-', "_"), seconds(*t)))
        .collect();
    println!(
        "{{\"bench\":\"schedule\",\"schedules_per_method\":{count},\"months\":360,\"rows\":{rows},{},\"total_s\":{},\"target_s_per_10000\":1,\"interest_checksum_fen\":{check},\"peak_rss_mb\":{}}}",
        per.join(","),
        seconds(total),
        peak_rss_mb()
    );
    Ok(())
}
