//! Property test: random sequences of remittances, withdrawals (two-phase, posted or
//! voided), reversals, replays and business-date moves keep every ledger invariant on
//! every backend, and member balances match a simple independent model. Refused
//! operations leave the database unchanged.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::collections::HashMap;

use anju_app::ledger::{audit, open_accounts, open_centre, post_one, set_business_date};
use anju_domain::ledger::{AccountNo, EntryRequest, Leg, TxCode};
use anju_domain::money::Fen;
use anju_domain::stamp::Stamp;
use anju_store::Store;
use anju_testkit::TestDb;
use proptest::prelude::*;

const C: &str = "330800000000000";
const MEMBERS: usize = 4;

#[derive(Debug, Clone)]
enum Op {
    Remit {
        member: usize,
        fen: i64,
    },
    Withdraw {
        member: usize,
        fen: i64,
        confirm: bool,
    },
    Reverse {
        nth: usize,
    },
    Replay {
        nth: usize,
    },
    NextDay,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..MEMBERS, 1i64..1_000_000).prop_map(|(member, fen)| Op::Remit { member, fen }),
        3 => (0..MEMBERS, 1i64..800_000, any::<bool>())
            .prop_map(|(member, fen, confirm)| Op::Withdraw { member, fen, confirm }),
        1 => (0usize..50).prop_map(|nth| Op::Reverse { nth }),
        1 => (0usize..50).prop_map(|nth| Op::Replay { nth }),
        1 => Just(Op::NextDay),
    ]
}

fn a(s: &str) -> AccountNo {
    AccountNo::parse_any(s).unwrap()
}
fn m(i: usize) -> AccountNo {
    a(&format!("201.M{i}"))
}

fn snapshot(store: &dyn Store) -> (i64, Vec<(String, i64, i64)>) {
    let mut tx = store.begin().unwrap();
    let entries = tx.counts(C).unwrap().entries;
    let accs = tx
        .all_accounts(C)
        .unwrap()
        .into_iter()
        .map(|x| (x.no.to_string(), x.balance.fen(), x.accrual))
        .collect();
    (entries, accs)
}

fn run(db: &TestDb, ops: &[Op]) {
    let s = db.store.as_ref();
    let now = "2026-01-05T02:00:00Z".parse().unwrap();
    let mut day: jiff::civil::Date = "2026-01-05".parse().unwrap();
    open_centre(s, C, "衢州市住房公积金管理中心", day, now).unwrap();
    let mut nos = vec![a("101.ICBC")];
    nos.extend((0..MEMBERS).map(m));
    open_accounts(s, C, &nos, day).unwrap();
    let mut model: HashMap<usize, i64> = HashMap::new();
    // Posted remittances: (key, member, amount), and the requests sent, for replays.
    let mut remits: Vec<(String, usize, i64)> = Vec::new();
    let mut sent: Vec<EntryRequest> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let before = snapshot(s);
        let outcome = match op {
            Op::Remit { member, fen } => {
                let key = format!("r{i}");
                let req = EntryRequest::posted(
                    key.clone(),
                    TxCode::Remittance,
                    day,
                    day,
                    vec![
                        Leg::debit(a("101.ICBC"), Fen::new(*fen)),
                        Leg::credit(m(*member), Fen::new(*fen)),
                    ],
                    "",
                    Stamp::system("prop"),
                );
                sent.push(req.clone());
                let r = post_one(s, C, req, now);
                if r.is_ok() {
                    *model.entry(*member).or_default() += fen;
                    remits.push((key, *member, *fen));
                }
                r.map(|_| ())
            }
            Op::Withdraw {
                member,
                fen,
                confirm,
            } => {
                let key = format!("w{i}");
                let req = EntryRequest::pending(
                    key.clone(),
                    TxCode::Withdrawal,
                    day,
                    vec![
                        Leg::debit(m(*member), Fen::new(*fen)),
                        Leg::credit(a("101.ICBC"), Fen::new(*fen)),
                    ],
                    "",
                    Stamp::system("prop"),
                );
                let have = model.get(member).copied().unwrap_or(0);
                match post_one(s, C, req, now) {
                    Err(e) => {
                        assert!(
                            *fen > have,
                            "withdrawal of {fen} with {have} available refused: {e}"
                        );
                        Err(e)
                    }
                    Ok(_) => {
                        assert!(
                            *fen <= have,
                            "withdrawal of {fen} with only {have} accepted"
                        );
                        let res = EntryRequest::resolve_pending(
                            format!("{key}-done"),
                            key,
                            *confirm,
                            day,
                            day,
                            "",
                            Stamp::system("bank"),
                        );
                        post_one(s, C, res, now).unwrap();
                        if *confirm {
                            *model.entry(*member).or_default() -= fen;
                        }
                        Ok(())
                    }
                }
            }
            Op::Reverse { nth } => {
                if remits.is_empty() {
                    continue;
                }
                let (key, member, fen) = remits.remove(nth % remits.len());
                let req = EntryRequest::reversal(
                    format!("{key}-rev"),
                    key,
                    day,
                    "",
                    Stamp::system("prop"),
                );
                let have = model.get(&member).copied().unwrap_or(0);
                let r = post_one(s, C, req, now);
                match &r {
                    Ok(_) => {
                        assert!(fen <= have);
                        *model.entry(member).or_default() -= fen;
                    }
                    Err(e) => assert!(fen > have, "reversal refused although covered: {e}"),
                }
                r.map(|_| ())
            }
            Op::Replay { nth } => {
                if sent.is_empty() {
                    continue;
                }
                let req = sent[nth % sent.len()].clone();
                if req.business_date != day {
                    continue;
                }
                let r = post_one(s, C, req, now);
                if let Ok(p) = &r {
                    assert!(p.replayed, "a replayed key posted again");
                }
                r.map(|_| ())
            }
            Op::NextDay => {
                day = day.tomorrow().unwrap();
                set_business_date(s, C, day).unwrap();
                Ok(())
            }
        };
        if outcome.is_err() {
            assert_eq!(
                snapshot(s),
                before,
                "a refused operation changed the database"
            );
        }
    }
    let report = audit(s, C).unwrap();
    assert!(report.is_clean(), "{}: {:?}", db.backend, report.problems);
    let mut tx = s.begin().unwrap();
    for i in 0..MEMBERS {
        let acc = tx.load_accounts(C, &[m(i)]).unwrap().pop().unwrap();
        assert_eq!(
            acc.balance.fen(),
            model.get(&i).copied().unwrap_or(0),
            "member {i}"
        );
        assert!(!acc.balance.is_negative());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn random_postings_keep_every_invariant(ops in proptest::collection::vec(op(), 1..40)) {
        for b in anju_testkit::backends() {
            let db = TestDb::fresh(b);
            run(&db, &ops);
        }
    }
}
