//! The demo centre: Quzhou's policy, five commissioned banks, a few dozen units and about
//! a thousand members, with six months of remittances, withdrawals (paid, and one the bank
//! rejected) and a reversal — all posted through the production posting path, so there is
//! something to see and to audit. Deterministic: the same seed gives the same ledger.

use anju_app::ledger::{self, open_accounts, open_centre, post_batch, set_business_date};
use anju_domain::calendar::BusinessCalendar;
use anju_domain::codes::Channel;
use anju_domain::ledger::{AccountNo, EntryRequest, Leg, TxCode};
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::Policy;
use anju_domain::stamp::Stamp;
use anju_store::Store;
use jiff::Timestamp;
use jiff::civil::{Date, date};

/// Commissioned banks of the demo centre: (code, name).
pub const BANKS: &[(&str, &str)] = &[
    ("ICBC", "中国工商银行衢州分行"),
    ("ABC", "中国农业银行衢州分行"),
    ("CCB", "中国建设银行衢州分行"),
    ("BOC", "中国银行衢州分行"),
    ("QZRCB", "衢州农村商业银行"),
];

/// A small deterministic generator (xorshift64*), so the demo needs no randomness crate.
#[derive(Debug)]
pub struct Prng(u64);

impl Prng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Prng {
        Prng(seed.max(1))
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `lo..hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi - lo).max(1) as u64;
        lo + (self.next_u64() % span) as i64
    }
}

/// What the seeder made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeded {
    /// Units.
    pub units: usize,
    /// Members.
    pub members: usize,
    /// Entries posted.
    pub entries: usize,
}

struct Unit {
    code: String,
    bank: &'static str,
    ratio: Rate,
    members: Vec<(AccountNo, Fen)>,
}

/// A member's personal account number (个人账号): region code + 7 digits.
pub fn member_account(n: usize) -> String {
    format!("330800{n:07}")
}

/// Creates and seeds the demo centre unless it exists already. Returns `None` if the
/// centre was already there.
pub fn seed(store: &dyn Store, policy: &Policy, now: Timestamp) -> anyhow::Result<Option<Seeded>> {
    let centre = policy.centre();
    if store.begin()?.centre(&centre.code)?.is_some() {
        return Ok(None);
    }
    let calendar = BusinessCalendar::cn()?;
    let start = date(2026, 6, 1);
    open_centre(store, &centre.code, &centre.name, start, now)?;
    let code = centre.code.as_str();

    let mut rng = Prng::new(20_211_020);
    let rule = policy.contribution_on(start)?.clone();
    let mut nos: Vec<AccountNo> = Vec::new();
    for (b, _) in BANKS {
        nos.push(AccountNo::sub("101", b)?);
    }
    let mut units = Vec::new();
    let mut member_n = 0usize;
    for u in 0..30usize {
        let ucode = format!("U{:05}", u + 1);
        nos.push(AccountNo::sub("213", &ucode)?);
        // Ratios 5 %–12 % in whole percent, the same for unit and member here.
        let ratio = Rate::from_percent(rng.range(5, 13));
        let size = rng.range(8, 70) as usize;
        let mut members = Vec::with_capacity(size);
        for _ in 0..size {
            member_n += 1;
            let no = AccountNo::sub("201", &member_account(member_n))?;
            nos.push(no.clone());
            let base = Fen::new(rng.range(rule.base_floor.fen(), rule.base_cap.fen() / 2));
            members.push((no, base));
        }
        units.push(Unit {
            code: ucode,
            bank: BANKS[u % BANKS.len()].0,
            ratio,
            members,
        });
    }
    open_accounts(store, code, &nos, start)?;

    let clerk = |unit: &str| Stamp {
        operator: "staff:demo-clerk".to_owned(),
        channel: Channel::Counter,
        service_point: "hall-kecheng".to_owned(),
        on_behalf_of: Some(format!("unit:{unit}")),
    };
    let mut posted = 0usize;
    for month in 6..=11i8 {
        // Units remit within 5 working days of a payday on the 5th.
        let payday = date(2026, month, 5);
        let day = calendar.add_working_days(payday, 3)?;
        set_business_date(store, code, day)?;
        let mut reqs = Vec::new();
        for u in &units {
            let mut legs = Vec::with_capacity(u.members.len() + 1);
            let mut total = Fen::ZERO;
            for (no, base) in &u.members {
                let unit_share = base.mul_rate(u.ratio, rule.rounding)?;
                let member_share = base.mul_rate(u.ratio, rule.rounding)?;
                let amount = unit_share.checked_add(member_share)?;
                total = total.checked_add(amount)?;
                legs.push(Leg::credit(no.clone(), amount));
            }
            legs.insert(0, Leg::debit(AccountNo::sub("101", u.bank)?, total));
            reqs.push(EntryRequest::posted(
                format!("remit:{}:2026{month:02}", u.code),
                TxCode::Remittance,
                day,
                day,
                legs,
                format!("2026-{month:02} 汇缴"),
                clerk(&u.code),
            ));
        }
        posted += post_batch(store, code, reqs, now)?.len();

        // Three members withdraw: pending when sent, posted when the bank confirms the
        // next working day; in August one payment is rejected and voided.
        let next = calendar.next_working_day(day)?;
        let mut pendings = Vec::new();
        for i in 0..3usize {
            let u = &units[(month as usize * 7 + i * 5) % units.len()];
            let (no, base) = &u.members[i % u.members.len()];
            let amount = Fen::new(base.fen() / 10);
            let key = format!("withdraw:{}:2026{month:02}:{i}", no.sub_key().unwrap_or(""));
            pendings.push(EntryRequest::pending(
                key.clone(),
                TxCode::Withdrawal,
                day,
                vec![
                    Leg::debit(no.clone(), amount),
                    Leg::credit(AccountNo::sub("101", u.bank)?, amount),
                ],
                "偿还住房贷款提取",
                Stamp {
                    operator: format!("member:{}", no.sub_key().unwrap_or("")),
                    channel: Channel::MobileApp,
                    service_point: "online".to_owned(),
                    on_behalf_of: no.sub_key().map(str::to_owned),
                },
            ));
        }
        let keys: Vec<String> = pendings.iter().map(|p| p.key.clone()).collect();
        posted += post_batch(store, code, pendings, now)?.len();
        set_business_date(store, code, next)?;
        let mut confirmations = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            let ok = !(month == 8 && i == 1);
            confirmations.push(EntryRequest::resolve_pending(
                format!("{k}:{}", if ok { "paid" } else { "rejected" }),
                k.clone(),
                ok,
                next,
                next,
                if ok {
                    "银行已到账"
                } else {
                    "银行退票：账户已销户"
                },
                Stamp::system("bank-notice"),
            ));
        }
        posted += post_batch(store, code, confirmations, now)?.len();
    }

    // A unit pays September twice by mistake; the duplicate is reversed (冲正).
    let dup_day = date(2026, 11, 20);
    set_business_date(store, code, calendar.working_day_on_or_after(dup_day)?)?;
    let day = calendar.working_day_on_or_after(dup_day)?;
    let u = &units[2];
    let mut legs = Vec::new();
    let mut total = Fen::ZERO;
    for (no, _) in u.members.iter().take(3) {
        legs.push(Leg::credit(no.clone(), Fen::new(10_000)));
        total = total.checked_add(Fen::new(10_000))?;
    }
    legs.insert(0, Leg::debit(AccountNo::sub("101", u.bank)?, total));
    let dup_key = format!("remit:{}:202609:dup", u.code);
    posted += post_batch(
        store,
        code,
        vec![
            EntryRequest::posted(
                dup_key.clone(),
                TxCode::Remittance,
                day,
                day,
                legs,
                "2026-09 汇缴（重复）",
                clerk(&u.code),
            ),
            EntryRequest::reversal(
                format!("{dup_key}:reversal"),
                dup_key,
                day,
                "重复缴存冲正",
                clerk(&u.code),
            ),
        ],
        now,
    )?
    .len();

    set_business_date(store, code, demo_end())?;
    let report = ledger::audit(store, code)?;
    anyhow::ensure!(
        report.is_clean(),
        "demo ledger failed its audit: {:?}",
        report.problems
    );
    Ok(Some(Seeded {
        units: units.len(),
        members: member_n,
        entries: posted,
    }))
}

/// The demo's business date at the end of seeding.
pub fn demo_end() -> Date {
    date(2026, 11, 27)
}
