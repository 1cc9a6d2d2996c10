//! Withdrawals (提取): the legal grounds, their rules, and the decision on one application.
//!
//! Pure: [`decide`] takes the member's account figures, the verified facts of the
//! application (from data sharing), the member's and the home's earlier withdrawals, the
//! policy in force and the business date, and returns a [`Decision`]: **approve** (every
//! fact verified and every rule passed: 秒批), **review** (a fact is unavailable, or the
//! case needs a person's judgment: maker-checker), or **refuse** (a fact contradicts the
//! claim, or a rule fails), always with reasons in Chinese and English and with every
//! limit that was considered and which one bound.
//!
//! Grounds: REG Art. 24 and the 2026 amendment (Order 844); see DOMAIN.md §1. Grounds the
//! JGJ/T 320 reason list (TQYY) lacks carry local codes ([`Ground::reason_code`]).

use std::fmt;

use jiff::Span;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::codes::{PersonalAccountStatus, Sex};
use crate::money::{Fen, Rounding};
use crate::policy::{Policy, RetirementCategory, WithdrawalRule};
use crate::sharing::verify::{ApplicationKind, Check, Claims, FactSet, Outcome, Verdict};
use crate::sharing::{Answer, FactKey, InvoiceCategory, Query};

/// A legal ground for withdrawing (提取原因).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ground {
    /// 购买自住住房: a new or second-hand home, in or out of the province.
    Purchase,
    /// 建造、翻建、大修自住住房.
    BuildRepair,
    /// 自住住房装修 (2026 amendment).
    Renovation,
    /// 偿还住房贷款: one-off, yearly, or monthly offset (按月冲还贷).
    LoanRepayment,
    /// 租赁住房.
    Rent,
    /// 物业费 (2026 amendment).
    PropertyFee,
    /// 老旧小区改造、既有住宅加装电梯.
    Renewal,
    /// 离休、退休 (closes the account).
    Retirement,
    /// 完全丧失劳动能力并与单位终止劳动关系 (closes the account).
    Disability,
    /// 出境定居 (closes the account).
    Emigration,
    /// 户口迁出本市 (closes the account).
    MovedOut,
    /// 死亡: heirs withdraw the balance (closes the account).
    Death,
    /// 大病.
    Illness,
    /// 离职封存满期 (closes the account).
    LeftJob,
    /// 其他: decided by staff.
    Other,
}

impl Ground {
    /// Every ground.
    pub const ALL: [Ground; 15] = [
        Ground::Purchase,
        Ground::BuildRepair,
        Ground::Renovation,
        Ground::LoanRepayment,
        Ground::Rent,
        Ground::PropertyFee,
        Ground::Renewal,
        Ground::Retirement,
        Ground::Disability,
        Ground::Emigration,
        Ground::MovedOut,
        Ground::Death,
        Ground::Illness,
        Ground::LeftJob,
        Ground::Other,
    ];

    /// Stored code, e.g. `purchase`.
    pub const fn code(self) -> &'static str {
        match self {
            Ground::Purchase => "purchase",
            Ground::BuildRepair => "build-repair",
            Ground::Renovation => "renovation",
            Ground::LoanRepayment => "loan-repayment",
            Ground::Rent => "rent",
            Ground::PropertyFee => "property-fee",
            Ground::Renewal => "renewal",
            Ground::Retirement => "retirement",
            Ground::Disability => "disability",
            Ground::Emigration => "emigration",
            Ground::MovedOut => "moved-out",
            Ground::Death => "death",
            Ground::Illness => "illness",
            Ground::LeftJob => "left-job",
            Ground::Other => "other",
        }
    }

    /// The ground with this code.
    pub fn from_code(code: &str) -> Option<Ground> {
        Ground::ALL.into_iter().find(|g| g.code() == code)
    }

    /// Withdrawal reason code (提取原因, TQYY): the JGJ/T 320 list (`01`–`09`, `99`) where
    /// it has the ground, else a local code (`81` property fees as in Shanghai's list;
    /// `84` renovation, `85` old-community renovation and lifts, `86` leaving a job).
    pub const fn reason_code(self) -> &'static str {
        match self {
            Ground::Purchase => "01",
            Ground::BuildRepair => "02",
            Ground::Retirement => "03",
            Ground::Disability => "04",
            Ground::Emigration | Ground::MovedOut => "05",
            Ground::LoanRepayment => "06",
            Ground::Rent => "07",
            Ground::Death => "08",
            Ground::Illness => "09",
            Ground::PropertyFee => "81",
            Ground::Renovation => "84",
            Ground::Renewal => "85",
            Ground::LeftJob => "86",
            Ground::Other => "99",
        }
    }

    /// Chinese name.
    pub const fn name_zh(self) -> &'static str {
        match self {
            Ground::Purchase => "购买自住住房",
            Ground::BuildRepair => "建造、翻建、大修自住住房",
            Ground::Renovation => "自住住房装修",
            Ground::LoanRepayment => "偿还住房贷款",
            Ground::Rent => "租赁住房",
            Ground::PropertyFee => "物业费",
            Ground::Renewal => "老旧小区改造、加装电梯",
            Ground::Retirement => "离休、退休",
            Ground::Disability => "完全丧失劳动能力",
            Ground::Emigration => "出境定居",
            Ground::MovedOut => "户口迁出本市",
            Ground::Death => "死亡",
            Ground::Illness => "大病",
            Ground::LeftJob => "离职封存满期",
            Ground::Other => "其他",
        }
    }

    /// English name.
    pub const fn name_en(self) -> &'static str {
        match self {
            Ground::Purchase => "purchase of a home",
            Ground::BuildRepair => "building, rebuilding or major repair of a home",
            Ground::Renovation => "renovation of one's own home",
            Ground::LoanRepayment => "repayment of a home loan",
            Ground::Rent => "rent",
            Ground::PropertyFee => "property fees",
            Ground::Renewal => "old-community renovation or lift installation",
            Ground::Retirement => "retirement",
            Ground::Disability => "complete loss of work capacity",
            Ground::Emigration => "emigration",
            Ground::MovedOut => "household moved out of the city",
            Ground::Death => "death of the member",
            Ground::Illness => "serious illness",
            Ground::LeftJob => "left the job, account sealed",
            Ground::Other => "other",
        }
    }

    /// Whether the withdrawal pays out the whole balance and closes the account (销户提取).
    pub const fn closes_account(self) -> bool {
        matches!(
            self,
            Ground::Retirement
                | Ground::Disability
                | Ground::Emigration
                | Ground::MovedOut
                | Ground::Death
                | Ground::LeftJob
        )
    }

    /// The data-sharing application kind whose look-ups the ground needs.
    pub const fn application_kind(self) -> ApplicationKind {
        match self {
            Ground::Purchase => ApplicationKind::WithdrawPurchase,
            Ground::BuildRepair => ApplicationKind::WithdrawBuildRepair,
            Ground::Renovation => ApplicationKind::WithdrawRenovation,
            Ground::LoanRepayment => ApplicationKind::WithdrawLoanRepayment,
            Ground::Rent => ApplicationKind::WithdrawRent,
            Ground::PropertyFee => ApplicationKind::WithdrawPropertyFee,
            Ground::Renewal => ApplicationKind::WithdrawRenewal,
            Ground::Retirement => ApplicationKind::WithdrawRetirement,
            Ground::Disability => ApplicationKind::WithdrawDisability,
            Ground::Emigration => ApplicationKind::WithdrawEmigration,
            Ground::MovedOut => ApplicationKind::WithdrawMovedOut,
            Ground::Death => ApplicationKind::WithdrawDeath,
            Ground::Illness => ApplicationKind::WithdrawIllness,
            Ground::LeftJob => ApplicationKind::WithdrawLeftJob,
            Ground::Other => ApplicationKind::WithdrawOther,
        }
    }
}

impl fmt::Display for Ground {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Ground {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Ground {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Ground, D::Error> {
        let text = String::deserialize(d)?;
        Ground::from_code(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown ground {text:?}")))
    }
}

/// How a home loan is repaid from the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RepayMode {
    /// 一次性提前还款: up to the outstanding principal.
    OneOff,
    /// 按年提取: up to twelve monthly payments, once per interval.
    Yearly,
    /// 按月冲还贷: the month's payment, once a month.
    Monthly,
}

impl RepayMode {
    /// Stored code.
    pub const fn code(self) -> &'static str {
        match self {
            RepayMode::OneOff => "one-off",
            RepayMode::Yearly => "yearly",
            RepayMode::Monthly => "monthly",
        }
    }

    /// The mode with this code.
    pub fn from_code(code: &str) -> Option<RepayMode> {
        [RepayMode::OneOff, RepayMode::Yearly, RepayMode::Monthly]
            .into_iter()
            .find(|m| m.code() == code)
    }
}

/// The member's account as the decision sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    /// Status (GRZHZT).
    pub status: PersonalAccountStatus,
    /// Balance.
    pub balance: Fen,
    /// Available: balance minus amounts in flight (pending payouts) and pledged.
    pub available: Fen,
    /// Since when the account is sealed (封存), if it is.
    pub sealed_since: Option<Date>,
}

/// An earlier withdrawal that counts (paid, or still in flight).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Past {
    /// Its application.
    pub application_no: String,
    /// The account it was from.
    pub account_no: String,
    /// Ground.
    pub ground: Ground,
    /// Mode of a loan repayment.
    pub mode: Option<RepayMode>,
    /// Its home key.
    pub home_key: String,
    /// Amount.
    pub amount: Fen,
    /// Business date applied.
    pub on: Date,
}

/// One application to decide.
#[derive(Debug, Clone, Copy)]
pub struct Case<'a> {
    /// Ground.
    pub ground: Ground,
    /// Loan repayment mode.
    pub mode: Option<RepayMode>,
    /// Business date.
    pub today: Date,
    /// Resident ID number of the account holder.
    pub subject: &'a str,
    /// The account.
    pub account: Account,
    /// Amount asked for; `None`: as much as the rule allows.
    pub requested: Option<Fen>,
    /// What the applicant claims.
    pub claims: &'a Claims,
    /// The checks of the application, decided from the facts.
    pub verdicts: &'a [Verdict],
    /// The facts.
    pub facts: &'a FactSet,
    /// The member's own earlier withdrawals that count.
    pub own: &'a [Past],
    /// Earlier withdrawals with this case's home key, from any account (e.g. a spouse's
    /// for the same home).
    pub same_home: &'a [Past],
    /// Interest to date credited before a closing withdrawal (销户结息).
    pub closing_interest: Fen,
    /// The centre's policy.
    pub policy: &'a Policy,
    /// The 4-digit division prefix of the centre's city.
    pub city_prefix: &'a str,
}

/// A reason, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// Chinese.
    pub zh: String,
    /// English.
    pub en: String,
}

impl Reason {
    fn new(zh: impl Into<String>, en: impl Into<String>) -> Reason {
        Reason {
            zh: zh.into(),
            en: en.into(),
        }
    }
}

/// One candidate upper limit of the amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    /// What it is, Chinese.
    pub what_zh: String,
    /// What it is, English.
    pub what_en: String,
    /// The amount.
    pub amount: Fen,
    /// Whether it is the one that bound (the smallest).
    pub binding: bool,
}

/// What the decision is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resolution {
    /// Approved automatically (秒批): pay now.
    Approve,
    /// A person must decide (maker-checker).
    Review,
    /// Refused, with reasons.
    Refuse,
}

/// The decision on one application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Approve, review or refuse.
    pub outcome: Resolution,
    /// The amount approved; for a review, the amount the rule would allow (0 when it
    /// cannot be computed); 0 when refused.
    pub amount: Fen,
    /// Whether the withdrawal closes the account.
    pub closes_account: bool,
    /// What "once per …" is counted by.
    pub home_key: String,
    /// Every limit considered.
    pub limits: Vec<Limit>,
    /// Why (refusal reasons, review reasons, or the approval's basis).
    pub reasons: Vec<Reason>,
    /// The checks with their outcomes.
    pub checks: Vec<Verdict>,
}

impl Decision {
    /// The reasons joined, Chinese.
    pub fn reason_zh(&self) -> String {
        self.reasons
            .iter()
            .map(|r| r.zh.as_str())
            .collect::<Vec<_>>()
            .join("；")
    }

    /// The reasons joined, English.
    pub fn reason_en(&self) -> String {
        self.reasons
            .iter()
            .map(|r| r.en.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn months_before(day: Date, months: u32) -> Date {
    day.checked_sub(Span::new().months(i64::from(months)))
        .unwrap_or(Date::MIN)
}

fn months_after(day: Date, months: u32) -> Date {
    day.checked_add(Span::new().months(i64::from(months)))
        .unwrap_or(Date::MAX)
}

/// Whole months from `from` to `to` (0 if `to` is not later).
fn whole_months(from: Date, to: Date) -> u32 {
    if to <= from {
        return 0;
    }
    let mut n = (i32::from(to.year()) - i32::from(from.year())) * 12 + i32::from(to.month())
        - i32::from(from.month());
    if to.day() < from.day() {
        n -= 1;
    }
    u32::try_from(n.max(0)).unwrap_or(0)
}

fn answer<'f>(
    facts: &'f FactSet,
    query: Query,
    subject: &str,
    year: Option<i16>,
) -> Option<&'f Answer> {
    let key = FactKey {
        query,
        subject: subject.to_owned(),
        year,
    };
    facts.get(&key).and_then(|r| r.as_ref().ok())
}

/// The key earlier withdrawals for "the same home" are found by, from the facts: the
/// purchase contract, the renewal project and address, the owned home an invoice is for,
/// the illness year; empty for grounds that count per member.
pub fn home_key(ground: Ground, claims: &Claims, facts: &FactSet, subject: &str) -> String {
    match ground {
        Ground::Purchase => purchase_contract(claims, facts, subject)
            .map(|c| format!("contract:{}", c.contract_no))
            .unwrap_or_default(),
        Ground::Renewal => renewal_share(claims, facts, subject)
            .map(|r| format!("project:{}:{}", r.project_no, r.address))
            .unwrap_or_default(),
        Ground::BuildRepair | Ground::Renovation | Ground::PropertyFee => {
            invoiced_home(ground, claims, facts, subject)
                .map(|(cert, _)| format!("home:{cert}"))
                .unwrap_or_default()
        }
        Ground::Illness => claims
            .year
            .map(|y| format!("illness:{y}"))
            .unwrap_or_default(),
        _ => String::new(),
    }
}

fn purchase_contract<'f>(
    claims: &Claims,
    facts: &'f FactSet,
    subject: &str,
) -> Option<&'f crate::sharing::PurchaseContract> {
    // A spouse withdrawing for the home the other spouse bought.
    let subject = claims.spouse_buyer.as_deref().unwrap_or(subject);
    let Some(Answer::Contracts(cs)) = answer(facts, Query::Contracts, subject, None) else {
        return None;
    };
    cs.iter()
        .filter(|c| {
            !c.cancelled
                && c.buyers.iter().any(|b| b == subject)
                && claims
                    .contract_no
                    .as_ref()
                    .is_none_or(|n| &c.contract_no == n)
        })
        .max_by_key(|c| c.filed_on)
}

fn renewal_share<'f>(
    claims: &Claims,
    facts: &'f FactSet,
    subject: &str,
) -> Option<&'f crate::sharing::RenewalShare> {
    let Some(Answer::Renewal(rs)) = answer(facts, Query::Renewal, subject, None) else {
        return None;
    };
    rs.iter()
        .filter(|r| {
            claims
                .project_no
                .as_ref()
                .is_none_or(|n| &r.project_no == n)
        })
        .max_by_key(|r| r.approved_on)
}

fn categories(ground: Ground) -> &'static [InvoiceCategory] {
    match ground {
        Ground::BuildRepair => &[InvoiceCategory::Construction, InvoiceCategory::Repair],
        Ground::Renovation => &[InvoiceCategory::Renovation],
        Ground::PropertyFee => &[InvoiceCategory::PropertyFee],
        _ => &[],
    }
}

/// The owned home (certificate number, address) the ground's invoices are for: the
/// claimed invoice's home, or the home of the latest valid invoice.
fn invoiced_home(
    ground: Ground,
    claims: &Claims,
    facts: &FactSet,
    subject: &str,
) -> Option<(String, String)> {
    let Some(Answer::Invoices(invoices)) = answer(facts, Query::Invoices, subject, None) else {
        return None;
    };
    let Some(Answer::Properties(ps)) = answer(facts, Query::Properties, subject, None) else {
        return None;
    };
    let cats = categories(ground);
    invoices
        .iter()
        .filter(|i| {
            !i.voided
                && cats.contains(&i.category)
                && i.buyer_id == subject
                && claims
                    .invoice_no
                    .as_ref()
                    .is_none_or(|n| &i.invoice_no == n)
        })
        .filter_map(|i| {
            ps.iter()
                .find(|p| p.address == i.address && p.owners.iter().any(|o| o == subject))
                .map(|p| (i.issued_on, p.certificate_no.clone(), p.address.clone()))
        })
        .max_by_key(|(on, _, _)| *on)
        .map(|(_, cert, address)| (cert, address))
}

/// Splits `total` by shares `num/den` exactly to the fen: each heir gets the rounded-down
/// share, and the fen left over go one each to the largest remainders (ties to the
/// earlier heir). The parts always add up to `total`.
pub fn split_by_shares(total: Fen, shares: &[(i64, i64)]) -> Vec<Fen> {
    let t = i128::from(total.fen());
    // (index, rounded-down part, remainder, denominator): the remainder fraction is
    // remainder / denominator, compared exactly by cross-multiplying.
    let mut parts: Vec<(usize, i128, i128, i128)> = shares
        .iter()
        .enumerate()
        .map(|(i, &(n, d))| {
            let (n, d) = (i128::from(n), i128::from(d.max(1)));
            (i, t * n / d, (t * n) % d, d)
        })
        .collect();
    let given: i128 = parts.iter().map(|p| p.1).sum();
    let mut left = t - given;
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, da) = (parts[a].2, parts[a].3);
        let (rb, db) = (parts[b].2, parts[b].3);
        (rb * da).cmp(&(ra * db)).then(a.cmp(&b))
    });
    for i in order.into_iter().cycle().take(parts.len() * 2) {
        if left <= 0 {
            break;
        }
        parts[i].1 += 1;
        left -= 1;
    }
    parts
        .into_iter()
        .map(|p| Fen::new(i64::try_from(p.1).unwrap_or(i64::MAX)))
        .collect()
}

struct Work {
    limits: Vec<Limit>,
    refuse: Vec<Reason>,
    review: Vec<Reason>,
    basis: Vec<Reason>,
}

impl Work {
    fn limit(&mut self, zh: impl Into<String>, en: impl Into<String>, amount: Fen) {
        self.limits.push(Limit {
            what_zh: zh.into(),
            what_en: en.into(),
            amount,
            binding: false,
        });
    }
    fn refuse(&mut self, zh: impl Into<String>, en: impl Into<String>) {
        self.refuse.push(Reason::new(zh, en));
    }
    fn review(&mut self, zh: impl Into<String>, en: impl Into<String>) {
        self.review.push(Reason::new(zh, en));
    }
    fn basis(&mut self, zh: impl Into<String>, en: impl Into<String>) {
        self.basis.push(Reason::new(zh, en));
    }
}

fn sub(a: Fen, b: Fen) -> Fen {
    Fen::new(a.fen().saturating_sub(b.fen()))
}

fn sum(items: impl IntoIterator<Item = Fen>) -> Fen {
    Fen::new(
        items
            .into_iter()
            .fold(0i64, |t, f| t.saturating_add(f.fen())),
    )
}

/// Decides one application. See the module documentation.
pub fn decide(case: &Case<'_>) -> Decision {
    let ground = case.ground;
    let closes = ground.closes_account();
    let mut w = Work {
        limits: Vec::new(),
        refuse: Vec::new(),
        review: Vec::new(),
        basis: Vec::new(),
    };
    let key = home_key(ground, case.claims, case.facts, case.subject);
    let finish = |w: Work, amount: Option<Fen>| -> Decision {
        let Work {
            mut limits,
            refuse,
            review,
            basis,
        } = w;
        let (outcome, amount, reasons) = if !refuse.is_empty() {
            (Resolution::Refuse, Fen::ZERO, refuse)
        } else if !review.is_empty() {
            (Resolution::Review, amount.unwrap_or(Fen::ZERO), review)
        } else {
            (Resolution::Approve, amount.unwrap_or(Fen::ZERO), basis)
        };
        if let Some(min) = limits.iter().map(|l| l.amount).min()
            && let Some(l) = limits.iter_mut().find(|l| l.amount == min)
        {
            l.binding = true;
        }
        Decision {
            outcome,
            amount,
            closes_account: closes,
            home_key: key.clone(),
            limits,
            reasons,
            checks: case.verdicts.to_vec(),
        }
    };

    // 1. The account.
    match case.account.status {
        PersonalAccountStatus::Frozen => {
            w.refuse(
                "账户已冻结，不能提取",
                "the account is frozen: no withdrawal is possible",
            );
            return finish(w, None);
        }
        PersonalAccountStatus::ClosedByMerger
        | PersonalAccountStatus::ClosedByTransferOut
        | PersonalAccountStatus::ClosedByWithdrawal => {
            w.refuse(
                format!("账户已销户（{}）", case.account.status.label_zh()),
                format!("the account is closed ({})", case.account.status.label_en()),
            );
            return finish(w, None);
        }
        _ => {}
    }
    // A closing withdrawal from an emptied account still pays its interest to the day
    // (the 积数 of the money that was in it this year): closing never loses interest.
    let owed_interest = closes && case.closing_interest.is_positive();
    if !case.account.balance.is_positive() && !owed_interest {
        w.refuse("账户余额为零", "the account balance is zero");
        return finish(w, None);
    }
    let rule = match case.policy.withdrawal_on(case.today) {
        Ok(r) => r,
        Err(e) => {
            w.refuse(
                format!("无适用的提取政策：{e}"),
                format!("no withdrawal policy in force: {e}"),
            );
            return finish(w, None);
        }
    };

    // 2. The facts. The retirement check is judged below (statutory age as fallback).
    for v in case.verdicts {
        if ground == Ground::Retirement && matches!(v.check, Check::Retired { .. }) {
            continue;
        }
        match v.outcome {
            Outcome::Verified => w.basis(v.reason_zh.clone(), v.reason_en.clone()),
            Outcome::NotVerified => w.refuse(v.reason_zh.clone(), v.reason_en.clone()),
            Outcome::Unavailable => w.review(
                format!("无法核验（{}），转人工审核", v.reason_zh),
                format!("could not verify ({}): sent to staff review", v.reason_en),
            ),
        }
    }

    // 3. The ground's own rule.
    if closes {
        closing(case, rule, &mut w);
    } else {
        match ground {
            Ground::Purchase => purchase(case, rule, &mut w),
            Ground::BuildRepair => build_repair(case, rule, &mut w),
            Ground::Renovation => renovation(case, rule, &mut w),
            Ground::PropertyFee => property_fee(case, rule, &mut w),
            Ground::LoanRepayment => loan_repayment(case, rule, &mut w),
            Ground::Rent => rent(case, rule, &mut w),
            Ground::Renewal => renewal(case, rule, &mut w),
            Ground::Illness => illness(case, &mut w),
            Ground::Other => w.review(
                "其他原因提取须由经办人员审核",
                "an \"other\" withdrawal is decided by staff",
            ),
            _ => {}
        }
    }

    // 4. The amount.
    if closes {
        let total = case
            .account
            .balance
            .checked_add(case.closing_interest)
            .unwrap_or(case.account.balance);
        if let Some(r) = case.requested
            && r != total
        {
            w.refuse(
                format!("销户提取须提取全部余额及利息{total}元，不能只提取{r}元"),
                format!(
                    "a closing withdrawal pays the whole balance with interest, {total} yuan, not {r} yuan"
                ),
            );
        }
        return finish(w, Some(total));
    }
    // Every ground but "other" limits the amount from its facts; without that limit the
    // amount cannot be computed: never approve the whole balance for want of a fact.
    let ruled = ground == Ground::Other || !w.limits.is_empty();
    if !ruled && w.refuse.is_empty() && w.review.is_empty() {
        w.review(
            "未能依据核验信息计算可提取额度，转人工审核",
            "the rule's limit could not be computed from the facts: sent to staff review",
        );
    }
    w.limit(
        "可用余额",
        "available balance",
        Fen::new(case.account.available.fen().max(0)),
    );
    let cap = w.limits.iter().map(|l| l.amount).min().unwrap_or(Fen::ZERO);
    if w.refuse.is_empty() {
        let binding = w
            .limits
            .iter()
            .find(|l| l.amount == cap)
            .map(|l| (l.what_zh.clone(), l.what_en.clone()))
            .unwrap_or_default();
        if !cap.is_positive() {
            w.refuse(
                format!("可提取金额为零（{}）", binding.0),
                format!("nothing can be withdrawn ({})", binding.1),
            );
        } else if let Some(r) = case.requested
            && r > cap
        {
            w.refuse(
                format!("申请金额{r}元超过可提取上限{cap}元（{}）", binding.0),
                format!(
                    "the amount asked, {r} yuan, exceeds the most allowed, {cap} yuan ({})",
                    binding.1
                ),
            );
        }
    }
    let amount = if ruled {
        case.requested.map_or(cap, |r| r.min(cap))
    } else {
        Fen::ZERO
    };
    finish(w, Some(amount))
}

fn closing(case: &Case<'_>, rule: &WithdrawalRule, w: &mut Work) {
    if case.account.available != case.account.balance {
        w.refuse(
            "账户有在途提取，须待其办结后再销户提取",
            "another withdrawal from the account is still in flight: close it after that one ends",
        );
    }
    match case.ground {
        Ground::Retirement => retirement(case, w),
        Ground::MovedOut if case.account.status != PersonalAccountStatus::Sealed => {
            w.refuse(
                "户口迁出本市提取须先与单位终止劳动关系并封存账户",
                "the account must be sealed (employment ended) before a moved-out withdrawal",
            );
        }
        Ground::LeftJob => match case.account.sealed_since {
            Some(since) if case.account.status == PersonalAccountStatus::Sealed => {
                let due = months_after(since, rule.left_job_sealed_months);
                if case.today < due {
                    w.refuse(
                        format!(
                            "账户{since}封存，须封存满{}个月（{due}起）方可提取",
                            rule.left_job_sealed_months
                        ),
                        format!(
                            "the account was sealed on {since}; it must stay sealed {} months (until {due})",
                            rule.left_job_sealed_months
                        ),
                    );
                } else {
                    w.basis(
                        format!("账户{since}封存，已满{}个月", rule.left_job_sealed_months),
                        format!(
                            "sealed since {since}, at least {} months",
                            rule.left_job_sealed_months
                        ),
                    );
                }
            }
            _ => w.refuse(
                "离职提取须账户处于封存状态",
                "a left-job withdrawal needs the account to be sealed",
            ),
        },
        _ => {}
    }
}

fn retirement(case: &Case<'_>, w: &mut Work) {
    let retired = case
        .verdicts
        .iter()
        .find(|v| matches!(v.check, Check::Retired { .. }));
    if let Some(v) = retired
        && v.outcome == Outcome::Verified
    {
        w.basis(v.reason_zh.clone(), v.reason_en.clone());
        return;
    }
    // No retirement on social-security record (or it could not be read): the statutory
    // age from birth date and sex (2025 reform schedule).
    let Some(Answer::Identity(Some(id))) = answer(case.facts, Query::Identity, case.subject, None)
    else {
        w.review(
            "无法取得出生日期与性别以计算法定退休年龄，转人工审核",
            "birth date and sex could not be read to compute the statutory retirement age: sent to staff review",
        );
        return;
    };
    let date = |cat| case.policy.retirement_date(id.birth_date, cat).ok();
    match id.sex {
        Sex::Male => match date(RetirementCategory::Male) {
            Some(d) if d <= case.today => w.basis(
                format!("已达法定退休年龄（{d}）"),
                format!("reached the statutory retirement age on {d}"),
            ),
            Some(d) => w.refuse(
                format!("未达法定退休年龄，{d}方可退休提取"),
                format!("the statutory retirement age is reached only on {d}"),
            ),
            None => w.review("无法计算法定退休日期", "cannot compute the retirement date"),
        },
        Sex::Female => {
            match (
                date(RetirementCategory::FemaleWorker),
                date(RetirementCategory::FemaleCadre),
            ) {
                (_, Some(cadre)) if cadre <= case.today => w.basis(
                    format!("已达法定退休年龄（{cadre}）"),
                    format!("reached the statutory retirement age on {cadre}"),
                ),
                (Some(worker), Some(cadre)) if worker <= case.today => w.review(
                    format!(
                        "已达女职工退休年龄（{worker}），未达女干部退休年龄（{cadre}），社保无退休记录：须人工确认岗位类别"
                    ),
                    format!(
                        "past the women workers' retirement age ({worker}) but not the cadres' ({cadre}) and no retirement on record: staff must confirm the post category"
                    ),
                ),
                (Some(worker), _) => w.refuse(
                    format!("未达法定退休年龄，最早{worker}方可退休提取"),
                    format!("the statutory retirement age is reached on {worker} at the earliest"),
                ),
                _ => w.review("无法计算法定退休日期", "cannot compute the retirement date"),
            }
        }
    }
}

fn once_per_home(case: &Case<'_>, w: &mut Work, what_zh: &str, what_en: &str) {
    if let Some(p) = case
        .own
        .iter()
        .filter(|p| p.ground == case.ground && !p.home_key.is_empty())
        .find(|p| p.home_key == home_key(case.ground, case.claims, case.facts, case.subject))
    {
        w.refuse(
            format!(
                "本人已于{}为该{what_zh}提取（申请{}），同一{what_zh}只能提取一次",
                p.on, p.application_no
            ),
            format!(
                "last {} withdrawal for this {what_en} was on {} ({}); only once per {what_en}",
                case.ground.code(),
                p.on,
                p.application_no
            ),
        );
    }
}

fn purchase(case: &Case<'_>, rule: &WithdrawalRule, w: &mut Work) {
    let Some(c) = purchase_contract(case.claims, case.facts, case.subject) else {
        return; // the contract check already refused or sent it to review
    };
    once_per_home(case, w, "住房", "home");
    let from = months_before(case.today, rule.purchase_window_months);
    // The window runs from the filing, or from the home's registration to the buyer when
    // that came later (a second-hand home is transferred after its contract is filed).
    let buyer = case.claims.spouse_buyer.as_deref().unwrap_or(case.subject);
    let registered = match answer(case.facts, Query::Properties, buyer, None) {
        Some(Answer::Properties(ps)) => ps
            .iter()
            .filter(|p| p.address == c.address && p.owners.iter().any(|o| o == buyer))
            .map(|p| p.registered_on)
            .max(),
        _ => None,
    };
    let (since, what_zh, what_en) = match registered {
        Some(r) if r > c.filed_on => (r, "登记", "registered"),
        _ => (c.filed_on, "备案", "filed"),
    };
    if since < from {
        w.refuse(
            format!(
                "购房合同{}的住房于{since}{what_zh}，已超过{}个月的提取期限",
                c.contract_no, rule.purchase_window_months
            ),
            format!(
                "the home of contract {} was {what_en} on {since}, more than {} months ago",
                c.contract_no, rule.purchase_window_months
            ),
        );
    }
    // Loans for this home: commercial or provident-fund home loans of any buyer that
    // financed this address. A joint loan shows in every co-borrower's report: count it
    // once.
    let mut seen: Vec<&crate::sharing::CreditLoan> = Vec::new();
    for b in &c.buyers {
        if let Some(Answer::Credit(r)) = answer(case.facts, Query::Credit, b, None) {
            for l in r.loans.iter().filter(|l| {
                l.kind.is_housing() && l.property_address.as_deref() == Some(&c.address)
            }) {
                if !seen.contains(&l) {
                    seen.push(l);
                }
            }
        }
    }
    let loans = sum(seen.iter().map(|l| l.principal));
    let withdrawn = sum(case.same_home.iter().map(|p| p.amount));
    let room = sub(sub(c.price, loans), withdrawn);
    w.limit(
        format!("房价{}元减贷款{}元减已提取{}元", c.price, loans, withdrawn),
        format!(
            "price {} yuan less loans {} yuan less already withdrawn {} yuan",
            c.price, loans, withdrawn
        ),
        room,
    );
}

fn invoice_total(case: &Case<'_>, since: Date, w: &mut Work) -> Option<Fen> {
    let (_, address) = invoiced_home(case.ground, case.claims, case.facts, case.subject)?;
    let Some(Answer::Invoices(invoices)) = answer(case.facts, Query::Invoices, case.subject, None)
    else {
        return None;
    };
    let cats = categories(case.ground);
    let counted: Vec<_> = invoices
        .iter()
        .filter(|i| {
            !i.voided
                && cats.contains(&i.category)
                && i.buyer_id == case.subject
                && i.address == address
                && i.issued_on > since
                && i.issued_on <= case.today
                && case
                    .claims
                    .invoice_no
                    .as_ref()
                    .is_none_or(|n| &i.invoice_no == n)
        })
        .collect();
    if counted.is_empty() {
        w.refuse(
            format!("{since}之后无可计入的发票（已提取或超出期限）"),
            format!("no invoice after {since} is left to count (already withdrawn, or too old)"),
        );
        return None;
    }
    let nos: Vec<&str> = counted.iter().map(|i| i.invoice_no.as_str()).collect();
    let total = sum(counted.iter().map(|i| i.amount));
    w.basis(
        format!("计入发票{}，合计{total}元", nos.join("、")),
        format!("invoices counted: {}, {total} yuan in all", nos.join(", ")),
    );
    Some(total)
}

/// The latest earlier withdrawal on this ground for this home (by key).
fn last_for_home<'a>(case: &'a Case<'_>) -> Option<&'a Past> {
    let key = home_key(case.ground, case.claims, case.facts, case.subject);
    case.own
        .iter()
        .chain(case.same_home)
        .filter(|p| p.ground == case.ground && !key.is_empty() && p.home_key == key)
        .max_by_key(|p| p.on)
}

fn build_repair(case: &Case<'_>, rule: &WithdrawalRule, w: &mut Work) {
    let window = months_before(case.today, rule.build_repair_window_months);
    let since = last_for_home(case).map_or(window, |p| p.on.max(window));
    if let Some(total) = invoice_total(case, since, w) {
        w.limit(
            "建造、翻建、大修发票金额",
            "building or repair invoices",
            total,
        );
    }
}

fn renovation(case: &Case<'_>, rule: &WithdrawalRule, w: &mut Work) {
    let Some(r) = rule.renovation else {
        let from = case.policy.centre().regulation_2026_effective;
        w.refuse(
            format!("装修提取自{from}起施行"),
            format!("renovation withdrawals apply from {from}"),
        );
        return;
    };
    if let Some(p) = last_for_home(case) {
        let next = months_after(p.on, r.interval_years * 12);
        if case.today < next {
            w.refuse(
                format!(
                    "该住房已于{}装修提取（申请{}），{}年内只能提取一次，{next}后可再次申请",
                    p.on, p.application_no, r.interval_years
                ),
                format!(
                    "last renovation withdrawal for this home was on {} ({}); only once per {} years, again from {next}",
                    p.on, p.application_no, r.interval_years
                ),
            );
            return;
        }
    }
    let window = months_before(case.today, rule.build_repair_window_months);
    if let Some(total) = invoice_total(case, window, w) {
        let share = total
            .mul_rate(r.max_share, Rounding::DownFen)
            .unwrap_or(Fen::ZERO);
        w.limit(
            format!("装修发票{total}元的{}%", r.max_share.percent_string()),
            format!(
                "{} % of the renovation invoices of {total} yuan",
                r.max_share.percent_string()
            ),
            share,
        );
        w.limit("装修提取最高额度", "renovation maximum", r.max_amount);
    }
}

fn property_fee(case: &Case<'_>, rule: &WithdrawalRule, w: &mut Work) {
    let Some(interval) = rule.property_fee_interval_months else {
        let from = case.policy.centre().regulation_2026_effective;
        w.refuse(
            format!("物业费提取自{from}起施行"),
            format!("property-fee withdrawals apply from {from}"),
        );
        return;
    };
    let window = months_before(case.today, interval);
    if let Some(p) = last_for_home(case) {
        let next = months_after(p.on, interval);
        if case.today < next {
            w.refuse(
                format!(
                    "该住房已于{}提取物业费（申请{}），每{interval}个月只能提取一次，{next}后可再次申请",
                    p.on, p.application_no
                ),
                format!(
                    "last property-fee withdrawal for this home was on {} ({}); once every {interval} months, again from {next}",
                    p.on, p.application_no
                ),
            );
            return;
        }
    }
    if let Some(total) = invoice_total(case, window, w) {
        w.limit("物业费发票金额", "property-fee invoices", total);
    }
}

fn loan_repayment(case: &Case<'_>, rule: &WithdrawalRule, w: &mut Work) {
    let mode = case.mode.unwrap_or(RepayMode::OneOff);
    let Some(Answer::Credit(r)) = answer(case.facts, Query::Credit, case.subject, None) else {
        return;
    };
    let loans: Vec<_> = r
        .loans
        .iter()
        .filter(|l| l.kind.is_housing() && l.balance.is_positive())
        .collect();
    if loans.is_empty() {
        return; // the home-loan check refused already
    }
    let last = case
        .own
        .iter()
        // One-off and yearly repayments share one interval; the monthly offset has its own.
        .filter(|p| {
            p.ground == Ground::LoanRepayment
                && (p.mode == Some(RepayMode::Monthly)) == (mode == RepayMode::Monthly)
        })
        .max_by_key(|p| p.on);
    let interval = match mode {
        RepayMode::OneOff | RepayMode::Yearly => rule.loan_repayment_interval_months,
        RepayMode::Monthly => 1,
    };
    if let Some(p) = last {
        let next = months_after(p.on, interval);
        if case.today < next {
            w.refuse(
                format!(
                    "上次还贷提取在{}（申请{}），每{interval}个月只能提取一次，{next}后可再次申请",
                    p.on, p.application_no
                ),
                format!(
                    "last loan-repayment withdrawal was on {} ({}); once every {interval} month(s), again from {next}",
                    p.on, p.application_no
                ),
            );
        }
    }
    let outstanding = sum(loans.iter().map(|l| l.balance));
    let monthly = sum(loans.iter().map(|l| l.monthly_payment));
    w.limit(
        "住房贷款未还本金",
        "outstanding home-loan principal",
        outstanding,
    );
    match mode {
        RepayMode::OneOff => {}
        RepayMode::Yearly => w.limit(
            format!("12个月还款额（月供{monthly}元）"),
            format!("twelve monthly payments of {monthly} yuan"),
            monthly.checked_mul(12).unwrap_or(outstanding),
        ),
        RepayMode::Monthly => w.limit("当月还款额", "this month's payment", monthly),
    }
}

fn rent(case: &Case<'_>, rule: &WithdrawalRule, w: &mut Work) {
    let Some(Answer::Leases(ls)) = answer(case.facts, Query::Leases, case.subject, None) else {
        return;
    };
    let Some(lease) = ls.iter().find(|l| {
        case.claims
            .lease_no
            .as_ref()
            .is_none_or(|n| &l.lease_no == n)
            && l.starts_on <= case.today
            && case.today <= l.ends_on
    }) else {
        return;
    };
    let last = case
        .own
        .iter()
        .filter(|p| p.ground == Ground::Rent)
        .max_by_key(|p| p.on);
    let from = match last {
        Some(p) => {
            let next = months_after(p.on, rule.rent_interval_months);
            if case.today < next {
                w.refuse(
                    format!(
                        "上次租房提取在{}（申请{}），每{}个月可提取一次，{next}后可再次申请",
                        p.on, p.application_no, rule.rent_interval_months
                    ),
                    format!(
                        "last rent withdrawal was on {} ({}); once every {} months, again from {next}",
                        p.on, p.application_no, rule.rent_interval_months
                    ),
                );
                return;
            }
            p.on.max(lease.starts_on)
        }
        None => lease.starts_on,
    };
    let months = whole_months(from, case.today).clamp(1, 12);
    let per_month = lease.monthly_rent.min(rule.rent_monthly_limit);
    let months_i64 = i64::from(months);
    w.limit(
        format!(
            "{months}个月×每月{per_month}元（实际租金{}元，月限额{}元）",
            lease.monthly_rent, rule.rent_monthly_limit
        ),
        format!(
            "{months} month(s) × {per_month} yuan (rent {} yuan, monthly limit {} yuan)",
            lease.monthly_rent, rule.rent_monthly_limit
        ),
        per_month.checked_mul(months_i64).unwrap_or(per_month),
    );
    let year_ago = months_before(case.today, 12);
    let this_year = sum(case
        .own
        .iter()
        .filter(|p| p.ground == Ground::Rent && p.on > year_ago)
        .map(|p| p.amount));
    w.limit(
        format!(
            "12个月限额{}元减已提取{this_year}元",
            rule.rent_yearly_limit
        ),
        format!(
            "12-month limit {} yuan less {this_year} yuan already withdrawn",
            rule.rent_yearly_limit
        ),
        sub(rule.rent_yearly_limit, this_year),
    );
    if rule.rent_min_income_share.is_some() && case.claims.year.is_none() {
        w.review(
            "现行规则要求年租金超过工资收入的一定比例，申请未指明收入年度，转人工审核",
            "the rule in force needs the rent to exceed a share of a year's wage income, but no income year was claimed: sent to staff review",
        );
    }
    if let (Some(share), Some(year)) = (rule.rent_min_income_share, case.claims.year)
        && let Some(Answer::Income(is)) =
            answer(case.facts, Query::Income, case.subject, Some(year))
        && let Some(i) = is.iter().find(|i| i.year == year)
    {
        let yearly_rent = lease.monthly_rent.checked_mul(12).unwrap_or(Fen::ZERO);
        let threshold = i
            .wage_income
            .mul_rate(share, Rounding::HalfUpFen)
            .unwrap_or(Fen::ZERO);
        if yearly_rent <= threshold {
            w.refuse(
                format!(
                    "年租金{yearly_rent}元未超过{year}年工资收入{}元的{}%（{threshold}元）",
                    i.wage_income,
                    share.percent_string()
                ),
                format!(
                    "the year's rent, {yearly_rent} yuan, does not exceed {} % of the {year} wage income of {} yuan ({threshold} yuan)",
                    share.percent_string(),
                    i.wage_income
                ),
            );
        }
    }
}

fn renewal(case: &Case<'_>, rule: &WithdrawalRule, w: &mut Work) {
    let Some(r) = renewal_share(case.claims, case.facts, case.subject) else {
        return;
    };
    once_per_home(case, w, "改造项目", "project");
    let base = r.completed_on.unwrap_or(r.approved_on);
    let until = months_after(base, rule.renewal_window_months);
    if case.today > until {
        w.refuse(
            format!(
                "项目{}于{base}{}，已超过{}个月的提取期限（至{until}）",
                r.project_no,
                if r.completed_on.is_some() {
                    "竣工"
                } else {
                    "批准"
                },
                rule.renewal_window_months
            ),
            format!(
                "project {} dates from {base}; claims close {} months later, on {until}",
                r.project_no, rule.renewal_window_months
            ),
        );
    }
    let withdrawn = sum(case.same_home.iter().map(|p| p.amount));
    w.limit(
        format!("应分摊费用{}元减已提取{withdrawn}元", r.share),
        format!(
            "the household's share {} yuan less {withdrawn} yuan withdrawn",
            r.share
        ),
        sub(r.share, withdrawn),
    );
}

fn illness(case: &Case<'_>, w: &mut Work) {
    let Some(year) = case.claims.year else {
        return;
    };
    let Some(Answer::Medical(ms)) = answer(case.facts, Query::Medical, case.subject, Some(year))
    else {
        return;
    };
    let self_paid = sum(ms
        .iter()
        .filter(|m| m.year == year && m.serious_illness)
        .map(|m| m.self_paid));
    let withdrawn = sum(case
        .own
        .iter()
        .filter(|p| p.ground == Ground::Illness && p.home_key == format!("illness:{year}"))
        .map(|p| p.amount));
    w.limit(
        format!("{year}年大病个人自付{self_paid}元减已提取{withdrawn}元"),
        format!("{year} self-paid serious-illness costs {self_paid} yuan less {withdrawn} yuan withdrawn"),
        sub(self_paid, withdrawn),
    );
}

/// Shares of heirs must be positive fractions adding up to exactly one.
pub fn shares_add_up(shares: &[(i64, i64)]) -> bool {
    if shares.is_empty() || shares.iter().any(|&(n, d)| n <= 0 || d <= 0 || n > d) {
        return false;
    }
    // Σ n/d == 1 ⇔ Σ n·(L/d) == L with L the least common multiple of the denominators
    // (checked: the shares come from the request, and a product of denominators overflows
    // for e.g. ten heirs with shares in ten-thousandths).
    fn gcd(a: i128, b: i128) -> i128 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    let mut l: i128 = 1;
    for &(_, d) in shares {
        let d = i128::from(d);
        let Some(next) = (l / gcd(l, d)).checked_mul(d) else {
            return false;
        };
        l = next;
    }
    let mut total: i128 = 0;
    for &(n, d) in shares {
        let Some(next) = i128::from(n)
            .checked_mul(l / i128::from(d))
            .and_then(|part| total.checked_add(part))
        else {
            return false;
        };
        total = next;
    }
    total == l
}

#[cfg(test)]
mod tests;
