//! The collection registry (issue 3, first part): registering units, opening members'
//! personal accounts (one per person), and their status changes — each a dated event with
//! its standard business type, recorded in the same transaction as the change and, for
//! openings, the ledger sub-account.

use anju_domain::codes::{CodeList, CollectionBusinessType};
use anju_domain::collection::{
    BaseNotice, CloseCause, CollectionError, MemberStatus, StatusChange, UnitStatus,
    base_from_wage, check_ratios,
};
use anju_domain::ids::{CreditCode, IdCard};
use anju_domain::ledger::{AccountNo, AccountState};
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::Policy;
use anju_domain::stamp::Stamp;
use anju_store::registry::{EventRow, MemberRow, UnitRow};
use anju_store::{CentreRow, Store, StoreTx};
use jiff::Timestamp;

use crate::AppError;
use crate::ledger::lock_centre as lock;

fn rule_err(e: CollectionError) -> AppError {
    AppError::Invalid {
        field: "collection",
        value: String::new(),
        rule: e.to_string(),
    }
}

fn invalid(field: &'static str, value: &str, rule: &str) -> AppError {
    AppError::Invalid {
        field,
        value: value.to_owned(),
        rule: rule.to_owned(),
    }
}

fn text_field(field: &'static str, value: &str, max_chars: usize) -> Result<String, AppError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max_chars || v.chars().any(char::is_control) {
        return Err(invalid(
            field,
            value,
            &format!("must be 1-{max_chars} printable characters"),
        ));
    }
    Ok(v.to_owned())
}

fn check_stamp(stamp: &Stamp) -> Result<(), AppError> {
    stamp
        .validate()
        .map_err(|e| invalid("stamp", "", &e.to_string()))
}

/// Appends `change` to `subject`'s history; an opening has no status before it.
pub(crate) fn record_event<S: CodeList>(
    tx: &mut dyn StoreTx,
    centre: &str,
    subject: &str,
    change: &StatusChange<S>,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<(), AppError> {
    let from_code = if change.business == CollectionBusinessType::Opening {
        ""
    } else {
        change.from.code()
    };
    let to_code = change.to.code();
    let next = tx.events(centre, subject)?.len() as i64 + 1;
    tx.append_event(
        centre,
        &EventRow {
            subject: subject.to_owned(),
            event_no: next,
            date: change.date,
            business: change.business,
            from_status: from_code.to_owned(),
            to_status: to_code.to_owned(),
            reason: change.reason.clone(),
            stamp: stamp.clone(),
            recorded_at_us: now.as_microsecond(),
        },
    )?;
    Ok(())
}

/// Opens the ledger sub-account `code.key` on `day`.
fn open_subaccount(
    tx: &mut dyn StoreTx,
    centre: &str,
    code: &str,
    key: &str,
    day: jiff::civil::Date,
) -> Result<(), AppError> {
    let no = AccountNo::sub(code, key).map_err(|e| invalid("account_no", key, &e.to_string()))?;
    tx.insert_accounts(centre, &[AccountState::open(no, day)])?;
    Ok(())
}

/// The opening event (03 开户) of an account whose first status is `status`.
fn opening<S: Copy>(status: S, day: jiff::civil::Date, reason: &str) -> StatusChange<S> {
    StatusChange {
        date: day,
        business: CollectionBusinessType::Opening,
        from: status,
        to: status,
        reason: reason.to_owned(),
    }
}

/// The unit a member is being hired into: it must exist and be able to remit.
fn hiring_unit(tx: &mut dyn StoreTx, centre: &str, unit_no: &str) -> Result<UnitRow, AppError> {
    let unit = tx
        .unit(centre, unit_no)?
        .ok_or_else(|| AppError::NotFound {
            what: format!("unit {unit_no}"),
        })?;
    if !UnitStatus(unit.status).may_remit() {
        return Err(invalid(
            "unit_no",
            unit_no,
            &format!("unit is {}; it cannot take on members", unit.status),
        ));
    }
    Ok(unit)
}

/// What a unit clerk or counter clerk enters to register a unit (单位登记开户).
#[derive(Debug, Clone)]
pub struct NewUnit {
    /// Unified social credit code.
    pub credit_code: CreditCode,
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Legal representative.
    pub legal_rep: String,
    /// Payday, day of month.
    pub payday: i32,
    /// Collection bank code (a commissioned bank the centre has a deposit account with).
    pub bank_code: String,
    /// Unit ratio.
    pub unit_ratio: Rate,
    /// Member ratio.
    pub member_ratio: Rate,
}

/// Registers a unit: one per credit code (a second registration is refused and names the
/// existing unit), ratios within the policy in force, the collection bank one of the
/// centre's; opens its suspense sub-account `213.<unit_no>` and records event 03 开户.
pub fn register_unit(
    store: &dyn Store,
    centre: &str,
    policy: &Policy,
    new: NewUnit,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<UnitRow, AppError> {
    check_stamp(stamp)?;
    let name = text_field("name", &new.name, 100)?;
    let address = text_field("address", &new.address, 200)?;
    let legal_rep = text_field("legal_rep", &new.legal_rep, 50)?;
    if !(1..=31).contains(&new.payday) {
        return Err(invalid(
            "payday",
            &new.payday.to_string(),
            "must be a day of the month, 1-31",
        ));
    }
    let mut tx = store.begin()?;
    let c = lock(tx.as_mut(), centre)?;
    let rule = policy
        .contribution_on(c.business_date)
        .map_err(|e| invalid("policy", "", &e.to_string()))?;
    check_ratios(new.unit_ratio, new.member_ratio, rule).map_err(rule_err)?;
    let bank = AccountNo::sub("101", &new.bank_code)
        .map_err(|e| invalid("bank_code", &new.bank_code, &e.to_string()))?;
    if tx.load_accounts(centre, &[bank])?.is_empty() {
        return Err(invalid(
            "bank_code",
            &new.bank_code,
            "is not a commissioned bank of this centre (no fund deposit account 101.<bank>)",
        ));
    }
    if let Some(existing) = tx.unit_by_credit_code(centre, new.credit_code.as_str())? {
        return Err(invalid(
            "credit_code",
            new.credit_code.as_str(),
            &format!(
                "is already registered as unit {} ({}); one unit per credit code",
                existing.unit_no, existing.name
            ),
        ));
    }
    let unit_no = format!("{}{:06}", &centre[..6], tx.count_units(centre)? + 1);
    let status = UnitStatus::registered();
    let row = UnitRow {
        unit_no: unit_no.clone(),
        credit_code: new.credit_code.as_str().to_owned(),
        name,
        address,
        legal_rep,
        payday: new.payday,
        bank_code: new.bank_code,
        unit_ratio: new.unit_ratio,
        member_ratio: new.member_ratio,
        status: status.0,
        opened_on: c.business_date,
    };
    tx.insert_unit(centre, &row)?;
    open_subaccount(tx.as_mut(), centre, "213", &unit_no, c.business_date)?;
    let change = opening(status.0, c.business_date, "单位登记开户");
    record_event(
        tx.as_mut(),
        centre,
        &format!("unit:{unit_no}"),
        &change,
        stamp,
        now,
    )?;
    tx.commit()?;
    Ok(row)
}

/// What is entered to open a member's personal account (个人账户设立).
#[derive(Debug, Clone)]
pub struct NewMember {
    /// Resident ID number.
    pub id_card: IdCard,
    /// Name.
    pub name: String,
    /// The unit hiring the member.
    pub unit_no: String,
    /// Previous-year average monthly wage declared by the unit (REG Art. 16).
    pub wage: Fen,
}

/// Opens a member's personal account in a unit: one account per person in the centre (a
/// second opening is refused and names the existing account), base from the declared wage
/// clamped to the policy's floor/cap (the notice is returned), ledger sub-account
/// `201.<account_no>`, event 03 开户.
pub fn open_member(
    store: &dyn Store,
    centre: &str,
    policy: &Policy,
    new: NewMember,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<(MemberRow, Option<BaseNotice>), AppError> {
    check_stamp(stamp)?;
    let mut tx = store.begin()?;
    let c = lock(tx.as_mut(), centre)?;
    let out = open_member_in(tx.as_mut(), &c, policy, new, stamp, now)?;
    tx.commit()?;
    Ok(out)
}

/// Refuses a second personal account for the same person (REG Art. 13), naming the first.
fn ensure_no_account(tx: &mut dyn StoreTx, centre: &str, id_card: &IdCard) -> Result<(), AppError> {
    if let Some(existing) = tx.member_by_id_number(centre, id_card.as_str())? {
        return Err(invalid(
            "id_card",
            &id_card.masked(),
            &format!(
                "already has personal account {} (status {}); one account per person — hire or unseal that account instead",
                existing.account_no, existing.status
            ),
        ));
    }
    Ok(())
}

/// Numbers, stores and opens a new personal account (`201.<account>`) with its opening
/// event; `row.account_no` is filled in here.
fn create_account(
    tx: &mut dyn StoreTx,
    c: &CentreRow,
    mut row: MemberRow,
    reason: &str,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<MemberRow, AppError> {
    let centre = c.code.as_str();
    row.account_no = format!("{}{:08}", &centre[..6], tx.count_members(centre)? + 1);
    tx.insert_member(centre, &row)?;
    open_subaccount(tx, centre, "201", &row.account_no, c.business_date)?;
    let change = opening(row.status, c.business_date, reason);
    record_event(
        tx,
        centre,
        &format!("member:{}", row.account_no),
        &change,
        stamp,
        now,
    )?;
    Ok(row)
}

/// [`open_member`] inside the caller's transaction (a roster import opens many at once).
pub(crate) fn open_member_in(
    tx: &mut dyn StoreTx,
    c: &CentreRow,
    policy: &Policy,
    new: NewMember,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<(MemberRow, Option<BaseNotice>), AppError> {
    let centre = c.code.as_str();
    let name = text_field("name", &new.name, 50)?;
    new.id_card
        .ensure_born_by(c.business_date)
        .map_err(|e| invalid("id_card", &new.id_card.masked(), &e.to_string()))?;
    ensure_no_account(tx, centre, &new.id_card)?;
    let unit = hiring_unit(tx, centre, &new.unit_no)?;
    let rule = policy
        .contribution_on(c.business_date)
        .map_err(|e| invalid("policy", "", &e.to_string()))?;
    let (base, notice) = base_from_wage(new.wage, rule).map_err(rule_err)?;
    let row = MemberRow {
        account_no: String::new(),
        id_number: new.id_card.as_str().to_owned(),
        name,
        unit_no: Some(unit.unit_no),
        base,
        status: MemberStatus::opened().status,
        before_freeze: None,
        opened_on: c.business_date,
        paid_to: None,
        flexible_ratio: None,
    };
    let row = create_account(tx, c, row, "个人账户设立", stamp, now)?;
    Ok((row, notice))
}

/// A status change of a member's account.
#[derive(Debug, Clone)]
pub enum MemberAct {
    /// 封存: the member left the unit; the account stays, without a unit.
    Seal,
    /// 启封: the member is hired by `unit_no` (the same or another unit).
    Unseal { unit_no: String },
    /// 内部转移: a contributing member moves to another unit, keeping the account.
    Transfer { unit_no: String },
    /// A flexible worker resumes contributing after stopping (启封 without a unit).
    Resume,
    /// 冻结, e.g. by court order.
    Freeze,
    /// 解冻.
    Unfreeze,
}

impl MemberAct {
    /// The act named `code` as the command line and the web API name it: `seal`,
    /// `unseal` or `transfer` into `unit_no`, `resume`, `freeze`. Unfreezing is not one: it
    /// is proposed and approved (maker-checker).
    pub fn from_code(code: &str, unit_no: Option<String>) -> Result<MemberAct, AppError> {
        let into = |unit_no: Option<String>| {
            unit_no.filter(|u| !u.trim().is_empty()).ok_or_else(|| {
                invalid(
                    "unit_no",
                    "",
                    &format!("{code}: name the unit the member joins"),
                )
            })
        };
        Ok(match code {
            "seal" => MemberAct::Seal,
            "unseal" => MemberAct::Unseal {
                unit_no: into(unit_no)?,
            },
            "transfer" => MemberAct::Transfer {
                unit_no: into(unit_no)?,
            },
            "resume" => MemberAct::Resume,
            "freeze" => MemberAct::Freeze,
            other => {
                return Err(invalid(
                    "act",
                    other,
                    "must be seal, unseal, transfer, resume or freeze (unfreezing is proposed and approved)",
                ));
            }
        })
    }

    /// The business type the act is authorized as: 冻结 / 解冻 are their own, the rest
    /// are member changes.
    pub fn business(&self) -> anju_domain::access::Business {
        use anju_domain::access::Business;
        match self {
            MemberAct::Freeze => Business::Freeze,
            MemberAct::Unfreeze => Business::Unfreeze,
            _ => Business::MemberChange,
        }
    }
}

/// Applies a status change to a member's account on the business date, with its reason,
/// and records the event. Closing is [`close_member`]: it is about money too.
pub fn change_member(
    store: &dyn Store,
    centre: &str,
    account_no: &str,
    act: MemberAct,
    reason: &str,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<MemberRow, AppError> {
    check_stamp(stamp)?;
    let reason = text_field("reason", reason, 200)?;
    if matches!(act, MemberAct::Unfreeze) {
        return Err(invalid(
            "act",
            "unfreeze",
            "unfreezing needs a second person: propose it (access::checked::propose_unfreeze) and have an approver confirm it",
        ));
    }
    let mut tx = store.begin()?;
    let m = change_member_in(tx.as_mut(), centre, account_no, act, &reason, stamp, now)?;
    tx.commit()?;
    Ok(m)
}

/// [`change_member`] in the caller's transaction (the reason already checked); the
/// maker-checker path (`access::checked`) unfreezes through it.
pub(crate) fn change_member_in(
    tx: &mut dyn StoreTx,
    centre: &str,
    account_no: &str,
    act: MemberAct,
    reason: &str,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<MemberRow, AppError> {
    let c = lock(tx, centre)?;
    let mut m = tx
        .member(centre, account_no)?
        .ok_or_else(|| AppError::NotFound {
            what: format!("personal account {account_no}"),
        })?;
    let before = MemberStatus {
        status: m.status,
        before_freeze: m.before_freeze,
    };
    let day = c.business_date;
    let (after, change) = match &act {
        MemberAct::Seal => before.seal(day, reason),
        MemberAct::Unseal { .. } | MemberAct::Resume => before.unseal(day, reason),
        MemberAct::Transfer { .. } => before.transfer(day, reason),
        MemberAct::Freeze => before.freeze(day, reason),
        MemberAct::Unfreeze => before.unfreeze(day, reason),
    }
    .map_err(rule_err)?;
    match act {
        MemberAct::Seal => m.unit_no = None,
        MemberAct::Unseal { unit_no } => {
            if m.flexible_ratio.is_some() {
                m.flexible_ratio = None;
            }
            m.unit_no = Some(hiring_unit(tx, centre, &unit_no)?.unit_no);
        }
        MemberAct::Transfer { unit_no } => {
            if m.unit_no.as_deref() == Some(unit_no.as_str()) {
                return Err(invalid(
                    "unit_no",
                    &unit_no,
                    "the member already contributes through this unit",
                ));
            }
            m.unit_no = Some(hiring_unit(tx, centre, &unit_no)?.unit_no);
        }
        MemberAct::Resume => {
            if m.flexible_ratio.is_none() {
                return Err(invalid(
                    "account_no",
                    account_no,
                    "only a flexible-employment account resumes on its own; an employee is unsealed into a unit",
                ));
            }
        }
        MemberAct::Freeze | MemberAct::Unfreeze => {}
    }
    m.status = after.status;
    m.before_freeze = after.before_freeze;
    tx.update_member(centre, &m)?;
    record_event(
        tx,
        centre,
        &format!("member:{account_no}"),
        &change,
        stamp,
        now,
    )?;
    Ok(m)
}

/// Closes a member's account (销户) for `cause` on the business date, with its dated
/// event — only an account with nothing left to pay out.
///
/// Closing is the end of the money too: what is left leaves, with the interest to the
/// day, by a closing withdrawal (销户提取), a transfer out or a merger, which pay both
/// and close the account in the same act. An account closed with money in it would keep
/// the money out of the member's reach and out of the year-end interest. So is an
/// account emptied mid-year whose 积数 still earns interest (all of it withdrawn by a
/// partial withdrawal, say): the year-end skips closed accounts, so closing it here
/// would lose that interest. It is refused, naming the interest owed to the day and the
/// act that pays it — a closing withdrawal pays it to the member's card (this act has no
/// payee to pay it to). Closing with no interest owed (nothing earned, or less than half
/// a fen) is allowed.
#[allow(clippy::too_many_arguments)] // one use case: where, who, what and when
pub fn close_member(
    store: &dyn Store,
    centre: &str,
    policy: &Policy,
    account_no: &str,
    cause: CloseCause,
    reason: &str,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<MemberRow, AppError> {
    check_stamp(stamp)?;
    let reason = text_field("reason", reason, 200)?;
    let mut tx = store.begin()?;
    let c = lock(tx.as_mut(), centre)?;
    let day = c.business_date;
    let mut m = tx
        .member(centre, account_no)?
        .ok_or_else(|| AppError::NotFound {
            what: format!("personal account {account_no}"),
        })?;
    let (after, change) = MemberStatus {
        status: m.status,
        before_freeze: m.before_freeze,
    }
    .close(day, cause, &reason)
    .map_err(rule_err)?;
    let no = AccountNo::sub("201", account_no)
        .map_err(|e| invalid("account_no", account_no, &e.to_string()))?;
    let a = tx
        .load_accounts(centre, std::slice::from_ref(&no))?
        .pop()
        .ok_or_else(|| AppError::NotFound {
            what: format!("ledger account {no}"),
        })?;
    let by = match cause {
        CloseCause::Withdrawal => "a closing withdrawal (销户提取)",
        CloseCause::TransferOut => "the transfer out (外部转出)",
        CloseCause::Merger => "merging it into the member's surviving account (合并)",
    };
    if a.balance.fen() != 0 || a.pending_out.fen() != 0 || a.pending_in.fen() != 0 {
        return Err(invalid(
            "account_no",
            account_no,
            &format!(
                "still holds {} ({} pending out, {} pending in): close it by {by}, which pays the balance with its interest",
                a.balance, a.pending_out, a.pending_in
            ),
        ));
    }
    let owed = crate::interest::interest_to_date(tx.as_mut(), centre, policy, account_no, day)?;
    if owed.is_positive() {
        let through = day.yesterday().unwrap_or(day);
        let accrual = a.accrual_through(through).unwrap_or(a.accrual);
        return Err(invalid(
            "account_no",
            account_no,
            &format!(
                "balance is 0.00 but {owed} yuan of interest is owed on it to {through} (积数 {accrual} fen·days since {}): closing must pay it (销户结息) — close it by {by}, which credits the interest and pays it out in the same act, or leave the account open until the year-end settlement credits it",
                a.accrual_from
            ),
        ));
    }
    m.unit_no = None;
    m.status = after.status;
    m.before_freeze = after.before_freeze;
    tx.update_member(centre, &m)?;
    record_event(
        tx.as_mut(),
        centre,
        &format!("member:{account_no}"),
        &change,
        stamp,
        now,
    )?;
    tx.commit()?;
    Ok(m)
}

/// A status change of a unit's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitAct {
    /// 缓缴 with approval (the reason carries the approval reference).
    Defer,
    /// The deferral ends.
    EndDeferral,
    /// 封存.
    Seal,
    /// 启封.
    Unseal,
    /// 销户: only when no personal account is still attached to the unit.
    Close,
}

impl UnitAct {
    /// The act named `code` as the command line and the web API name it: `defer`,
    /// `end-deferral`, `seal`, `unseal`, `close`.
    pub fn from_code(code: &str) -> Result<UnitAct, AppError> {
        Ok(match code {
            "defer" => UnitAct::Defer,
            "end-deferral" => UnitAct::EndDeferral,
            "seal" => UnitAct::Seal,
            "unseal" => UnitAct::Unseal,
            "close" => UnitAct::Close,
            other => {
                return Err(invalid(
                    "act",
                    other,
                    "must be defer, end-deferral, seal, unseal or close",
                ));
            }
        })
    }
}

/// Applies a status change to a unit's account on the business date and records it.
pub fn change_unit(
    store: &dyn Store,
    centre: &str,
    unit_no: &str,
    act: UnitAct,
    reason: &str,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<UnitRow, AppError> {
    check_stamp(stamp)?;
    let reason = text_field("reason", reason, 200)?;
    let mut tx = store.begin()?;
    let c = lock(tx.as_mut(), centre)?;
    let mut u = tx
        .unit(centre, unit_no)?
        .ok_or_else(|| AppError::NotFound {
            what: format!("unit {unit_no}"),
        })?;
    if act == UnitAct::Close {
        let attached = tx.count_unit_members(centre, unit_no)?;
        if attached > 0 {
            return Err(invalid(
                "unit_no",
                unit_no,
                &format!(
                    "{attached} personal account(s) are still in the unit; seal or transfer them before closing it"
                ),
            ));
        }
    }
    let before = UnitStatus(u.status);
    let day = c.business_date;
    let (after, change) = match act {
        UnitAct::Defer => before.defer(day, &reason),
        UnitAct::EndDeferral => before.end_deferral(day, &reason),
        UnitAct::Seal => before.seal(day, &reason),
        UnitAct::Unseal => before.unseal(day, &reason),
        UnitAct::Close => before.close(day, &reason),
    }
    .map_err(rule_err)?;
    u.status = after.0;
    tx.update_unit(centre, &u)?;
    record_event(
        tx.as_mut(),
        centre,
        &format!("unit:{unit_no}"),
        &change,
        stamp,
        now,
    )?;
    tx.commit()?;
    Ok(u)
}

/// A unit's status history, oldest first.
pub fn unit_history(
    store: &dyn Store,
    centre: &str,
    unit_no: &str,
) -> Result<Vec<EventRow>, AppError> {
    let mut tx = store.begin_read()?;
    if tx.unit(centre, unit_no)?.is_none() {
        return Err(AppError::NotFound {
            what: format!("unit {unit_no}"),
        });
    }
    Ok(tx.events(centre, &format!("unit:{unit_no}"))?)
}

/// A member's status history, oldest first.
pub fn member_history(
    store: &dyn Store,
    centre: &str,
    account_no: &str,
) -> Result<Vec<EventRow>, AppError> {
    let mut tx = store.begin_read()?;
    if tx.member(centre, account_no)?.is_none() {
        return Err(AppError::NotFound {
            what: format!("personal account {account_no}"),
        });
    }
    Ok(tx.events(centre, &format!("member:{account_no}"))?)
}

/// What a self-employed person enters to open a voluntary account (灵活就业人员开户).
#[derive(Debug, Clone)]
pub struct NewFlexible {
    /// Resident ID number.
    pub id_card: IdCard,
    /// Name.
    pub name: String,
    /// Chosen monthly base, within the floor and cap.
    pub base: Fen,
    /// Chosen combined ratio, within the policy's flexible-employment bounds.
    pub ratio: Rate,
}

/// Opens a flexible-employment account (DOMAIN.md §0, §1): from the policy's
/// `flexible_employment_from` (the 2026 amendment's date unless the centre opened earlier);
/// age within the policy's bounds for the person's sex; base within floor and cap;
/// combined ratio within the flexible bounds; one account per person; and the policy's
/// residence rule (`flexible_residence`). The account has no unit; the person pays
/// monthly or in advance (`remittance::voluntary_bill`), stops (seal) and resumes.
///
/// **Residence, from the departments, not paper.** Unless the rule is `any`, the person
/// brings nothing: the opening is a data-sharing application
/// (`ApplicationKind::OpenFlexible`, number `KH-<date>-<ID number>-<n>`, applying is
/// consenting) verified through [`crate::sharing::verify_application_with`] like a
/// withdrawal — the look-ups logged (查询留痕) before public security (household
/// registration) and, when the rule allows it, social security (参保地) are asked, the
/// answers cached for the application. All verified: the account opens and the
/// application closes in one transaction. A fact that contradicts (no registration in
/// the city and not insured here) refuses, naming it; a department that cannot answer
/// refuses too ("cannot verify residence now"), never passes. A refused opening writes no
/// account — only the closed application with its look-up log, which the law asks for.
pub fn open_flexible(
    ctx: &crate::sharing::Sharing<'_>,
    policy: &Policy,
    new: NewFlexible,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<MemberRow, AppError> {
    use anju_domain::policy::FlexibleResidence;
    use anju_domain::sharing::verify::{ApplicationKind, Claims, Outcome, Role};
    check_stamp(stamp)?;
    let (store, centre) = (ctx.store, ctx.centre);
    let name = text_field("name", &new.name, 50)?;
    let mut tx = store.begin()?;
    let c = lock(tx.as_mut(), centre)?;
    let residence = flexible_rules_in(tx.as_mut(), &c, policy, &new)?;
    let row = MemberRow {
        account_no: String::new(),
        id_number: new.id_card.as_str().to_owned(),
        name,
        unit_no: None,
        base: new.base,
        status: MemberStatus::opened().status,
        before_freeze: None,
        opened_on: c.business_date,
        paid_to: None,
        flexible_ratio: Some(new.ratio),
    };
    if residence == FlexibleResidence::Any {
        let row = create_account(tx.as_mut(), &c, row, "灵活就业人员开户", stamp, now)?;
        tx.commit()?;
        return Ok(row);
    }
    // The residence is verified with the departments under an application of its own.
    let day = c.business_date;
    let mut application_no = String::new();
    for n in 1..=99 {
        let no = format!("KH-{}-{}-{n}", day.strftime("%Y%m%d"), new.id_card.as_str());
        if tx.application(centre, &no)?.is_none() {
            application_no = no;
            break;
        }
    }
    if application_no.is_empty() {
        return Err(invalid(
            "id_card",
            &new.id_card.masked(),
            "too many opening applications today; try again tomorrow or at a counter",
        ));
    }
    crate::sharing::open_application_in(
        tx.as_mut(),
        centre,
        &crate::sharing::NewApplication {
            application_no: application_no.clone(),
            kind: ApplicationKind::OpenFlexible,
            parties: vec![(new.id_card.as_str().to_owned(), Role::Applicant)],
            claims: Claims {
                flexible_residence: Some(residence),
                ..Claims::default()
            },
            consents: Vec::new(),
            stamp: stamp.clone(),
        },
        day,
        now,
    )?;
    // Commits the application and the pending look-ups, then asks (no transaction open).
    let v = crate::sharing::verify_application_with(ctx, tx, &application_no, stamp, day, now)?;
    let failed: Vec<&anju_domain::sharing::verify::Verdict> = v
        .verdicts
        .iter()
        .filter(|x| x.outcome != Outcome::Verified)
        .collect();
    if !failed.is_empty() {
        crate::sharing::close_application(store, centre, &application_no, now)?;
        let reasons = failed
            .iter()
            .map(|x| format!("{}: {} ({})", x.check.code(), x.reason_en, x.reason_zh))
            .collect::<Vec<_>>()
            .join("; ");
        let rule = if failed.iter().any(|x| x.outcome == Outcome::NotVerified) {
            format!(
                "does not meet the residence rule ({} — {}): {reasons}; application {application_no}",
                residence.code(),
                residence.label_zh()
            )
        } else {
            format!(
                "cannot verify residence now ({} — {}): {reasons}; try again later, or open the account at a counter (application {application_no})",
                residence.code(),
                residence.label_zh()
            )
        };
        return Err(invalid("residence", &new.id_card.masked(), &rule));
    }
    // Verified: open, checking again under the lock (the facts were asked without one).
    let mut tx = store.begin()?;
    let c = lock(tx.as_mut(), centre)?;
    flexible_rules_in(tx.as_mut(), &c, policy, &new)?;
    let row = create_account(
        tx.as_mut(),
        &c,
        MemberRow {
            opened_on: c.business_date,
            ..row
        },
        &format!(
            "灵活就业人员开户（{}核验通过，申请{application_no}）",
            residence.label_zh()
        ),
        stamp,
        now,
    )?;
    crate::sharing::close_application_in(tx.as_mut(), centre, &application_no, now)?;
    tx.commit()?;
    Ok(row)
}

/// The policy's rules for a flexible-employment opening on the business date (every one
/// but residence): returns the residence rule to verify.
fn flexible_rules_in(
    tx: &mut dyn StoreTx,
    c: &CentreRow,
    policy: &Policy,
    new: &NewFlexible,
) -> Result<anju_domain::policy::FlexibleResidence, AppError> {
    let effective = policy.centre().flexible_employment_from;
    if c.business_date < effective {
        return Err(invalid(
            "business_date",
            &c.business_date.to_string(),
            &format!(
                "flexible-employment accounts open from {effective} (policy centre.flexible_employment_from)"
            ),
        ));
    }
    let rule = policy
        .contribution_on(c.business_date)
        .map_err(|e| invalid("policy", "", &e.to_string()))?;
    let age = new
        .id_card
        .birth_date()
        .until((jiff::Unit::Year, c.business_date))
        .map_or(0, |span| i64::from(span.get_years()));
    let max_age = match new.id_card.sex() {
        anju_domain::ids::Sex::Male => rule.flexible_max_age_male,
        anju_domain::ids::Sex::Female => rule.flexible_max_age_female,
    };
    if age < i64::from(rule.flexible_min_age) || age >= i64::from(max_age) {
        return Err(invalid(
            "id_card",
            &new.id_card.masked(),
            &format!(
                "age {age}: flexible-employment contributors must be at least {} and under {max_age}",
                rule.flexible_min_age
            ),
        ));
    }
    if !rule.flexible_ratio.contains(new.ratio) {
        return Err(invalid(
            "ratio",
            &new.ratio.to_string(),
            &format!(
                "must be between {} and {} for flexible employment",
                rule.flexible_ratio.min, rule.flexible_ratio.max
            ),
        ));
    }
    anju_domain::collection::check_base(new.base, rule).map_err(rule_err)?;
    ensure_no_account(tx, &c.code, &new.id_card)?;
    Ok(rule.flexible_residence)
}

/// One member's new base in the annual adjustment list (基数调整清册).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseAdjustment {
    /// Personal account.
    pub account_no: String,
    /// Last year's average monthly wage (上年月平均工资).
    pub wage: Fen,
}

/// The result for one member of a base adjustment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdjustedBase {
    /// Personal account.
    pub account_no: String,
    /// Base before.
    pub old: Fen,
    /// Base from the new contribution year (July 1).
    pub new: Fen,
    /// Shown when the wage was clamped.
    pub notice: Option<BaseNotice>,
}

/// The annual base adjustment (基数调整) of a unit's members for the contribution year
/// starting July 1 of `year`: new base = last year's average monthly wage, clamped to the
/// new floor/cap (with a notice). Every row is checked first; any bad row refuses the
/// whole list (each bad row is reported). Each change is a dated event (10 基数调整).
#[allow(clippy::too_many_arguments)] // one use case: where, who, what and when
pub fn adjust_bases(
    store: &dyn Store,
    centre: &str,
    policy: &Policy,
    unit_no: &str,
    year: i16,
    rows: &[BaseAdjustment],
    stamp: &Stamp,
    now: Timestamp,
) -> Result<Vec<AdjustedBase>, AppError> {
    check_stamp(stamp)?;
    let mut tx = store.begin()?;
    let c = lock(tx.as_mut(), centre)?;
    tx.unit(centre, unit_no)?
        .ok_or_else(|| AppError::NotFound {
            what: format!("unit {unit_no}"),
        })?;
    let july = jiff::civil::Date::new(year, 7, 1)
        .map_err(|_| invalid("year", &year.to_string(), "not a year"))?;
    let rule = policy
        .contribution_on(july)
        .map_err(|e| invalid("year", &year.to_string(), &e.to_string()))?;
    if rows.is_empty() {
        return Err(invalid("rows", "", "the list is empty"));
    }
    let mut problems = Vec::new();
    let mut planned = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, r) in rows.iter().enumerate() {
        let row = i + 1;
        let mut bad = |field: &str, value: &str, rule: String| {
            problems.push(crate::RowProblem {
                row,
                field: field.to_owned(),
                value: value.to_owned(),
                rule,
            });
        };
        if !seen.insert(r.account_no.clone()) {
            bad("account_no", &r.account_no, "listed twice".to_owned());
            continue;
        }
        let Some(m) = tx.member(centre, &r.account_no)? else {
            bad(
                "account_no",
                &r.account_no,
                "no such personal account".to_owned(),
            );
            continue;
        };
        if m.unit_no.as_deref() != Some(unit_no) {
            bad(
                "account_no",
                &r.account_no,
                format!("is not a member of unit {unit_no}"),
            );
            continue;
        }
        match base_from_wage(r.wage, rule) {
            Ok((base, notice)) => planned.push((m, base, notice)),
            Err(e) => bad("wage", &r.wage.to_string(), e.to_string()),
        }
    }
    if !problems.is_empty() {
        return Err(AppError::Rows { problems });
    }
    let mut out = Vec::with_capacity(planned.len());
    for (mut m, base, notice) in planned {
        let old = m.base;
        m.base = base;
        tx.update_member(centre, &m)?;
        let change = StatusChange {
            date: c.business_date,
            business: CollectionBusinessType::BaseAdjustment,
            from: m.status,
            to: m.status,
            reason: format!("{year}年度基数调整 {old} → {base}"),
        };
        record_event(
            tx.as_mut(),
            centre,
            &format!("member:{}", m.account_no),
            &change,
            stamp,
            now,
        )?;
        out.push(AdjustedBase {
            account_no: m.account_no,
            old,
            new: base,
            notice,
        });
    }
    tx.commit()?;
    Ok(out)
}

/// Birth date digits (YYYYMMDD) of an 18- or 15-digit resident ID number as stored.
fn birth_digits(id_number: &str) -> Option<String> {
    match id_number.len() {
        18 => id_number.get(6..14).map(str::to_owned),
        15 => id_number.get(6..12).map(|d| format!("19{d}")),
        _ => None,
    }
}

/// What a merger did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    /// The surviving account.
    pub kept: MemberRow,
    /// Interest to date paid on the duplicate before it closed (销户结息).
    pub interest: Fen,
    /// Balance moved from the duplicate (principal and that interest).
    pub moved: Fen,
}

/// Merges a duplicate personal account found in migrated data (合并) into the member's
/// surviving account, in one transaction: the duplicate is paid interest to date, its
/// whole balance moves to the survivor (one entry, 内部转移), it is closed as merged
/// (GRZHZT 合并销户), and both histories record the merger. The two must be the same
/// person by name and birth date (the ID numbers differ: a first-generation 15-digit
/// number or a mistyped one in the old system); money waiting on a bank blocks it.
#[allow(clippy::too_many_arguments)] // one use case: where, who, what and when
pub fn merge_accounts(
    store: &dyn Store,
    centre: &str,
    policy: &Policy,
    keep: &str,
    duplicate: &str,
    reason: &str,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<Merged, AppError> {
    use anju_domain::ledger::{EntryRequest, Leg, TxCode};
    check_stamp(stamp)?;
    let reason = text_field("reason", reason, 200)?;
    if keep == duplicate {
        return Err(invalid("duplicate", duplicate, "is the account to keep"));
    }
    let mut tx = store.begin()?;
    let c = lock(tx.as_mut(), centre)?;
    let found = |tx: &mut dyn StoreTx, no: &str| -> Result<MemberRow, AppError> {
        tx.member(centre, no)?.ok_or_else(|| AppError::NotFound {
            what: format!("personal account {no}"),
        })
    };
    let mut kept = found(tx.as_mut(), keep)?;
    let mut dup = found(tx.as_mut(), duplicate)?;
    if kept.name.trim() != dup.name.trim()
        || birth_digits(&kept.id_number).is_none()
        || birth_digits(&kept.id_number) != birth_digits(&dup.id_number)
    {
        return Err(invalid(
            "duplicate",
            duplicate,
            &format!(
                "is not the same person as {keep}: name and birth date must match ({} / {})",
                kept.name, dup.name
            ),
        ));
    }
    let kept_status = MemberStatus {
        status: kept.status,
        before_freeze: kept.before_freeze,
    };
    if !kept_status.may_receive() {
        return Err(invalid(
            "keep",
            keep,
            &format!(
                "account is {}; it cannot receive the merged balance",
                kept.status
            ),
        ));
    }
    let (after, change) = MemberStatus {
        status: dup.status,
        before_freeze: dup.before_freeze,
    }
    .close(
        c.business_date,
        CloseCause::Merger,
        &format!("合并至 {keep}：{reason}"),
    )
    .map_err(rule_err)?;
    let dup_no = AccountNo::sub("201", duplicate)
        .map_err(|e| invalid("duplicate", duplicate, &e.to_string()))?;
    let pending = tx
        .load_accounts(centre, std::slice::from_ref(&dup_no))?
        .pop()
        .map_or(Fen::ZERO, |a| a.pending_out);
    if pending.fen() > 0 {
        return Err(invalid(
            "duplicate",
            duplicate,
            &format!("{pending} is waiting on a bank; merge once it is settled"),
        ));
    }
    let (interest, _) = crate::interest::post_closing_interest_in(
        tx.as_mut(),
        centre,
        policy,
        duplicate,
        &format!("merge-int:{duplicate}"),
        stamp,
        now,
    )?;
    let balance = tx
        .load_accounts(centre, std::slice::from_ref(&dup_no))?
        .pop()
        .map_or(Fen::ZERO, |a| a.balance);
    if balance.fen() > 0 {
        let keep_no =
            AccountNo::sub("201", keep).map_err(|e| invalid("keep", keep, &e.to_string()))?;
        crate::ledger::post_in(
            tx.as_mut(),
            centre,
            vec![EntryRequest::posted(
                format!("merge:{duplicate}"),
                TxCode::InternalTransfer,
                c.business_date,
                c.business_date,
                vec![Leg::debit(dup_no, balance), Leg::credit(keep_no, balance)],
                format!("合并 {duplicate} → {keep}"),
                stamp.clone(),
            )],
            now,
        )?;
    }
    dup.status = after.status;
    dup.before_freeze = None;
    dup.unit_no = None;
    tx.update_member(centre, &dup)?;
    record_event(
        tx.as_mut(),
        centre,
        &format!("member:{duplicate}"),
        &change,
        stamp,
        now,
    )?;
    if dup.paid_to > kept.paid_to {
        kept.paid_to = dup.paid_to;
        tx.update_member(centre, &kept)?;
    }
    let note = StatusChange {
        date: c.business_date,
        business: CollectionBusinessType::InternalTransfer,
        from: kept.status,
        to: kept.status,
        reason: format!("合并 {duplicate}（余额 {balance}，含销户结息 {interest}）：{reason}"),
    };
    record_event(
        tx.as_mut(),
        centre,
        &format!("member:{keep}"),
        &note,
        stamp,
        now,
    )?;
    tx.commit()?;
    Ok(Merged {
        kept,
        interest,
        moved: balance,
    })
}

/// Changes to a unit's registered details (单位信息变更); `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct UnitDetails {
    /// Name.
    pub name: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Legal representative.
    pub legal_rep: Option<String>,
    /// Payday, day of month.
    pub payday: Option<i32>,
    /// Collection bank code.
    pub bank_code: Option<String>,
    /// Unit and member ratios, changed together (each within the policy in force).
    pub ratios: Option<(Rate, Rate)>,
}

/// Changes a unit's details, checked as at registration, and records what changed as a
/// dated event (99 其他, reason listing old → new). Bills already generated keep their
/// figures; the next bill uses the new ratios and payday.
pub fn change_unit_details(
    store: &dyn Store,
    centre: &str,
    policy: &Policy,
    unit_no: &str,
    details: UnitDetails,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<UnitRow, AppError> {
    check_stamp(stamp)?;
    let mut tx = store.begin()?;
    let c = lock(tx.as_mut(), centre)?;
    let mut u = tx
        .unit(centre, unit_no)?
        .ok_or_else(|| AppError::NotFound {
            what: format!("unit {unit_no}"),
        })?;
    let mut changes: Vec<String> = Vec::new();
    if let Some(name) = &details.name {
        let v = text_field("name", name, 100)?;
        changes.push(format!("名称 {} → {v}", u.name));
        u.name = v;
    }
    if let Some(address) = &details.address {
        let v = text_field("address", address, 200)?;
        changes.push(format!("地址 {} → {v}", u.address));
        u.address = v;
    }
    if let Some(rep) = &details.legal_rep {
        let v = text_field("legal_rep", rep, 50)?;
        changes.push(format!("法定代表人 {} → {v}", u.legal_rep));
        u.legal_rep = v;
    }
    if let Some(payday) = details.payday {
        if !(1..=31).contains(&payday) {
            return Err(invalid(
                "payday",
                &payday.to_string(),
                "must be a day of the month, 1-31",
            ));
        }
        changes.push(format!("发薪日 {} → {payday}", u.payday));
        u.payday = payday;
    }
    if let Some(bank) = &details.bank_code {
        let no =
            AccountNo::sub("101", bank).map_err(|e| invalid("bank_code", bank, &e.to_string()))?;
        if tx.load_accounts(centre, &[no])?.is_empty() {
            return Err(invalid(
                "bank_code",
                bank,
                "is not a commissioned bank of this centre (no fund deposit account 101.<bank>)",
            ));
        }
        changes.push(format!("归集银行 {} → {bank}", u.bank_code));
        u.bank_code = bank.clone();
    }
    if let Some((unit_ratio, member_ratio)) = details.ratios {
        let rule = policy
            .contribution_on(c.business_date)
            .map_err(|e| invalid("policy", "", &e.to_string()))?;
        check_ratios(unit_ratio, member_ratio, rule).map_err(rule_err)?;
        changes.push(format!(
            "缴存比例 {}/{} → {unit_ratio}/{member_ratio}",
            u.unit_ratio, u.member_ratio
        ));
        u.unit_ratio = unit_ratio;
        u.member_ratio = member_ratio;
    }
    if changes.is_empty() {
        return Err(invalid("details", "", "nothing to change"));
    }
    tx.update_unit(centre, &u)?;
    let change = StatusChange {
        date: c.business_date,
        business: CollectionBusinessType::Other,
        from: u.status,
        to: u.status,
        reason: format!("单位信息变更：{}", changes.join("；")),
    };
    record_event(
        tx.as_mut(),
        centre,
        &format!("unit:{unit_no}"),
        &change,
        stamp,
        now,
    )?;
    tx.commit()?;
    Ok(u)
}
