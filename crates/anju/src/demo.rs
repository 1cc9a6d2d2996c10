//! The demo centre: Quzhou's policy, five commissioned banks, a few dozen units and about
//! a thousand members, with six months of remittances, withdrawals (paid, and one the bank
//! rejected) and a reversal — all posted through the production posting path, so there is
//! something to see and to audit. Deterministic: the same seed gives the same ledger.

use anju_app::ledger::{self, open_accounts, open_centre, post_batch, set_business_date};
use anju_app::registry::{NewMember, NewUnit, open_member, register_unit};
use anju_domain::calendar::BusinessCalendar;
use anju_domain::codes::Channel;
use anju_domain::ids::{CreditCode, IdCard};
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

/// Quzhou's districts and counties (GB/T 2260): 柯城区, 衢江区, 常山县, 开化县, 龙游县, 江山市.
const DISTRICTS: &[&str] = &["330802", "330803", "330822", "330824", "330825", "330881"];
/// Characters allowed in a unified social credit code.
const CODE_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const NAME_PARTS: &[&str] = &[
    "宏远", "信达", "衢东", "柯城", "江南", "华瑞", "龙游", "开元", "钱塘", "新安",
];
const INDUSTRIES: &[&str] = &[
    "科技",
    "机械制造",
    "建材",
    "食品",
    "物流",
    "电子",
    "纺织",
    "医药",
];
const STREETS: &[&str] = &[
    "荷花中路",
    "新桥街",
    "三衢路",
    "花园大道",
    "世纪大道",
    "百汇路",
];
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "毛", "郑", "祝", "余",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
    "秀英", "建华", "志强", "海燕", "晓东", "丽君",
];

/// A plausible Chinese personal name.
fn person_name(rng: &mut Prng) -> String {
    let s = SURNAMES[rng.range(0, SURNAMES.len() as i64) as usize];
    let g = GIVEN[rng.range(0, GIVEN.len() as i64) as usize];
    format!("{s}{g}")
}

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
    let mut banks: Vec<AccountNo> = Vec::new();
    for (b, _) in BANKS {
        banks.push(AccountNo::sub("101", b)?);
    }
    open_accounts(store, code, &banks, start)?;

    // Units and members go through the registry, as a counter clerk would enter them.
    let registrar = Stamp {
        operator: "staff:demo-clerk".to_owned(),
        channel: Channel::Counter,
        service_point: "hall-kecheng".to_owned(),
        on_behalf_of: None,
    };
    let mut units = Vec::new();
    let mut member_n = 0usize;
    let mut used_ids = std::collections::HashSet::new();
    for u in 0..30usize {
        let region = DISTRICTS[u % DISTRICTS.len()];
        let org8: String = std::iter::once('M')
            .chain(std::iter::once('A'))
            .chain((0..6).map(|_| {
                let i = rng.range(0, CODE_CHARS.len() as i64) as usize;
                char::from(CODE_CHARS[i])
            }))
            .collect();
        // Ratios 5 %–12 % in whole percent, the same for unit and member here.
        let ratio = Rate::from_percent(rng.range(5, 13));
        let unit_row = register_unit(
            store,
            code,
            policy,
            NewUnit {
                credit_code: CreditCode::from_parts("91", region, &org8)?,
                name: format!(
                    "衢州{}{}有限公司",
                    NAME_PARTS[u % NAME_PARTS.len()],
                    INDUSTRIES[(u / NAME_PARTS.len() + u) % INDUSTRIES.len()]
                ),
                address: format!("衢州市{}路{}号", STREETS[u % STREETS.len()], u * 7 + 1),
                legal_rep: person_name(&mut rng),
                payday: 5,
                bank_code: BANKS[u % BANKS.len()].0.to_owned(),
                unit_ratio: ratio,
                member_ratio: ratio,
            },
            &registrar,
            now,
        )?;
        let size = rng.range(8, 70) as usize;
        let mut members = Vec::with_capacity(size);
        for _ in 0..size {
            member_n += 1;
            let birth = date(
                i16::try_from(rng.range(1968, 2004))?,
                i8::try_from(rng.range(1, 13))?,
                i8::try_from(rng.range(1, 29))?,
            );
            // Sequence numbers 001–999 per region and birth date keep every ID distinct.
            let mut seq = member_n % 999 + 1;
            let mut first17 = format!("{region}{}{seq:03}", birth.strftime("%Y%m%d"));
            while !used_ids.insert(first17.clone()) {
                seq = seq % 999 + 1;
                first17 = format!("{region}{}{seq:03}", birth.strftime("%Y%m%d"));
            }
            let wage = Fen::new(rng.range(rule.base_floor.fen() / 2, rule.base_cap.fen() * 3 / 4));
            let (m, _notice) = open_member(
                store,
                code,
                policy,
                NewMember {
                    id_card: IdCard::with_check_char(&first17)?,
                    name: person_name(&mut rng),
                    unit_no: unit_row.unit_no.clone(),
                    wage,
                },
                &registrar,
                now,
            )?;
            members.push((AccountNo::sub("201", &m.account_no)?, m.base));
        }
        units.push(Unit {
            code: unit_row.unit_no,
            bank: BANKS[u % BANKS.len()].0,
            ratio,
            members,
        });
    }

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
