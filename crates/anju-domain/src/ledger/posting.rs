//! The posting engine: resolves a request against the entry it refers to, applies the
//! legs to the accounts' running figures (and their control accounts'), enforces
//! non-negativity, and seals the entry into the centre's hash chain.
//!
//! Pure: the caller loads the chain head and the accounts the entry touches, calls
//! [`post`], and saves what changed, all in one database transaction. On an error the
//! in-memory figures are left part-way and must be discarded with the transaction.

use std::collections::HashMap;
use std::hash::BuildHasher;

use super::LedgerError;
use super::chart::AccountNo;
use super::entry::{Digest32, Entry, EntryKind, EntryRequest, Leg, SealedEntry, validate_legs};
use super::figures::AccountState;

/// The end of a centre's hash chain: the last entry's position and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    /// Sequence number of the last entry (0 before the first).
    pub seq: i64,
    /// Its hash (the genesis hash before the first).
    pub hash: Digest32,
}

/// An earlier entry that a request refers to, and what has already happened to it.
#[derive(Debug, Clone, Copy)]
pub struct Referenced<'a> {
    /// The referenced entry.
    pub entry: &'a SealedEntry,
    /// The sequence number of an entry that already posted, voided or reversed it.
    pub resolved_by: Option<i64>,
}

/// [`resolve`] taking the request by value: an ordinary or pending entry moves its legs
/// instead of copying them (the batch path posts hundreds of thousands of legs).
pub fn resolve_owned(
    req: EntryRequest,
    referenced: Option<Referenced<'_>>,
) -> Result<Entry, LedgerError> {
    if req.kind.needs_reference() {
        return resolve(&req, referenced);
    }
    req.validate_shape()?;
    Ok(Entry {
        key: req.key,
        kind: req.kind,
        ref_seq: None,
        code: req.code,
        business_date: req.business_date,
        value_date: req.value_date,
        memo: req.memo,
        stamp: req.stamp,
        legs: req.legs,
    })
}

/// Turns a request into a complete entry body. Post and void copy the pending entry's
/// code and legs; a reversal swaps the original's sides and keeps its value date, so 积数
/// is corrected from the day the original counted.
pub fn resolve(
    req: &EntryRequest,
    referenced: Option<Referenced<'_>>,
) -> Result<Entry, LedgerError> {
    req.validate_shape()?;
    let base = |legs: Vec<Leg>, ref_seq: Option<i64>| Entry {
        key: req.key.clone(),
        kind: req.kind,
        ref_seq,
        code: req.code,
        business_date: req.business_date,
        value_date: req.value_date,
        memo: req.memo.clone(),
        stamp: req.stamp.clone(),
        legs,
    };
    if !req.kind.needs_reference() {
        return Ok(base(req.legs.clone(), None));
    }
    let target = req.refers_to.clone().unwrap_or_default();
    let Some(r) = referenced else {
        return Err(LedgerError::ReferenceNotFound { key: target });
    };
    let bad = |reason: String| LedgerError::BadReference {
        key: target.clone(),
        reason,
    };
    let orig = &r.entry.entry;
    match req.kind {
        EntryKind::PostPending | EntryKind::VoidPending => {
            if orig.kind != EntryKind::Pending {
                return Err(bad(format!(
                    "entry {} is {}, only a pending entry can be posted or voided",
                    r.entry.seq,
                    orig.kind.code()
                )));
            }
            if let Some(by) = r.resolved_by {
                return Err(bad(format!(
                    "pending entry {} was already posted or voided by entry {by}",
                    r.entry.seq
                )));
            }
            let mut e = base(orig.legs.clone(), Some(r.entry.seq));
            e.code = orig.code;
            Ok(e)
        }
        EntryKind::Reversal => {
            if !matches!(orig.kind, EntryKind::Posted | EntryKind::PostPending) {
                return Err(bad(format!(
                    "entry {} is {}, only posted entries can be reversed",
                    r.entry.seq,
                    orig.kind.code()
                )));
            }
            if let Some(by) = r.resolved_by {
                return Err(bad(format!(
                    "entry {} was already reversed by entry {by}",
                    r.entry.seq
                )));
            }
            let legs = orig
                .legs
                .iter()
                .map(|l| Leg {
                    account: l.account.clone(),
                    side: l.side.opposite(),
                    amount: l.amount,
                })
                .collect();
            let mut e = base(legs, Some(r.entry.seq));
            e.value_date = orig.value_date;
            Ok(e)
        }
        EntryKind::Posted | EntryKind::Pending => unreachable_kind(),
    }
}

fn unreachable_kind() -> Result<Entry, LedgerError> {
    Err(LedgerError::BadField {
        field: "kind",
        value: String::new(),
        rule: "internal: kind without reference handled above",
    })
}

/// How one leg changes its account's figures.
fn effect(
    kind: EntryKind,
    acc: &mut AccountState,
    delta: i64,
    value_date: jiff::civil::Date,
) -> Result<(), LedgerError> {
    acc.entry_count += 1;
    match kind {
        EntryKind::Posted => acc.apply_posted(delta, value_date),
        EntryKind::Reversal => acc.apply_reversed(delta, value_date),
        EntryKind::Pending => acc.reserve(delta),
        EntryKind::VoidPending => acc.release(delta),
        EntryKind::PostPending => {
            acc.release(delta)?;
            acc.apply_posted(delta, value_date)
        }
    }
}

/// Applies `entry` to `accounts` and seals it after `head`, advancing `head`.
pub fn post<S: BuildHasher>(
    centre: &str,
    head: &mut ChainHead,
    accounts: &mut HashMap<AccountNo, AccountState, S>,
    entry: Entry,
    recorded_at_us: i64,
) -> Result<SealedEntry, LedgerError> {
    validate_legs(&entry.legs)?;
    for leg in &entry.legs {
        let delta = leg.signed_delta();
        let acc =
            accounts
                .get_mut(leg.account.as_str())
                .ok_or_else(|| LedgerError::UnknownAccount {
                    account: leg.account.clone(),
                })?;
        if entry.value_date < acc.opened_on {
            return Err(LedgerError::ValueDateBeforePeriod {
                account: leg.account.clone(),
                value_date: entry.value_date,
                period_start: acc.opened_on,
            });
        }
        effect(entry.kind, acc, delta, entry.value_date)?;
        if let Some(parent) = leg.account.parent_code() {
            let p = accounts
                .get_mut(parent)
                .ok_or_else(|| LedgerError::UnknownAccount {
                    account: leg.account.parent().unwrap_or_else(|| leg.account.clone()),
                })?;
            effect(entry.kind, p, delta, entry.value_date)?;
        }
    }
    for leg in &entry.legs {
        let keys = std::iter::once(leg.account.as_str()).chain(leg.account.parent_code());
        for key in keys {
            if let Some(acc) = accounts.get(key) {
                acc.check_non_negative()?;
            }
        }
    }
    let seq = head.seq + 1;
    let sealed = SealedEntry::seal(centre, seq, head.hash, recorded_at_us, entry);
    head.seq = seq;
    head.hash = sealed.hash;
    Ok(sealed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::entry::{TxCode, genesis_hash};
    use crate::money::Fen;
    use crate::stamp::Stamp;
    use jiff::civil::Date;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }
    fn a(s: &str) -> AccountNo {
        AccountNo::parse_any(s).unwrap()
    }

    fn book() -> (ChainHead, HashMap<AccountNo, AccountState>) {
        let mut m = HashMap::new();
        for no in ["101", "101.ICBC", "201", "201.M1", "201.M2"] {
            m.insert(a(no), AccountState::open(a(no), d("2025-07-01")));
        }
        (
            ChainHead {
                seq: 0,
                hash: genesis_hash("C"),
            },
            m,
        )
    }

    fn remit(key: &str, fen: i64) -> EntryRequest {
        EntryRequest::posted(
            key,
            TxCode::Remittance,
            d("2025-07-10"),
            d("2025-07-10"),
            vec![
                Leg::debit(a("101.ICBC"), Fen::new(2 * fen)),
                Leg::credit(a("201.M1"), Fen::new(fen)),
                Leg::credit(a("201.M2"), Fen::new(fen)),
            ],
            "",
            Stamp::system("t"),
        )
    }

    #[test]
    fn posting_updates_leaves_and_controls() {
        let (mut head, mut m) = book();
        let e = resolve(&remit("r1", 1000), None).unwrap();
        let s = post("C", &mut head, &mut m, e, 1).unwrap();
        assert_eq!(s.seq, 1);
        assert_eq!(head.hash, s.hash);
        assert_eq!(m[&a("201")].balance, Fen::new(2000));
        assert_eq!(m[&a("201.M1")].balance, Fen::new(1000));
        assert_eq!(m[&a("101")].balance, Fen::new(2000));
        assert_eq!(m[&a("201")].entry_count, 2);
    }

    #[test]
    fn two_phase_and_reversal() {
        let (mut head, mut m) = book();
        let s1 = post(
            "C",
            &mut head,
            &mut m,
            resolve(&remit("r1", 1000), None).unwrap(),
            1,
        )
        .unwrap();
        let pay = EntryRequest::pending(
            "w1",
            TxCode::Withdrawal,
            d("2025-07-10"),
            vec![
                Leg::debit(a("201.M1"), Fen::new(600)),
                Leg::credit(a("101.ICBC"), Fen::new(600)),
            ],
            "",
            Stamp::system("t"),
        );
        let s2 = post("C", &mut head, &mut m, resolve(&pay, None).unwrap(), 2).unwrap();
        assert_eq!(m[&a("201.M1")].balance, Fen::new(1000));
        assert_eq!(m[&a("201.M1")].available().unwrap(), Fen::new(400));
        // A second pending of 600 would overdraw the member.
        let mut pay2 = pay.clone();
        pay2.key = "w2".into();
        let mut m2 = m.clone();
        let mut h2 = head;
        let err = post("C", &mut h2, &mut m2, resolve(&pay2, None).unwrap(), 3).unwrap_err();
        assert!(
            matches!(err, LedgerError::InsufficientFunds { .. }),
            "{err}"
        );
        // Post the first.
        let post_req = EntryRequest::resolve_pending(
            "w1-ok",
            "w1",
            true,
            d("2025-07-11"),
            d("2025-07-11"),
            "",
            Stamp::system("t"),
        );
        let referenced = Referenced {
            entry: &s2,
            resolved_by: None,
        };
        let e = resolve(&post_req, Some(referenced)).unwrap();
        assert_eq!(e.code, TxCode::Withdrawal);
        post("C", &mut head, &mut m, e, 3).unwrap();
        assert_eq!(m[&a("201.M1")].balance, Fen::new(400));
        assert_eq!(m[&a("201.M1")].pending_out, Fen::ZERO);
        // Voiding it now is refused: already resolved.
        let void = EntryRequest::resolve_pending(
            "w1-void",
            "w1",
            false,
            d("2025-07-11"),
            d("2025-07-11"),
            "",
            Stamp::system("t"),
        );
        let err = resolve(
            &void,
            Some(Referenced {
                entry: &s2,
                resolved_by: Some(3),
            }),
        )
        .unwrap_err();
        assert!(matches!(err, LedgerError::BadReference { .. }));
        // Reverse the remittance: member M1 has only 400 left, so it is refused.
        let rev = EntryRequest::reversal("r1-rev", "r1", d("2025-07-12"), "", Stamp::system("t"));
        let e = resolve(
            &rev,
            Some(Referenced {
                entry: &s1,
                resolved_by: None,
            }),
        )
        .unwrap();
        assert_eq!(e.value_date, d("2025-07-10"));
        let err = post("C", &mut head.clone(), &mut m.clone(), e, 4).unwrap_err();
        assert!(matches!(err, LedgerError::InsufficientFunds { .. }));
        // Reversing a pending entry is refused.
        let rev2 = EntryRequest::reversal("w1-rev", "w1", d("2025-07-12"), "", Stamp::system("t"));
        assert!(
            resolve(
                &rev2,
                Some(Referenced {
                    entry: &s2,
                    resolved_by: None
                })
            )
            .is_err()
        );
        assert!(matches!(
            resolve(&rev2, None),
            Err(LedgerError::ReferenceNotFound { .. })
        ));
    }

    #[test]
    fn unknown_account_is_refused() {
        let (mut head, mut m) = book();
        let mut r = remit("r1", 10);
        r.legs[2].account = a("201.M9");
        let err = post("C", &mut head, &mut m, resolve(&r, None).unwrap(), 1).unwrap_err();
        assert_eq!(
            err,
            LedgerError::UnknownAccount {
                account: a("201.M9")
            }
        );
    }
}
