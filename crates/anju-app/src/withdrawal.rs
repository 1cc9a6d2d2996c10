//! Withdrawals (提取): apply → facts from data sharing → rule → decision → payout.
//!
//! The flow (issue 6):
//! 1. [`apply`] checks the request, opens the data-sharing application and the withdrawal
//!    in one transaction (at most one in-flight withdrawal per account and ground: a
//!    partial unique index), and records `submitted` and `verifying`.
//! 2. The facts the ground needs are verified through [`crate::sharing`] (logged, cached
//!    per application, no transaction held while departments answer).
//! 3. [`anju_domain::withdrawal::decide`] decides from the facts, the account and the
//!    earlier withdrawals: **approve** → paid at once through settlement (秒批秒到);
//!    **review** → queued for staff, one clerk proposes ([`propose`]) and another
//!    approves or rejects ([`confirm`]); **refuse** → with the reasons.
//! 4. Paying is one transaction with the settlement instruction: the amount is re-checked
//!    against the available balance under the centre lock; a closing withdrawal credits
//!    the interest to date (销户结息) and closes the account in the same transaction; the
//!    pending ledger entry reserves the money until the bank answers. The bank's answer
//!    (now, by status query, notice or reconciliation) moves the withdrawal to `paid`, or
//!    to `returned` with the money back in the account.
//!
//! Every step is a timeline event the member can see ([`show`]); [`receipt`] prints the
//! receipt (回单). [`run_monthly_offsets`] makes each month's withdrawal of the members
//! who chose the monthly loan offset (按月冲还贷).

use std::collections::BTreeSet;

use anju_domain::codes::{PersonalAccountStatus, SettlementBusinessType};
use anju_domain::collection::{CloseCause, MemberStatus};
use anju_domain::ids::IdCard;
use anju_domain::ledger::{AccountNo, TxCode};
use anju_domain::money::Fen;
use anju_domain::policy::Policy;
use anju_domain::settlement::InstructionKind;
use anju_domain::sharing::verify::{Claims, Role};
use anju_domain::stamp::Stamp;
use anju_domain::withdrawal::{
    self, Account, Case, Decision, Ground, Past, Reason, RepayMode, Resolution,
};
use anju_store::settlement::InstructionRow;
use anju_store::withdrawal::{PayeeRow, WithdrawalEventRow, WithdrawalRow};
use anju_store::{Store, StoreError, StoreTx};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use crate::AppError;
use crate::interest::{interest_to_date, post_closing_interest_in};
use crate::ledger::lock_centre;
use crate::settlement::{BankSet, Outgoing, Settlement, pay_out_with};
use crate::sharing::{
    Departments, NewApplication, Sharing, city_prefix, close_application_in, open_application_in,
    verify_application, verify_application_with,
};

fn invalid(field: &'static str, value: impl Into<String>, rule: impl Into<String>) -> AppError {
    AppError::Invalid {
        field,
        value: value.into(),
        rule: rule.into(),
    }
}

fn not_found(what: String) -> AppError {
    AppError::NotFound { what }
}

/// What the withdrawal use cases need.
#[derive(Debug, Clone, Copy)]
pub struct Withdrawals<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// Other departments' data.
    pub departments: &'a Departments,
    /// The commissioned banks.
    pub banks: &'a BankSet,
    /// The centre's code.
    pub centre: &'a str,
    /// The centre's policy.
    pub policy: &'a Policy,
}

impl Withdrawals<'_> {
    fn sharing(&self) -> Sharing<'_> {
        Sharing {
            store: self.store,
            departments: self.departments,
            centre: self.centre,
        }
    }

    /// What staff review and payment need.
    pub fn review(&self) -> Review<'_> {
        Review {
            store: self.store,
            banks: self.banks,
            centre: self.centre,
            policy: self.policy,
        }
    }
}

/// What deciding and paying need (no departments: the facts are already in).
#[derive(Debug, Clone, Copy)]
pub struct Review<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// The commissioned banks.
    pub banks: &'a BankSet,
    /// The centre's code.
    pub centre: &'a str,
    /// The centre's policy.
    pub policy: &'a Policy,
}

impl Review<'_> {
    fn settlement(&self) -> Settlement<'_> {
        Settlement {
            store: self.store,
            banks: self.banks,
            centre: self.centre,
        }
    }
}

/// An heir of a deceased member, paid their share (death withdrawal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heir {
    /// Resident ID number.
    pub id_number: String,
    /// Name.
    pub name: String,
    /// The heir's bank (a registered commissioned bank).
    pub bank_code: String,
    /// The heir's card or account number.
    pub card_no: String,
    /// Share of the balance, as numerator and denominator (e.g. 1/3).
    pub share: (i64, i64),
}

/// A withdrawal application.
#[derive(Debug, Clone)]
pub struct NewWithdrawal {
    /// Application number (1–40 of `A-Z a-z 0-9 -`), unique in the centre.
    pub application_no: String,
    /// Resident ID number of the account holder (the deceased member for a death
    /// withdrawal).
    pub id_number: String,
    /// The ground.
    pub ground: Ground,
    /// How a loan is repaid (loan repayment only; one-off when `None`).
    pub mode: Option<RepayMode>,
    /// Amount asked for; `None`: as much as the rule allows.
    pub requested: Option<Fen>,
    /// What the applicant states (contract, lease, project, invoice, year; for a
    /// purchase, `spouse_buyer` when the home is the spouse's).
    pub claims: Claims,
    /// The applicant's spouse, named when the withdrawal rests on the spouse's facts (a
    /// purchase by the spouse); their consent goes in `consents`.
    pub spouse: Option<String>,
    /// Heirs with their shares and cards (death withdrawal only).
    pub heirs: Vec<Heir>,
    /// Parties other than the applicant who consented, with how (heirs).
    pub consents: Vec<(String, String)>,
    /// Who applied, where, through which channel, for whom.
    pub stamp: Stamp,
}

/// A withdrawal as the member and staff see it.
#[derive(Debug, Clone, Serialize)]
pub struct WithdrawalView {
    /// Application number.
    pub application_no: String,
    /// Account.
    pub account_no: String,
    /// Ground code.
    pub ground: String,
    /// Ground, Chinese.
    pub ground_zh: String,
    /// Reason code TQYY.
    pub reason_code: String,
    /// Status.
    pub status: String,
    /// Status, Chinese.
    pub status_zh: String,
    /// Amount decided (yuan text).
    pub amount: Fen,
    /// Closing interest credited.
    pub interest: Fen,
    /// Whether the account is closed by it.
    pub closes_account: bool,
    /// Reasons of the last decision.
    pub reason_zh: String,
    /// Reasons, English.
    pub reason_en: String,
    /// The decision in full (checks, limits), when decided.
    pub decision: Option<Decision>,
    /// The timeline.
    pub events: Vec<EventView>,
    /// Who is paid, with the payment's state.
    pub payees: Vec<PayeeView>,
}

/// One timeline step.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    /// Status entered.
    pub status: String,
    /// When (RFC 3339).
    pub at: String,
    /// Who.
    pub operator: String,
    /// What happened.
    pub note_zh: String,
    /// What happened, English.
    pub note_en: String,
}

/// One payee and the payment's state.
#[derive(Debug, Clone, Serialize)]
pub struct PayeeView {
    /// Name.
    pub name: String,
    /// Masked card number.
    pub card: String,
    /// Bank.
    pub bank_code: String,
    /// Amount.
    pub amount: Fen,
    /// Settlement serial.
    pub serial: String,
    /// Instruction state (`in_flight`, `executed`, `not_executed` …).
    pub state: String,
    /// The bank's reference, when executed.
    pub bank_ref: Option<String>,
}

/// Status labels in Chinese.
pub fn status_zh(status: &str) -> &'static str {
    match status {
        "submitted" => "已提交",
        "verifying" => "核验中",
        "review" => "待人工审核",
        "proposed" => "待复核",
        "approved" => "已审批",
        "paying" => "支付中",
        "paid" => "已到账",
        "refused" => "不予提取",
        "returned" => "已退回",
        _ => "未知",
    }
}

use crate::mask;

fn event(
    row: &WithdrawalRow,
    seq: i64,
    status: &str,
    who: &str,
    zh: &str,
    en: &str,
    now: Timestamp,
) -> WithdrawalEventRow {
    WithdrawalEventRow {
        application_no: row.application_no.clone(),
        seq,
        status: status.to_owned(),
        at_us: now.as_microsecond(),
        operator: who.to_owned(),
        note_zh: zh.chars().take(500).collect(),
        note_en: en.chars().take(800).collect(),
    }
}

/// Appends timeline steps after the existing ones.
fn append(
    tx: &mut dyn StoreTx,
    centre: &str,
    row: &WithdrawalRow,
    steps: &[(&str, &str, &str, &str)],
    now: Timestamp,
) -> Result<(), AppError> {
    let first = tx.withdrawal_events(centre, &row.application_no)?.len() as i64 + 1;
    let rows: Vec<WithdrawalEventRow> = steps
        .iter()
        .zip(first..)
        .map(|(&(status, who, zh, en), seq)| event(row, seq, status, who, zh, en, now))
        .collect();
    tx.insert_withdrawal_events(centre, &rows)?;
    // The member is told the status the application reached, with the change.
    if let Some(last) = rows.last() {
        crate::notify::notify_application_status(
            tx,
            centre,
            &row.id_number,
            crate::notify::Application::Withdrawal,
            &row.application_no,
            status_zh(&last.status),
            now,
        )?;
    }
    Ok(())
}

fn check_request(new: &NewWithdrawal, banks: &BankSet) -> Result<(), AppError> {
    new.stamp
        .validate()
        .map_err(|e| invalid("stamp", "", e.to_string()))?;
    if new.mode.is_some() && new.ground != Ground::LoanRepayment {
        return Err(invalid(
            "mode",
            new.mode.map(RepayMode::code).unwrap_or_default(),
            "only a loan-repayment withdrawal has a mode",
        ));
    }
    if let Some(r) = new.requested
        && !r.is_positive()
    {
        return Err(invalid("amount", r.to_string(), "must be positive"));
    }
    if new.ground == Ground::Death {
        if new.heirs.is_empty() {
            return Err(invalid(
                "heirs",
                "",
                "a death withdrawal names at least one heir with a share and a card",
            ));
        }
        let shares: Vec<(i64, i64)> = new.heirs.iter().map(|h| h.share).collect();
        if !withdrawal::shares_add_up(&shares) {
            let text: Vec<String> = shares.iter().map(|(n, d)| format!("{n}/{d}")).collect();
            return Err(invalid(
                "heirs.share",
                text.join(","),
                "the heirs' shares must be positive fractions adding up to exactly 1",
            ));
        }
        for h in &new.heirs {
            IdCard::parse(&h.id_number)
                .map_err(|e| invalid("heirs.id_number", &h.id_number, e.to_string()))?;
            if h.name.trim().is_empty() || h.name.chars().count() > 60 {
                return Err(invalid("heirs.name", &h.name, "1-60 characters"));
            }
            if banks.get(&h.bank_code).is_err() {
                return Err(invalid(
                    "heirs.bank_code",
                    &h.bank_code,
                    "not a commissioned bank of the centre",
                ));
            }
            if h.card_no.len() < 8
                || h.card_no.len() > 32
                || !h.card_no.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(invalid(
                    "heirs.card_no",
                    mask(&h.card_no),
                    "a card number is 8-32 digits",
                ));
            }
        }
        if new.requested.is_some() {
            return Err(invalid(
                "amount",
                new.requested.map(|f| f.to_string()).unwrap_or_default(),
                "a death withdrawal pays the whole balance: give no amount",
            ));
        }
    } else if !new.heirs.is_empty() {
        return Err(invalid(
            "heirs",
            new.heirs.len().to_string(),
            "only a death withdrawal names heirs",
        ));
    }
    Ok(())
}

/// Carries on a withdrawal left `verifying` (e.g. the process stopped between the
/// look-ups and the decision): the facts are verified again — from the application's
/// cache, asking only what was unavailable — and decided as on the first pass.
pub fn resume(
    ctx: &Withdrawals<'_>,
    application_no: &str,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<WithdrawalView, AppError> {
    let (row, today) = {
        let mut tx = ctx.store.begin_read()?;
        let today = crate::ledger::centre(tx.as_mut(), ctx.centre)?.business_date;
        let row = tx
            .withdrawal(ctx.centre, application_no)?
            .ok_or_else(|| not_found(format!("withdrawal {application_no}")))?;
        (row, today)
    };
    expect_status(&row, &["verifying"])?;
    let v = verify_application(&ctx.sharing(), application_no, stamp, today, now)?;
    decide_and_act(ctx, application_no, &v.facts, &v.verdicts, now)?;
    show(ctx.store, ctx.centre, application_no)
}

/// Applies for a withdrawal and carries it as far as it goes without a person: verified,
/// decided, and — when approved automatically — paid. Returns the withdrawal as it then
/// is. Bad input changes nothing and says which field broke which rule.
pub fn apply(
    ctx: &Withdrawals<'_>,
    new: &NewWithdrawal,
    now: Timestamp,
) -> Result<WithdrawalView, AppError> {
    check_request(new, ctx.banks)?;
    let started = std::time::Instant::now();
    let centre = ctx.centre;
    let mut tx = ctx.store.begin()?;
    let today = lock_centre(tx.as_mut(), centre)?.business_date;
    let member = tx
        .member_by_id_number(centre, &new.id_number)?
        .ok_or_else(|| invalid("id_number", &new.id_number, "has no account in this centre"))?;
    if let Some(open) = tx
        .withdrawals_of_account(centre, &member.account_no)?
        .into_iter()
        .find(|w| w.ground == new.ground.code() && w.in_flight())
    {
        return Err(invalid(
            "ground",
            new.ground.code(),
            format!(
                "application {} on this ground is still in flight ({}): one at a time",
                open.application_no, open.status
            ),
        ));
    }
    let rule = ctx
        .policy
        .withdrawal_on(today)
        .map_err(|e| invalid("business_date", today.to_string(), e.to_string()))?;
    let mut claims = new.claims.clone();
    if new.ground == Ground::Rent {
        // Before the 2026 amendment the rent must exceed a share of last year's income.
        claims.year = rule
            .rent_min_income_share
            .map(|_| claims.year.unwrap_or(today.year() - 1));
    }
    if new.ground == Ground::Illness && claims.year.is_none() {
        claims.year = Some(today.year());
    }
    let mut parties = Vec::new();
    if new.ground == Ground::Death {
        parties.push((new.id_number.clone(), Role::Deceased));
        parties.extend(new.heirs.iter().map(|h| (h.id_number.clone(), Role::Heir)));
    } else {
        parties.push((new.id_number.clone(), Role::Applicant));
        parties.extend(new.spouse.iter().map(|s| (s.clone(), Role::Spouse)));
    }
    let app = NewApplication {
        application_no: new.application_no.clone(),
        kind: new.ground.application_kind(),
        parties,
        claims,
        consents: new.consents.clone(),
        stamp: new.stamp.clone(),
    };
    open_application_in(tx.as_mut(), centre, &app, today, now)?;
    let mode = match (new.ground, new.mode) {
        (Ground::LoanRepayment, m) => m.unwrap_or(RepayMode::OneOff).code(),
        _ => "",
    };
    let row = WithdrawalRow {
        application_no: new.application_no.trim().to_owned(),
        account_no: member.account_no.clone(),
        id_number: member.id_number.clone(),
        ground: new.ground.code().to_owned(),
        reason_code: new.ground.reason_code().to_owned(),
        mode: mode.to_owned(),
        home_key: String::new(),
        requested: new.requested.map(Fen::fen),
        amount: 0,
        interest: 0,
        closes_account: new.ground.closes_account(),
        status: "verifying".to_owned(),
        decision: String::new(),
        reason_zh: String::new(),
        reason_en: String::new(),
        proposed_by: None,
        decided_by: None,
        business_date: today,
        created_at_us: now.as_microsecond(),
        updated_at_us: now.as_microsecond(),
        stamp: new.stamp.clone(),
    };
    tx.insert_withdrawal(centre, &row).map_err(|e| match e {
        StoreError::Conflict { .. } => invalid(
            "ground",
            new.ground.code(),
            "another application on this ground is in flight for the account: one at a time",
        ),
        other => other.into(),
    })?;
    let who = new.stamp.operator.as_str();
    append(
        tx.as_mut(),
        centre,
        &row,
        &[
            (
                "submitted",
                who,
                &format!("提交{}提取申请", new.ground.name_zh()),
                &format!("applied to withdraw for {}", new.ground.name_en()),
            ),
            (
                "verifying",
                "system",
                "向相关部门核验信息",
                "verifying the facts with other departments",
            ),
        ],
        now,
    )?;
    if new.ground == Ground::Death {
        let payees: Vec<PayeeRow> = new
            .heirs
            .iter()
            .zip(1..)
            .map(|(h, seq)| PayeeRow {
                application_no: row.application_no.clone(),
                seq,
                id_number: h.id_number.clone(),
                name: h.name.trim().to_owned(),
                bank_code: h.bank_code.clone(),
                card_no: h.card_no.clone(),
                share_num: h.share.0,
                share_den: h.share.1,
                amount: 0,
                serial: format!("{}-{seq}", row.application_no),
            })
            .collect();
        // The heirs' cards are kept as given; their parts are split from the balance when
        // paid and carried by the instructions.
        tx.insert_payees(centre, &payees)?;
    }
    // The look-ups are logged in this same transaction, committed before any department
    // is asked.
    let verification = verify_application_with(
        &ctx.sharing(),
        tx,
        &row.application_no,
        &new.stamp,
        today,
        now,
    )?;
    // Each later step is stamped with when it happened.
    decide_and_act(
        ctx,
        &row.application_no,
        &verification.facts,
        &verification.verdicts,
        crate::later(now, started),
    )?;
    show(ctx.store, centre, &row.application_no)
}

/// The member's account figures and history, read for a decision.
fn load_case_inputs(
    tx: &mut dyn StoreTx,
    ctx: &Review<'_>,
    row: &WithdrawalRow,
    ground: Ground,
    today: Date,
) -> Result<(Account, Vec<Past>, Fen), AppError> {
    let centre = ctx.centre;
    let member = tx
        .member(centre, &row.account_no)?
        .ok_or_else(|| not_found(format!("personal account {}", row.account_no)))?;
    let no = AccountNo::sub("201", &row.account_no)
        .map_err(|e| invalid("account_no", &row.account_no, e.to_string()))?;
    let state = tx
        .load_accounts(centre, std::slice::from_ref(&no))?
        .pop()
        .ok_or_else(|| not_found(format!("ledger account {no}")))?;
    let sealed_since = if member.status == PersonalAccountStatus::Sealed {
        tx.events(centre, &format!("member:{}", row.account_no))?
            .into_iter()
            .filter(|e| e.to_status == PersonalAccountStatus::Sealed.code())
            .map(|e| e.date)
            .max()
    } else {
        None
    };
    let account = Account {
        status: member.status,
        balance: state.balance,
        available: Fen::new(state.balance.fen() - state.pending_out.fen()),
        sealed_since,
    };
    let own = tx
        .withdrawals_of_account(centre, &row.account_no)?
        .into_iter()
        .filter(|w| w.application_no != row.application_no)
        .filter_map(|w| past_of(&w))
        .collect();
    let interest = if ground.closes_account() {
        interest_to_date(tx, centre, ctx.policy, &row.account_no, today)?
    } else {
        Fen::ZERO
    };
    Ok((account, own, interest))
}

/// An earlier withdrawal that counts: paid, or decided and in flight.
fn past_of(w: &WithdrawalRow) -> Option<Past> {
    let counts = matches!(
        w.status.as_str(),
        "paid" | "paying" | "approved" | "proposed"
    );
    if !counts {
        return None;
    }
    Some(Past {
        application_no: w.application_no.clone(),
        account_no: w.account_no.clone(),
        ground: Ground::from_code(&w.ground)?,
        mode: RepayMode::from_code(&w.mode),
        home_key: w.home_key.clone(),
        amount: Fen::new(w.amount),
        on: w.business_date,
    })
}

fn decide_and_act(
    ctx: &Withdrawals<'_>,
    application_no: &str,
    facts: &anju_domain::sharing::verify::FactSet,
    verdicts: &[anju_domain::sharing::verify::Verdict],
    now: Timestamp,
) -> Result<(), AppError> {
    // One transaction under the centre lock: read what the rule needs, decide, and record
    // the outcome — for an approval, the payment with its pending entry.
    let r = ctx.review();
    let decided: std::cell::RefCell<Option<Decision>> = std::cell::RefCell::new(None);
    let short: std::cell::RefCell<Option<String>> = std::cell::RefCell::new(None);
    let result = pay_out_with(&r.settlement(), now, &|tx| {
        let d = decide_in(tx, &r, application_no, facts, verdicts)?;
        *decided.borrow_mut() = Some(d.clone());
        match d.outcome {
            Resolution::Approve => {
                record_payment_in(tx, &r, application_no, &d, "system", now, &short)
            }
            Resolution::Review => {
                to_review_in(tx, r.centre, application_no, &d, now)?;
                Ok(Vec::new())
            }
            Resolution::Refuse => {
                refuse_in(tx, r.centre, application_no, &d, "system", now)?;
                Ok(Vec::new())
            }
        }
    });
    match (result, decided.into_inner()) {
        (Ok(_), _) => Ok(()),
        (Err(e), Some(d)) if d.outcome == Resolution::Approve => {
            after_failed_payment(&r, application_no, &d, "system", short.into_inner(), e, now)
        }
        (Err(e), _) => Err(e),
    }
}

/// Reads what the rule needs inside `tx` and decides.
fn decide_in(
    tx: &mut dyn StoreTx,
    ctx: &Review<'_>,
    application_no: &str,
    facts: &anju_domain::sharing::verify::FactSet,
    verdicts: &[anju_domain::sharing::verify::Verdict],
) -> Result<Decision, AppError> {
    let centre = ctx.centre;
    let today = crate::ledger::centre(tx, centre)?.business_date;
    let row = tx
        .withdrawal(centre, application_no)?
        .ok_or_else(|| not_found(format!("withdrawal {application_no}")))?;
    expect_status(&row, &["verifying"])?;
    let ground = Ground::from_code(&row.ground)
        .ok_or_else(|| invalid("ground", &row.ground, "unknown ground"))?;
    let app = tx
        .application(centre, application_no)?
        .ok_or_else(|| not_found(format!("application {application_no}")))?;
    let claims: Claims = serde_json::from_str(&app.claims)
        .map_err(|e| invalid("claims", &app.claims, e.to_string()))?;
    let (account, own, interest) = load_case_inputs(tx, ctx, &row, ground, today)?;
    let key = withdrawal::home_key(ground, &claims, facts, &row.id_number);
    let same_home: Vec<Past> = if key.is_empty() {
        Vec::new()
    } else {
        tx.withdrawals_by_home_key(centre, ground.code(), &key)?
            .into_iter()
            .filter(|w| w.application_no != row.application_no)
            .filter_map(|w| past_of(&w))
            .collect()
    };
    Ok(withdrawal::decide(&Case {
        ground,
        mode: RepayMode::from_code(&row.mode),
        today,
        subject: &row.id_number,
        account,
        requested: row.requested.map(Fen::new),
        claims: &claims,
        verdicts,
        facts,
        own: &own,
        same_home: &same_home,
        closing_interest: interest,
        policy: ctx.policy,
        city_prefix: city_prefix(centre),
    }))
}

/// An approval whose payment could not be recorded (nothing was written): the money was
/// taken meanwhile → refused with the reason; it cannot be paid as things stand (e.g. no
/// payout card) → a person takes it; anything else is the caller's error.
fn after_failed_payment(
    r: &Review<'_>,
    application_no: &str,
    d: &Decision,
    approver: &str,
    short: Option<String>,
    e: AppError,
    now: Timestamp,
) -> Result<(), AppError> {
    match (short, e) {
        (Some(zh), e) => {
            let mut d = d.clone();
            d.outcome = Resolution::Refuse;
            d.amount = Fen::ZERO;
            d.reasons = vec![Reason {
                zh,
                en: e.to_string(),
            }];
            refuse(r, application_no, &d, approver, now)
        }
        (None, AppError::Invalid { field, value, rule }) => {
            let mut d = d.clone();
            d.outcome = Resolution::Review;
            d.reasons = vec![Reason {
                zh: format!("审批通过但无法支付（{field}: {rule}），转人工处理"),
                en: format!(
                    "approved but cannot be paid ({field} {value:?}: {rule}): sent to staff review"
                ),
            }];
            if approver == "system" {
                to_review(r, application_no, &d, now)
            } else {
                Err(AppError::Invalid { field, value, rule })
            }
        }
        (None, e) => Err(e),
    }
}

fn decision_json(d: &Decision) -> Result<String, AppError> {
    serde_json::to_string(d).map_err(|e| {
        AppError::Store(StoreError::Corrupt {
            what: format!("cannot encode a decision: {e}"),
        })
    })
}

fn to_review(
    ctx: &Review<'_>,
    application_no: &str,
    d: &Decision,
    now: Timestamp,
) -> Result<(), AppError> {
    let mut tx = ctx.store.begin()?;
    to_review_in(tx.as_mut(), ctx.centre, application_no, d, now)?;
    tx.commit()?;
    Ok(())
}

fn to_review_in(
    tx: &mut dyn StoreTx,
    centre: &str,
    application_no: &str,
    d: &Decision,
    now: Timestamp,
) -> Result<(), AppError> {
    let mut row = lock(tx, centre, application_no)?;
    expect_status(&row, &["verifying"])?;
    row.status = "review".to_owned();
    row.amount = d.amount.fen();
    row.home_key = d.home_key.clone();
    row.decision = decision_json(d)?;
    row.reason_zh = d.reason_zh();
    row.reason_en = d.reason_en();
    row.updated_at_us = now.as_microsecond();
    tx.update_withdrawal(centre, &row)?;
    append(
        tx,
        centre,
        &row,
        &[("review", "system", &d.reason_zh(), &d.reason_en())],
        now,
    )
}

fn refuse(
    ctx: &Review<'_>,
    application_no: &str,
    d: &Decision,
    who: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let mut tx = ctx.store.begin()?;
    refuse_in(tx.as_mut(), ctx.centre, application_no, d, who, now)?;
    tx.commit()?;
    Ok(())
}

fn refuse_in(
    tx: &mut dyn StoreTx,
    centre: &str,
    application_no: &str,
    d: &Decision,
    who: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let mut row = lock(tx, centre, application_no)?;
    expect_status(&row, &["verifying", "review", "proposed"])?;
    row.status = "refused".to_owned();
    row.amount = 0;
    row.home_key = d.home_key.clone();
    row.decision = decision_json(d)?;
    row.reason_zh = d.reason_zh();
    row.reason_en = d.reason_en();
    row.updated_at_us = now.as_microsecond();
    if who != "system" {
        row.decided_by = Some(who.to_owned());
    }
    tx.update_withdrawal(centre, &row)?;
    append(
        tx,
        centre,
        &row,
        &[(
            "refused",
            who,
            &format!("不予提取：{}", d.reason_zh()),
            &format!("refused: {}", d.reason_en()),
        )],
        now,
    )?;
    close_application_in(tx, centre, application_no, now)
}

fn lock(
    tx: &mut dyn StoreTx,
    centre: &str,
    application_no: &str,
) -> Result<WithdrawalRow, AppError> {
    tx.lock_withdrawal(centre, application_no)?
        .ok_or_else(|| not_found(format!("withdrawal {application_no}")))
}

fn expect_status(row: &WithdrawalRow, allowed: &[&str]) -> Result<(), AppError> {
    if allowed.contains(&row.status.as_str()) {
        Ok(())
    } else {
        Err(invalid(
            "status",
            &row.status,
            format!(
                "withdrawal {} is {} ({}); this needs it to be {}",
                row.application_no,
                row.status,
                status_zh(&row.status),
                allowed.join(" or ")
            ),
        ))
    }
}

/// Pays an approved withdrawal: one transaction re-checks the amount against the account
/// under the centre lock, credits closing interest and closes the account (closing
/// grounds), fixes the payees, records `approved` and `paying`, and writes the pending
/// entries with the settlement instructions; then the bank is asked.
fn pay(
    ctx: &Review<'_>,
    application_no: &str,
    d: &Decision,
    approver: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let short: std::cell::RefCell<Option<String>> = std::cell::RefCell::new(None);
    let result = pay_out_with(&ctx.settlement(), now, &|tx| {
        record_payment_in(tx, ctx, application_no, d, approver, now, &short)
    });
    match result {
        Ok(_) => Ok(()),
        Err(e) => {
            after_failed_payment(ctx, application_no, d, approver, short.into_inner(), e, now)
        }
    }
}

/// The channel's payout limits (per transaction, per member per day, from policy): what
/// the member was already paid today through the same channel counts. A standing
/// arrangement run by the system batch (the monthly loan offset) was checked when it was
/// applied for and is not limited again. Over the limit: refused with the reason (the
/// member may apply at a counter, whose limit is higher).
fn check_channel_limit_in(
    tx: &mut dyn StoreTx,
    ctx: &Review<'_>,
    row: &WithdrawalRow,
    amount: Fen,
    short: &std::cell::RefCell<Option<String>>,
) -> Result<(), AppError> {
    let channel = row.stamp.channel;
    if channel == anju_domain::codes::Channel::Batch {
        return Ok(());
    }
    let today = lock_centre(tx, ctx.centre)?.business_date;
    let already: i64 = tx
        .withdrawals_of_account(ctx.centre, &row.account_no)?
        .iter()
        .filter(|w| {
            w.application_no != row.application_no
                && w.stamp.channel == channel
                && w.business_date == today
                && matches!(w.status.as_str(), "paying" | "paid")
        })
        .map(|w| w.amount)
        .sum();
    anju_domain::access::check_channel_limit(
        channel,
        amount,
        Fen::new(already),
        ctx.policy.channel_limits(),
    )
    .map_err(|e| {
        *short.borrow_mut() = Some(format!(
            "超出{}渠道提取限额：{e}；可到服务大厅柜面办理",
            channel.label_zh()
        ));
        invalid("amount", amount.to_string(), e.to_string())
    })
}

/// Inside the payment's transaction: the amount checked against the account, closing
/// interest and the account's closing (closing grounds), the payees, `approved` and
/// `paying`; returns the instructions to send. Sets `short` when the money is no longer
/// available.
fn record_payment_in(
    tx: &mut dyn StoreTx,
    ctx: &Review<'_>,
    application_no: &str,
    d: &Decision,
    approver: &str,
    now: Timestamp,
    short: &std::cell::RefCell<Option<String>>,
) -> Result<Vec<Outgoing>, AppError> {
    let centre = ctx.centre;
    let policy = ctx.policy;
    {
        let mut row = lock(tx, centre, application_no)?;
        expect_status(&row, &["verifying", "proposed"])?;
        let no = AccountNo::sub("201", &row.account_no)
            .map_err(|e| invalid("account_no", &row.account_no, e.to_string()))?;
        let stamp = Stamp {
            operator: approver.to_owned(),
            ..row.stamp.clone()
        };
        let mut interest = Fen::ZERO;
        let amount = if row.closes_account {
            let (i, _) = post_closing_interest_in(
                tx,
                centre,
                policy,
                &row.account_no,
                &format!("wd:{}:interest", row.application_no),
                &stamp,
                now,
            )?;
            interest = i;
            let st = tx
                .load_accounts(centre, std::slice::from_ref(&no))?
                .pop()
                .ok_or_else(|| not_found(format!("ledger account {no}")))?;
            if st.pending_out.is_positive() {
                *short.borrow_mut() = Some("账户有在途提取，须待其办结后再销户提取".to_owned());
                return Err(invalid(
                    "amount",
                    st.balance.to_string(),
                    "another withdrawal is in flight",
                ));
            }
            // Close the account: 提取销户.
            let mut m = tx
                .member(centre, &row.account_no)?
                .ok_or_else(|| not_found(format!("personal account {}", row.account_no)))?;
            let (after, change) = MemberStatus {
                status: m.status,
                before_freeze: m.before_freeze,
            }
            .close(
                lock_centre(tx, centre)?.business_date,
                CloseCause::Withdrawal,
                &format!(
                    "{}提取销户（申请{}）",
                    Ground::from_code(&row.ground).map_or("", Ground::name_zh),
                    row.application_no
                ),
            )
            .map_err(|e| invalid("status", m.status.code(), e.to_string()))?;
            m.status = after.status;
            m.before_freeze = after.before_freeze;
            m.unit_no = None;
            tx.update_member(centre, &m)?;
            crate::registry::record_event(
                tx,
                centre,
                &format!("member:{}", row.account_no),
                &change,
                &stamp,
                now,
            )?;
            st.balance
        } else {
            let st = tx
                .load_accounts(centre, std::slice::from_ref(&no))?
                .pop()
                .ok_or_else(|| not_found(format!("ledger account {no}")))?;
            let available = Fen::new(st.balance.fen() - st.pending_out.fen());
            if d.amount > available {
                *short.borrow_mut() = Some(format!(
                    "可用余额{available}元不足{}元（另有在途提取）",
                    d.amount
                ));
                return Err(invalid(
                    "amount",
                    d.amount.to_string(),
                    format!("exceeds the available balance of {available} yuan"),
                ));
            }
            d.amount
        };
        if !amount.is_positive() {
            return Err(invalid("amount", amount.to_string(), "nothing to pay"));
        }
        check_channel_limit_in(tx, ctx, &row, amount, short)?;
        // Who is paid.
        let mut payees = tx.payees(centre, &row.application_no)?;
        if payees.is_empty() {
            let card = tx.card(centre, &row.account_no)?.ok_or_else(|| {
                invalid(
                    "account_no",
                    &row.account_no,
                    "has no bound payout card (bind the member's bank card first)",
                )
            })?;
            let p = PayeeRow {
                application_no: row.application_no.clone(),
                seq: 1,
                id_number: row.id_number.clone(),
                name: card.holder.clone(),
                bank_code: card.bank_code.clone(),
                card_no: card.card_no.clone(),
                share_num: 1,
                share_den: 1,
                amount: amount.fen(),
                serial: format!("{}-1", row.application_no),
            };
            tx.insert_payees(centre, std::slice::from_ref(&p))?;
            payees.push(p);
        } else {
            let shares: Vec<(i64, i64)> =
                payees.iter().map(|p| (p.share_num, p.share_den)).collect();
            for (p, part) in payees
                .iter_mut()
                .zip(withdrawal::split_by_shares(amount, &shares))
            {
                p.amount = part.fen();
            }
        }
        row.status = "paying".to_owned();
        row.amount = amount.fen();
        row.interest = interest.fen();
        row.home_key = d.home_key.clone();
        row.decision = decision_json(d)?;
        row.reason_zh = d.reason_zh();
        row.reason_en = d.reason_en();
        row.updated_at_us = now.as_microsecond();
        if approver != "system" {
            row.decided_by = Some(approver.to_owned());
        }
        tx.update_withdrawal(centre, &row)?;
        let how = if approver == "system" {
            "自动审批通过（秒批）"
        } else {
            "人工复核通过"
        };
        let how_en = if approver == "system" {
            "approved automatically"
        } else {
            "approved by the checker"
        };
        append(
            tx,
            centre,
            &row,
            &[
                (
                    "approved",
                    approver,
                    &format!("{how}，提取{amount}元"),
                    &format!("{how_en}: {amount} yuan"),
                ),
                (
                    "paying",
                    "system",
                    "已向银行发送支付指令",
                    "payment instruction sent to the bank",
                ),
            ],
            now,
        )?;
        Ok(instructions(&row, &payees, &no, &stamp))
    }
}

/// The settlement instructions paying `payees` (those with an amount) from the account.
fn instructions(
    row: &WithdrawalRow,
    payees: &[PayeeRow],
    debit: &AccountNo,
    stamp: &Stamp,
) -> Vec<Outgoing> {
    let business_type = if row.closes_account {
        SettlementBusinessType::ClosingWithdrawal
    } else {
        SettlementBusinessType::PartialWithdrawal
    };
    payees
        .iter()
        .filter(|p| p.amount > 0)
        .map(|p| Outgoing {
            serial: p.serial.clone(),
            kind: InstructionKind::Payment,
            business_type,
            bank_code: p.bank_code.clone(),
            debit: debit.clone(),
            code: TxCode::Withdrawal,
            payee_account: p.card_no.clone(),
            payee_name: p.name.clone(),
            payee_bank: None,
            amount: Fen::new(p.amount),
            memo: format!("公积金提取 {}", row.application_no),
            target: format!("withdrawal:{}", row.application_no),
            stamp: stamp.clone(),
        })
        .collect()
}

/// Called by settlement, inside its transaction, when an instruction serving a
/// withdrawal reaches a final state: all executed → `paid`; all final and some not
/// executed → `returned` (that money is back in the account).
pub(crate) fn payment_settled_in(
    tx: &mut dyn StoreTx,
    centre: &str,
    application_no: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let Some(mut row) = tx.lock_withdrawal(centre, application_no)? else {
        return Ok(());
    };
    if row.status != "paying" {
        return Ok(());
    }
    let payees = tx.payees(centre, application_no)?;
    let serials: Vec<&str> = payees.iter().map(|p| p.serial.as_str()).collect();
    // A payee whose part is zero (an heir's share of a tiny balance) has no instruction.
    let ins = tx.instructions(centre, &serials)?;
    if ins.is_empty() || ins.iter().any(|i| !is_final(i)) {
        return Ok(());
    }
    // Per person paid (the member, or each heir): paid once any attempt executed.
    let mut failed = Vec::new();
    let mut refs = Vec::new();
    for person in payees
        .iter()
        .map(|p| p.id_number.as_str())
        .collect::<BTreeSet<_>>()
    {
        let theirs: Vec<&InstructionRow> = ins
            .iter()
            .filter(|i| {
                payees
                    .iter()
                    .any(|p| p.serial == i.serial && p.id_number == person)
            })
            .collect();
        match theirs.iter().find(|i| i.state == "executed") {
            Some(i) => refs.extend(i.bank_ref.clone()),
            None => failed.extend(theirs.last().map(|i| i.reason.clone().unwrap_or_default())),
        }
    }
    row.updated_at_us = now.as_microsecond();
    if failed.is_empty() {
        row.status = "paid".to_owned();
        tx.update_withdrawal(centre, &row)?;
        append(
            tx,
            centre,
            &row,
            &[(
                "paid",
                "system",
                &format!(
                    "已到账{}元（银行流水{}）",
                    Fen::new(row.amount),
                    refs.join("、")
                ),
                &format!(
                    "paid {} yuan (bank ref {})",
                    Fen::new(row.amount),
                    refs.join(", ")
                ),
            )],
            now,
        )?;
        close_application_in(tx, centre, application_no, now)?;
    } else {
        row.status = "returned".to_owned();
        tx.update_withdrawal(centre, &row)?;
        append(
            tx,
            centre,
            &row,
            &[(
                "returned",
                "system",
                &format!("银行未能支付，资金已退回公积金账户：{}", failed.join("；")),
                &format!(
                    "the bank did not pay; the money is back in the account: {}",
                    failed.join("; ")
                ),
            )],
            now,
        )?;
    }
    Ok(())
}

fn is_final(i: &InstructionRow) -> bool {
    i.state == "executed" || i.state == "not_executed"
}

/// Pays a returned withdrawal again (e.g. after the member bound a new card): every
/// payee the bank did not pay gets a new instruction for the same amount — the member to
/// the card bound now, an heir to the card given in `cards` (resident ID → bank, card) or
/// the one recorded before. Staff only; the withdrawal is `paying` again.
pub fn repay(
    ctx: &Review<'_>,
    application_no: &str,
    cards: &[(String, String, String)],
    stamp: &Stamp,
    now: Timestamp,
) -> Result<WithdrawalView, AppError> {
    staff(stamp)?;
    let centre = ctx.centre;
    pay_out_with(&ctx.settlement(), now, &|tx| {
        let mut row = lock(tx, centre, application_no)?;
        expect_status(&row, &["returned"])?;
        let payees = tx.payees(centre, application_no)?;
        let serials: Vec<&str> = payees.iter().map(|p| p.serial.as_str()).collect();
        let ins = tx.instructions(centre, &serials)?;
        let no = AccountNo::sub("201", &row.account_no)
            .map_err(|e| invalid("account_no", &row.account_no, e.to_string()))?;
        let mut next = payees.iter().map(|p| p.seq).max().unwrap_or(0) + 1;
        let mut fresh = Vec::new();
        for person in payees
            .iter()
            .map(|p| p.id_number.as_str())
            .collect::<BTreeSet<_>>()
        {
            let theirs: Vec<(&PayeeRow, &InstructionRow)> = payees
                .iter()
                .filter(|p| p.id_number == person)
                .filter_map(|p| ins.iter().find(|i| i.serial == p.serial).map(|i| (p, i)))
                .collect();
            if theirs.iter().any(|(_, i)| i.state == "executed") {
                continue;
            }
            let Some((last, last_ins)) = theirs.last() else {
                continue;
            };
            let (bank_code, card_no, name) =
                if let Some((_, b, c)) = cards.iter().find(|(id, _, _)| id == person) {
                    (b.clone(), c.clone(), last.name.clone())
                } else if person == row.id_number {
                    let card = tx.card(centre, &row.account_no)?.ok_or_else(|| {
                        invalid("account_no", &row.account_no, "has no bound payout card")
                    })?;
                    (card.bank_code, card.card_no, card.holder)
                } else {
                    (
                        last.bank_code.clone(),
                        last.card_no.clone(),
                        last.name.clone(),
                    )
                };
            fresh.push(PayeeRow {
                application_no: row.application_no.clone(),
                seq: next,
                id_number: person.to_owned(),
                name,
                bank_code,
                card_no,
                share_num: last.share_num,
                share_den: last.share_den,
                amount: last_ins.amount,
                serial: format!("{}-{next}", row.application_no),
            });
            next += 1;
        }
        if fresh.is_empty() {
            return Err(invalid(
                "application_no",
                application_no,
                "nothing is left to pay",
            ));
        }
        tx.insert_payees(centre, &fresh)?;
        row.status = "paying".to_owned();
        row.updated_at_us = now.as_microsecond();
        tx.update_withdrawal(centre, &row)?;
        append(
            tx,
            centre,
            &row,
            &[(
                "paying",
                &stamp.operator,
                "重新向银行发送支付指令",
                "payment instruction sent to the bank again",
            )],
            now,
        )?;
        Ok(instructions(&row, &fresh, &no, stamp))
    })?;
    show(ctx.store, centre, application_no)
}

/// A clerk's proposal on a withdrawal under review (maker).
#[derive(Debug, Clone)]
pub enum Proposal {
    /// Approve this amount.
    Approve {
        /// Amount.
        amount: Fen,
    },
    /// Refuse.
    Refuse,
}

fn staff(stamp: &Stamp) -> Result<(), AppError> {
    stamp
        .validate()
        .map_err(|e| invalid("stamp", "", e.to_string()))?;
    if !stamp.operator.starts_with("staff:") {
        return Err(invalid(
            "operator",
            &stamp.operator,
            "only staff (staff:<id>) review withdrawals",
        ));
    }
    Ok(())
}

/// A clerk proposes a decision on a withdrawal under review (maker). The note says why.
pub fn propose(
    store: &dyn Store,
    centre: &str,
    application_no: &str,
    proposal: &Proposal,
    note: &str,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<WithdrawalView, AppError> {
    staff(stamp)?;
    let note = note.trim();
    if note.is_empty() || note.chars().count() > 200 {
        return Err(invalid("note", note, "say why in 1-200 characters"));
    }
    let mut tx = store.begin()?;
    let mut row = lock(tx.as_mut(), centre, application_no)?;
    expect_status(&row, &["review"])?;
    let mut d: Decision = serde_json::from_str(&row.decision)
        .map_err(|e| invalid("decision", &row.decision, e.to_string()))?;
    let (zh, en) = match proposal {
        Proposal::Approve { amount } => {
            if !amount.is_positive() {
                return Err(invalid("amount", amount.to_string(), "must be positive"));
            }
            d.outcome = Resolution::Approve;
            if row.closes_account {
                // A closing withdrawal pays the whole balance with interest, fixed when
                // paid; the amount proposed is only what the clerk saw.
                (
                    format!("经办人建议销户提取全部余额及利息：{note}"),
                    format!(
                        "the clerk proposes to close the account and pay the whole balance with interest: {note}"
                    ),
                )
            } else {
                d.amount = *amount;
                (
                    format!("经办人建议提取{amount}元：{note}"),
                    format!("the clerk proposes to pay {amount} yuan: {note}"),
                )
            }
        }
        Proposal::Refuse => {
            d.outcome = Resolution::Refuse;
            d.amount = Fen::ZERO;
            (
                format!("经办人建议不予提取：{note}"),
                format!("the clerk proposes to refuse: {note}"),
            )
        }
    };
    d.reasons.push(Reason {
        zh: zh.clone(),
        en: en.clone(),
    });
    row.status = "proposed".to_owned();
    row.amount = d.amount.fen();
    row.decision = decision_json(&d)?;
    row.reason_zh = d.reason_zh();
    row.reason_en = d.reason_en();
    row.proposed_by = Some(stamp.operator.clone());
    row.updated_at_us = now.as_microsecond();
    tx.update_withdrawal(centre, &row)?;
    append(
        tx.as_mut(),
        centre,
        &row,
        &[("proposed", &stamp.operator, &zh, &en)],
        now,
    )?;
    tx.commit()?;
    show(store, centre, application_no)
}

/// Another clerk confirms (`accept`) or sends back a proposal (checker). Confirming an
/// approval pays at once; the checker may not be the maker.
pub fn confirm(
    ctx: &Review<'_>,
    application_no: &str,
    accept: bool,
    note: &str,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<WithdrawalView, AppError> {
    staff(stamp)?;
    let row = {
        let mut tx = ctx.store.begin_read()?;
        tx.withdrawal(ctx.centre, application_no)?
            .ok_or_else(|| not_found(format!("withdrawal {application_no}")))?
    };
    expect_status(&row, &["proposed"])?;
    if row.proposed_by.as_deref() == Some(stamp.operator.as_str()) {
        return Err(invalid(
            "operator",
            &stamp.operator,
            "the checker must be another clerk than the one who proposed (maker-checker)",
        ));
    }
    let d: Decision = serde_json::from_str(&row.decision)
        .map_err(|e| invalid("decision", &row.decision, e.to_string()))?;
    if !accept {
        let mut tx = ctx.store.begin()?;
        let mut row = lock(tx.as_mut(), ctx.centre, application_no)?;
        expect_status(&row, &["proposed"])?;
        row.status = "review".to_owned();
        row.updated_at_us = now.as_microsecond();
        tx.update_withdrawal(ctx.centre, &row)?;
        append(
            tx.as_mut(),
            ctx.centre,
            &row,
            &[(
                "review",
                &stamp.operator,
                &format!("复核人退回建议：{note}"),
                &format!("the checker sent the proposal back: {note}"),
            )],
            now,
        )?;
        tx.commit()?;
    } else if d.outcome == Resolution::Approve {
        pay(ctx, application_no, &d, &stamp.operator, now)?;
    } else {
        refuse(ctx, application_no, &d, &stamp.operator, now)?;
    }
    show(ctx.store, ctx.centre, application_no)
}

/// A withdrawal with its timeline and payments.
pub fn show(
    store: &dyn Store,
    centre: &str,
    application_no: &str,
) -> Result<WithdrawalView, AppError> {
    let mut tx = store.begin_read()?;
    let row = tx
        .withdrawal(centre, application_no)?
        .ok_or_else(|| not_found(format!("withdrawal {application_no}")))?;
    let events = tx.withdrawal_events(centre, application_no)?;
    let payees = tx.payees(centre, application_no)?;
    let serials: Vec<&str> = payees.iter().map(|p| p.serial.as_str()).collect();
    let ins = tx.instructions(centre, &serials)?;
    Ok(view(row, events, payees, &ins))
}

fn view(
    row: WithdrawalRow,
    events: Vec<WithdrawalEventRow>,
    payees: Vec<PayeeRow>,
    ins: &[InstructionRow],
) -> WithdrawalView {
    let ground = Ground::from_code(&row.ground);
    WithdrawalView {
        ground_zh: ground.map_or("", Ground::name_zh).to_owned(),
        status_zh: status_zh(&row.status).to_owned(),
        decision: serde_json::from_str(&row.decision).ok(),
        events: events
            .into_iter()
            .map(|e| EventView {
                status: e.status,
                at: Timestamp::from_microsecond(e.at_us)
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
                operator: e.operator,
                note_zh: e.note_zh,
                note_en: e.note_en,
            })
            .collect(),
        payees: payees
            .into_iter()
            .map(|p| {
                let i = ins.iter().find(|i| i.serial == p.serial);
                PayeeView {
                    card: mask(&p.card_no),
                    name: p.name,
                    bank_code: p.bank_code,
                    amount: Fen::new(i.map_or(p.amount, |i| i.amount)),
                    state: i.map_or("not sent", |i| i.state.as_str()).to_owned(),
                    bank_ref: i.and_then(|i| i.bank_ref.clone()),
                    serial: p.serial,
                }
            })
            .collect(),
        application_no: row.application_no,
        account_no: row.account_no,
        ground: row.ground,
        reason_code: row.reason_code,
        status: row.status,
        amount: Fen::new(row.amount),
        interest: Fen::new(row.interest),
        closes_account: row.closes_account,
        reason_zh: row.reason_zh,
        reason_en: row.reason_en,
    }
}

/// Every withdrawal of a member (by resident ID number), oldest first.
pub fn of_member(
    store: &dyn Store,
    centre: &str,
    id_number: &str,
) -> Result<Vec<WithdrawalView>, AppError> {
    let mut tx = store.begin_read()?;
    let member = tx
        .member_by_id_number(centre, id_number)?
        .ok_or_else(|| invalid("id_number", id_number, "has no account in this centre"))?;
    let rows = tx.withdrawals_of_account(centre, &member.account_no)?;
    drop(tx);
    rows.iter()
        .map(|r| show(store, centre, &r.application_no))
        .collect()
}

/// The staff review queue: withdrawals under review or awaiting a checker, oldest first.
pub fn review_queue(store: &dyn Store, centre: &str) -> Result<Vec<WithdrawalView>, AppError> {
    let rows = {
        let mut tx = store.begin_read()?;
        tx.withdrawals_with_status(centre, &["review", "proposed"])?
    };
    rows.iter()
        .map(|r| show(store, centre, &r.application_no))
        .collect()
}

/// The receipt (回单) of a withdrawal, as plain text in Chinese and English.
pub fn receipt(store: &dyn Store, centre: &str, application_no: &str) -> Result<String, AppError> {
    let v = show(store, centre, application_no)?;
    let mut out = String::new();
    out.push_str("住房公积金提取回单 / Housing provident fund withdrawal receipt\n");
    out.push_str(&format!("申请号 Application      {}\n", v.application_no));
    out.push_str(&format!("个人账号 Account         {}\n", v.account_no));
    out.push_str(&format!(
        "提取原因 Ground          {} {} ({})\n",
        v.reason_code, v.ground_zh, v.ground
    ));
    out.push_str(&format!(
        "状态 Status              {} ({})\n",
        v.status_zh, v.status
    ));
    out.push_str(&format!("提取金额 Amount          {} 元\n", v.amount));
    if v.interest.is_positive() {
        out.push_str(&format!("销户结息 Closing interest {} 元\n", v.interest));
    }
    if v.closes_account {
        out.push_str("销户 Account closed      是 yes\n");
    }
    for p in &v.payees {
        out.push_str(&format!(
            "收款 Payee               {} {} {} {} 元 [{}]{}\n",
            p.name,
            p.bank_code,
            p.card,
            p.amount,
            p.state,
            p.bank_ref
                .as_deref()
                .map(|r| format!(" 流水 {r}"))
                .unwrap_or_default()
        ));
    }
    if !v.reason_zh.is_empty() {
        out.push_str(&format!("说明 Reasons             {}\n", v.reason_zh));
        out.push_str(&format!("                         {}\n", v.reason_en));
    }
    out.push_str("办理过程 Timeline\n");
    for e in &v.events {
        out.push_str(&format!(
            "  {}  {:<9} {}  {}\n",
            e.at, e.status, e.operator, e.note_zh
        ));
    }
    Ok(out)
}

/// The application numbers served by instructions, for the settlement hook.
pub(crate) fn served(rows: &[InstructionRow]) -> BTreeSet<String> {
    rows.iter()
        .filter(|r| r.state == "executed" || r.state == "not_executed")
        .filter_map(|r| r.target.strip_prefix("withdrawal:"))
        .map(str::to_owned)
        .collect()
}

/// What a monthly offset run (按月冲还贷) did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OffsetRun {
    /// Arrangements in force (members whose latest monthly repayment withdrawal was paid).
    pub arrangements: usize,
    /// Already withdrawn this month (nothing to do).
    pub done_already: usize,
    /// This month's withdrawals made, as they ended.
    pub made: Vec<WithdrawalView>,
    /// Members whose withdrawal could not be made, with the reason.
    pub failed: Vec<(String, String)>,
}

/// The monthly automatic offset (按月冲还贷): every member whose latest monthly
/// loan-repayment withdrawal was paid has an arrangement in force; each gets this
/// month's withdrawal, numbered `OFF-<account>-<YYYYMM>` (so a rerun makes none twice),
/// re-verified against the credit report and decided by the same rule as any other
/// application. An arrangement ends when its month's withdrawal is refused (e.g. the loan
/// is paid off) — the member applies again to restart it.
pub fn run_monthly_offsets(
    ctx: &Withdrawals<'_>,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<OffsetRun, AppError> {
    stamp
        .validate()
        .map_err(|e| invalid("stamp", "", e.to_string()))?;
    let (today, rows) = {
        let mut tx = ctx.store.begin_read()?;
        let today = crate::ledger::centre(tx.as_mut(), ctx.centre)?.business_date;
        let rows = tx.withdrawals_with_status(
            ctx.centre,
            &[
                "paid",
                "refused",
                "returned",
                "paying",
                "verifying",
                "review",
                "proposed",
                "approved",
            ],
        )?;
        (today, rows)
    };
    // The latest monthly repayment withdrawal of each account.
    let mut latest: std::collections::BTreeMap<String, WithdrawalRow> = Default::default();
    for r in rows
        .into_iter()
        .filter(|r| r.ground == Ground::LoanRepayment.code() && r.mode == RepayMode::Monthly.code())
    {
        let newer = latest.get(&r.account_no).is_none_or(|l| {
            (l.business_date, l.created_at_us) < (r.business_date, r.created_at_us)
        });
        if newer {
            latest.insert(r.account_no.clone(), r);
        }
    }
    let month = format!("{:04}{:02}", today.year(), today.month());
    let mut out = OffsetRun::default();
    for (account, last) in latest {
        let this_month = last.business_date.year() == today.year()
            && last.business_date.month() == today.month();
        if this_month && last.status != "refused" {
            out.arrangements += 1;
            out.done_already += 1;
            continue;
        }
        if last.status != "paid" {
            continue; // ended (refused or returned) or still in flight
        }
        out.arrangements += 1;
        let new = NewWithdrawal {
            application_no: format!("OFF-{account}-{month}"),
            id_number: last.id_number.clone(),
            ground: Ground::LoanRepayment,
            mode: Some(RepayMode::Monthly),
            requested: None,
            claims: Claims::default(),
            spouse: None,
            heirs: Vec::new(),
            consents: Vec::new(),
            stamp: Stamp {
                on_behalf_of: Some(last.id_number.clone()),
                ..stamp.clone()
            },
        };
        match apply(ctx, &new, now) {
            Ok(v) => out.made.push(v),
            Err(e) => out.failed.push((account, e.to_string())),
        }
    }
    Ok(out)
}
