//! The demo centre: Quzhou's policy, five commissioned banks, 30 units and about 1,300
//! members opened in June 2025, then seventeen months of remittance bills (July 2025 to
//! November 2026) generated from the rosters and paid by bank notice, the July base
//! adjustment, the year-end interest of 2026, a flexible-employment member, a payment
//! corrected by reversal, withdrawals (paid, and one the bank rejected), and at the end a
//! unit in arrears and one whose partial payment is held in suspense — all through the
//! production use cases, so there is something to see and to audit. Deterministic: the
//! same seed gives the same ledger.

use anju_app::interest::settle_interest;
use anju_app::ledger::{self, open_accounts, open_centre, post_batch, set_business_date};
use anju_app::registry::{
    BaseAdjustment, MemberAct, NewFlexible, NewMember, NewUnit, adjust_bases, change_member,
    open_flexible, open_member, register_unit,
};
use anju_app::remittance::{
    BillChange, Payment, adjust_bill, confirm_bill, generate_month, pay_bill, voluntary_bill,
};
use anju_domain::calendar::BusinessCalendar;
use anju_domain::codes::Channel;
use anju_domain::collection::YearMonth;
use anju_domain::ids::{CreditCode, IdCard};
use anju_domain::ledger::{AccountNo, EntryRequest, Leg, TxCode};
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::Policy;
use anju_domain::stamp::Stamp;
use anju_store::Store;
use jiff::Timestamp;
use jiff::civil::{Date, date};

/// The demo's flexible worker opens as any would: the policy's residence rule verified
/// with the departments, through the exchange client and the look-up log. The demo's own
/// exchange simulator starts only on the seeded centre, so this one opening is verified
/// against a simulator started just for it, on the facts the same generator gives that
/// person (a flexible worker lives in the city) — the facts the demo's exchange dataset
/// then also holds for them.
fn open_flexible_verified(
    store: &dyn Store,
    code: &str,
    policy: &Policy,
    new: NewFlexible,
    stamp: &Stamp,
    now: Timestamp,
) -> anyhow::Result<anju_store::registry::MemberRow> {
    use anju_exchange::sim::generate::{CentrePerson, generate};
    let today = store
        .begin_read()?
        .centre(code)?
        .ok_or_else(|| anyhow::anyhow!("no centre {code}"))?
        .business_date;
    let person = CentrePerson {
        id_number: new.id_card.as_str().to_owned(),
        name: new.name.clone(),
        employer_name: None,
        employer_credit_code: None,
        monthly_base: new.base,
        opened_on: today,
        status: anju_domain::codes::PersonalAccountStatus::Normal,
    };
    let dataset = generate(&[person], 1, today)?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("flexible-opening.json");
    dataset.save(&path)?;
    let sim = crate::sharing::SimProcess::start(&path, &[])?;
    let departments = sim.departments()?;
    let ctx = anju_app::sharing::Sharing {
        store,
        departments: &departments,
        centre: code,
    };
    Ok(open_flexible(&ctx, policy, new, stamp, now)?)
}

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
    let start = date(2025, 6, 2);
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
            members,
        });
    }

    let bank = |code: &str| Stamp {
        operator: format!("bank:{code}"),
        channel: Channel::MachineInterface,
        service_point: format!("bank-{code}"),
        on_behalf_of: None,
    };
    let unit_clerk = |unit: &str| Stamp {
        operator: format!("unit:{unit}"),
        channel: Channel::Web,
        service_point: "online".to_owned(),
        on_behalf_of: Some(format!("unit:{unit}")),
    };
    let mut posted = 0usize;
    let months: Vec<YearMonth> = (0..17)
        .filter_map(|i| YearMonth::new(2025, 7).and_then(|m| m.plus(i)))
        .collect();
    let mut flexible_opened = false;
    for month in months {
        let (year, mo) = (month.year(), month.month());
        // July: the annual base adjustment of the first unit's members (+5 %).
        if mo == 7 {
            set_business_date(
                store,
                code,
                calendar.working_day_on_or_after(date(year, 7, 1))?,
            )?;
            let u = &units[0];
            let mut tx = store.begin_read()?;
            let rows: Vec<BaseAdjustment> = tx
                .members_of_unit(code, &u.code)?
                .into_iter()
                .map(|m| BaseAdjustment {
                    account_no: m.account_no,
                    wage: Fen::new(m.base.fen() + m.base.fen() / 20),
                })
                .collect();
            drop(tx);
            adjust_bases(store, code, policy, &u.code, year, &rows, &registrar, now)?;
        }
        // Units pay a few working days after a payday on the 5th.
        let day = calendar.add_working_days(date(year, mo, 5), 3)?;
        set_business_date(store, code, day)?;
        let bills = generate_month(store, code, policy, &calendar, month, &mut |_, _| {})?;
        for b in &bills {
            let n = units
                .iter()
                .position(|u| u.code == b.bill.payer)
                .unwrap_or(0);
            let serial = format!("{}{}{:04}", b.bill.bank_code, month.compact(), n);
            // The last month: unit 3 has not paid (arrears), unit 4 paid half (suspense).
            let amount = match ((year, mo) == (2026, 11), n) {
                (true, 3) => continue,
                (true, 4) => Fen::new(b.bill.total.fen() / 2),
                _ => b.bill.total,
            };
            pay_bill(
                store,
                code,
                Payment {
                    bill_no: b.bill.bill_no.clone(),
                    receipt_key: serial,
                    amount,
                    bank_code: None,
                },
                &bank(&b.bill.bank_code),
                now,
            )?;
            posted += 1;
        }
        // A self-employed person opens a voluntary account once the policy allows it
        // (2026-09-20) and pays September to November in advance.
        if (year, mo) == (2026, 10) && !flexible_opened {
            let f = open_flexible_verified(
                store,
                code,
                policy,
                NewFlexible {
                    id_card: IdCard::with_check_char("33080219900707123")?,
                    name: "祝自由".to_owned(),
                    base: Fen::new(600_000),
                    ratio: Rate::from_percent(20),
                },
                &registrar,
                now,
            )?;
            let b = voluntary_bill(store, code, policy, &f.account_no, Some(month), 2, "QZRCB")?;
            pay_bill(
                store,
                code,
                Payment {
                    bill_no: b.bill.bill_no.clone(),
                    receipt_key: format!("QZRCB-F-{}", month.compact()),
                    amount: b.bill.total,
                    bank_code: None,
                },
                &bank("QZRCB"),
                now,
            )?;
            flexible_opened = true;
        }

        // Three members withdraw: pending when sent, posted when the bank confirms the
        // next working day; in the first August one payment is rejected and voided.
        let next = calendar.next_working_day(day)?;
        let mut pendings = Vec::new();
        for i in 0..3usize {
            let u = &units[(mo as usize * 7 + i * 5) % units.len()];
            let (no, base) = &u.members[i % u.members.len()];
            let amount = Fen::new(base.fen() / 10);
            let key = format!(
                "withdraw:{}:{}:{i}",
                no.sub_key().unwrap_or(""),
                month.compact()
            );
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
        // Withdrawals start once members have a few months' balance.
        if month >= YearMonth::new(2025, 10).unwrap_or(month) {
            posted += post_batch(store, code, pendings, now)?.len();
            set_business_date(store, code, next)?;
            let mut confirmations = Vec::new();
            for (i, k) in keys.iter().enumerate() {
                let ok = !((year, mo) == (2025, 11) && i == 1);
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

        // September 2026: unit 2 paid for a member who had left in August. The payment is
        // corrected by reversal (冲正), the member sealed and taken off the bill, and the
        // bill confirmed and paid again.
        if (year, mo) == (2026, 9) {
            let u = &units[2];
            let mut tx = store.begin_read()?;
            let bill = tx
                .remittance_bill(code, &u.code, month)?
                .ok_or_else(|| anyhow::anyhow!("no September bill for unit {}", u.code))?;
            let receipts = tx.receipts_of(code, &u.code)?;
            drop(tx);
            let paid = receipts
                .iter()
                .find(|r| r.bill_no.as_deref() == Some(bill.bill_no.as_str()))
                .ok_or_else(|| anyhow::anyhow!("September not paid"))?;
            // The unit asks for a correction; a counter clerk proposes the reversal and an
            // approver confirms it (双人复核), which reverses the payment.
            let hall = anju_domain::access::PointType::CentreHall;
            let maker = anju_app::access::admin::Actor::staff(
                "k001",
                anju_domain::access::Role::CounterClerk,
                "hall-kecheng",
                hall,
            );
            let checker = anju_app::access::admin::Actor::staff(
                "a001",
                anju_domain::access::Role::Approver,
                "hall-kecheng",
                hall,
            );
            let id = anju_app::access::admin::propose_reversal(
                store,
                code,
                &maker,
                &bill.bill_no,
                &paid.entry_key,
                "已离职职工仍在清册（单位申请更正）",
                now,
            )?;
            anju_app::access::admin::decide(store, code, &checker, id, true, None, now)?;
            let leaver = u.members[1].0.sub_key().unwrap_or("").to_owned();
            change_member(
                store,
                code,
                &leaver,
                MemberAct::Seal,
                "8月离职",
                &unit_clerk(&u.code),
                now,
            )?;
            adjust_bill(
                store,
                code,
                policy,
                &bill.bill_no,
                &[BillChange::Remove { account_no: leaver }],
            )?;
            let fixed = confirm_bill(store, code, &bill.bill_no)?;
            pay_bill(
                store,
                code,
                Payment {
                    bill_no: bill.bill_no.clone(),
                    receipt_key: format!("{}-{}-R", u.bank, month.compact()),
                    amount: fixed.bill.total,
                    bank_code: None,
                },
                &bank(u.bank),
                now,
            )?;
            posted += 2;
        }
        // The year-end interest on June 30, 2026.
        if (year, mo) == (2026, 6) {
            set_business_date(store, code, date(2026, 6, 30))?;
            let run = settle_interest(store, code, policy, 2026, &Stamp::system("interest"), now)?;
            posted += usize::try_from(run.run.entries)?;
        }
    }
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
