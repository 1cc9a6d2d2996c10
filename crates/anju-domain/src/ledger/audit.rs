//! The ledger audit (稽核): re-verifies the hash chain entry by entry and re-derives
//! every account's running figures from the journal, then checks the invariants:
//!
//! 1. the chain is unbroken: consecutive sequence numbers, each entry's hashes
//!    recompute, each links to the previous one, and the centre's head is the last entry;
//! 2. every entry balances and every post/void/reversal matches the entry it refers to;
//! 3. every account's cached figures (balance, pending, 积数, last change, leg count)
//!    equal the figures re-derived from the journal;
//! 4. every control account equals the sum of its sub-ledger (总分核对), e.g. the fund
//!    liability `201` = Σ member accounts and the loan asset `121` = Σ loan accounts;
//! 5. the trial balance is zero (Σ debit balances = Σ credit balances);
//! 6. no never-negative account (member, loan, suspense) is below zero.
//!
//! The auditor streams: feed it entries in sequence order; memory is per account plus a
//! small digest per entry.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use jiff::civil::Date;

use super::chart::{AccountNo, Side};
use super::entry::{EntryKind, Leg, SealedEntry, genesis_hash, validate_legs};
use super::figures::{AccountState, days_between};
use super::posting::ChainHead;

/// The member-account code whose interest periods year-end settlements roll.
const MEMBER_CODE: &str = "201";

/// Most problems kept in a report (the count is always exact).
pub const MAX_REPORTED: usize = 50;

#[derive(Debug, Default, Clone)]
struct Recomputed {
    balance: i128,
    pending_out: i128,
    pending_in: i128,
    accrual: i128,
    max_value_date: Option<Date>,
    count: i64,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    kind: EntryKind,
    code: super::entry::TxCode,
    value_date: Date,
    legs_digest: u64,
    resolved: bool,
}

/// The result of an audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// Centre audited.
    pub centre: String,
    /// Entries verified.
    pub entries: i64,
    /// Legs verified.
    pub legs: i64,
    /// Accounts checked.
    pub accounts: usize,
    /// The first problems found, in the order found.
    pub problems: Vec<String>,
    /// How many problems in all.
    pub problem_count: usize,
    /// The chain head the journal ends at (record it outside the database: an anchor).
    pub head: ChainHead,
}

impl AuditReport {
    /// True when every invariant holds.
    pub fn is_clean(&self) -> bool {
        self.problem_count == 0
    }
}

/// Streams the journal and checks it against the stored accounts.
#[derive(Debug)]
pub struct Auditor {
    centre: String,
    stored: HashMap<AccountNo, AccountState>,
    recomputed: HashMap<AccountNo, Recomputed>,
    seen: HashMap<i64, Seen>,
    prev: ChainHead,
    legs: i64,
    problems: Vec<String>,
    problem_count: usize,
    anchors: HashMap<i64, super::entry::Digest32>,
    /// First days of the interest periods opened by year-end settlements (the day after
    /// each 年终结息 entry's value date).
    rolls: Vec<Date>,
    /// Member accounts whose period a closing-interest entry (销户结息) restarted, with
    /// the latest such entry's value date: the interest to that day was paid.
    closing_rolls: HashMap<AccountNo, Date>,
}

fn legs_digest(legs: &[Leg], swapped: bool) -> u64 {
    let mut h = DefaultHasher::new();
    for l in legs {
        l.account.hash(&mut h);
        let side = if swapped { l.side.opposite() } else { l.side };
        side.hash(&mut h);
        l.amount.hash(&mut h);
    }
    h.finish()
}

impl Auditor {
    /// Starts an audit of `centre` whose stored accounts are `accounts`.
    pub fn new(centre: &str, accounts: Vec<AccountState>) -> Auditor {
        let stored: HashMap<_, _> = accounts.into_iter().map(|a| (a.no.clone(), a)).collect();
        Auditor {
            centre: centre.to_owned(),
            recomputed: HashMap::with_capacity(stored.len()),
            stored,
            seen: HashMap::new(),
            prev: ChainHead {
                seq: 0,
                hash: genesis_hash(centre),
            },
            legs: 0,
            problems: Vec::new(),
            problem_count: 0,
            anchors: HashMap::new(),
            rolls: Vec::new(),
            closing_rolls: HashMap::new(),
        }
    }

    /// Adds anchors: chain heads recorded outside the database (a printed audit report,
    /// a register kept by the auditor, a message to the provincial platform). The hash
    /// chain alone shows that entries were changed unless *every* later hash and the
    /// stored head were recomputed too; an anchor shows that as well, because the entry
    /// at that position must still have the recorded hash.
    pub fn with_anchors(mut self, anchors: &[ChainHead]) -> Auditor {
        for a in anchors {
            self.anchors.insert(a.seq, a.hash);
        }
        self
    }

    fn problem(&mut self, text: String) {
        self.problem_count += 1;
        if self.problems.len() < MAX_REPORTED {
            self.problems.push(text);
        }
    }

    /// Checks one entry; entries must come in sequence order.
    pub fn feed(&mut self, s: &SealedEntry) {
        if s.seq != self.prev.seq + 1 {
            self.problem(format!(
                "journal entry {}: expected sequence number {} (an entry is missing or out of order)",
                s.seq,
                self.prev.seq + 1
            ));
        }
        if s.centre != self.centre {
            self.problem(format!(
                "journal entry {}: belongs to centre {}",
                s.seq, s.centre
            ));
        }
        if s.prev_hash != self.prev.hash {
            self.problem(format!(
                "journal entry {}: previous hash {} does not match entry {}'s hash {}",
                s.seq, s.prev_hash, self.prev.seq, self.prev.hash
            ));
        }
        if let Err(e) = s.verify() {
            self.problem(e.to_string());
        }
        self.prev = ChainHead {
            seq: s.seq,
            hash: s.hash,
        };
        if let Some(want) = self.anchors.remove(&s.seq)
            && want != s.hash
        {
            self.problem(format!(
                "journal entry {}: hash {} differs from the anchor recorded outside the database ({want}); the chain was rewritten",
                s.seq, s.hash
            ));
        }
        let e = &s.entry;
        if let Err(err) = validate_legs(&e.legs) {
            self.problem(format!("journal entry {}: {err}", s.seq));
        }
        // References.
        if e.kind.needs_reference() {
            match e
                .ref_seq
                .and_then(|r| self.seen.get(&r).copied().map(|x| (r, x)))
            {
                None => self.problem(format!(
                    "journal entry {}: refers to entry {:?}, which is not earlier in the chain",
                    s.seq, e.ref_seq
                )),
                Some((r, target)) => {
                    let want_kind_ok = match e.kind {
                        EntryKind::PostPending | EntryKind::VoidPending => {
                            target.kind == EntryKind::Pending
                        }
                        _ => matches!(target.kind, EntryKind::Posted | EntryKind::PostPending),
                    };
                    let swapped = e.kind == EntryKind::Reversal;
                    if !want_kind_ok || target.resolved {
                        self.problem(format!(
                            "journal entry {}: {} of entry {r}, which is {} or already resolved",
                            s.seq,
                            e.kind.code(),
                            target.kind.code()
                        ));
                    } else if legs_digest(&e.legs, swapped) != target.legs_digest {
                        self.problem(format!(
                            "journal entry {}: legs do not match referenced entry {r}",
                            s.seq
                        ));
                    } else if e.kind == EntryKind::Reversal && e.value_date != target.value_date {
                        self.problem(format!(
                            "journal entry {}: a reversal must keep the value date {} of entry {r}, not {}",
                            s.seq, target.value_date, e.value_date
                        ));
                    } else if e.kind != EntryKind::Reversal && e.code != target.code {
                        self.problem(format!(
                            "journal entry {}: {} of entry {r} must carry its code {}, not {}",
                            s.seq,
                            e.kind.code(),
                            target.code.code(),
                            e.code.code()
                        ));
                    }
                    if let Some(t) = self.seen.get_mut(&r) {
                        t.resolved = true;
                    }
                }
            }
        } else if e.ref_seq.is_some() {
            self.problem(format!(
                "journal entry {}: a {} entry must not refer to another",
                s.seq,
                e.kind.code()
            ));
        }
        if e.value_date > e.business_date {
            self.problem(format!(
                "journal entry {}: value date {} is after its business date {}",
                s.seq, e.value_date, e.business_date
            ));
        }
        if e.kind == EntryKind::Posted
            && e.code == super::entry::TxCode::InterestSettlement
            && let Ok(start) = e.value_date.tomorrow()
            && !self.rolls.contains(&start)
        {
            self.rolls.push(start);
        }
        if e.kind == EntryKind::Posted && e.code == super::entry::TxCode::ClosingInterest {
            for leg in &e.legs {
                if leg.account.code() == MEMBER_CODE
                    && !leg.account.is_control()
                    && leg.side == Side::Credit
                {
                    let day = self
                        .closing_rolls
                        .entry(leg.account.clone())
                        .or_insert(e.value_date);
                    *day = (*day).max(e.value_date);
                }
            }
        }
        self.seen.insert(
            s.seq,
            Seen {
                kind: e.kind,
                code: e.code,
                value_date: e.value_date,
                legs_digest: legs_digest(&e.legs, false),
                resolved: false,
            },
        );
        // Figures.
        for leg in &e.legs {
            self.legs += 1;
            let delta = i128::from(leg.signed_delta());
            // A member account's period may start later than its control account's (a
            // closing-interest entry restarted it): the control counts the leg from the
            // member's period start too, as the member's own 积数 does.
            let leaf_from = self
                .stored
                .get(&leg.account)
                .filter(|st| st.no.code() == MEMBER_CODE)
                .map(|st| st.accrual_from);
            let mut targets = vec![leg.account.clone()];
            if let Some(p) = leg.account.parent() {
                targets.push(p);
            }
            for no in targets {
                let Some(st) = self.stored.get(&no) else {
                    self.problem(format!(
                        "journal entry {}: account {no} is not in the account table",
                        s.seq
                    ));
                    continue;
                };
                let (from, last, opened) = (st.accrual_from, st.last_change, st.opened_on);
                let from = leaf_from.map_or(from, |f| f.max(from));
                if e.value_date < opened
                    && matches!(
                        e.kind,
                        EntryKind::Posted | EntryKind::PostPending | EntryKind::Reversal
                    )
                {
                    self.problem(format!(
                        "journal entry {}: value date {} is before account {no} was opened ({opened})",
                        s.seq, e.value_date
                    ));
                }
                let r = self.recomputed.entry(no).or_default();
                r.count += 1;
                let post = |r: &mut Recomputed| {
                    r.balance += delta;
                    let start = e.value_date.max(from);
                    r.accrual += delta * i128::from(days_between(start, last).unwrap_or(0));
                    r.max_value_date = Some(
                        r.max_value_date
                            .map_or(e.value_date, |m| m.max(e.value_date)),
                    );
                };
                let pend = |r: &mut Recomputed, sign: i128| {
                    if delta < 0 {
                        r.pending_out += -delta * sign;
                    } else {
                        r.pending_in += delta * sign;
                    }
                };
                match e.kind {
                    EntryKind::Posted | EntryKind::Reversal => post(r),
                    EntryKind::Pending => pend(r, 1),
                    EntryKind::VoidPending => pend(r, -1),
                    EntryKind::PostPending => {
                        pend(r, -1);
                        post(r);
                    }
                }
            }
        }
    }

    /// Finishes the audit against the centre's stored chain head.
    pub fn finish(mut self, head: ChainHead) -> AuditReport {
        if head != self.prev {
            self.problem(format!(
                "chain head: the centre records entry {} ({}) as the last, but the journal ends at entry {} ({})",
                head.seq, head.hash, self.prev.seq, self.prev.hash
            ));
        }
        let missing: Vec<i64> = self.anchors.keys().copied().collect();
        for seq in missing {
            self.problem(format!(
                "anchor at entry {seq}: the journal has no such entry (it ends at {})",
                self.prev.seq
            ));
        }
        let stored = std::mem::take(&mut self.stored);
        let mut nos: Vec<AccountNo> = stored.keys().cloned().collect();
        nos.sort();
        let mut debit_total: i128 = 0;
        let mut credit_total: i128 = 0;
        let mut children: HashMap<AccountNo, (i128, i128, i128)> = HashMap::new();
        // 积数 of every account carried to one common day, so a control account's can be
        // compared with the sum of its sub-ledger's (each has its own last change date).
        let common_day = stored.values().map(|a| a.last_change).max();
        let accrual_at = |a: &AccountState| -> i128 {
            let days = common_day
                .map(|d| i128::from(days_between(a.last_change, d).unwrap_or(0)))
                .unwrap_or(0);
            i128::from(a.accrual) + i128::from(a.balance.fen()) * days
        };
        let mut child_accruals: HashMap<AccountNo, i128> = HashMap::new();
        for no in &nos {
            let st = &stored[no];
            let r = self.recomputed.get(no).cloned().unwrap_or_default();
            let expect_last = r
                .max_value_date
                .map_or(st.accrual_from, |m| m.max(st.accrual_from));
            let checks: [(&str, i128, i128); 5] = [
                ("balance", i128::from(st.balance.fen()), r.balance),
                (
                    "pending_out",
                    i128::from(st.pending_out.fen()),
                    r.pending_out,
                ),
                ("pending_in", i128::from(st.pending_in.fen()), r.pending_in),
                ("accrual (积数)", i128::from(st.accrual), r.accrual),
                (
                    "entry_count",
                    i128::from(st.entry_count),
                    i128::from(r.count),
                ),
            ];
            for (what, stored, derived) in checks {
                if stored != derived {
                    self.problem(format!(
                        "account {no}: stored {what} is {stored} but the journal gives {derived}"
                    ));
                }
            }
            if st.last_change != expect_last {
                self.problem(format!(
                    "account {no}: stored last_change is {} but the journal gives {expect_last}",
                    st.last_change
                ));
            }
            // An interest period starts on the opening date, or — for member accounts
            // (201) — on the day after the latest year-end settlement (年终结息 entry)
            // since the opening: a start the journal does not explain would silently drop
            // days of 积数.
            // A closing-interest entry (销户结息) restarts that member account's period on
            // its value date: the interest to the day before was paid.
            let expect_from = if no.code() == MEMBER_CODE {
                let year_end = self
                    .rolls
                    .iter()
                    .copied()
                    .filter(|f| *f > st.opened_on)
                    .max()
                    .unwrap_or(st.opened_on);
                self.closing_rolls
                    .get(no)
                    .map_or(year_end, |d| year_end.max(*d))
            } else {
                st.opened_on
            };
            if st.accrual_from != expect_from {
                self.problem(format!(
                    "account {no}: interest period starts {} but the journal gives {expect_from} (opened {})",
                    st.accrual_from, st.opened_on
                ));
            }
            if st.non_negative && st.balance.fen() - st.pending_out.fen() < 0 {
                self.problem(format!(
                    "account {no}: available balance {} is negative",
                    st.balance.fen() - st.pending_out.fen()
                ));
            }
            if st.normal != no.chart().normal || st.non_negative != no.chart().non_negative {
                self.problem(format!(
                    "account {no}: side or sign rule differs from the chart"
                ));
            }
            if let Some(parent) = no.parent() {
                *child_accruals.entry(parent.clone()).or_default() += accrual_at(st);
                let c = children.entry(parent).or_default();
                c.0 += i128::from(st.balance.fen());
                c.1 += i128::from(st.pending_out.fen());
                c.2 += i128::from(st.pending_in.fen());
            }
            if !no.is_control() {
                let bal = i128::from(st.balance.fen());
                match st.normal {
                    Side::Debit => debit_total += bal,
                    Side::Credit => credit_total += bal,
                }
            }
        }
        for no in &nos {
            if !no.is_control() {
                continue;
            }
            let st = &stored[no];
            let (b, po, pi) = children.get(no).copied().unwrap_or_default();
            if i128::from(st.balance.fen()) != b
                || i128::from(st.pending_out.fen()) != po
                || i128::from(st.pending_in.fen()) != pi
            {
                self.problem(format!(
                    "control account {no} ({}): balance {} but its sub-ledger sums to {b} (pending out {} vs {po}, in {} vs {pi})",
                    no.chart().name_zh,
                    st.balance.fen(),
                    st.pending_out.fen(),
                    st.pending_in.fen()
                ));
            }
            let sub = child_accruals.get(no).copied().unwrap_or_default();
            if accrual_at(st) != sub {
                self.problem(format!(
                    "control account {no} ({}): 积数 {} but its sub-ledger sums to {sub} (carried to {})",
                    no.chart().name_zh,
                    accrual_at(st),
                    common_day.map_or_else(String::new, |d| d.to_string())
                ));
            }
        }
        if debit_total != credit_total {
            self.problem(format!(
                "trial balance: debit balances {debit_total} ≠ credit balances {credit_total} (fen)"
            ));
        }
        AuditReport {
            head: self.prev,
            centre: self.centre,
            entries: self.prev.seq,
            legs: self.legs,
            accounts: nos.len(),
            problems: self.problems,
            problem_count: self.problem_count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::entry::{EntryRequest, TxCode};
    use crate::ledger::posting::{Referenced, post, resolve};
    use crate::money::Fen;
    use crate::stamp::Stamp;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }
    fn a(s: &str) -> AccountNo {
        AccountNo::parse_any(s).unwrap()
    }

    fn audit(
        head: ChainHead,
        m: &HashMap<AccountNo, AccountState>,
        es: &[SealedEntry],
    ) -> AuditReport {
        let mut au = Auditor::new("C", m.values().cloned().collect());
        for e in es {
            au.feed(e);
        }
        au.finish(head)
    }

    #[test]
    fn audit_detects_tampering_and_drift() {
        let mut m = HashMap::new();
        for no in ["101", "101.ICBC", "201", "201.M1"] {
            m.insert(a(no), AccountState::open(a(no), d("2025-07-01")));
        }
        let mut head = ChainHead {
            seq: 0,
            hash: genesis_hash("C"),
        };
        let mut es = Vec::new();
        for (i, (amount, vd)) in [
            (1000, "2025-07-10"),
            (500, "2025-07-03"),
            (70, "2025-07-15"),
        ]
        .iter()
        .enumerate()
        {
            let r = EntryRequest::posted(
                format!("k{i}"),
                TxCode::Remittance,
                d("2025-07-20"),
                d(vd),
                vec![
                    Leg::debit(a("101.ICBC"), Fen::new(*amount)),
                    Leg::credit(a("201.M1"), Fen::new(*amount)),
                ],
                "",
                Stamp::system("t"),
            );
            es.push(post("C", &mut head, &mut m, resolve(&r, None).unwrap(), i as i64).unwrap());
        }
        let rev = EntryRequest::reversal("k1-rev", "k1", d("2025-07-21"), "", Stamp::system("t"));
        let e = resolve(
            &rev,
            Some(Referenced {
                entry: &es[1],
                resolved_by: None,
            }),
        )
        .unwrap();
        es.push(post("C", &mut head, &mut m, e, 9).unwrap());
        let clean = audit(head, &m, &es);
        assert!(clean.is_clean(), "{:?}", clean.problems);
        assert_eq!(clean.entries, 4);
        assert_eq!(m[&a("201.M1")].balance, Fen::new(1070));

        // An altered amount breaks the body hash.
        let mut t = es.clone();
        t[0].entry.legs[0].amount = Fen::new(1001);
        t[0].entry.legs[1].amount = Fen::new(1001);
        let r = audit(head, &m, &t);
        assert!(!r.is_clean());
        assert!(
            r.problems[0].contains("journal entry 1"),
            "{:?}",
            r.problems
        );

        // A dropped last entry: chain head mismatch and figures drift.
        let r = audit(head, &m, &es[..3]);
        assert!(
            r.problems.iter().any(|p| p.contains("chain head")),
            "{:?}",
            r.problems
        );

        // A cached balance that drifted from the journal.
        let mut m2 = m.clone();
        m2.get_mut(&a("201.M1")).unwrap().balance = Fen::new(1071);
        let r = audit(head, &m2, &es);
        assert!(
            r.problems
                .iter()
                .any(|p| p.contains("201.M1") && p.contains("balance")),
            "{:?}",
            r.problems
        );
        assert!(
            r.problems.iter().any(|p| p.contains("control account 201")),
            "{:?}",
            r.problems
        );

        // Drifted 积数.
        let mut m3 = m.clone();
        m3.get_mut(&a("201.M1")).unwrap().accrual += 1;
        let r = audit(head, &m3, &es);
        assert!(
            r.problems.iter().any(|p| p.contains("积数")),
            "{:?}",
            r.problems
        );
    }

    #[test]
    fn anchors_catch_a_rewritten_chain() {
        let mut m = HashMap::new();
        for no in ["101", "101.ICBC", "201", "201.M1"] {
            m.insert(a(no), AccountState::open(a(no), d("2025-07-01")));
        }
        let mut head = ChainHead {
            seq: 0,
            hash: genesis_hash("C"),
        };
        let mut es = Vec::new();
        for i in 0..3 {
            let r = EntryRequest::posted(
                format!("k{i}"),
                TxCode::Remittance,
                d("2025-07-20"),
                d("2025-07-20"),
                vec![
                    Leg::debit(a("101.ICBC"), Fen::new(100)),
                    Leg::credit(a("201.M1"), Fen::new(100)),
                ],
                "汇缴",
                Stamp::system("t"),
            );
            es.push(post("C", &mut head, &mut m, resolve(&r, None).unwrap(), 1).unwrap());
        }
        let anchor = ChainHead {
            seq: 2,
            hash: es[1].hash,
        };
        // Someone with database rights changes entry 1's memo and re-seals every entry
        // after it, and the stored head: the chain alone still verifies…
        let mut forged = Vec::new();
        let mut prev = genesis_hash("C");
        for (i, e) in es.iter().enumerate() {
            let mut body = e.entry.clone();
            if i == 0 {
                body.memo = "改".into();
            }
            let s = SealedEntry::seal("C", e.seq, prev, e.recorded_at_us, body);
            prev = s.hash;
            forged.push(s);
        }
        let forged_head = ChainHead { seq: 3, hash: prev };
        assert!(audit(forged_head, &m, &forged).is_clean());
        // …but not against the head recorded outside the database.
        let mut au = Auditor::new("C", m.values().cloned().collect()).with_anchors(&[anchor]);
        for e in &forged {
            au.feed(e);
        }
        let r = au.finish(forged_head);
        assert!(
            r.problems.iter().any(|p| p.contains("anchor")),
            "{:?}",
            r.problems
        );
        // An anchor beyond the journal's end is reported too.
        let mut au = Auditor::new("C", m.values().cloned().collect()).with_anchors(&[ChainHead {
            seq: 9,
            hash: anchor.hash,
        }]);
        for e in &es {
            au.feed(e);
        }
        assert!(!au.finish(head).is_clean());
    }
}
