//! `anju bench withdraw`: the issue-6 target — the system time from submission to `paid`
//! of an automatically approved house-purchase withdrawal, with `anju exchange-sim` and
//! `anju bank-sim` as child processes on loopback (no faults). Target: median under 20 ms,
//! p99 under 100 ms. The figures are printed (one JSON line), never asserted.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use anju_app::ledger::{open_centre, post_batch, set_business_date};
use anju_app::registry::{NewMember, NewUnit, open_member, register_unit};
use anju_app::settlement::ports::{Bank, BankAnswer, Instruction, Statement, Unreachable};
use anju_app::settlement::{BankSet, NewBank, bind_card, register_bank};
use anju_app::sharing::ports::{Credit, HousingFiling, PublicSecurity, RealEstate};
use anju_app::sharing::{Ask, Departments, Fetched};
use anju_app::withdrawal::{self, NewWithdrawal, Withdrawals};
use anju_bank::sim::process::BankSimProcess;
use anju_domain::codes::Channel;
use anju_domain::ids::{CreditCode, IdCard};
use anju_domain::ledger::{AccountNo, EntryRequest, Leg, TxCode};
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::{Policy, QUZHOU_POLICY};
use anju_domain::sharing::verify::Claims;
use anju_domain::sharing::{
    Area, ContractKind, CreditReport, Household, Identity, MortgageRegistration, MortgageRelease,
    MortgageRequest, Property, PurchaseContract, Unavailable,
};
use anju_domain::stamp::Stamp;
use anju_domain::withdrawal::Ground;
use anju_exchange::sim::dataset::{Dataset, PersonRecord};
use anju_store::Backend;
use jiff::Timestamp;
use jiff::civil::{Date, date};

use crate::bench::{peak_rss_mb, percentile, scratch, seconds};
use crate::drill::{CENTRE, fund_account};

const BANK: &str = "105";
const CENTRE_NAME: &str = "衢州市住房公积金管理中心";
/// The centre opens (and the opening balances are dated) on this day…
const OPENED: Date = date(2026, 1, 5);
/// …and the applications are made on this business day.
const TODAY: Date = date(2026, 11, 27);
/// Applications made before the timed ones (connections, statement caches, page cache).
const WARM_UP: usize = 20;
/// Each member's opening balance: 100,000.00 yuan.
const OPENING_FEN: i64 = 10_000_000;
/// The price of each member's home: 1,500,000.00 yuan, more than the balance, so the
/// balance binds and the whole of it is paid.
const PRICE_FEN: i64 = 150_000_000;

/// The member `i`'s resident ID number: birth dates from 1975-01-01 a day apart, valid
/// check character.
fn id_number(i: usize) -> anyhow::Result<IdCard> {
    let birth = date(1975, 1, 1).checked_add(jiff::Span::new().days(i as i64))?;
    let first17 = format!("330802{}{:03}", birth.strftime("%Y%m%d"), 101 + i % 2);
    Ok(IdCard::with_check_char(&first17)?)
}

fn name(i: usize) -> String {
    format!("职工{i}")
}

fn card(i: usize) -> String {
    format!("6227{i:015}")
}

fn clerk() -> Stamp {
    Stamp {
        operator: "staff:S0001".to_owned(),
        channel: Channel::Counter,
        service_point: "hall-kecheng".to_owned(),
        on_behalf_of: None,
    }
}

fn online(id: &str) -> Stamp {
    Stamp {
        operator: format!("member:{id}"),
        channel: Channel::Zlb,
        service_point: "online".to_owned(),
        on_behalf_of: None,
    }
}

/// What the departments know about member `i`: identity, household, a new home's purchase
/// contract filed on 2026-10-01 (within 24 months of [`TODAY`]), and a credit report
/// without loans.
fn record(i: usize, id: &IdCard) -> PersonRecord {
    let address = format!(
        "衢州市柯城区荷花街道安居苑{}幢{}室",
        i / 100 + 1,
        101 + i % 100
    );
    PersonRecord {
        identity: Some(Identity {
            id_number: id.as_str().to_owned(),
            name: name(i),
            sex: id.sex(),
            birth_date: id.birth_date(),
            alive: true,
        }),
        household: Some(Household {
            region_code: "330802".into(),
            region_name: "衢州市柯城区".into(),
            since: date(2000, 1, 1),
            cancelled: None,
        }),
        contracts: vec![PurchaseContract {
            contract_no: format!("QZ-2026-{i:06}"),
            kind: ContractKind::New,
            address,
            region_code: "330802".into(),
            area: Area(11_250),
            price: Fen::new(PRICE_FEN),
            signed_on: date(2026, 9, 25),
            filed_on: date(2026, 10, 1),
            buyers: vec![id.as_str().to_owned()],
            seller_name: "衢州锦绣置业有限公司".into(),
            seller_account: "33050100000000001234".into(),
            seller_bank: BANK.into(),
            cancelled: false,
        }],
        credit: Some(CreditReport {
            loans: vec![],
            overdue_count_24m: 0,
        }),
        ..PersonRecord::default()
    }
}

/// Wall-clock spans of calls to one outside system, for the split of the time.
#[derive(Debug, Default)]
struct Clock {
    spans: Mutex<Vec<(Instant, Instant)>>,
}

impl Clock {
    fn time<T>(&self, f: impl FnOnce() -> T) -> T {
        let a = Instant::now();
        let r = f();
        let b = Instant::now();
        if let Ok(mut s) = self.spans.lock() {
            s.push((a, b));
        }
        r
    }

    /// The wall time the spans recorded since the last call cover (calls made in parallel
    /// count once), µs; forgets them.
    fn take_us(&self) -> u128 {
        let mut spans = match self.spans.lock() {
            Ok(mut s) => std::mem::take(&mut *s),
            Err(_) => return 0,
        };
        spans.sort_unstable_by_key(|s| s.0);
        let mut total = 0;
        let mut cur: Option<(Instant, Instant)> = None;
        for (a, b) in spans {
            cur = match cur {
                Some((ca, cb)) if a <= cb => Some((ca, cb.max(b))),
                Some((ca, cb)) => {
                    total += (cb - ca).as_micros();
                    Some((a, b))
                }
                None => Some((a, b)),
            };
        }
        if let Some((ca, cb)) = cur {
            total += (cb - ca).as_micros();
        }
        total
    }
}

/// The departments a purchase withdrawal asks, timed.
#[derive(Debug)]
struct TimedExchange {
    inner: Departments,
    clock: Arc<Clock>,
}

impl PublicSecurity for TimedExchange {
    fn identity(&self, ask: &Ask) -> Fetched<Option<Identity>> {
        self.clock.time(|| self.inner.public_security.identity(ask))
    }
    fn household(&self, ask: &Ask) -> Fetched<Option<Household>> {
        self.clock
            .time(|| self.inner.public_security.household(ask))
    }
}

impl RealEstate for TimedExchange {
    fn properties(&self, ask: &Ask) -> Fetched<Vec<Property>> {
        self.clock.time(|| self.inner.real_estate.properties(ask))
    }
    fn register_mortgage(
        &self,
        ask: &Ask,
        req: &MortgageRequest,
    ) -> Result<MortgageRegistration, Unavailable> {
        self.inner.real_estate.register_mortgage(ask, req)
    }
    fn release_mortgage(
        &self,
        ask: &Ask,
        registration_no: &str,
    ) -> Result<MortgageRelease, Unavailable> {
        self.inner
            .real_estate
            .release_mortgage(ask, registration_no)
    }
}

impl HousingFiling for TimedExchange {
    fn contracts(&self, ask: &Ask) -> Fetched<Vec<PurchaseContract>> {
        self.clock.time(|| self.inner.housing_filing.contracts(ask))
    }
}

impl Credit for TimedExchange {
    fn credit(&self, ask: &Ask) -> Fetched<CreditReport> {
        self.clock.time(|| self.inner.credit.credit(ask))
    }
}

/// The bank, timed.
#[derive(Debug)]
struct TimedBank {
    inner: Arc<dyn Bank>,
    clock: Arc<Clock>,
}

impl Bank for TimedBank {
    fn code(&self) -> &str {
        self.inner.code()
    }
    fn submit(&self, batch: &[Instruction]) -> Vec<Result<BankAnswer, Unreachable>> {
        self.clock.time(|| self.inner.submit(batch))
    }
    fn status(&self, serial: &str) -> Result<BankAnswer, Unreachable> {
        self.clock.time(|| self.inner.status(serial))
    }
    fn balance(&self, account: &str) -> Result<Fen, Unreachable> {
        self.inner.balance(account)
    }
    fn statement(&self, account: &str, date: Date) -> Result<Statement, Unreachable> {
        self.inner.statement(account, date)
    }
}

/// Milliseconds with three decimals, from µs (a JSON number).
fn ms(us: u128) -> String {
    format!("{}.{:03}", us / 1_000, us % 1_000)
}

/// "2 × AMD EPYC" from this machine, as far as it tells.
pub(crate) fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let model: String = model
        .chars()
        .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
        .collect();
    format!("{cpus} x {model}")
}

/// `anju bench withdraw`.
pub fn withdraw(backend: Backend, db: Option<&str>, applications: usize) -> anyhow::Result<()> {
    anyhow::ensure!(applications > 0, "--applications must be > 0");
    let t_setup = Instant::now();
    let s = scratch(backend, db)?;
    let store = s.store.as_ref();
    let policy = Policy::from_toml(QUZHOU_POLICY)?;
    let dir = tempfile::tempdir()?;
    let exe = std::env::current_exe()?;
    let bank = BankSimProcess::start(
        &exe,
        &dir.path().join("bank.db"),
        &["--bank", BANK, "--date", &TODAY.to_string()],
    )?;
    let members = WARM_UP + applications;

    // The centre, its bank and one unit.
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
    let unit = register_unit(
        store,
        CENTRE,
        &policy,
        NewUnit {
            credit_code: CreditCode::with_check_char("91330802MA2DXXXX2")?,
            name: "衢州市示范科技有限公司".into(),
            address: "衢州市柯城区荷花中路1号".into(),
            legal_rep: "赵六".into(),
            payday: 10,
            bank_code: BANK.into(),
            unit_ratio: Rate::from_percent(12),
            member_ratio: Rate::from_percent(12),
        },
        &clerk(),
        now,
    )?;

    // Members, one clerk action each, with their opening balances, cards at Anju and at
    // the bank, and what the departments know about them.
    let admin = bank.admin();
    let mut ids = Vec::with_capacity(members);
    let mut accounts = Vec::with_capacity(members);
    let mut dataset = Dataset::empty(Timestamp::now());
    for i in 0..members {
        let id = id_number(i)?;
        let (m, _) = open_member(
            store,
            CENTRE,
            &policy,
            NewMember {
                id_card: id.clone(),
                name: name(i),
                unit_no: unit.unit_no.clone(),
                wage: Fen::new(800_000),
            },
            &clerk(),
            now,
        )?;
        bind_card(store, CENTRE, &m.account_no, BANK, &card(i))?;
        admin.open_account(&card(i), &name(i), 0)?;
        dataset
            .people
            .insert(id.as_str().to_owned(), record(i, &id));
        ids.push(id.as_str().to_owned());
        accounts.push(m.account_no);
    }
    let opening = accounts
        .iter()
        .map(|a| {
            Ok(EntryRequest::posted(
                format!("open:{a}"),
                TxCode::OpeningBalance,
                OPENED,
                OPENED,
                vec![
                    Leg::debit(AccountNo::sub("101", BANK)?, Fen::new(OPENING_FEN)),
                    Leg::credit(AccountNo::sub("201", a)?, Fen::new(OPENING_FEN)),
                ],
                "期初余额",
                Stamp::system("migration"),
            ))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    post_batch(store, CENTRE, opening, now)?;
    admin.open_account(&fund, CENTRE_NAME, OPENING_FEN * members as i64)?;
    set_business_date(store, CENTRE, TODAY)?;
    dataset.validate()?;
    let dataset_path = dir.path().join("dataset.json");
    dataset.save(&dataset_path)?;
    let exchange = crate::sharing::SimProcess::start(&dataset_path, &[])?;

    // The clients, with clocks on the outside calls.
    let exchange_clock = Arc::new(Clock::default());
    let bank_clock = Arc::new(Clock::default());
    let mut departments = exchange.departments()?;
    let timed = Arc::new(TimedExchange {
        inner: departments.clone(),
        clock: exchange_clock.clone(),
    });
    departments.public_security = timed.clone();
    departments.real_estate = timed.clone();
    departments.housing_filing = timed.clone();
    departments.credit = timed;
    let mut banks = BankSet::new();
    banks.insert(Arc::new(TimedBank {
        inner: Arc::new(bank.client()?),
        clock: bank_clock.clone(),
    }));
    let ctx = Withdrawals {
        store,
        departments: &departments,
        banks: &banks,
        centre: CENTRE,
        policy: &policy,
    };
    let request = |i: usize, no: String| NewWithdrawal {
        application_no: no,
        id_number: ids[i].clone(),
        ground: Ground::Purchase,
        mode: None,
        requested: None,
        spouse: None,
        claims: Claims::default(),
        heirs: vec![],
        consents: vec![],
        stamp: online(&ids[i]),
    };
    let paid = |i: usize, v: &withdrawal::WithdrawalView| -> anyhow::Result<()> {
        anyhow::ensure!(
            v.status == "paid" && v.amount == Fen::new(OPENING_FEN),
            "application {} (member {i}) ended {} with {} yuan, not paid {}: {}",
            v.application_no,
            v.status,
            v.amount,
            Fen::new(OPENING_FEN),
            v.reason_en
        );
        Ok(())
    };
    let setup_us = t_setup.elapsed().as_micros();

    for i in 0..WARM_UP {
        let v = withdrawal::apply(&ctx, &request(i, format!("WU-{i:05}")), Timestamp::now())?;
        paid(i, &v)?;
    }
    exchange_clock.take_us();
    bank_clock.take_us();

    let mut total = Vec::with_capacity(applications);
    let mut outside_exchange = Vec::with_capacity(applications);
    let mut outside_bank = Vec::with_capacity(applications);
    let mut inside = Vec::with_capacity(applications);
    let t_all = Instant::now();
    for k in 0..applications {
        let i = WARM_UP + k;
        let new = request(i, format!("WB-{k:07}"));
        let t = Instant::now();
        let v = withdrawal::apply(&ctx, &new, Timestamp::now())?;
        let us = t.elapsed().as_micros();
        paid(i, &v)?;
        let ex = exchange_clock.take_us();
        let bk = bank_clock.take_us();
        total.push(us);
        outside_exchange.push(ex);
        outside_bank.push(bk);
        inside.push(us.saturating_sub(ex + bk));
    }
    let elapsed_us = t_all.elapsed().as_micros().max(1);
    // The median of each tenth of the run, in order: whether the time grows with the
    // number of withdrawals already made.
    let tenths: Vec<String> = total
        .chunks(applications.div_ceil(10))
        .map(|c| {
            let mut c = c.to_vec();
            c.sort_unstable();
            ms(percentile(&c, 50))
        })
        .collect();
    let mean = |v: &[u128]| v.iter().sum::<u128>() / v.len() as u128;
    let means = (mean(&outside_exchange), mean(&outside_bank), mean(&inside));
    for v in [
        &mut total,
        &mut outside_exchange,
        &mut outside_bank,
        &mut inside,
    ] {
        v.sort_unstable();
    }
    let p = |v: &[u128], q| ms(percentile(v, q));
    let p50 = percentile(&total, 50);
    let p99 = percentile(&total, 99);
    // Applications per second with one decimal.
    let per_s_10 = (applications as u128) * 10_000_000 / elapsed_us;
    println!(
        "{{\"bench\":\"withdraw\",\"backend\":\"{}\",\"ground\":\"purchase\",\"applications\":{applications},\"warm_up\":{WARM_UP},\"p50_ms\":{},\"p90_ms\":{},\"p99_ms\":{},\"max_ms\":{},\"mean_ms\":{},\"per_s\":{}.{},\"elapsed_s\":{},\"p50_by_tenth_ms\":[{}],\"split_mean_ms\":{{\"exchange\":{},\"bank\":{},\"anju\":{}}},\"split_p50_ms\":{{\"exchange\":{},\"bank\":{},\"anju\":{}}},\"split_p99_ms\":{{\"exchange\":{},\"bank\":{},\"anju\":{}}},\"target_p50_ms\":20,\"target_p99_ms\":100,\"p50_met\":{},\"p99_met\":{},\"setup_s\":{},\"machine\":\"{}\",\"peak_rss_mb\":{}}}",
        backend.name(),
        ms(p50),
        p(&total, 90),
        ms(p99),
        ms(total[total.len() - 1]),
        ms(mean(&total)),
        per_s_10 / 10,
        per_s_10 % 10,
        seconds(elapsed_us),
        tenths.join(","),
        ms(means.0),
        ms(means.1),
        ms(means.2),
        p(&outside_exchange, 50),
        p(&outside_bank, 50),
        p(&inside, 50),
        p(&outside_exchange, 99),
        p(&outside_bank, 99),
        p(&inside, 99),
        p50 < 20_000,
        p99 < 100_000,
        seconds(setup_us),
        machine(),
        peak_rss_mb()
    );
    drop(exchange);
    drop(bank);
    Ok(())
}
