//! A dataset consistent with a centre's members, for the simulator.
//!
//! [`generate`] is pure: the same people, seed and business date give a byte-identical
//! dataset ([`Dataset::to_json`]). People are processed in ID-number order with one
//! seeded [`Prng`], so the input order does not matter.
//!
//! Proportions used (per person unless stated; "city" = Quzhou, division codes `3308…`):
//!
//! * **identity** for everyone, with the centre's name and the sex and birth date of the ID
//!   number; about 1.2 % of members (aged 25+) **died** between their account's opening
//!   and the business date: `alive: false` and a death record;
//! * **household**: about 3 % of the living **moved out** of the city in the last year
//!   (Hangzhou, Ningbo, Jinhua, Shanghai, Nanjing, Nanchang, Hefei); of the others 70 % are
//!   registered in the district of their ID number when it is one of Quzhou's six
//!   (柯城区 330802, 衢江区 330803, 常山县 330822, 开化县 330824, 龙游县 330825,
//!   江山市 330881), the rest in a random one of them;
//! * **marriage**: 57 % of those aged 25+ and 25 % of those aged 22–24 (20 for women) are
//!   married — about 55 % overall. Men and women are paired inside the dataset by age
//!   (gap ≤ 10 years); the rest marry a generated non-member spouse who is added to the
//!   dataset (identity, household, marriage, joint homes). Both sides carry each other's
//!   ID and name and the same date; when one spouse died the survivor is widowed (`30`).
//!   15 % of the unmarried aged 30+ are divorced (`40`), the rest unmarried (`10`);
//! * **homes** per household (a couple or a single person): 68 % of couples and 35 % of
//!   singles own a registered home in the city (couples: 70 % jointly, else in one name);
//!   12 % of those a second one; 4 % own one elsewhere in the province and 3 % one out
//!   of the province;
//! * **purchase contracts**: 14 % of living households signed one in the last two years
//!   (60 % new homes, 40 % second-hand; all living spouses are buyers); 5 % of contracts
//!   are cancelled; 85 % of second-hand and 35 % of new ones (if completed by the
//!   business date) are already registered as a property at the same address to the
//!   buyers; the others are pre-sale / not yet registered. New homes are paid into a
//!   developer's escrow account (监管账户), second-hand ones into the seller's own;
//! * **leases**: 55 % of living, not moved-out households without a home in the city rent
//!   one (all living spouses are tenants); 85 % of leases cover the business date, the
//!   rest ended before it;
//! * **employment** for every member: employer = the member's unit (none for flexible
//!   workers), insured (参保地) where the unit is registered — a flexible worker where
//!   their household is; flexible workers always have a standing household registration
//!   in the city (they opened under the residence rule: never moved out or emigrated);
//!   contributions run from the month the account opened to the last month
//!   before the business month (earlier for sealed or closed accounts, the retired, the
//!   dead and those who lost their work capacity); retirement at 60 for men and 55 or 50
//!   (half each) for women — those past that age are retired and no longer insured;
//!   1.5 % of the working have lost their work capacity (disability grade 1–4) and 1 %
//!   have a lighter disability (grade 5–10);
//! * **income** for members with a unit, for each of the three years before the business
//!   year in which they were alive, adult and not retired: base × 12, less 4 % per year
//!   back, ±3 %, prorated in a year of retirement or death; the tax is the annual IIT
//!   schedule on the income less ¥60,000 and 22 % social contributions;
//! * **credit**: 55 % of homes (registered or bought under contract) carry a home loan
//!   in the first owner's name (45 % provident fund, 55 % commercial), which marks the
//!   property mortgaged; 8 % have a car loan, 10 % a consumer loan, 40 % a credit card;
//!   3 % of those with a loan are overdue now (1–3 months), 6 % were overdue in the last
//!   24 months only;
//! * **renewal**: 8 % of registered homes in the city have a share in an old-community
//!   renovation (60 %) or a lift installation (40 %) project, 70 % of them completed;
//! * **medical**: 2 % of members had serious-illness expenses in one of the last three
//!   years (business year included), 12 % ordinary ones;
//! * **emigration**: about 0.3 % of the living adult members who did not move out settled
//!   abroad (出境定居) in the last two years: their household record stays, cancelled
//!   (`cancelled: {on, reason: "emigration"}`); they are no longer insured, their
//!   contributions stop the month before and their income is prorated in that year and
//!   nil after it;
//! * **e-invoices** (全电发票) for registered homes in the city, issued to one owner alive
//!   (and not emigrated) on the date: 8 % of homes were renovated (装修; once, 30 % with a
//!   second invoice; in the first year after registration, or within the last three years
//!   for older homes; ¥600–2,000 per m²); 10 % pay their property fee (物业费) with a
//!   yearly invoice for each of the last three years they owned the home (¥1.20–3.50 per m²
//!   a month); 1 % were rebuilt (建房, ¥150,000–600,000) or had a major repair (大修,
//!   ¥20,000–150,000) within the last three years; 3 % of invoices are voided (红冲).
//!
//! Emigration and invoices are drawn from a second generator seeded from the same seed,
//! so every other fact is the same as before they were added.
//!
//! Money is whole fen throughout (prices are area in hundredths of m² × yuan per m²).

use std::collections::{BTreeMap, BTreeSet};

use anju_domain::codes::{MaritalStatus, PersonalAccountStatus, Sex};
use anju_domain::collection::YearMonth;
use anju_domain::ids::IdCard;
use anju_domain::money::Fen;
use anju_domain::sharing::{
    Area, CancelReason, ContractKind, CreditLoan, CreditReport, DeathRecord, Employment, Household,
    HouseholdCancellation, Identity, Invoice, InvoiceCategory, Lease, LoanKind, Marriage,
    MedicalExpense, Property, PurchaseContract, RenewalKind, RenewalShare, YearIncome,
};
use jiff::civil::{Date, date};
use jiff::{Span, Timestamp};

use super::Prng;
use super::dataset::{Dataset, DatasetError, PersonRecord};

/// One of the centre's members, as the generator needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CentrePerson {
    /// Resident ID number.
    pub id_number: String,
    /// Name in the centre's register.
    pub name: String,
    /// The unit's name (none for a flexible worker).
    pub employer_name: Option<String>,
    /// The unit's unified social credit code.
    pub employer_credit_code: Option<String>,
    /// Monthly contribution base.
    pub monthly_base: Fen,
    /// When the personal account was opened.
    pub opened_on: Date,
    /// Account status.
    pub status: PersonalAccountStatus,
}

/// Quzhou's districts and counties.
const CITY: &[(&str, &str)] = &[
    ("330802", "柯城区"),
    ("330803", "衢江区"),
    ("330822", "常山县"),
    ("330824", "开化县"),
    ("330825", "龙游县"),
    ("330881", "江山市"),
];
/// Elsewhere in Zhejiang.
const PROVINCE: &[(&str, &str)] = &[
    ("330106", "浙江省杭州市西湖区"),
    ("330102", "浙江省杭州市上城区"),
    ("330212", "浙江省宁波市鄞州区"),
    ("330702", "浙江省金华市婺城区"),
];
/// Outside Zhejiang.
const OUTSIDE: &[(&str, &str)] = &[
    ("310115", "上海市浦东新区"),
    ("320106", "江苏省南京市鼓楼区"),
    ("360102", "江西省南昌市东湖区"),
    ("340104", "安徽省合肥市蜀山区"),
];
const OLD_COMMUNITIES: &[&str] = &[
    "荷花新村",
    "新桥小区",
    "花园新村",
    "书院小区",
    "府山花苑",
    "信安小区",
    "白云新村",
    "礼贤小区",
    "双港新村",
    "衢化生活区",
];
const NEW_PROJECTS: &[&str] = &[
    "江南名府",
    "钱塘府",
    "学府悦园",
    "锦绣华庭",
    "滨江壹号",
    "和园",
    "信安湖畔",
    "衢州印",
];
const DEVELOPERS: &[&str] = &[
    "衢州宏远房地产开发有限公司",
    "衢州信安置业有限公司",
    "衢州滨江房地产开发有限公司",
    "浙江衢商置业有限公司",
];
const BANKS: &[&str] = &[
    "中国工商银行衢州分行",
    "中国农业银行衢州分行",
    "中国建设银行衢州分行",
    "中国银行衢州分行",
    "衢州农村商业银行",
];
const PROVIDENT_FUND_LENDER: &str = "衢州市住房公积金管理中心";
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "毛", "郑", "祝", "余",
];
const GIVEN_MALE: &[&str] = &[
    "伟", "强", "磊", "军", "勇", "杰", "涛", "明", "建华", "志强",
];
const GIVEN_FEMALE: &[&str] = &[
    "芳", "娜", "敏", "静", "艳", "娟", "秀英", "海燕", "丽君", "慧",
];
const SERIOUS: &[&str] = &[
    "恶性肿瘤",
    "尿毒症（终末期肾病）",
    "器官移植",
    "急性白血病",
    "急性心肌梗死",
    "脑卒中",
];
const RENOVATORS: &[&str] = &[
    "衢州家和装饰工程有限公司",
    "衢州市大业装饰设计工程有限公司",
    "衢州美居装饰工程有限公司",
    "浙江亚厦装饰股份有限公司衢州分公司",
];
const PROPERTY_MANAGERS: &[&str] = &[
    "衢州市华新物业管理有限公司",
    "衢州市信安物业服务有限公司",
    "衢州滨江物业管理有限公司",
    "绿城物业服务集团有限公司衢州分公司",
];
const BUILDERS: &[&str] = &[
    "衢州市恒达建筑工程有限公司",
    "衢州市柯城区建筑工程公司",
    "浙江衢州二建建设有限公司",
];
/// Mixed into the seed for the second generator (emigration, invoices).
const SECOND_STREAM: u64 = 0x1a7e_5eed_0f1c_e001;
const ORDINARY: &[&str] = &[
    "高血压（门诊慢特病）",
    "2型糖尿病（门诊慢特病）",
    "骨折住院",
    "肺炎住院",
];

fn add_days(d: Date, n: i64) -> Date {
    d.checked_add(Span::new().days(n)).unwrap_or(d)
}

fn add_months(d: Date, n: i64) -> Date {
    d.checked_add(Span::new().months(n)).unwrap_or(d)
}

fn add_years(d: Date, n: i64) -> Date {
    d.checked_add(Span::new().years(n)).unwrap_or(d)
}

fn days_between(lo: Date, hi: Date) -> i64 {
    lo.until(hi).map_or(0, |s| i64::from(s.get_days()))
}

/// A date in `lo..hi` (`lo` when empty).
fn date_in(rng: &mut Prng, lo: Date, hi: Date) -> Date {
    add_days(lo, rng.range(0, days_between(lo, hi)))
}

/// Whole years of age on `on`.
fn age(birth: Date, on: Date) -> i64 {
    let mut a = i64::from(on.year()) - i64::from(birth.year());
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        a -= 1;
    }
    a
}

/// `n` yuan.
fn yuan(n: i64) -> Fen {
    Fen::new(n * 100)
}

/// `fen × pct / 100`, in whole fen.
fn pct(amount: Fen, pct: i64) -> Fen {
    Fen::new(amount.fen() * pct / 100)
}

/// Annual individual income tax on a wage income (fen), after the ¥60,000 basic
/// deduction and 22 % for the employee's social insurance and provident fund.
fn income_tax(wage: Fen) -> Fen {
    let w = wage.fen();
    let taxable = w - 6_000_000 - w * 22 / 100;
    if taxable <= 0 {
        return Fen::ZERO;
    }
    const BRACKETS: [(i64, i64, i64); 7] = [
        (3_600_000, 3, 0),
        (14_400_000, 10, 252_000),
        (30_000_000, 20, 1_692_000),
        (42_000_000, 25, 3_192_000),
        (66_000_000, 30, 5_292_000),
        (96_000_000, 35, 8_592_000),
        (i64::MAX, 45, 18_192_000),
    ];
    let (_, rate, quick) = BRACKETS
        .iter()
        .copied()
        .find(|(limit, _, _)| taxable <= *limit)
        .unwrap_or(BRACKETS[6]);
    Fen::new((taxable * rate / 100 - quick).max(0))
}

fn digits(rng: &mut Prng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + u8::try_from(rng.range(0, 10)).unwrap_or(0)))
        .collect()
}

/// A person being generated.
struct Person {
    id: IdCard,
    name: String,
    member: Option<usize>,
    died_on: Option<Date>,
    region: (String, String),
    moved_out: bool,
    /// Settled abroad on that date (household cancelled).
    emigrated_on: Option<Date>,
    spouse: Option<usize>,
    rec: PersonRecord,
}

/// A home of a household, registered or bought under a filed contract.
struct Home {
    owners: Vec<usize>,
    address: String,
    community: String,
    building: i64,
    region_code: String,
    area: Area,
    in_province: bool,
    /// `None`: not (yet) registered — a pre-sale or pending transfer.
    registered_on: Option<Date>,
    acquired_on: Date,
    value: Fen,
    certificate_no: String,
    mortgaged: bool,
}

/// Numbering of certificates, contracts, leases and projects.
#[derive(Default)]
struct Serials {
    certificate: u32,
    contract: u32,
    lease: u32,
    project: u32,
    death: u32,
    invoice: u64,
}

/// Generates the dataset for `people` (see the module documentation for what and how
/// much). Errors when an ID number is invalid or appears twice.
pub fn generate(
    people: &[CentrePerson],
    seed: u64,
    business_date: Date,
) -> Result<Dataset, DatasetError> {
    let mut order: Vec<usize> = (0..people.len()).collect();
    order.sort_by(|&a, &b| people[a].id_number.cmp(&people[b].id_number));
    let mut rng = Prng::new(seed);
    let mut second = Prng::new(seed ^ SECOND_STREAM);
    let today = business_date;
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut persons: Vec<Person> = Vec::with_capacity(people.len() * 3 / 2);
    let mut serials = Serials::default();

    // 1. Identity, death, household.
    for &m in &order {
        let cp = &people[m];
        let id = IdCard::parse(&cp.id_number).map_err(|e| DatasetError::Person {
            person: format!("{:?}", cp.id_number),
            field: "id_number".to_owned(),
            message: e.to_string(),
        })?;
        if !used.insert(id.as_str().to_owned()) {
            return Err(DatasetError::Person {
                person: id.masked(),
                field: "id_number".to_owned(),
                message: "appears twice".to_owned(),
            });
        }
        let birth = id.birth_date();
        let died_on = {
            let lo = add_days(cp.opened_on, 30);
            let hi = add_days(today, -7);
            (rng.per_mille(12) && age(birth, today) >= 25 && lo < hi)
                .then(|| date_in(&mut rng, lo, hi))
        };
        // A flexible worker opened an account under the centre's residence rule: they live
        // here (the move-out and emigration dice are still thrown for them).
        let flexible = cp.employer_name.is_none();
        let moved_out = died_on.is_none() && rng.per_mille(30) && !flexible;
        let region = if moved_out {
            let (code, name) = if rng.percent(50) {
                rng.pick(PROVINCE)
            } else {
                rng.pick(OUTSIDE)
            };
            ((*code).to_owned(), (*name).to_owned())
        } else {
            let own = CITY.iter().find(|(c, _)| *c == id.region_code());
            let (code, name) = match own {
                Some(c) if rng.percent(70) => c,
                _ => rng.pick(CITY),
            };
            ((*code).to_owned(), format!("浙江省衢州市{name}"))
        };
        let since = if moved_out {
            add_days(today, -rng.range(15, 400))
        } else if region.0 == id.region_code() {
            birth
        } else {
            date_in(&mut rng, add_years(birth, 18).min(today), today)
        };
        let emigrated_on = {
            let lo = since.max(add_days(today, -730));
            let hi = add_days(today, -7);
            (died_on.is_none()
                && !moved_out
                && age(birth, today) >= 18
                && second.per_mille(3)
                && !flexible
                && lo < hi)
                .then(|| date_in(&mut second, lo, hi))
        };
        let mut rec = PersonRecord {
            identity: Some(Identity {
                id_number: id.as_str().to_owned(),
                name: cp.name.clone(),
                sex: id.sex(),
                birth_date: birth,
                alive: died_on.is_none(),
            }),
            household: Some(Household {
                region_code: region.0.clone(),
                region_name: region.1.clone(),
                since,
                cancelled: emigrated_on.map(|on| HouseholdCancellation {
                    on,
                    reason: CancelReason::Emigration,
                }),
            }),
            ..PersonRecord::default()
        };
        if let Some(d) = died_on {
            serials.death += 1;
            rec.death = Some(DeathRecord {
                died_on: d,
                certificate_no: format!("{}{}{:05}", region.0, d.year(), serials.death),
            });
        }
        persons.push(Person {
            name: cp.name.clone(),
            id,
            member: Some(m),
            died_on,
            region,
            moved_out,
            emigrated_on,
            spouse: None,
            rec,
        });
    }
    let member_count = persons.len();

    // 2. Marriage.
    let marriageable = |sex: Sex, birth: Date| {
        let min = if sex == Sex::Male { 22 } else { 20 };
        age(birth, today) >= min
    };
    let mut men = Vec::new();
    let mut women = Vec::new();
    for (i, p) in persons.iter().enumerate() {
        let birth = p.id.birth_date();
        if !marriageable(p.id.sex(), birth) {
            continue;
        }
        let chance = if age(birth, today) >= 25 { 57 } else { 25 };
        if rng.percent(chance) {
            if p.id.sex() == Sex::Male {
                men.push(i);
            } else {
                women.push(i);
            }
        }
    }
    men.sort_by_key(|&i| (persons[i].id.birth_date(), i));
    women.sort_by_key(|&i| (persons[i].id.birth_date(), i));
    let mut couples = Vec::new();
    let mut singles_to_marry = Vec::new();
    let (mut a, mut b) = (0, 0);
    while a < men.len() && b < women.len() {
        let (m, w) = (men[a], women[b]);
        let gap = days_between(persons[m].id.birth_date(), persons[w].id.birth_date());
        if gap.abs() <= 3653 {
            couples.push((m, w));
            a += 1;
            b += 1;
        } else if gap > 0 {
            // The woman is much younger: the man marries outside the dataset.
            singles_to_marry.push(m);
            a += 1;
        } else {
            singles_to_marry.push(w);
            b += 1;
        }
    }
    singles_to_marry.extend(&men[a..]);
    singles_to_marry.extend(&women[b..]);
    singles_to_marry.sort_unstable();
    for i in singles_to_marry {
        let partner = outside_spouse(&mut rng, &persons[i], &mut used, today);
        persons.push(partner);
        let j = persons.len() - 1;
        couples.push(if persons[i].id.sex() == Sex::Male {
            (i, j)
        } else {
            (j, i)
        });
    }
    for &(m, w) in &couples {
        let adult = |p: &Person| {
            add_years(
                p.id.birth_date(),
                if p.id.sex() == Sex::Male { 22 } else { 20 },
            )
        };
        let lo = adult(&persons[m]).max(adult(&persons[w]));
        let hi = add_days(today, -30);
        let mut since = if lo < hi {
            date_in(&mut rng, lo, hi)
        } else {
            hi
        };
        for d in [persons[m].died_on, persons[w].died_on]
            .into_iter()
            .flatten()
        {
            since = since.min(add_days(d, -30));
        }
        for (me, other) in [(m, w), (w, m)] {
            let (oid, oname) = (
                persons[other].id.as_str().to_owned(),
                persons[other].name.clone(),
            );
            persons[me].spouse = Some(other);
            persons[me].rec.marriage = Some(match persons[other].died_on {
                Some(d) if persons[me].died_on.is_none() => Marriage {
                    status: MaritalStatus::Widowed,
                    spouse_id: None,
                    spouse_name: None,
                    since: Some(d),
                },
                _ => Marriage {
                    status: MaritalStatus::Married,
                    spouse_id: Some(oid),
                    spouse_name: Some(oname),
                    since: Some(since),
                },
            });
        }
    }
    for p in persons.iter_mut().take(member_count) {
        let birth = p.id.birth_date();
        if p.spouse.is_none() && age(birth, today) >= 30 && rng.percent(15) {
            p.rec.marriage = Some(Marriage {
                status: MaritalStatus::Divorced,
                spouse_id: None,
                spouse_name: None,
                since: Some(date_in(
                    &mut rng,
                    add_years(birth, 24),
                    add_days(today, -30),
                )),
            });
        }
    }

    // 3. Households: a couple or a single member.
    let mut households: Vec<Vec<usize>> = Vec::new();
    for (i, p) in persons.iter().enumerate() {
        match p.spouse {
            Some(s) if s < i => {}
            Some(s) => households.push(vec![i, s]),
            None => households.push(vec![i]),
        }
    }

    // 4. Homes, contracts, leases.
    let mut homes: Vec<Home> = Vec::new();
    for hh in &households {
        let couple = hh.len() == 2;
        let living: Vec<usize> = hh
            .iter()
            .copied()
            .filter(|&i| persons[i].died_on.is_none())
            .collect();
        let earliest = hh
            .iter()
            .map(|&i| add_years(persons[i].id.birth_date(), 22))
            .max()
            .unwrap_or(today)
            .max(date(2000, 1, 1));
        let latest = hh
            .iter()
            .filter_map(|&i| persons[i].died_on)
            .min()
            .unwrap_or(today)
            .min(add_days(today, -60));
        let owners_of = |rng: &mut Prng| -> Vec<usize> {
            if couple && rng.percent(70) {
                hh.clone()
            } else {
                vec![*rng.pick(hh)]
            }
        };
        let mut city_home = false;
        if rng.percent(if couple { 68 } else { 35 }) && earliest < latest {
            let extra = rng.percent(12);
            for _ in 0..(1 + usize::from(extra)) {
                let owners = owners_of(&mut rng);
                let region = hh_region(&persons[hh[0]], &mut rng);
                let on = date_in(&mut rng, earliest, latest);
                homes.push(new_home(
                    &mut rng,
                    &mut serials,
                    owners,
                    &region,
                    Some(on),
                    on,
                    false,
                ));
                city_home = true;
            }
        }
        if earliest < latest && rng.percent(4) {
            let (code, name) = *rng.pick(PROVINCE);
            let on = date_in(&mut rng, earliest, latest);
            let owners = owners_of(&mut rng);
            homes.push(new_home(
                &mut rng,
                &mut serials,
                owners,
                &(code.to_owned(), name.to_owned()),
                Some(on),
                on,
                false,
            ));
        }
        if earliest < latest && rng.percent(3) {
            let (code, name) = *rng.pick(OUTSIDE);
            let on = date_in(&mut rng, earliest, latest);
            let owners = owners_of(&mut rng);
            homes.push(new_home(
                &mut rng,
                &mut serials,
                owners,
                &(code.to_owned(), name.to_owned()),
                Some(on),
                on,
                false,
            ));
        }
        // A purchase contract in the last two years.
        if !living.is_empty() && rng.percent(14) {
            let kind = if rng.percent(60) {
                ContractKind::New
            } else {
                ContractKind::SecondHand
            };
            let signed_on = add_days(today, -rng.range(10, 720));
            let filed_on = add_days(signed_on, rng.range(1, 8)).min(today);
            let cancelled = rng.percent(5);
            let (code, name) = *rng.pick(CITY);
            let region = (code.to_owned(), format!("浙江省衢州市{name}"));
            let registered_on = match kind {
                ContractKind::SecondHand if rng.percent(85) => {
                    Some(add_days(filed_on, rng.range(7, 45)).min(today))
                }
                ContractKind::New if rng.percent(35) => {
                    Some(add_days(filed_on, rng.range(60, 400))).filter(|d| *d <= today)
                }
                _ => None,
            }
            .filter(|_| !cancelled);
            let new = kind == ContractKind::New;
            let home = new_home(
                &mut rng,
                &mut serials,
                living.clone(),
                &region,
                registered_on,
                filed_on,
                new,
            );
            serials.contract += 1;
            let (seller_name, seller_account) = if new {
                (
                    (*rng.pick(DEVELOPERS)).to_owned(),
                    format!("3308{}", digits(&mut rng, 15)),
                )
            } else {
                let sex_given = if rng.percent(50) {
                    GIVEN_MALE
                } else {
                    GIVEN_FEMALE
                };
                (
                    format!("{}{}", rng.pick(SURNAMES), rng.pick(sex_given)),
                    format!("6217{}", digits(&mut rng, 15)),
                )
            };
            let contract = PurchaseContract {
                contract_no: format!(
                    "{}-3308-{}-{:06}",
                    if new { "XF" } else { "CL" },
                    filed_on.year(),
                    serials.contract
                ),
                kind,
                address: home.address.clone(),
                region_code: home.region_code.clone(),
                area: home.area,
                price: home.value,
                signed_on,
                filed_on,
                buyers: living
                    .iter()
                    .map(|&i| persons[i].id.as_str().to_owned())
                    .collect(),
                seller_name,
                seller_account,
                seller_bank: (*rng.pick(BANKS)).to_owned(),
                cancelled,
            };
            for &i in &living {
                persons[i].rec.contracts.push(contract.clone());
            }
            if !cancelled {
                city_home |= home.registered_on.is_some();
                homes.push(home);
            }
        }
        // A lease, for households without a home in the city.
        let here = living.iter().all(|&i| !persons[i].moved_out);
        if !city_home && here && !living.is_empty() && rng.percent(55) {
            let (starts_on, months) = if rng.percent(85) {
                (add_days(today, -rng.range(15, 330)), 12)
            } else {
                (add_days(today, -rng.range(400, 800)), 12)
            };
            let ends_on = add_days(add_months(starts_on, months), -1);
            let region = hh_region(&persons[living[0]], &mut rng);
            serials.lease += 1;
            let lease = Lease {
                lease_no: format!("ZL-3308-{}-{:06}", starts_on.year(), serials.lease),
                address: format!(
                    "{}{}{}幢{}单元{}室",
                    region.1,
                    rng.pick(OLD_COMMUNITIES),
                    rng.range(1, 30),
                    rng.range(1, 4),
                    rng.range(1, 7) * 100 + rng.range(1, 5)
                ),
                region_code: region.0,
                monthly_rent: yuan(rng.range(8, 36) * 100),
                starts_on,
                ends_on,
                tenants: living
                    .iter()
                    .map(|&i| persons[i].id.as_str().to_owned())
                    .collect(),
            };
            for &i in &living {
                persons[i].rec.leases.push(lease.clone());
            }
        }
    }

    // 5. Credit: home loans in the first owner's name, then cars, consumer loans, cards.
    let mut home_loans: BTreeMap<usize, Vec<CreditLoan>> = BTreeMap::new();
    for home in &mut homes {
        if !rng.percent(55) {
            continue;
        }
        let provident = rng.percent(45);
        let term = *rng.pick(&[240_i64, 300, 360]);
        let opened_on = add_days(home.acquired_on, rng.range(5, 40)).min(today);
        // 55–70 % of the price, in whole ten-thousands of yuan.
        let principal = Fen::new(pct(home.value, rng.range(55, 71)).fen() / 1_000_000 * 1_000_000);
        let rate = if provident { 285 } else { 350 };
        let Some(loan) = amortised(principal, term, opened_on, today, rate) else {
            continue;
        };
        home.mortgaged = home.registered_on.is_some();
        let (lender, kind) = if provident {
            (
                PROVIDENT_FUND_LENDER.to_owned(),
                LoanKind::ProvidentFundHousing,
            )
        } else {
            ((*rng.pick(BANKS)).to_owned(), LoanKind::CommercialHousing)
        };
        home_loans
            .entry(home.owners[0])
            .or_default()
            .push(CreditLoan {
                lender,
                kind,
                property_address: Some(home.address.clone()),
                ..loan
            });
    }
    for (i, person) in persons.iter_mut().enumerate() {
        let mut mine = home_loans.remove(&i).unwrap_or_default();
        let adult = add_years(person.id.birth_date(), 20).min(add_days(today, -60));
        if rng.percent(8) {
            let principal = yuan(rng.range(8, 26) * 10_000);
            let opened = date_in(&mut rng, add_days(today, -1400).max(adult), today);
            let term = *rng.pick(&[36_i64, 48, 60]);
            if let Some(l) = amortised(principal, term, opened, today, 450) {
                mine.push(CreditLoan {
                    lender: "上汽通用汽车金融有限责任公司".to_owned(),
                    kind: LoanKind::Car,
                    ..l
                });
            }
        }
        if rng.percent(10) {
            let principal = yuan(rng.range(2, 21) * 10_000);
            let opened = date_in(&mut rng, add_days(today, -1000).max(adult), today);
            let term = *rng.pick(&[12_i64, 24, 36]);
            if let Some(l) = amortised(principal, term, opened, today, 600) {
                mine.push(CreditLoan {
                    lender: (*rng.pick(BANKS)).to_owned(),
                    kind: LoanKind::Consumer,
                    ..l
                });
            }
        }
        if rng.percent(40) {
            let limit = yuan(rng.range(1, 11) * 10_000);
            let balance = yuan(limit.fen() / 100 * rng.range(0, 50) / 100);
            let opened_on = date_in(
                &mut rng,
                add_days(today, -3650).max(adult),
                add_days(today, -30),
            );
            mine.push(CreditLoan {
                lender: (*rng.pick(BANKS)).to_owned(),
                kind: LoanKind::CreditCard,
                principal: limit,
                balance,
                monthly_payment: Fen::new(balance.fen() / 10),
                opened_on,
                overdue_months: 0,
                property_address: None,
            });
        }
        if mine.is_empty() {
            continue;
        }
        let mut overdue_count_24m = 0;
        if rng.per_mille(30) {
            let k =
                usize::try_from(rng.range(0, i64::try_from(mine.len()).unwrap_or(1))).unwrap_or(0);
            let months = u32::try_from(rng.range(1, 4)).unwrap_or(1);
            mine[k].overdue_months = months;
            overdue_count_24m = months + u32::try_from(rng.range(0, 3)).unwrap_or(0);
        } else if rng.per_mille(60) {
            overdue_count_24m = u32::try_from(rng.range(1, 3)).unwrap_or(1);
        }
        person.rec.credit = Some(CreditReport {
            loans: mine,
            overdue_count_24m,
        });
    }

    // 6. Employment and income (members only).
    let business_year = today.year();
    let last_month = YearMonth::of(today).plus(-1);
    for p in persons.iter_mut() {
        let Some(m) = p.member else { continue };
        let cp = &people[m];
        let birth = p.id.birth_date();
        let retire_age = match p.id.sex() {
            Sex::Male => 60,
            Sex::Female if rng.percent(50) => 55,
            Sex::Female => 50,
        };
        let retire_on = add_years(birth, retire_age);
        let retired = retire_on <= today && p.died_on.is_none_or(|d| d >= retire_on);
        let working = p.died_on.is_none() && !retired;
        let (grade, lost) = if working && rng.per_mille(15) {
            (u8::try_from(rng.range(1, 5)).ok(), true)
        } else if working && rng.per_mille(10) {
            (u8::try_from(rng.range(5, 11)).ok(), false)
        } else {
            (None, false)
        };
        let active = matches!(
            cp.status,
            PersonalAccountStatus::Normal | PersonalAccountStatus::Frozen
        );
        let stop = if let Some(d) = p.died_on {
            YearMonth::of(d).plus(-1)
        } else if retired {
            YearMonth::of(retire_on).plus(-1)
        } else if !active || lost {
            let back = i32::try_from(rng.range(2, 13)).unwrap_or(2);
            YearMonth::of(today).plus(-back)
        } else {
            last_month
        };
        let first = YearMonth::of(cp.opened_on);
        let last = stop.filter(|l| *l >= first);
        let continuous = last.map_or(0, |l| first.months_until(l) + 1);
        let insured = working && active && !lost;
        p.rec.employment = Some(Employment {
            insured,
            employer_credit_code: cp.employer_credit_code.clone().filter(|_| insured),
            employer_name: cp.employer_name.clone().filter(|_| insured),
            continuous_months: u32::try_from(continuous).unwrap_or(0),
            last_paid_month: last.map(|l| l.to_string()),
            retired_on: retired.then_some(retire_on),
            disability_grade: grade,
            work_capacity_lost: lost,
            // Insured where the employer is registered; a flexible worker where they live.
            insured_region: insured.then(|| {
                cp.employer_credit_code
                    .as_deref()
                    .and_then(|c| c.get(2..8))
                    .map_or_else(|| p.region.0.clone(), str::to_owned)
            }),
        });
        let Some(employer) = &cp.employer_name else {
            continue;
        };
        for back in (1..=3_i16).rev() {
            let y = business_year - back;
            if age(birth, date(y, 12, 31)) < 18 {
                continue;
            }
            let mut months = 12_i64;
            let mut cut = |end: Date| {
                if end.year() < y {
                    months = 0;
                } else if end.year() == y {
                    months = months.min(i64::from(end.month()) - 1);
                }
            };
            if retired {
                cut(retire_on);
            }
            if let Some(d) = p.died_on {
                cut(d);
            }
            if months <= 0 {
                continue;
            }
            let factor = 100 - 4 * i64::from(back - 1) + rng.range(-3, 4);
            let wage = Fen::new(cp.monthly_base.fen() * months * factor / 100);
            p.rec.income.push(YearIncome {
                year: y,
                wage_income: wage,
                tax_paid: income_tax(wage),
                employer_name: employer.clone(),
            });
        }
    }

    // 6b. Emigrants: no longer insured; contributions stop the month before they left;
    // income prorated in that year, none after it.
    for p in persons.iter_mut() {
        let (Some(on), Some(m)) = (p.emigrated_on, p.member) else {
            continue;
        };
        if let Some(e) = p.rec.employment.as_mut() {
            let first = YearMonth::of(people[m].opened_on);
            let paid = e
                .last_paid_month
                .as_deref()
                .and_then(|s| YearMonth::parse(s).ok());
            let last = paid
                .zip(YearMonth::of(on).plus(-1))
                .map(|(paid, stop)| paid.min(stop))
                .filter(|l| *l >= first);
            e.insured = false;
            e.employer_name = None;
            e.employer_credit_code = None;
            e.continuous_months =
                last.map_or(0, |l| u32::try_from(first.months_until(l) + 1).unwrap_or(0));
            e.last_paid_month = last.map(|l| l.to_string());
        }
        let months = i64::from(on.month()) - 1;
        p.rec.income.retain_mut(|i| {
            if i.year == on.year() {
                i.wage_income = Fen::new(i.wage_income.fen() * months / 12);
                i.tax_paid = income_tax(i.wage_income);
            }
            i.year < on.year() || (i.year == on.year() && months > 0)
        });
    }

    // 7. Renewal shares of registered homes in the city.
    for home in &homes {
        if home.registered_on.is_none() || !home.region_code.starts_with("3308") {
            continue;
        }
        if !rng.percent(8) {
            continue;
        }
        let old = rng.percent(60);
        let approved_on = add_days(today, -rng.range(60, 700));
        let completed_on = rng
            .percent(70)
            .then(|| add_days(approved_on, rng.range(90, 300)))
            .filter(|d| *d <= today);
        serials.project += 1;
        let share = RenewalShare {
            project_no: format!(
                "{}-3308-{}-{:04}",
                if old { "LJ" } else { "DT" },
                approved_on.year(),
                serials.project
            ),
            project_name: if old {
                format!("{}老旧小区综合改造工程", home.community)
            } else {
                format!("{}{}幢既有住宅加装电梯工程", home.community, home.building)
            },
            kind: if old {
                RenewalKind::OldCommunity
            } else {
                RenewalKind::LiftInstallation
            },
            address: home.address.clone(),
            share: if old {
                yuan(rng.range(20, 151) * 100)
            } else {
                yuan(rng.range(100, 601) * 100)
            },
            approved_on,
            completed_on,
            owners: home
                .owners
                .iter()
                .map(|&o| persons[o].id.as_str().to_owned())
                .collect(),
        };
        for &o in &home.owners {
            persons[o].rec.renewal.push(share.clone());
        }
    }

    // 8. Registered homes become properties of each owner.
    for home in &homes {
        let Some(registered_on) = home.registered_on else {
            continue;
        };
        let property = Property {
            certificate_no: home.certificate_no.clone(),
            address: home.address.clone(),
            region_code: home.region_code.clone(),
            area: home.area,
            in_province: home.in_province,
            registered_on,
            mortgaged: home.mortgaged,
            owners: home
                .owners
                .iter()
                .map(|&o| persons[o].id.as_str().to_owned())
                .collect(),
        };
        for &o in &home.owners {
            persons[o].rec.properties.push(property.clone());
        }
    }

    // 9. Medical expenses (members).
    for p in persons.iter_mut().take(member_count) {
        let last_year = p.died_on.map_or(business_year, |d| d.year());
        if rng.per_mille(20) {
            let total = yuan(rng.range(50, 401) * 1_000);
            p.rec.medical.push(MedicalExpense {
                year: (business_year - i16::try_from(rng.range(0, 3)).unwrap_or(0)).min(last_year),
                serious_illness: true,
                diagnosis: (*rng.pick(SERIOUS)).to_owned(),
                total,
                self_paid: pct(total, rng.range(25, 46)),
            });
        }
        if rng.per_mille(120) {
            let total = yuan(rng.range(20, 301) * 100);
            p.rec.medical.push(MedicalExpense {
                year: (business_year - i16::try_from(rng.range(0, 3)).unwrap_or(0)).min(last_year),
                serious_illness: false,
                diagnosis: (*rng.pick(ORDINARY)).to_owned(),
                total,
                self_paid: pct(total, rng.range(30, 51)),
            });
        }
        p.rec.medical.sort_by_key(|e| e.year);
    }

    // 10. E-invoices for registered homes in the city (from the second generator).
    let rng = &mut second;
    let recent = add_years(today, -3);
    for home in &homes {
        let Some(registered_on) = home.registered_on else {
            continue;
        };
        if !home.region_code.starts_with("3308") {
            continue;
        }
        if rng.percent(8) {
            let first = if registered_on >= recent {
                date_in(rng, registered_on, add_months(registered_on, 12).min(today))
            } else {
                date_in(rng, recent, today)
            };
            let seller = (*rng.pick(RENOVATORS)).to_owned();
            let total = home.area.0 * rng.range(600, 2_001);
            let second_part = rng.percent(30).then(|| total * rng.range(15, 41) / 100);
            let main = total - second_part.unwrap_or(0);
            issue_invoice(
                rng,
                &mut serials,
                &mut persons,
                home,
                (InvoiceCategory::Renovation, first),
                Fen::new(main / 100 * 100),
                seller.clone(),
            );
            if let Some(part) = second_part {
                let later = add_days(first, rng.range(30, 121)).min(today);
                issue_invoice(
                    rng,
                    &mut serials,
                    &mut persons,
                    home,
                    (InvoiceCategory::Renovation, later),
                    Fen::new(part / 100 * 100),
                    seller,
                );
            }
        }
        if rng.percent(10) {
            let seller = (*rng.pick(PROPERTY_MANAGERS)).to_owned();
            // Fen per m² a month × 12, on an area in hundredths of m².
            let yearly = home.area.0 * rng.range(120, 351) * 12 / 100;
            for y in (business_year - 2)..=business_year {
                let lo = date(y, 1, 1).max(registered_on);
                let hi = date(y, 12, 31).min(today);
                if lo > hi {
                    continue;
                }
                let on = date_in(rng, lo, hi);
                issue_invoice(
                    rng,
                    &mut serials,
                    &mut persons,
                    home,
                    (InvoiceCategory::PropertyFee, on),
                    Fen::new(yearly / 100 * 100),
                    seller.clone(),
                );
            }
        }
        if rng.percent(1) {
            let on = date_in(rng, registered_on.max(recent), today);
            let (category, amount) = if rng.percent(50) {
                (
                    InvoiceCategory::Construction,
                    yuan(rng.range(150, 601) * 1_000),
                )
            } else {
                (InvoiceCategory::Repair, yuan(rng.range(20, 151) * 1_000))
            };
            let seller = (*rng.pick(BUILDERS)).to_owned();
            issue_invoice(
                rng,
                &mut serials,
                &mut persons,
                home,
                (category, on),
                amount,
                seller,
            );
        }
    }
    for p in &mut persons {
        p.rec
            .invoices
            .sort_by(|a, b| (a.issued_on, &a.invoice_no).cmp(&(b.issued_on, &b.invoice_no)));
    }

    let generated_at = today
        .to_zoned_datetime(jiff::tz::offset(8).to_time_zone())
        .map_or(Timestamp::UNIX_EPOCH, |z| z.timestamp());
    let dataset = Dataset {
        generated_at,
        seed,
        people: persons
            .into_iter()
            .map(|p| (p.id.as_str().to_owned(), p.rec))
            .collect(),
    };
    dataset.validate()?;
    Ok(dataset)
}

/// A loan of `principal` repaid evenly over `term` months from `opened_on`, with
/// interest at `rate` / 10,000 a year on the balance; `None` when already repaid.
fn amortised(
    principal: Fen,
    term: i64,
    opened_on: Date,
    today: Date,
    rate: i64,
) -> Option<CreditLoan> {
    let elapsed = i64::from(YearMonth::of(opened_on).months_until(YearMonth::of(today))).max(0);
    if elapsed >= term || term <= 0 {
        return None;
    }
    let p = principal.fen();
    let balance = p - p * elapsed / term;
    Some(CreditLoan {
        lender: String::new(),
        kind: LoanKind::Consumer,
        principal,
        balance: Fen::new(balance),
        monthly_payment: Fen::new(p / term + balance * rate / 120_000),
        opened_on,
        overdue_months: 0,
        property_address: None,
    })
}

/// Issues an invoice of `category` on `on` for `home` to one of its owners who is alive
/// and still in the country on that date (none: no invoice); 3 % are voided.
fn issue_invoice(
    rng: &mut Prng,
    serials: &mut Serials,
    persons: &mut [Person],
    home: &Home,
    (category, on): (InvoiceCategory, Date),
    amount: Fen,
    seller_name: String,
) {
    let there = |o: &usize| {
        let p = &persons[*o];
        p.died_on.is_none_or(|d| d > on) && p.emigrated_on.is_none_or(|e| e > on)
    };
    let buyers: Vec<usize> = home.owners.iter().copied().filter(there).collect();
    if buyers.is_empty() || !amount.is_positive() {
        return;
    }
    let buyer = *rng.pick(&buyers);
    serials.invoice += 1;
    // 全电发票号码: 2-digit year, 2-digit province, 1 channel digit, 15-digit serial.
    let invoice = Invoice {
        invoice_no: format!(
            "{:02}{}2{:015}",
            on.year() % 100,
            home.region_code.get(..2).unwrap_or("33"),
            serials.invoice
        ),
        category,
        issued_on: on,
        amount,
        buyer_id: persons[buyer].id.as_str().to_owned(),
        seller_name,
        address: home.address.clone(),
        region_code: home.region_code.clone(),
        voided: rng.per_mille(30),
    };
    persons[buyer].rec.invoices.push(invoice);
}

/// Where a household's new home is: its registered district when in the city (80 %),
/// else a random district of the city.
fn hh_region(p: &Person, rng: &mut Prng) -> (String, String) {
    if p.region.0.starts_with("3308") && rng.percent(80) {
        p.region.clone()
    } else {
        let (code, name) = *rng.pick(CITY);
        (code.to_owned(), format!("浙江省衢州市{name}"))
    }
}

/// `浙` for Zhejiang and so on, for certificate numbers.
fn province_abbr(region_code: &str) -> &'static str {
    match region_code.get(..2) {
        Some("31") => "沪",
        Some("32") => "苏",
        Some("34") => "皖",
        Some("36") => "赣",
        _ => "浙",
    }
}

/// The city of a place name: `浙江省衢州市柯城区` → `衢州市`, `上海市浦东新区` → `上海市`.
fn city_of(place: &str) -> &str {
    let rest = place.split_once('省').map_or(place, |(_, r)| r);
    match rest.find('市') {
        Some(i) => &rest[..i + '市'.len_utf8()],
        None => rest,
    }
}

/// A home at a fresh address in `region`.
fn new_home(
    rng: &mut Prng,
    serials: &mut Serials,
    owners: Vec<usize>,
    region: &(String, String),
    registered_on: Option<Date>,
    acquired_on: Date,
    new_build: bool,
) -> Home {
    let community = if new_build {
        *rng.pick(NEW_PROJECTS)
    } else {
        *rng.pick(OLD_COMMUNITIES)
    };
    let building = rng.range(1, 40);
    let floor = rng.range(1, if new_build { 33 } else { 8 });
    let room = floor * 100 + rng.range(1, 5);
    let address = format!(
        "{}{community}{building}幢{}单元{room}室",
        region.1,
        rng.range(1, 5)
    );
    let area = Area(rng.range(6_000, 14_500));
    let in_city = region.0.starts_with("3308");
    let per_m2 = if !in_city {
        rng.range(20_000, 60_000)
    } else if new_build {
        rng.range(12_000, 22_000)
    } else {
        rng.range(8_000, 16_000)
    };
    // Hundredths of m² × yuan per m² is fen; the price is whole yuan.
    let value = Fen::new(area.0 * per_m2 / 100 * 100);
    serials.certificate += 1;
    let year = registered_on.unwrap_or(acquired_on).year();
    Home {
        owners,
        certificate_no: format!(
            "{}({year}){}不动产权第{:07}号",
            province_abbr(&region.0),
            city_of(&region.1),
            serials.certificate
        ),
        address,
        community: community.to_owned(),
        building,
        region_code: region.0.clone(),
        area,
        in_province: region.0.starts_with("33"),
        registered_on,
        acquired_on,
        value,
        mortgaged: false,
    }
}

/// A spouse from outside the centre for `partner`: opposite sex, a similar age, the
/// same household; a fresh valid ID number.
fn outside_spouse(
    rng: &mut Prng,
    partner: &Person,
    used: &mut BTreeSet<String>,
    today: Date,
) -> Person {
    let sex = if partner.id.sex() == Sex::Male {
        Sex::Female
    } else {
        Sex::Male
    };
    let min_age = if sex == Sex::Male { 22 } else { 20 };
    let latest = add_years(today, -min_age);
    loop {
        let mut birth = add_years(partner.id.birth_date(), rng.range(-5, 6));
        if birth > latest {
            birth = add_days(latest, -rng.range(0, 365));
        }
        let region = if rng.percent(80) {
            rng.pick(CITY).0
        } else {
            rng.pick(PROVINCE).0
        };
        let seq = match sex {
            Sex::Male => rng.range(0, 500) * 2 + 1,
            Sex::Female => rng.range(1, 500) * 2,
        };
        let first17 = format!("{region}{}{seq:03}", birth.strftime("%Y%m%d"));
        let Ok(id) = IdCard::with_check_char(&first17) else {
            continue;
        };
        if !used.insert(id.as_str().to_owned()) {
            continue;
        }
        let given = if sex == Sex::Male {
            GIVEN_MALE
        } else {
            GIVEN_FEMALE
        };
        let name = format!("{}{}", rng.pick(SURNAMES), rng.pick(given));
        let since = date_in(rng, add_years(birth, 18).min(today), today);
        let rec = PersonRecord {
            identity: Some(Identity {
                id_number: id.as_str().to_owned(),
                name: name.clone(),
                sex,
                birth_date: birth,
                alive: true,
            }),
            household: Some(Household {
                region_code: partner.region.0.clone(),
                region_name: partner.region.1.clone(),
                since,
                cancelled: None,
            }),
            ..PersonRecord::default()
        };
        return Person {
            id,
            name,
            member: None,
            died_on: None,
            region: partner.region.clone(),
            moved_out: partner.moved_out,
            emigrated_on: None,
            spouse: None,
            rec,
        };
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use anju_domain::sharing::Answer;

    /// `n` members like the demo centre's.
    fn members(n: usize) -> Vec<CentrePerson> {
        let mut rng = Prng::new(99);
        let mut used = BTreeSet::new();
        let mut out = Vec::new();
        while out.len() < n {
            let region = rng.pick(CITY).0;
            let birth = date(
                i16::try_from(rng.range(1962, 2004)).unwrap(),
                i8::try_from(rng.range(1, 13)).unwrap(),
                i8::try_from(rng.range(1, 29)).unwrap(),
            );
            let seq = rng.range(1, 1000);
            let first17 = format!("{region}{}{seq:03}", birth.strftime("%Y%m%d"));
            let id = IdCard::with_check_char(&first17).unwrap();
            if !used.insert(id.as_str().to_owned()) {
                continue;
            }
            let unit = rng.range(0, 12);
            let flexible = unit == 0;
            out.push(CentrePerson {
                id_number: id.as_str().to_owned(),
                name: format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN_MALE)),
                employer_name: (!flexible).then(|| format!("衢州第{unit}有限公司")),
                employer_credit_code: (!flexible).then(|| format!("91330802MA28F0Q1{unit:02}")),
                monthly_base: yuan(rng.range(2_000, 30_000)),
                opened_on: date(2025, 6, i8::try_from(rng.range(1, 29)).unwrap()),
                status: if rng.percent(90) {
                    PersonalAccountStatus::Normal
                } else {
                    PersonalAccountStatus::Sealed
                },
            });
        }
        out
    }

    const TODAY: Date = date(2026, 11, 27);

    #[test]
    fn same_seed_same_bytes_and_input_order_does_not_matter() {
        let people = members(300);
        let a = generate(&people, 7, TODAY).unwrap().to_json();
        let b = generate(&people, 7, TODAY).unwrap().to_json();
        assert_eq!(a, b);
        let mut reversed = people.clone();
        reversed.reverse();
        assert_eq!(generate(&reversed, 7, TODAY).unwrap().to_json(), a);
        assert_ne!(generate(&people, 8, TODAY).unwrap().to_json(), a);
        // And it loads back as a valid dataset.
        assert_eq!(
            Dataset::from_json(&a).unwrap(),
            generate(&people, 7, TODAY).unwrap()
        );
    }

    #[test]
    fn spouses_agree_on_both_sides() {
        let people = members(600);
        let d = generate(&people, 11, TODAY).unwrap();
        let mut married_members = 0;
        for (id, r) in &d.people {
            let Some(m) = &r.marriage else { continue };
            let Some(spouse_id) = &m.spouse_id else {
                continue;
            };
            let me = r.identity.as_ref().unwrap();
            let other = &d.people[spouse_id];
            let them = other.identity.as_ref().unwrap();
            let back = other.marriage.as_ref().unwrap();
            if back.status == MaritalStatus::Widowed {
                // The survivor of a deceased member is widowed since the death.
                let died = r.death.as_ref().unwrap().died_on;
                assert_eq!(back.since, Some(died));
                assert!(!me.alive && back.spouse_id.is_none());
                continue;
            }
            assert_eq!(back.spouse_id.as_deref(), Some(id.as_str()), "{id}");
            assert_eq!(back.spouse_name.as_deref(), Some(me.name.as_str()));
            assert_eq!(m.spouse_name.as_deref(), Some(them.name.as_str()));
            assert_eq!(back.since, m.since);
            assert_eq!(back.status, m.status);
            assert_ne!(me.sex, them.sex);
            if people.iter().any(|p| &p.id_number == id) {
                married_members += 1;
            }
        }
        // Widowed survivors point at nobody.
        for r in d.people.values() {
            if let Some(m) = &r.marriage
                && m.status == MaritalStatus::Widowed
            {
                assert!(m.spouse_id.is_none());
            }
        }
        let share = married_members * 100 / people.len();
        assert!((40..=70).contains(&share), "{share} % married");
    }

    #[test]
    fn facts_are_internally_consistent() {
        let people = members(600);
        let d = generate(&people, 5, TODAY).unwrap();
        let (mut second_hand, mut registered) = (0, 0);
        let mut kinds = BTreeSet::new();
        for (id, r) in &d.people {
            let me = r.identity.as_ref().unwrap();
            assert_eq!(me.alive, r.death.is_none(), "{id}");
            for p in &r.properties {
                assert!(p.owners.contains(id));
                for o in &p.owners {
                    assert!(
                        d.people[o].properties.contains(p),
                        "joint owners both hold it"
                    );
                }
            }
            for c in r.contracts.iter().filter(|c| !c.cancelled) {
                assert!(c.buyers.contains(id));
                assert!(c.filed_on >= c.signed_on && c.filed_on <= TODAY);
                if c.kind == ContractKind::SecondHand {
                    second_hand += 1;
                    if r.properties.iter().any(|p| p.address == c.address) {
                        registered += 1;
                    }
                }
            }
            for l in &r.leases {
                assert!(l.tenants.contains(id) && l.starts_on < l.ends_on);
            }
            if let Some(c) = &r.credit {
                for l in &c.loans {
                    kinds.insert(format!("{:?}", l.kind));
                    assert!(l.balance <= l.principal);
                    if l.overdue_months > 0 {
                        assert!(c.overdue_count_24m >= l.overdue_months);
                    }
                }
            }
            for y in [2023, 2024, 2025] {
                match r.answer(anju_domain::sharing::Query::Income, Some(y)) {
                    Answer::Income(v) => assert!(v.len() <= 1),
                    other => panic!("{other:?}"),
                }
            }
        }
        assert!(
            second_hand > 0 && registered * 100 / second_hand >= 50,
            "{registered}/{second_hand}"
        );
        assert!(
            kinds.contains("ProvidentFundHousing") && kinds.contains("CreditCard"),
            "{kinds:?}"
        );
        for p in &people {
            let r = &d.people[&p.id_number];
            let e = r.employment.as_ref().unwrap();
            if e.insured {
                assert_eq!(e.employer_name, p.employer_name);
                assert!(e.continuous_months <= 18, "{}", e.continuous_months);
            }
            if let Some(i) = r.income.last() {
                assert_eq!(Some(&i.employer_name), p.employer_name.as_ref());
            }
            assert_eq!(r.identity.as_ref().unwrap().name, p.name);
        }
    }

    #[test]
    fn invoices_and_emigration_are_consistent() {
        let people = members(2000);
        let d = generate(&people, 3, TODAY).unwrap();
        let mut categories: BTreeMap<&str, usize> = BTreeMap::new();
        let mut numbers = BTreeSet::new();
        let (mut emigrants, mut voided) = (0, 0);
        let mut renovated = BTreeSet::new();
        let mut city_homes = BTreeSet::new();
        for (id, r) in &d.people {
            let h = r.household.as_ref().unwrap();
            if let Some(c) = &h.cancelled {
                emigrants += 1;
                assert_eq!(c.reason, CancelReason::Emigration);
                assert!(c.on >= h.since && c.on < TODAY, "{c:?}");
                assert!(r.identity.as_ref().unwrap().alive);
                let e = r.employment.as_ref().unwrap();
                assert!(!e.insured && e.employer_name.is_none());
                if let Some(m) = &e.last_paid_month {
                    assert!(YearMonth::parse(m).unwrap() < YearMonth::of(c.on), "{m}");
                }
                assert!(r.income.iter().all(|i| i.year <= c.on.year()));
                assert!(r.invoices.iter().all(|i| i.issued_on < c.on));
            }
            for p in r
                .properties
                .iter()
                .filter(|p| p.region_code.starts_with("3308"))
            {
                city_homes.insert(p.address.clone());
            }
            for inv in &r.invoices {
                assert_eq!(&inv.buyer_id, id);
                assert!(numbers.insert(inv.invoice_no.clone()), "{inv:?}");
                assert!(
                    inv.amount.is_positive() && inv.issued_on <= TODAY,
                    "{inv:?}"
                );
                assert!(
                    r.properties.iter().any(|p| p.address == inv.address
                        && p.region_code == inv.region_code
                        && p.registered_on <= inv.issued_on),
                    "an invoice for a home the buyer owns: {inv:?}"
                );
                if let Some(death) = &r.death {
                    assert!(inv.issued_on < death.died_on);
                }
                if inv.category == InvoiceCategory::Renovation {
                    renovated.insert(inv.address.clone());
                }
                voided += usize::from(inv.voided);
                *categories.entry(inv.category.code()).or_default() += 1;
            }
            assert!(r.invoices.is_sorted_by_key(|i| i.issued_on));
        }
        // The whole dataset loads back (invoice fields validated).
        assert_eq!(Dataset::from_json(&d.to_json()).unwrap(), d);
        assert!((1..=20).contains(&emigrants), "{emigrants} emigrants");
        let share = renovated.len() * 100 / city_homes.len();
        assert!((4..=13).contains(&share), "{share} % renovated");
        for c in InvoiceCategory::ALL {
            assert!(
                categories.get(c.code()).is_some_and(|n| *n > 0),
                "{categories:?}"
            );
        }
        assert!(
            categories["property-fee"] > categories["renovation"],
            "{categories:?}"
        );
        let total: usize = categories.values().sum();
        assert!(voided * 100 <= total * 8, "{voided} of {total} voided");
    }

    #[test]
    fn tax_follows_the_schedule() {
        assert_eq!(income_tax(yuan(60_000)), Fen::ZERO);
        // 200,000 − 60,000 − 44,000 = 96,000 taxable: 10 % − 2,520 = 7,080.
        assert_eq!(income_tax(yuan(200_000)), yuan(7_080));
        assert_eq!(city_of("浙江省衢州市柯城区"), "衢州市");
        assert_eq!(city_of("上海市浦东新区"), "上海市");
    }

    #[test]
    fn bad_input_is_refused() {
        let mut people = members(3);
        people.push(people[0].clone());
        let e = generate(&people, 1, TODAY).unwrap_err().to_string();
        assert!(e.contains("twice"), "{e}");
        people.pop();
        people[1].id_number = "123".into();
        assert!(generate(&people, 1, TODAY).is_err());
    }
}
