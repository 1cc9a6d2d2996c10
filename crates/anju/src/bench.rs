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

fn seconds(us: u128) -> String {
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
    let pct = |p: usize| {
        lat_us[((lat_us.len() * p).div_ceil(100))
            .saturating_sub(1)
            .min(lat_us.len() - 1)]
    };
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
