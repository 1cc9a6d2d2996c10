//! Interest settlement (结息, DOMAIN.md §2, issue 3 §8).
//!
//! **Year-end (年终结息).** For year Y the period ends on the policy's settlement date E
//! (June 30 by default) and the next starts on F = E + 1. Every member account's interest =
//! its 积数 through E (each day's closing balance once) × the annual rate ÷ the policy's
//! day-count basis, rounded half-up to the fen; when the deposit rate changed inside the
//! period, the 积数 is split by rate period from the journal and each piece takes its own
//! rate. One batch posts the interest (Dr 501 interest expense, Cr each `201.<account>`)
//! as 年终结息 entries with value date E, then starts every member account's new period on
//! F (积数 zero) in the same transaction — the audit follows the roll from those entries.
//! A year is settled once: running it again returns the first run.
//!
//! The batch must run before money moves with a value date after F (i.e. on E after the
//! day's business or on F before it): otherwise the closed period's 积数 could no longer
//! be separated, and it is refused with the account named.
//!
//! **Closing mid-year (销户结息).** [`interest_to_date`] computes interest from the
//! period start to the day before the closing day (the closing day's own balance is
//! zero); [`post_closing_interest_in`] credits it so it is paid with the principal, in
//! the closing transaction (issue 6), and restarts the account's interest period on the
//! closing day (积数 zero; the control account's 积数 drops by the closed period's), so
//! the 积数 it paid is never paid again. Year-end skips closed accounts.

use std::collections::HashMap;

use anju_domain::interest::{AccrualPiece, BalanceChange, accrual_by_pieces, interest_on};
use anju_domain::ledger::{AccountNo, AccountState, EntryKind, EntryRequest, Leg, TxCode};
use anju_domain::money::Fen;
use anju_domain::policy::Policy;
use anju_domain::stamp::Stamp;
use anju_store::collection::InterestRunRow;
use anju_store::{Store, StoreTx};
use jiff::Timestamp;
use jiff::civil::Date;

use crate::AppError;
use crate::ledger::lock_centre;
use crate::ledger::{Posted, post_in_then};

/// Most interest credits in one journal entry.
const CREDITS_PER_ENTRY: usize = 10_000;
/// Entries read per page when splitting 积数 by rate period.
const SCAN_PAGE: usize = 20_000;

fn invalid(field: &'static str, value: impl Into<String>, rule: impl Into<String>) -> AppError {
    AppError::Invalid {
        field,
        value: value.into(),
        rule: rule.into(),
    }
}

fn policy_err(e: impl std::fmt::Display) -> AppError {
    invalid("policy", "", e.to_string())
}

fn member_accounts(tx: &mut dyn StoreTx, centre: &str) -> Result<Vec<AccountState>, AppError> {
    Ok(tx
        .all_accounts(centre)?
        .into_iter()
        .filter(|a| a.no.code() == "201")
        .collect())
}

/// The result of a year-end settlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    /// The run as recorded.
    pub run: InterestRunRow,
    /// True when the year had been settled before: nothing new was posted.
    pub replayed: bool,
}

/// Whether a leg's entry kind changed the balance.
fn posts(kind: EntryKind) -> bool {
    matches!(
        kind,
        EntryKind::Posted | EntryKind::PostPending | EntryKind::Reversal
    )
}

/// Balance changes per member account, from the journal, for the accounts in `wanted`.
fn changes_from_journal(
    tx: &mut dyn StoreTx,
    centre: &str,
    wanted: &HashMap<AccountNo, Date>,
) -> Result<HashMap<AccountNo, Vec<BalanceChange>>, AppError> {
    let mut out: HashMap<AccountNo, Vec<BalanceChange>> = HashMap::new();
    let mut after = 0;
    loop {
        let page = tx.scan_entries(centre, after, SCAN_PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in &page {
            if !posts(e.entry.kind) {
                continue;
            }
            for leg in &e.entry.legs {
                if wanted.contains_key(leg.account.as_str()) {
                    out.entry(leg.account.clone())
                        .or_default()
                        .push(BalanceChange {
                            delta: leg.signed_delta(),
                            value_date: e.entry.value_date,
                        });
                }
            }
        }
    }
    Ok(out)
}

/// The 积数 pieces of an account's period `[accrual_from, end)`: one piece when one rate
/// covers it, else split from the account's balance changes.
fn pieces_for(
    a: &AccountState,
    end: Date,
    policy: &Policy,
    changes: Option<&Vec<BalanceChange>>,
) -> Result<Vec<AccrualPiece>, AppError> {
    let periods = policy
        .deposit_rate_periods(a.accrual_from, end)
        .map_err(policy_err)?;
    let last_day = end
        .yesterday()
        .map_err(|_| invalid("date", end.to_string(), "out of range"))?;
    let total = i128::from(
        a.accrual_through(last_day)
            .map_err(|e| invalid("accrual", a.no.to_string(), e.to_string()))?,
    );
    match periods.as_slice() {
        [] => Ok(Vec::new()),
        [(start, stop, rate)] => Ok(vec![AccrualPiece {
            start: *start,
            end: *stop,
            annual: *rate,
            accrual: total,
        }]),
        _ => {
            let pieces = accrual_by_pieces(
                a.accrual_from,
                &periods,
                changes.map(|c| c.iter().copied()).into_iter().flatten(),
            );
            let sum: i128 = pieces.iter().map(|p| p.accrual).sum();
            if sum != total {
                return Err(invalid(
                    "accrual",
                    a.no.to_string(),
                    format!(
                        "the journal gives 积数 {sum} but the account records {total}; run `anju audit`"
                    ),
                ));
            }
            Ok(pieces)
        }
    }
}

/// Settles year `year`'s interest for every member account (see the module docs).
pub fn settle_interest(
    store: &dyn Store,
    centre: &str,
    policy: &Policy,
    year: i16,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<Settlement, AppError> {
    let mut tx = store.begin()?;
    let c = lock_centre(tx.as_mut(), centre)?;
    if let Some(run) = tx.interest_run(centre, year)? {
        return Ok(Settlement {
            run,
            replayed: true,
        });
    }
    let end = policy
        .interest()
        .settlement_date(year)
        .map_err(policy_err)?;
    let start = end
        .tomorrow()
        .map_err(|_| invalid("year", year.to_string(), "out of range"))?;
    if c.business_date < end {
        return Err(invalid(
            "year",
            year.to_string(),
            format!(
                "the period ends {end}; the business date {} has not reached it",
                c.business_date
            ),
        ));
    }
    let t0 = std::time::Instant::now();
    let accounts = member_accounts(tx.as_mut(), centre)?;
    tracing::info!(
        accounts = accounts.len(),
        ms = t0.elapsed().as_millis() as u64,
        "interest: member accounts loaded"
    );
    if let Some(late) = accounts.iter().find(|a| a.last_change > start) {
        return Err(invalid(
            "year",
            year.to_string(),
            format!(
                "account {} already has money with value date {} after the period's end; settle interest on {end} or {start} before later business",
                late.no, late.last_change
            ),
        ));
    }
    let closed: std::collections::HashSet<String> =
        tx.closed_member_accounts(centre)?.into_iter().collect();
    // Accounts whose period spans a rate change need their balance history.
    let mut multi: HashMap<AccountNo, Date> = HashMap::new();
    for a in &accounts {
        if a.no.is_control() || a.accrual_from >= start {
            continue;
        }
        let periods = policy
            .deposit_rate_periods(a.accrual_from, start)
            .map_err(policy_err)?;
        if periods.len() > 1 {
            multi.insert(a.no.clone(), a.accrual_from);
        }
    }
    let history = if multi.is_empty() {
        HashMap::new()
    } else {
        changes_from_journal(tx.as_mut(), centre, &multi)?
    };
    let basis = policy.interest().day_count_basis;
    let mut credits: Vec<Leg> = Vec::new();
    // Member accounts the entries will not touch (closed, or no interest): rolled apart.
    let mut untouched: Vec<usize> = Vec::new();
    for (i, a) in accounts.iter().enumerate() {
        if a.no.is_control() || a.accrual_from >= start {
            continue;
        }
        let Some(key) = a.no.sub_key() else { continue };
        if closed.contains(key) {
            untouched.push(i);
            continue;
        }
        let pieces = pieces_for(a, start, policy, history.get(a.no.as_str()))?;
        let interest = interest_on(&pieces, basis)
            .map_err(|e| invalid("interest", a.no.to_string(), e.to_string()))?;
        if interest.fen() > 0 {
            credits.push(Leg::credit(a.no.clone(), interest));
        } else {
            untouched.push(i);
        }
    }
    let total = Fen::new(credits.iter().map(|l| l.amount.fen()).sum());
    let expense =
        AccountNo::parse("501").map_err(|e| invalid("account_no", "501", e.to_string()))?;
    let credited = credits.len() as i64;
    let mut requests = Vec::new();
    for (i, chunk) in credits.chunks(CREDITS_PER_ENTRY).enumerate() {
        let sum = Fen::new(chunk.iter().map(|l| l.amount.fen()).sum());
        let mut legs = Vec::with_capacity(chunk.len() + 1);
        legs.push(Leg::debit(expense.clone(), sum));
        legs.extend(chunk.iter().cloned());
        requests.push(EntryRequest::posted(
            format!("interest:{year}:{}", i + 1),
            TxCode::InterestSettlement,
            c.business_date,
            end,
            legs,
            format!(
                "{year}年度结息（{}至{end}）",
                start.saturating_sub(jiff::Span::new().years(1))
            ),
            stamp.clone(),
        ));
    }
    let entries = requests.len() as i64;
    tracing::info!(
        credits = credited,
        ms = t0.elapsed().as_millis() as u64,
        "interest: computed"
    );
    if !requests.is_empty() {
        // Credited accounts (and the control account) start their new period as the
        // entries are saved; the others are rolled after, each account written once.
        let roll = |a: &mut AccountState| -> Result<(), AppError> {
            if a.no.code() == "201" && a.accrual_from < start {
                a.roll_period(start)
                    .map_err(|e| invalid("year", year.to_string(), e.to_string()))?;
            }
            Ok(())
        };
        post_in_then(tx.as_mut(), centre, requests, now, &mut |a| roll(a))?;
        tracing::info!(ms = t0.elapsed().as_millis() as u64, "interest: posted");
        let mut rolled = Vec::with_capacity(untouched.len());
        for i in untouched {
            let mut a = accounts[i].clone();
            roll(&mut a)?;
            rolled.push(a);
        }
        tracing::info!(
            ms = t0.elapsed().as_millis() as u64,
            others = rolled.len(),
            "interest: rolled"
        );
        if !rolled.is_empty() {
            tx.save_accounts_owned(centre, rolled)?;
        }
        tracing::info!(ms = t0.elapsed().as_millis() as u64, "interest: saved");
    }
    let run = InterestRunRow {
        year,
        period_end: end,
        accounts: credited,
        total,
        entries,
        run_on: c.business_date,
        recorded_at_us: now.as_microsecond(),
    };
    tx.insert_interest_run(centre, &run)?;
    tx.commit()?;
    Ok(Settlement {
        run,
        replayed: false,
    })
}

/// Interest owed on a member account from its period start up to (not including) `day`,
/// e.g. when it is closed or transferred out on `day`.
pub fn interest_to_date(
    tx: &mut dyn StoreTx,
    centre: &str,
    policy: &Policy,
    account_no: &str,
    day: Date,
) -> Result<Fen, AppError> {
    let no = AccountNo::sub("201", account_no)
        .map_err(|e| invalid("account_no", account_no, e.to_string()))?;
    let a = tx
        .load_accounts(centre, std::slice::from_ref(&no))?
        .pop()
        .ok_or_else(|| AppError::NotFound {
            what: format!("personal account {account_no}"),
        })?;
    if a.accrual_from >= day {
        return Ok(Fen::ZERO);
    }
    let periods = policy
        .deposit_rate_periods(a.accrual_from, day)
        .map_err(policy_err)?;
    let changes = if periods.len() > 1 {
        Some(
            tx.account_legs(centre, no.as_str())?
                .into_iter()
                .filter(|l| posts(l.kind))
                .map(|l| BalanceChange {
                    delta: if l.side == no.chart().normal {
                        l.amount.fen()
                    } else {
                        -l.amount.fen()
                    },
                    value_date: l.value_date,
                })
                .collect::<Vec<_>>(),
        )
    } else {
        None
    };
    let pieces = pieces_for(&a, day, policy, changes.as_ref())?;
    interest_on(&pieces, policy.interest().day_count_basis)
        .map_err(|e| invalid("interest", account_no, e.to_string()))
}

/// Credits a closing account's interest to date (销户结息) inside the caller's
/// transaction, on the business date, with idempotency key `key`. Returns the amount and
/// the entry (none when the interest is zero).
pub fn post_closing_interest_in(
    tx: &mut dyn StoreTx,
    centre: &str,
    policy: &Policy,
    account_no: &str,
    key: &str,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<(Fen, Option<Posted>), AppError> {
    let c = lock_centre(tx, centre)?;
    let amount = interest_to_date(tx, centre, policy, account_no, c.business_date)?;
    if amount.fen() == 0 {
        return Ok((amount, None));
    }
    let no = AccountNo::sub("201", account_no)
        .map_err(|e| invalid("account_no", account_no, e.to_string()))?;
    let expense =
        AccountNo::parse("501").map_err(|e| invalid("account_no", "501", e.to_string()))?;
    let day = c.business_date;
    // The closed period's 积数 (every day before the closing day), which the interest
    // just computed pays: the member's period restarts on the closing day and the control
    // account's 积数 drops by as much, so nothing is paid twice (the audit follows the
    // restart from the 销户结息 entry).
    let before = tx
        .load_accounts(centre, std::slice::from_ref(&no))?
        .pop()
        .ok_or_else(|| AppError::NotFound {
            what: format!("ledger account {no}"),
        })?;
    let closed = before
        .accrual_through(
            day.yesterday()
                .map_err(|_| invalid("date", day.to_string(), "out of range"))?,
        )
        .map_err(|e| invalid("accrual", no.to_string(), e.to_string()))?;
    let req = EntryRequest::posted(
        key,
        TxCode::ClosingInterest,
        day,
        day,
        vec![Leg::debit(expense, amount), Leg::credit(no.clone(), amount)],
        format!("销户结息 {account_no}"),
        stamp.clone(),
    );
    let control = no.parent();
    let mut restart = |a: &mut AccountState| -> Result<(), AppError> {
        if a.no == no {
            let paid = a
                .roll_period(day)
                .map_err(|e| invalid("accrual", a.no.to_string(), e.to_string()))?;
            debug_assert_eq!(paid, closed);
        } else if control.as_ref() == Some(&a.no) {
            a.accrual = a
                .accrual
                .checked_sub(closed)
                .ok_or_else(|| invalid("accrual", a.no.to_string(), "overflow closing a period"))?;
        }
        Ok(())
    };
    let posted = post_in_then(tx, centre, vec![req], now, &mut restart)?.pop();
    Ok((amount, posted))
}

/// The interest correction (结息调整) of one member account when a reversal (冲正) takes
/// money back out of interest years already settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReversalCorrection {
    /// The member account.
    pub account: AccountNo,
    /// The money the reversal takes back from it.
    pub reversed: Fen,
    /// Each settled year's interest on it: (year, amount).
    pub years: Vec<(i16, Fen)>,
    /// Their sum: what the interest correction takes back.
    pub total: Fen,
    /// The first day of the account's current interest period, from which the money and
    /// the corrected interest leave its 积数.
    pub period_start: Date,
}

/// What reversing `original` must also take back: for every member account it credited
/// whose interest period has moved past the original's value date v (a year-end settled
/// in between), the interest each settled year paid on the money — the reversed amount
/// from max(v, that year's start) through its settlement date, and in a later settled
/// year also the earlier years' wrongly paid interest, which was credited and counted
/// from that year's start — at that year's rate periods and the policy's day-count
/// basis, rounded half-up to the fen once per year ([`interest_paid_on`], as the
/// year-end computes). Empty when the value date is inside every account's current
/// period (the reversal corrects 积数 from that day, nothing was settled).
///
/// `policy` is needed only when a correction is; without it such a reversal is refused.
pub fn reversal_corrections_in(
    tx: &mut dyn StoreTx,
    centre: &str,
    policy: Option<&Policy>,
    original: &anju_domain::ledger::Entry,
) -> Result<Vec<ReversalCorrection>, AppError> {
    use anju_domain::interest::interest_paid_on;
    let v = original.value_date;
    let mut out = Vec::new();
    for leg in &original.legs {
        if leg.account.code() != "201" || leg.account.is_control() || leg.signed_delta() <= 0 {
            continue;
        }
        let st = tx
            .load_accounts(centre, std::slice::from_ref(&leg.account))?
            .pop()
            .ok_or_else(|| AppError::NotFound {
                what: format!("ledger account {}", leg.account),
            })?;
        if v >= st.accrual_from {
            continue;
        }
        let Some(policy) = policy else {
            return Err(invalid(
                "policy",
                "",
                format!(
                    "reversing entry {:?} (value date {v}) reaches into an interest year already settled for {} (its period starts {}): the interest correction needs the centre's approved policy, and none is stored (start the centre with its policy file first)",
                    original.key, leg.account, st.accrual_from
                ),
            ));
        };
        let rule = policy.interest();
        let mut year = v.year();
        if rule.settlement_date(year).map_err(policy_err)? < v {
            year += 1;
        }
        let mut carry = leg.amount;
        let mut years = Vec::new();
        loop {
            let end = rule.settlement_date(year).map_err(policy_err)?;
            let next = end
                .tomorrow()
                .map_err(|_| invalid("year", year.to_string(), "out of range"))?;
            if next > st.accrual_from {
                return Err(invalid(
                    "entry_key",
                    &original.key,
                    format!(
                        "account {}'s interest period starts {}, not the day after a year-end settlement (its interest was settled when it closed): a reversal across it cannot be corrected here",
                        leg.account, st.accrual_from
                    ),
                ));
            }
            if tx.interest_run(centre, year)?.is_none() {
                return Err(invalid(
                    "entry_key",
                    &original.key,
                    format!(
                        "account {}'s period moved past {end} but no {year} interest settlement is recorded",
                        leg.account
                    ),
                ));
            }
            let start = rule
                .settlement_date(year - 1)
                .map_err(policy_err)?
                .tomorrow()
                .map_err(|_| invalid("year", year.to_string(), "out of range"))?
                .max(st.opened_on);
            let periods = policy
                .deposit_rate_periods(start, next)
                .map_err(policy_err)?;
            let paid = interest_paid_on(carry, v, start, &periods, rule.day_count_basis)
                .map_err(|e| invalid("interest", leg.account.to_string(), e.to_string()))?;
            years.push((year, paid));
            carry = carry
                .checked_add(paid)
                .map_err(|e| invalid("interest", leg.account.to_string(), e.to_string()))?;
            if next == st.accrual_from {
                break;
            }
            year += 1;
        }
        let total = Fen::new(years.iter().map(|(_, f)| f.fen()).sum());
        out.push(ReversalCorrection {
            account: leg.account.clone(),
            reversed: leg.amount,
            years,
            total,
            period_start: st.accrual_from,
        });
    }
    Ok(out)
}
