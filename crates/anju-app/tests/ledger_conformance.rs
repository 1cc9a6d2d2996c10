//! The ledger conformance story, run on every backend in `ANJU_TEST_BACKENDS`, each on a
//! fresh database: posting, idempotency, two-phase money, reversal, refusals that write
//! nothing, and a clean audit at the end.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use anju_app::AppError;
use anju_app::ledger::{
    audit, open_accounts, open_centre, post_batch, post_in_meanwhile, post_one, set_business_date,
};
use anju_domain::codes::Channel;
use anju_domain::ledger::{AccountNo, EntryKind, EntryRequest, LedgerError, Leg, TxCode};
use anju_domain::money::Fen;
use anju_domain::stamp::Stamp;
use anju_store::Store;
use anju_testkit::for_each_backend;
use jiff::Timestamp;
use jiff::civil::Date;

const C: &str = "330800000000000";

fn d(s: &str) -> Date {
    s.parse().unwrap()
}
fn a(s: &str) -> AccountNo {
    AccountNo::parse_any(s).unwrap()
}
fn now() -> Timestamp {
    "2026-01-05T02:00:00Z".parse().unwrap()
}
fn clerk() -> Stamp {
    Stamp {
        operator: "staff:S0001".into(),
        channel: Channel::Counter,
        service_point: "hall-kecheng".into(),
        on_behalf_of: Some("unit:U0001".into()),
    }
}

fn balance(store: &dyn Store, no: &str) -> (i64, i64, i64) {
    let mut tx = store.begin().unwrap();
    let acc = tx.load_accounts(C, &[a(no)]).unwrap().pop().unwrap();
    (acc.balance.fen(), acc.pending_out.fen(), acc.accrual)
}

fn entries(store: &dyn Store) -> i64 {
    store.begin().unwrap().counts(C).unwrap().entries
}

fn setup(store: &dyn Store) {
    open_centre(store, C, "衢州市住房公积金管理中心", d("2026-01-05"), now()).unwrap();
    open_accounts(
        store,
        C,
        &[a("101.ICBC"), a("201.M1"), a("201.M2"), a("213.U0001")],
        d("2026-01-05"),
    )
    .unwrap();
}

fn remit(key: &str, m1: i64, m2: i64) -> EntryRequest {
    EntryRequest::posted(
        key,
        TxCode::Remittance,
        d("2026-01-05"),
        d("2026-01-05"),
        vec![
            Leg::debit(a("101.ICBC"), Fen::new(m1 + m2)),
            Leg::credit(a("201.M1"), Fen::new(m1)),
            Leg::credit(a("201.M2"), Fen::new(m2)),
        ],
        "2026-01 汇缴",
        clerk(),
    )
}

#[test]
fn posting_is_idempotent_and_refusals_write_nothing() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let first = post_one(s, C, remit("U0001-202601", 100_000, 50_000), now()).unwrap();
        assert!(!first.replayed);
        assert_eq!(first.entry.seq, 1);
        // Same key, same body: the first entry comes back and nothing is posted.
        let again = post_one(s, C, remit("U0001-202601", 100_000, 50_000), now()).unwrap();
        assert!(again.replayed);
        assert_eq!(again.entry, first.entry);
        assert_eq!(entries(s), 1);
        assert_eq!(balance(s, "201.M1").0, 100_000);
        // Same key, different body: an error naming the key.
        let err = post_one(s, C, remit("U0001-202601", 100_000, 50_001), now()).unwrap_err();
        assert_eq!(err.code(), "idempotency_conflict", "{err}");
        assert!(err.to_string().contains("U0001-202601"), "{err}");
        // Unbalanced, unknown account, control account, wrong business date: refused.
        let mut bad = remit("bad-1", 1, 1);
        bad.legs[0].amount = Fen::new(3);
        assert!(matches!(
            post_one(s, C, bad, now()),
            Err(AppError::Entry {
                source: LedgerError::Unbalanced { .. },
                ..
            })
        ));
        let mut bad = remit("bad-2", 1, 1);
        bad.legs[2].account = a("201.NOPE");
        let err = post_one(s, C, bad, now()).unwrap_err();
        assert_eq!(err.code(), "unknown_account");
        assert!(err.to_string().contains("201.NOPE"), "{err}");
        let mut bad = remit("bad-3", 1, 1);
        bad.business_date = d("2026-01-06");
        bad.value_date = d("2026-01-06");
        assert!(post_one(s, C, bad, now()).is_err());
        // A batch with one bad request writes nothing at all.
        let err = post_batch(
            s,
            C,
            vec![remit("ok-1", 1, 1), remit("ok-2", 1, 1), {
                let mut r = remit("bad-4", 1, 1);
                r.legs.pop();
                r
            }],
            now(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("bad-4"), "{err}");
        assert_eq!(entries(s), 1);
        assert_eq!(balance(s, "201.M1").0, 100_000);
        let report = audit(s, C).unwrap();
        assert!(report.is_clean(), "{:?}", report.problems);
        eprintln!("backend {} passed idempotency story", db.backend);
    });
}

#[test]
fn two_phase_withdrawal_and_reversal() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        post_one(s, C, remit("U0001-202601", 100_000, 50_000), now()).unwrap();
        let withdraw = |key: &str, fen: i64| {
            EntryRequest::pending(
                key,
                TxCode::Withdrawal,
                d("2026-01-05"),
                vec![
                    Leg::debit(a("201.M1"), Fen::new(fen)),
                    Leg::credit(a("101.ICBC"), Fen::new(fen)),
                ],
                "购房提取",
                clerk(),
            )
        };
        // Pending reserves: available falls, balance does not.
        post_one(s, C, withdraw("W1", 60_000), now()).unwrap();
        assert_eq!(balance(s, "201.M1").0, 100_000);
        assert_eq!(balance(s, "201.M1").1, 60_000);
        // A second withdrawal beyond what is available is refused.
        let err = post_one(s, C, withdraw("W2", 50_000), now()).unwrap_err();
        assert_eq!(err.code(), "insufficient_funds", "{err}");
        // The bank confirms a day later: the member's balance falls from that value date.
        set_business_date(s, C, d("2026-01-06")).unwrap();
        let confirm = EntryRequest::resolve_pending(
            "W1-ok",
            "W1",
            true,
            d("2026-01-06"),
            d("2026-01-06"),
            "银行已到账",
            Stamp::system("bank"),
        );
        let posted = post_one(s, C, confirm.clone(), now()).unwrap();
        assert_eq!(posted.entry.entry.kind, EntryKind::PostPending);
        assert_eq!(posted.entry.entry.code, TxCode::Withdrawal);
        let (bal, pend, accrual) = balance(s, "201.M1");
        assert_eq!((bal, pend), (40_000, 0));
        // 积数: 100,000 fen counted for 2026-01-05 only; from 01-06 the balance is 40,000.
        assert_eq!(accrual, 100_000);
        // The confirmation again (a duplicate bank notice) is a replay, not a second payment.
        assert!(post_one(s, C, confirm, now()).unwrap().replayed);
        // Voiding an already-posted payment is refused.
        let void = EntryRequest::resolve_pending(
            "W1-void",
            "W1",
            false,
            d("2026-01-06"),
            d("2026-01-06"),
            "",
            Stamp::system("bank"),
        );
        let err = post_one(s, C, void, now()).unwrap_err();
        assert!(err.to_string().contains("already"), "{err}");
        // A pending payment the bank rejects is voided: the reservation is released.
        post_one(
            s,
            C,
            withdraw("W3", 10_000).tap_date(d("2026-01-06")),
            now(),
        )
        .unwrap();
        let void = EntryRequest::resolve_pending(
            "W3-void",
            "W3",
            false,
            d("2026-01-06"),
            d("2026-01-06"),
            "银行拒绝",
            Stamp::system("bank"),
        );
        post_one(s, C, void, now()).unwrap();
        assert_eq!(balance(s, "201.M1"), (40_000, 0, 100_000));
        // Reverse M2's part? Reversal takes the whole entry: M1 has only 40,000 of the
        // 100,000 it received, so reversing the remittance is refused…
        let rev = EntryRequest::reversal("R1", "U0001-202601", d("2026-01-06"), "冲正", clerk());
        let err = post_one(s, C, rev, now()).unwrap_err();
        assert_eq!(err.code(), "insufficient_funds", "{err}");
        // …while a fresh remittance can be reversed, with 积数 corrected from its value date.
        post_one(
            s,
            C,
            EntryRequest::posted(
                "U0001-202602",
                TxCode::Remittance,
                d("2026-01-06"),
                d("2026-01-06"),
                vec![
                    Leg::debit(a("101.ICBC"), Fen::new(1_000)),
                    Leg::credit(a("201.M2"), Fen::new(1_000)),
                ],
                "",
                clerk(),
            ),
            now(),
        )
        .unwrap();
        set_business_date(s, C, d("2026-01-08")).unwrap();
        let rev = EntryRequest::reversal("R2", "U0001-202602", d("2026-01-08"), "冲正", clerk());
        let r = post_one(s, C, rev, now()).unwrap();
        assert_eq!(r.entry.entry.value_date, d("2026-01-06"));
        let (bal, _, accrual) = balance(s, "201.M2");
        assert_eq!(bal, 50_000);
        // With the 1,000 removed from its value date 01-06, M2's 积数 is as if it had
        // never arrived: 50,000 for 01-05 counted; from 01-06 on the balance is 50,000.
        assert_eq!(accrual, 50_000);
        let acc = s
            .begin()
            .unwrap()
            .load_accounts(C, &[a("201.M2")])
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(acc.last_change, d("2026-01-06"));
        assert_eq!(acc.accrual_through(d("2026-01-07")).unwrap(), 150_000);
        // The bank sends its confirmation of W1 once more, two days later: still a replay,
        // although the business date has moved on.
        let mut late = EntryRequest::resolve_pending(
            "W1-ok",
            "W1",
            true,
            d("2026-01-08"),
            d("2026-01-06"),
            "银行已到账",
            Stamp::system("bank"),
        );
        let again = post_one(s, C, late.clone(), now()).unwrap();
        assert!(again.replayed);
        assert_eq!(again.entry.entry.business_date, d("2026-01-06"));
        // …but the same key with another value date is still a conflict.
        late.value_date = d("2026-01-07");
        let err = post_one(s, C, late, now()).unwrap_err();
        assert_eq!(err.code(), "idempotency_conflict", "{err}");
        // Reversing twice is refused.
        let rev = EntryRequest::reversal("R3", "U0001-202602", d("2026-01-08"), "", clerk());
        assert!(post_one(s, C, rev, now()).is_err());
        let report = audit(s, C).unwrap();
        assert!(report.is_clean(), "{:?}", report.problems);
        assert_eq!(report.entries, entries(s));
    });
}

trait TapDate {
    fn tap_date(self, d: Date) -> Self;
}
impl TapDate for EntryRequest {
    fn tap_date(mut self, d: Date) -> Self {
        self.business_date = d;
        self.value_date = d;
        self
    }
}

#[test]
fn centre_and_accounts_are_validated() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        let err = open_centre(s, "3308", "x", d("2026-01-05"), now()).unwrap_err();
        assert!(err.to_string().contains("centre_code"), "{err}");
        setup(s);
        // Opening the same centre again returns it unchanged.
        let again = open_centre(s, C, "衢州市住房公积金管理中心", d("2030-01-01"), now()).unwrap();
        assert_eq!(again.business_date, d("2026-01-05"));
        // An account opened twice is a conflict.
        let err = open_accounts(s, C, &[a("201.M1")], d("2026-01-05")).unwrap_err();
        assert_eq!(err.code(), "conflict", "{err}");
        let err = open_accounts(s, C, &[a("201")], d("2026-01-05")).unwrap_err();
        assert!(err.to_string().contains("control"), "{err}");
        // Business date never moves back.
        assert!(set_business_date(s, C, d("2026-01-04")).is_err());
        // Unknown centre.
        let err = post_one(s, "330100000000000", remit("x", 1, 1), now()).unwrap_err();
        assert_eq!(err.code(), "not_found", "{err}");
    });
}

#[test]
fn two_processes_posting_to_one_database_never_see_stale_figures() {
    for_each_backend(|db| {
        let a_store = db.store.as_ref();
        setup(a_store);
        let b_store = db.open_another();
        let b_store = b_store.as_ref();
        let pay = |key: &str, fen: i64| {
            EntryRequest::posted(
                key,
                TxCode::Remittance,
                d("2026-01-05"),
                d("2026-01-05"),
                vec![
                    Leg::debit(a("101.ICBC"), Fen::new(fen)),
                    Leg::credit(a("201.M1"), Fen::new(fen)),
                ],
                "",
                clerk(),
            )
        };
        // A posts (and may cache M1), B posts to the same accounts, A posts again: A
        // must build on B's figures, not on what it cached.
        post_one(a_store, C, pay("A1", 100), now()).unwrap();
        post_one(b_store, C, pay("B1", 20), now()).unwrap();
        post_one(a_store, C, pay("A2", 3), now()).unwrap();
        post_one(b_store, C, pay("B2", 4_000), now()).unwrap();
        post_one(a_store, C, pay("A3", 50_000), now()).unwrap();
        assert_eq!(balance(a_store, "201.M1").0, 54_123);
        assert_eq!(balance(b_store, "201.M1").0, 54_123);
        let report = audit(b_store, C).unwrap();
        assert!(report.is_clean(), "{}: {:?}", db.backend, report.problems);
    });
}

#[test]
fn a_big_batch_is_pipelined_and_still_all_or_nothing() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        // 400 requests (the engine runs on a worker thread from 256 on), with a pending
        // entry and its posting, a repeated key and a reversal inside the batch.
        let mut reqs: Vec<EntryRequest> =
            (0..400).map(|i| remit(&format!("R{i}"), 100, 1)).collect();
        reqs.insert(
            10,
            EntryRequest::pending(
                "P1",
                TxCode::Withdrawal,
                d("2026-01-05"),
                vec![
                    Leg::debit(a("201.M1"), Fen::new(500)),
                    Leg::credit(a("101.ICBC"), Fen::new(500)),
                ],
                "",
                clerk(),
            ),
        );
        reqs.push(EntryRequest::resolve_pending(
            "P1-ok",
            "P1",
            true,
            d("2026-01-05"),
            d("2026-01-05"),
            "",
            Stamp::system("bank"),
        ));
        reqs.push(remit("R7", 100, 1));
        reqs.push(EntryRequest::reversal(
            "R8-rev",
            "R8",
            d("2026-01-05"),
            "",
            clerk(),
        ));
        let keys: Vec<String> = reqs.iter().map(|r| r.key.clone()).collect();
        let out = post_batch(s, C, reqs, now()).unwrap();
        assert_eq!(out.len(), keys.len());
        for (p, k) in out.iter().zip(&keys) {
            assert_eq!(&p.entry.entry.key, k, "results come back in request order");
        }
        assert!(
            out[keys.len() - 2].replayed,
            "the repeated key R7 is a replay"
        );
        assert_eq!(out.iter().filter(|p| p.replayed).count(), 1);
        assert_eq!(entries(s), 403);
        // 400 × 100 − 100 (R8 reversed) − 500 (P1 paid).
        assert_eq!(balance(s, "201.M1").0, 400 * 100 - 100 - 500);
        assert_eq!(balance(s, "201.M2").0, 400 - 1);
        // A bad request deep in a big batch: an error naming it, and nothing written.
        let mut bad: Vec<EntryRequest> = (0..400).map(|i| remit(&format!("S{i}"), 1, 1)).collect();
        bad[333].legs[1].account = a("201.NOPE");
        let err = post_batch(s, C, bad, now()).unwrap_err();
        assert!(err.to_string().contains("S333"), "{err}");
        assert_eq!(entries(s), 403);
        assert_eq!(balance(s, "201.M1").0, 400 * 100 - 100 - 500);
        let report = audit(s, C).unwrap();
        assert!(report.is_clean(), "{}: {:?}", db.backend, report.problems);
    });
}

#[test]
fn concurrent_posters_keep_one_chain_and_post_each_key_once() {
    for_each_backend(|db| {
        setup(db.store.as_ref());
        // Four posters — two threads on each of two store instances (as two processes
        // would) — post 25 entries each; every entry is also sent a second time by
        // another poster, as a retry racing the original.
        let other = db.open_another();
        let stores: [&dyn Store; 2] = [db.store.as_ref(), other.as_ref()];
        std::thread::scope(|scope| {
            for t in 0..4usize {
                let store = stores[t % 2];
                scope.spawn(move || {
                    for i in 0..25usize {
                        for key in [format!("T{t}-{i}"), format!("T{}-{i}", (t + 1) % 4)] {
                            let r = post_one(store, C, remit(&key, 10, 1), now());
                            assert!(r.is_ok(), "{key}: {r:?}");
                        }
                    }
                });
            }
        });
        assert_eq!(entries(db.store.as_ref()), 100);
        assert_eq!(balance(db.store.as_ref(), "201.M1").0, 1_000);
        let report = audit(other.as_ref(), C).unwrap();
        assert!(report.is_clean(), "{}: {:?}", db.backend, report.problems);
        assert_eq!(report.entries, 100);
    });
}

#[test]
fn a_few_very_large_entries_are_pipelined_too() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        // 25,000 members and three entries of 9,000–10,000 credits each (the year-end
        // interest's shape): past the legs threshold, so the engine runs on a worker and
        // the entries are written in leg-sized chunks.
        let members: Vec<AccountNo> = (0..25_000).map(|i| a(&format!("201.X{i:05}"))).collect();
        open_accounts(s, C, &members, d("2026-01-05")).unwrap();
        let reqs: Vec<EntryRequest> = members
            .chunks(9_000)
            .enumerate()
            .map(|(n, chunk)| {
                let mut legs: Vec<Leg> = chunk
                    .iter()
                    .map(|m| Leg::credit(m.clone(), Fen::new(7)))
                    .collect();
                legs.insert(
                    0,
                    Leg::debit(a("101.ICBC"), Fen::new(7 * chunk.len() as i64)),
                );
                EntryRequest::posted(
                    format!("BIG{n}"),
                    TxCode::Remittance,
                    d("2026-01-05"),
                    d("2026-01-05"),
                    legs,
                    "",
                    clerk(),
                )
            })
            .collect();
        let out = post_batch(s, C, reqs, now()).unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(balance(s, "201.X24999").0, 7);
        assert_eq!(balance(s, "101.ICBC").0, 7 * 25_000);
        let report = audit(s, C).unwrap();
        assert!(report.is_clean(), "{}: {:?}", db.backend, report.problems);
    });
}

fn receipt(key: &str) -> anju_store::collection::ReceiptRow {
    anju_store::collection::ReceiptRow {
        receipt_key: key.to_owned(),
        payer: "U0001".to_owned(),
        bill_no: None,
        amount: Fen::new(11),
        received_on: d("2026-01-05"),
        bank_code: "ICBC".to_owned(),
        entry_key: format!("rcpt:{key}"),
        recorded_at_us: 0,
    }
}

#[test]
fn writes_beside_a_posting_go_in_with_it_and_an_entry_error_comes_first() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let mut posted = 0i64;
        // 10 requests are posted on this thread; 300 run the engine on a worker thread
        // while `meanwhile` writes.
        for n in [10usize, 300] {
            let batch = |tag: &str| -> Vec<EntryRequest> {
                (0..n)
                    .map(|i| remit(&format!("{tag}{n}-{i}"), 10, 1))
                    .collect()
            };
            let mut tx = s.begin().unwrap();
            let mut calls = 0;
            let out = post_in_meanwhile(
                tx.as_mut(),
                C,
                batch("W"),
                now(),
                &mut |_| Ok(()),
                &mut |tx| {
                    calls += 1;
                    tx.insert_receipt(C, &receipt(&format!("K{n}")))?;
                    Ok(())
                },
            )
            .unwrap();
            tx.commit().unwrap();
            posted += n as i64;
            assert_eq!((calls, out.len()), (1, n), "{}", db.backend);
            assert_eq!(entries(s), posted);
            let mut r = s.begin_read().unwrap();
            assert!(r.receipt(C, &format!("K{n}")).unwrap().is_some());
            drop(r);

            // An entry that cannot be posted and a failing write beside it: the entry's
            // error is the one reported, whichever path; nothing is committed.
            let fail = |_: &mut dyn anju_store::StoreTx| -> Result<(), AppError> {
                Err(AppError::Invalid {
                    field: "beside",
                    value: String::new(),
                    rule: "the write beside failed".to_owned(),
                })
            };
            let mut bad = batch("X");
            bad[7].legs[1].account = a("201.NOPE");
            let mut tx = s.begin().unwrap();
            let err = post_in_meanwhile(tx.as_mut(), C, bad, now(), &mut |_| Ok(()), &mut { fail })
                .unwrap_err();
            drop(tx);
            assert!(err.to_string().contains(&format!("X{n}-7")), "{err}");
            // The write beside failing alone: its own error.
            let mut tx = s.begin().unwrap();
            let err = post_in_meanwhile(tx.as_mut(), C, batch("Y"), now(), &mut |_| Ok(()), &mut {
                fail
            })
            .unwrap_err();
            drop(tx);
            assert!(err.to_string().contains("the write beside failed"), "{err}");
            assert_eq!(entries(s), posted, "{}", db.backend);
        }
        assert_eq!(balance(s, "201.M1").0, 310 * 10);
        let report = audit(s, C).unwrap();
        assert!(report.is_clean(), "{}: {:?}", db.backend, report.problems);
    });
}
