//! Ledger use cases: open a centre and its accounts, post entries (singly or in a batch,
//! one transaction), move the business date, and audit.
//!
//! This is the one posting path: the online withdrawal, the monthly remittance batch, the
//! demo seeder and `anju bench post` all come through [`post_in`].

use std::collections::HashSet;

use rustc_hash::{FxHashMap, FxHashSet};

use anju_domain::ledger::audit::{AuditReport, Auditor};
use anju_domain::ledger::{
    AccountNo, AccountState, CHART, ChainHead, EntryRequest, LedgerError, Referenced, SealedEntry,
    SubLedger, genesis_hash, post, resolve, resolve_owned,
};
use anju_domain::money::Fen;
use anju_store::{CentreRow, Store, StoreError, StoreTx};
use jiff::Timestamp;
use jiff::civil::Date;

use crate::AppError;

/// The result of posting one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    /// The entry as recorded (the earlier one, for a replay).
    pub entry: SealedEntry,
    /// True when the key had been used before with the same body: nothing new was posted.
    pub replayed: bool,
}

fn micros(now: Timestamp) -> i64 {
    now.as_microsecond()
}

fn entry_err(key: &str, source: LedgerError) -> AppError {
    AppError::Entry {
        key: key.to_owned(),
        source,
    }
}

/// Checks a 15-digit centre code (6-digit division code + 9 digits, DOMAIN.md §5).
pub fn validate_centre_code(code: &str) -> Result<(), AppError> {
    if code.len() != 15 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::Invalid {
            field: "centre_code",
            value: code.to_owned(),
            rule: "must be 15 digits (6-digit division code then 9 digits), e.g. 330800000000000"
                .to_owned(),
        });
    }
    Ok(())
}

/// Creates a centre with its chain's genesis and every chart account (control accounts
/// for codes with a sub-ledger). If the centre exists, returns it unchanged.
pub fn open_centre(
    store: &dyn Store,
    code: &str,
    name: &str,
    business_date: Date,
    now: Timestamp,
) -> Result<CentreRow, AppError> {
    validate_centre_code(code)?;
    if name.trim().is_empty() {
        return Err(AppError::Invalid {
            field: "name",
            value: name.to_owned(),
            rule: "must not be empty".to_owned(),
        });
    }
    let mut tx = store.begin()?;
    if let Some(existing) = tx.centre(code)? {
        return Ok(existing);
    }
    let row = CentreRow {
        code: code.to_owned(),
        name: name.to_owned(),
        business_date,
        head: ChainHead {
            seq: 0,
            hash: genesis_hash(code),
        },
        created_at_us: micros(now),
    };
    tx.insert_centre(&row)?;
    let accounts = chart_accounts()?
        .into_iter()
        .map(|no| AccountState::open(no, business_date))
        .collect::<Vec<_>>();
    tx.insert_accounts(code, &accounts)?;
    tx.commit()?;
    Ok(row)
}

/// The accounts the chart opens with a centre: each control account, and each line
/// without a sub-ledger as its own posting account.
pub(crate) fn chart_accounts() -> Result<Vec<AccountNo>, AppError> {
    CHART
        .iter()
        .map(|c| {
            if c.sub_ledger == SubLedger::None {
                AccountNo::parse(c.code)
            } else {
                AccountNo::control(c.code)
            }
            .map_err(|e| AppError::Invalid {
                field: "chart",
                value: c.code.to_owned(),
                rule: e.to_string(),
            })
        })
        .collect()
}

/// Locks the centre row for the rest of the transaction (see `StoreTx::lock_centre`) and
/// returns it; a missing centre is `NotFound`.
pub(crate) fn lock_centre(tx: &mut dyn StoreTx, centre: &str) -> Result<CentreRow, AppError> {
    tx.lock_centre(centre).map_err(|e| match e {
        StoreError::NotFound { what } => AppError::NotFound { what },
        other => AppError::Store(other),
    })
}

/// The centre, or `NotFound`.
pub fn centre(tx: &mut dyn StoreTx, code: &str) -> Result<CentreRow, AppError> {
    tx.centre(code)?.ok_or_else(|| AppError::NotFound {
        what: format!("centre {code}"),
    })
}

/// Opens posting accounts (e.g. a member's `201.<account>`) on `opened_on`, inside `tx`.
/// Their control accounts must exist (they do once the centre is open).
pub fn open_accounts_in(
    tx: &mut dyn StoreTx,
    centre_code: &str,
    nos: &[AccountNo],
    opened_on: Date,
) -> Result<(), AppError> {
    let mut seen = HashSet::new();
    for no in nos {
        if no.is_control() {
            return Err(AppError::Invalid {
                field: "account_no",
                value: no.to_string(),
                rule: "control accounts are opened with the centre".to_owned(),
            });
        }
        if !seen.insert(no) {
            return Err(AppError::Invalid {
                field: "account_no",
                value: no.to_string(),
                rule: "listed twice".to_owned(),
            });
        }
    }
    let accounts: Vec<AccountState> = nos
        .iter()
        .map(|no| AccountState::open(no.clone(), opened_on))
        .collect();
    tx.insert_accounts(centre_code, &accounts)?;
    Ok(())
}

/// Opens posting accounts in their own transaction.
pub fn open_accounts(
    store: &dyn Store,
    centre_code: &str,
    nos: &[AccountNo],
    opened_on: Date,
) -> Result<(), AppError> {
    let mut tx = store.begin()?;
    centre(tx.as_mut(), centre_code)?;
    open_accounts_in(tx.as_mut(), centre_code, nos, opened_on)?;
    tx.commit()?;
    Ok(())
}

/// Moves the centre's business date (营业日) forward (never back).
pub fn set_business_date(store: &dyn Store, centre_code: &str, date: Date) -> Result<(), AppError> {
    let mut tx = store.begin()?;
    // Locked, so two concurrent moves cannot take the date backwards.
    let c = lock_centre(tx.as_mut(), centre_code)?;
    if date < c.business_date {
        return Err(AppError::Invalid {
            field: "business_date",
            value: date.to_string(),
            rule: format!("must not move back from {}", c.business_date),
        });
    }
    tx.set_business_date(centre_code, date)?;
    tx.commit()?;
    Ok(())
}

/// Posts one request in its own transaction.
pub fn post_one(
    store: &dyn Store,
    centre_code: &str,
    req: EntryRequest,
    now: Timestamp,
) -> Result<Posted, AppError> {
    let mut out = post_batch(store, centre_code, vec![req], now)?;
    out.pop().ok_or_else(|| AppError::NotFound {
        what: "posted entry".to_owned(),
    })
}

/// Posts requests in one transaction: all or nothing.
pub fn post_batch(
    store: &dyn Store,
    centre_code: &str,
    reqs: Vec<EntryRequest>,
    now: Timestamp,
) -> Result<Vec<Posted>, AppError> {
    let mut tx = store.begin()?;
    let out = post_in(tx.as_mut(), centre_code, reqs, now)?;
    tx.commit()?;
    Ok(out)
}

/// Batches at least this big run the posting engine on a worker thread.
const PIPELINE_MIN_ENTRIES: usize = 256;
/// Entries written per store call in a pipelined batch.
const PIPELINE_CHUNK: usize = 512;
/// … or this many legs: a few very large entries (the year-end interest) are a pipeline too.
const PIPELINE_MIN_LEGS: usize = 20_000;
/// A pipelined chunk is also written once it holds this many legs.
const PIPELINE_CHUNK_LEGS: usize = 20_000;

/// Where a request's result sits in the output.
enum Slot {
    New,
    Replay(Box<SealedEntry>),
}

/// What one request became.
enum Step {
    New(SealedEntry),
    Replay(SealedEntry),
}

/// The in-memory side of a batch: everything the domain engine needs, nothing of the store.
struct Engine<'c> {
    centre: &'c str,
    business_date: Date,
    recorded_at: i64,
    head: ChainHead,
    by_key: FxHashMap<String, SealedEntry>,
    resolved_by: FxHashMap<i64, i64>,
    needed_later: FxHashSet<String>,
    accounts: FxHashMap<AccountNo, AccountState>,
    touched: FxHashSet<AccountNo>,
}

impl Engine<'_> {
    /// The chain head after the batch, and the accounts it changed in the order of `nos`
    /// (account order: saved page by page, and no sort of 224,000 figures by their keys).
    fn changed(self, nos: &[AccountNo]) -> (ChainHead, Vec<AccountState>) {
        let Engine {
            mut accounts,
            touched,
            head,
            ..
        } = self;
        let changed = nos
            .iter()
            .filter(|no| touched.contains(no.as_str()))
            .filter_map(|no| accounts.remove(no.as_str()))
            .collect();
        (head, changed)
    }

    /// Replays or posts one request. Every account it can touch was loaded up front:
    /// its own legs, and the legs of the entry it refers to (in the database or earlier
    /// in the batch, whose legs are themselves requests of the batch).
    fn step(&mut self, req: EntryRequest) -> Result<Step, AppError> {
        let referenced = |by_key: &FxHashMap<String, SealedEntry>| {
            req.refers_to.as_ref().and_then(|k| by_key.get(k)).cloned()
        };
        if let Some(existing) = self.by_key.get(&req.key).cloned() {
            // Replay check: resolve as if for the first time and compare bodies. The
            // booking date is the system's, not the caller's: a retry that arrives after
            // the business date moved on (a bank notice sent again the next day) is still
            // the same request and gets the first entry back.
            let r = referenced(&self.by_key);
            let mut probe = req.clone();
            probe.business_date = existing.entry.business_date;
            let same = resolve(
                &probe,
                r.as_ref().map(|e| Referenced {
                    entry: e,
                    resolved_by: None,
                }),
            )
            .is_ok_and(|body| body.body_hash(existing.alg) == existing.body_hash);
            if !same {
                return Err(entry_err(
                    &req.key,
                    LedgerError::IdempotencyConflict {
                        key: req.key.clone(),
                        seq: existing.seq,
                    },
                ));
            }
            return Ok(Step::Replay(existing));
        }
        if req.business_date != self.business_date {
            return Err(entry_err(
                &req.key,
                LedgerError::BadField {
                    field: "business_date",
                    value: req.business_date.to_string(),
                    rule: "must be the centre's current business date (营业日)",
                },
            ));
        }
        let r = referenced(&self.by_key);
        let key = req.key.clone();
        let body = resolve_owned(
            req,
            r.as_ref().map(|e| Referenced {
                entry: e,
                resolved_by: self.resolved_by.get(&e.seq).copied(),
            }),
        )
        .map_err(|e| entry_err(&key, e))?;
        let sealed = post(
            self.centre,
            &mut self.head,
            &mut self.accounts,
            body,
            self.recorded_at,
        )
        .map_err(|e| entry_err(&key, e))?;
        for leg in &sealed.entry.legs {
            if !self.touched.contains(leg.account.as_str()) {
                self.touched.insert(leg.account.clone());
            }
            if let Some(p) = leg.account.parent_code()
                && !self.touched.contains(p)
                && let Some(pn) = leg.account.parent()
            {
                self.touched.insert(pn);
            }
        }
        if let Some(rs) = sealed.entry.ref_seq {
            self.resolved_by.insert(rs, sealed.seq);
        }
        if self.needed_later.contains(&sealed.entry.key) {
            self.by_key.insert(sealed.entry.key.clone(), sealed.clone());
        }
        Ok(Step::New(sealed))
    }
}

/// Posts requests inside `tx`, in order, through the domain's posting engine:
/// idempotency (same key + same body → the first entry; different body → error),
/// reference resolution for post/void/reversal, running figures, non-negativity and the
/// hash chain. Accounts are loaded and saved sorted by account number.
pub fn post_in(
    tx: &mut dyn StoreTx,
    centre_code: &str,
    reqs: Vec<EntryRequest>,
    now: Timestamp,
) -> Result<Vec<Posted>, AppError> {
    post_in_then(tx, centre_code, reqs, now, &mut |_| Ok(()))
}

/// [`post_in`], then `finish` on every account the requests changed, before the figures
/// are saved — so a batch that must also move those accounts (the year-end settlement
/// starting the next interest period) writes each account once. `finish` must only do what
/// the journal explains (the audit checks it).
pub fn post_in_then(
    tx: &mut dyn StoreTx,
    centre_code: &str,
    reqs: Vec<EntryRequest>,
    now: Timestamp,
    finish: &mut dyn FnMut(&mut AccountState) -> Result<(), AppError>,
) -> Result<Vec<Posted>, AppError> {
    post_in_meanwhile(tx, centre_code, reqs, now, finish, &mut |_| Ok(()))
}

/// What a caller writes on the posting's transaction while the engine works
/// ([`post_in_meanwhile`]).
pub type Meanwhile<'a> = dyn FnMut(&mut dyn StoreTx) -> Result<(), AppError> + 'a;

/// [`post_in_then`], and `meanwhile` on the same transaction once the accounts are loaded:
/// on a big batch it runs while the engine resolves, applies and seals the entries on its
/// worker thread, so a business act's other writes (a payment's receipts, bills and
/// 缴至年月) cost no time of their own. `meanwhile` must not touch what the posting
/// reads or writes — ledger accounts, journal entries, the chain head — since the engine
/// works on the accounts as loaded before it. Whatever fails, nothing may be committed:
/// the caller drops the transaction.
pub fn post_in_meanwhile(
    tx: &mut dyn StoreTx,
    centre_code: &str,
    reqs: Vec<EntryRequest>,
    now: Timestamp,
    finish: &mut dyn FnMut(&mut AccountState) -> Result<(), AppError>,
    meanwhile: &mut Meanwhile<'_>,
) -> Result<Vec<Posted>, AppError> {
    let recorded_at = micros(now);
    // Lock the chain first so concurrent posters to this centre serialise before reading.
    let locked = lock_centre(tx, centre_code)?;
    let head = locked.head;
    let business_date = locked.business_date;
    for r in &reqs {
        r.validate_shape().map_err(|e| entry_err(&r.key, e))?;
    }

    // Earlier entries named by key: the requests' own keys (replays) and their references.
    let mut wanted: Vec<String> = reqs.iter().map(|r| r.key.clone()).collect();
    wanted.extend(reqs.iter().filter_map(|r| r.refers_to.clone()));
    wanted.sort_unstable();
    wanted.dedup();
    let by_key: FxHashMap<String, SealedEntry> = tx
        .entries_by_keys(centre_code, &wanted)?
        .into_iter()
        .map(|e| (e.entry.key.clone(), e))
        .collect();
    // Keys that a later request in this batch may look up: references and repeated keys.
    let mut seen_keys: FxHashSet<&str> = FxHashSet::default();
    let mut needed_later: FxHashSet<String> = FxHashSet::default();
    for r in &reqs {
        if !seen_keys.insert(r.key.as_str()) {
            needed_later.insert(r.key.clone());
        }
        if let Some(k) = &r.refers_to {
            needed_later.insert(k.clone());
        }
    }
    drop(seen_keys);
    let ref_seqs: Vec<i64> = reqs
        .iter()
        .filter_map(|r| r.refers_to.as_ref())
        .filter_map(|k| by_key.get(k).map(|e| e.seq))
        .collect();
    let resolved_by: FxHashMap<i64, i64> = tx
        .referring_entries(centre_code, &ref_seqs)?
        .into_iter()
        .collect();

    // Every account the batch may touch, with control accounts, each once, in order.
    let mut unique: FxHashMap<&str, &AccountNo> = FxHashMap::default();
    for r in &reqs {
        let referenced = r
            .refers_to
            .as_ref()
            .and_then(|k| by_key.get(k))
            .map(|e| e.entry.legs.as_slice())
            .unwrap_or(&[]);
        for leg in r.legs.iter().chain(referenced) {
            unique.entry(leg.account.as_str()).or_insert(&leg.account);
        }
    }
    let mut nos: Vec<AccountNo> = Vec::with_capacity(unique.len() + 8);
    let mut parents: FxHashSet<&'static str> = FxHashSet::default();
    for no in unique.values() {
        if let Some(p) = no.parent_code() {
            parents.insert(p);
        }
        nos.push((*no).clone());
    }
    drop(unique);
    for p in parents {
        nos.push(AccountNo::control(p).map_err(|e| AppError::Invalid {
            field: "account_no",
            value: p.to_owned(),
            rule: e.to_string(),
        })?);
    }
    nos.sort_unstable();
    nos.dedup();
    tracing::trace!(accounts = nos.len(), "post: accounts listed");
    let loaded = tx.load_accounts(centre_code, &nos)?;
    tracing::trace!("post: accounts loaded");

    let engine = |loaded: Vec<AccountState>| Engine {
        centre: centre_code,
        business_date,
        recorded_at,
        head,
        by_key,
        resolved_by,
        needed_later,
        accounts: loaded.into_iter().map(|a| (a.no.clone(), a)).collect(),
        touched: FxHashSet::default(),
    };
    let mut slots: Vec<Slot> = Vec::with_capacity(reqs.len());
    let mut new_entries: Vec<SealedEntry> = Vec::new();
    let total_legs: usize = reqs.iter().map(|r| r.legs.len()).sum();
    let (head, mut changed) = if reqs.len() < PIPELINE_MIN_ENTRIES && total_legs < PIPELINE_MIN_LEGS
    {
        let mut engine = engine(loaded);
        for req in reqs {
            match engine.step(req)? {
                Step::Replay(e) => slots.push(Slot::Replay(Box::new(e))),
                Step::New(sealed) => {
                    slots.push(Slot::New);
                    new_entries.push(sealed);
                }
            }
        }
        // Every entry resolved and sealed before anything is written: an entry that
        // cannot be posted is the error reported, on this path and the pipeline's.
        meanwhile(tx)?;
        if !new_entries.is_empty() {
            tx.insert_entries(centre_code, &new_entries)?;
        }
        engine.changed(&nos)
    } else {
        // A big batch is a pipeline over the two cores: the engine (the accounts' map,
        // resolution, figures, SM3 sealing, and at the end the changed accounts in
        // order) runs on a worker thread while this thread writes — first `meanwhile`,
        // then the entries sealed so far. Only this thread touches the transaction.
        let nos = &nos;
        std::thread::scope(|scope| -> Result<_, AppError> {
            // Unbounded: the worker runs ahead while `meanwhile` writes, and every sealed
            // entry is kept until the end anyway.
            let (out, inbox) = std::sync::mpsc::channel::<Result<Step, AppError>>();
            let worker = scope.spawn(move || {
                let mut engine = engine(loaded);
                for req in reqs {
                    let step = engine.step(req);
                    let failed = step.is_err();
                    if out.send(step).is_err() || failed {
                        return None;
                    }
                }
                Some(engine.changed(nos))
            });
            let mut pending: Vec<SealedEntry> = Vec::with_capacity(PIPELINE_CHUNK);
            let mut pending_legs = 0usize;
            let mut outcome: Result<(), AppError> = meanwhile(tx);
            if outcome.is_err() {
                // An entry that cannot be posted is the error reported, as on the small
                // path (which resolves every entry before writing).
                if let Some(Err(e)) = inbox.iter().find(Result::is_err) {
                    outcome = Err(e);
                }
            }
            let steps = if outcome.is_ok() { Some(&inbox) } else { None };
            for step in steps.into_iter().flatten() {
                match step {
                    Err(e) => {
                        outcome = Err(e);
                        break;
                    }
                    Ok(Step::Replay(e)) => slots.push(Slot::Replay(Box::new(e))),
                    Ok(Step::New(sealed)) => {
                        slots.push(Slot::New);
                        pending_legs += sealed.entry.legs.len();
                        pending.push(sealed);
                        if pending.len() >= PIPELINE_CHUNK || pending_legs >= PIPELINE_CHUNK_LEGS {
                            if let Err(e) = tx.insert_entries(centre_code, &pending) {
                                outcome = Err(e.into());
                                break;
                            }
                            new_entries.append(&mut pending);
                            pending_legs = 0;
                        }
                    }
                }
            }
            // Dropping the inbox stops a worker that is still sending after a failure.
            drop(inbox);
            let finished = worker.join().map_err(|_| AppError::Invalid {
                field: "batch",
                value: String::new(),
                rule: "the posting worker panicked".to_owned(),
            })?;
            outcome?;
            if !pending.is_empty() {
                tx.insert_entries(centre_code, &pending)?;
                new_entries.append(&mut pending);
            }
            // Every step succeeded and was received, so the worker finished.
            finished.ok_or_else(|| AppError::Invalid {
                field: "batch",
                value: String::new(),
                rule: "the posting worker stopped early".to_owned(),
            })
        })?
    };

    tracing::trace!("post: entries written");
    if !new_entries.is_empty() {
        for a in &mut changed {
            finish(a)?;
        }
        tx.save_accounts_owned(centre_code, changed)?;
        tx.set_chain_head(centre_code, head)?;
    }
    // New entries come back in the order their slots were made.
    let mut fresh = new_entries.into_iter();
    slots
        .into_iter()
        .map(|s| match s {
            Slot::Replay(entry) => Ok(Posted {
                entry: *entry,
                replayed: true,
            }),
            Slot::New => fresh
                .next()
                .map(|entry| Posted {
                    entry,
                    replayed: false,
                })
                .ok_or_else(|| AppError::NotFound {
                    what: "posted entry".to_owned(),
                }),
        })
        .collect()
}

/// Entries read per page while auditing.
const AUDIT_PAGE: usize = 20_000;

/// Re-verifies the centre's hash chain and every ledger invariant (see
/// `anju_domain::ledger::audit`). A row that does not even decode is reported as a
/// problem (tampering or corruption), not as an error.
pub fn audit(store: &dyn Store, centre_code: &str) -> Result<AuditReport, AppError> {
    audit_anchored(store, centre_code, &[])
}

/// [`audit`] that also checks chain heads recorded outside the database (see
/// `Auditor::with_anchors`).
pub fn audit_anchored(
    store: &dyn Store,
    centre_code: &str,
    anchors: &[ChainHead],
) -> Result<AuditReport, AppError> {
    // One snapshot: postings may go on while the audit reads.
    let mut tx = store.begin_read()?;
    let c = centre(tx.as_mut(), centre_code)?;
    let accounts = match tx.all_accounts(centre_code) {
        Ok(a) => a,
        Err(StoreError::Corrupt { what }) => return Ok(corrupt_report(centre_code, what)),
        Err(e) => return Err(e.into()),
    };
    // The loans' recorded principal outstanding, against their ledger accounts.
    let loan_problems = match tx.loans_with_status(centre_code, &anju_store::loan::STATUSES) {
        Ok(loans) => loan_mismatches(&loans, &accounts),
        Err(StoreError::Corrupt { what }) => return Ok(corrupt_report(centre_code, what)),
        Err(e) => return Err(e.into()),
    };
    let mut auditor = Auditor::new(centre_code, accounts).with_anchors(anchors);
    let mut after = 0;
    loop {
        let page = match tx.scan_entries(centre_code, after, AUDIT_PAGE) {
            Ok(p) => p,
            Err(StoreError::Corrupt { what }) => return Ok(corrupt_report(centre_code, what)),
            Err(e) => return Err(e.into()),
        };
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in &page {
            auditor.feed(e);
        }
    }
    let mut report = auditor.finish(c.head);
    report.problem_count += loan_problems.len();
    report.problems.extend(loan_problems);
    Ok(report)
}

/// Every lent loan's principal outstanding (the loans table) must be the balance of its
/// ledger account `121.<loan>`; a loan not yet lent has no balance there.
fn loan_mismatches(loans: &[anju_store::loan::LoanRow], accounts: &[AccountState]) -> Vec<String> {
    let balances: FxHashMap<&str, i64> = accounts
        .iter()
        .map(|a| (a.no.as_str(), a.balance.fen()))
        .collect();
    let mut out = Vec::new();
    for l in loans {
        let key = format!("121.{}", l.loan_no);
        let balance = balances.get(key.as_str()).copied().unwrap_or(0);
        let lent = matches!(l.status.as_str(), "active" | "paid_off");
        let expected = if lent { l.outstanding } else { 0 };
        if balance != expected {
            out.push(format!(
                "loan {} ({}): principal outstanding {} but ledger account {key} holds {}",
                l.loan_no,
                l.status,
                Fen::new(expected),
                Fen::new(balance)
            ));
        }
    }
    out
}

fn corrupt_report(centre: &str, what: String) -> AuditReport {
    AuditReport {
        centre: centre.to_owned(),
        entries: 0,
        legs: 0,
        accounts: 0,
        problems: vec![format!("stored data is corrupt: {what}")],
        problem_count: 1,
        head: ChainHead {
            seq: 0,
            hash: genesis_hash(centre),
        },
    }
}
