//! Data-sharing storage on every backend: applications with their parties, the look-up
//! log (查询留痕) — written pending, completed once, read by application and by person —
//! and the facts cached for one application. Refused writes change nothing and leave the
//! transaction usable; the log refuses edits and deletions even by raw SQL.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use anju_app::ledger::open_centre;
use anju_domain::codes::Channel;
use anju_domain::stamp::Stamp;
use anju_store::sharing::{ApplicationRow, FactRow, LookupOutcome, LookupRow, PartyRow};
use anju_store::{Backend, Store, StoreError};
use anju_testkit::{TestDb, for_each_backend};
use jiff::Timestamp;
use jiff::civil::Date;

const C: &str = "330800000000000";
const APPLICANT: &str = "330802199001011234";
const SPOUSE: &str = "330802199202024321";
const CO_BORROWER: &str = "33080219880303567X";

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn setup(s: &dyn Store) {
    let now: Timestamp = "2026-03-02T02:00:00Z".parse().unwrap();
    open_centre(s, C, "衢州市住房公积金管理中心", d("2026-03-02"), now).unwrap();
}

fn app(no: &str) -> ApplicationRow {
    ApplicationRow {
        application_no: no.into(),
        kind: "withdrawal.purchase".into(),
        purpose: "withdrawal".into(),
        applicant: APPLICANT.into(),
        claims: r#"{"married":true,"house":"衢州市柯城区荷花中路1号"}"#.into(),
        status: "open".into(),
        opened_on: d("2026-03-02"),
        opened_at_us: 1_772_416_800_000_000,
        stamp: Stamp {
            operator: "staff:S0001".into(),
            channel: Channel::Counter,
            service_point: "hall-kecheng".into(),
            on_behalf_of: Some("member:000000000001".into()),
        },
        closed_at_us: None,
    }
}

fn party(id: &str, role: &str) -> PartyRow {
    PartyRow {
        id_number: id.into(),
        role: role.into(),
    }
}

fn pending(application_no: &str, seq: i64, subject: &str, query: &str, at: i64) -> LookupRow {
    LookupRow {
        application_no: application_no.into(),
        seq,
        subject_id: subject.into(),
        department: "civil-affairs".into(),
        query: query.into(),
        param: String::new(),
        purpose: "withdrawal".into(),
        requester: "staff:S0001".into(),
        channel: Channel::Counter.code().into(),
        service_point: "hall-kecheng".into(),
        asked_at_us: at,
        outcome: "pending".into(),
        answer_hash: String::new(),
        source: String::new(),
        read_at_us: None,
        detail: String::new(),
    }
}

fn answered(seq: i64, hash: &str, read_at: i64) -> LookupOutcome {
    LookupOutcome {
        seq,
        outcome: "answered".into(),
        answer_hash: hash.into(),
        source: "https://exchange.example/zj".into(),
        read_at_us: Some(read_at),
        detail: String::new(),
    }
}

fn fact(
    application_no: &str,
    subject: &str,
    department: &str,
    query: &str,
    param: &str,
) -> FactRow {
    FactRow {
        application_no: application_no.into(),
        subject_id: subject.into(),
        department: department.into(),
        query: query.into(),
        param: param.into(),
        payload: format!(r#"{{"query":"{query}","param":"{param}"}}"#),
        answer_hash: "ab".repeat(32),
        source: "https://exchange.example/zj".into(),
        read_at_us: 1_772_416_900_000_000,
    }
}

fn is_conflict<T: std::fmt::Debug>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::Conflict { .. }))
}

fn is_not_found<T: std::fmt::Debug>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::NotFound { .. }))
}

#[test]
fn applications_round_trip_with_their_parties() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let open = app("WD-2026-0001");
        let closed = ApplicationRow {
            application_no: "LN-2026-0001".into(),
            kind: "loan.combination".into(),
            purpose: "loan".into(),
            status: "closed".into(),
            stamp: Stamp {
                operator: "member:000000000002".into(),
                channel: Channel::Zlb,
                service_point: "online".into(),
                on_behalf_of: None,
            },
            closed_at_us: Some(1_772_503_200_000_000),
            ..app("LN-2026-0001")
        };
        let mut tx = s.begin().unwrap();
        tx.insert_application(
            C,
            &open,
            &[
                party(SPOUSE, "spouse"),
                party(CO_BORROWER, "applicant"),
                party(APPLICANT, "applicant"),
                party("330802200001017777", "co_borrower"),
            ],
        )
        .unwrap();
        tx.insert_application(C, &closed, &[]).unwrap();
        tx.commit().unwrap();

        for mut tx in [s.begin().unwrap(), s.begin_read().unwrap()] {
            let back = tx.application(C, "WD-2026-0001").unwrap().unwrap();
            assert_eq!(back, open, "{}", db.backend);
            assert_eq!(back.closed_at_us, None);
            assert_eq!(
                back.stamp.on_behalf_of.as_deref(),
                Some("member:000000000001")
            );
            let back = tx.application(C, "LN-2026-0001").unwrap().unwrap();
            assert_eq!(back, closed, "{}", db.backend);
            assert_eq!(back.closed_at_us, Some(1_772_503_200_000_000));
            assert_eq!(back.stamp.channel, Channel::Zlb);
            // By role, then ID number.
            assert_eq!(
                tx.application_parties(C, "WD-2026-0001").unwrap(),
                [
                    party(CO_BORROWER, "applicant"),
                    party(APPLICANT, "applicant"),
                    party("330802200001017777", "co_borrower"),
                    party(SPOUSE, "spouse"),
                ],
                "{}",
                db.backend
            );
            assert!(
                tx.application_parties(C, "LN-2026-0001")
                    .unwrap()
                    .is_empty()
            );
            assert_eq!(tx.application(C, "WD-2026-9999").unwrap(), None);
            assert_eq!(tx.application(C, "WD-2026-0001 ").unwrap(), None);
            assert!(
                tx.application_parties(C, "WD-2026-9999")
                    .unwrap()
                    .is_empty()
            );
        }
    });
}

#[test]
fn a_taken_application_number_or_a_person_listed_twice_changes_nothing() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let first = app("WD-2026-0001");
        let mut tx = s.begin().unwrap();
        tx.insert_application(C, &first, &[party(APPLICANT, "applicant")])
            .unwrap();
        tx.commit().unwrap();

        let mut tx = s.begin().unwrap();
        let again = ApplicationRow {
            kind: "withdrawal.rent".into(),
            claims: "{}".into(),
            ..app("WD-2026-0001")
        };
        let r = tx.insert_application(C, &again, &[party(SPOUSE, "spouse")]);
        assert!(is_conflict(r), "{}", db.backend);
        // Listed twice: refused whole, the application is not stored either.
        let twice = app("WD-2026-0002");
        let r = tx.insert_application(
            C,
            &twice,
            &[party(APPLICANT, "applicant"), party(APPLICANT, "spouse")],
        );
        assert!(is_conflict(r), "{}", db.backend);
        assert_eq!(tx.application(C, "WD-2026-0002").unwrap(), None);
        // The transaction is still usable.
        tx.insert_application(C, &app("WD-2026-0003"), &[party(SPOUSE, "applicant")])
            .unwrap();
        tx.commit().unwrap();

        let mut tx = s.begin_read().unwrap();
        assert_eq!(tx.application(C, "WD-2026-0001").unwrap().unwrap(), first);
        assert_eq!(
            tx.application_parties(C, "WD-2026-0001").unwrap(),
            [party(APPLICANT, "applicant")]
        );
        assert_eq!(tx.application(C, "WD-2026-0002").unwrap(), None);
        assert!(
            tx.application_parties(C, "WD-2026-0002")
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            tx.application_parties(C, "WD-2026-0003").unwrap(),
            [party(SPOUSE, "applicant")]
        );
    });
}

#[test]
fn applications_close_once_and_lock() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let mut tx = s.begin().unwrap();
        tx.insert_application(C, &app("WD-2026-0001"), &[]).unwrap();
        tx.commit().unwrap();

        let mut tx = s.begin().unwrap();
        let locked = tx.lock_application(C, "WD-2026-0001").unwrap();
        assert_eq!(locked, Some(app("WD-2026-0001")), "{}", db.backend);
        assert_eq!(tx.lock_application(C, "WD-2026-9999").unwrap(), None);
        tx.close_application(C, "WD-2026-0001", 1_772_420_000_000_000)
            .unwrap();
        // Closing again keeps the first closing time.
        assert!(is_conflict(tx.close_application(
            C,
            "WD-2026-0001",
            1_772_430_000_000_000
        )));
        assert!(is_not_found(tx.close_application(
            C,
            "WD-2026-9999",
            1_772_430_000_000_000
        )));
        tx.commit().unwrap();

        let mut tx = s.begin_read().unwrap();
        let closed = tx.application(C, "WD-2026-0001").unwrap().unwrap();
        assert_eq!(closed.status, "closed");
        assert_eq!(closed.closed_at_us, Some(1_772_420_000_000_000));
        assert_eq!(
            closed,
            ApplicationRow {
                status: "closed".into(),
                closed_at_us: Some(1_772_420_000_000_000),
                ..app("WD-2026-0001")
            }
        );
    });
}

#[test]
fn look_ups_are_logged_pending_and_completed_once() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let a = "WD-2026-2";
        let b = "WD-2026-10"; // before `a`, byte-wise
        let mut tx = s.begin().unwrap();
        tx.insert_application(C, &app(a), &[]).unwrap();
        tx.insert_application(C, &app(b), &[]).unwrap();
        assert_eq!(tx.max_lookup_seq(C, a).unwrap(), 0);
        let logged_a = vec![
            pending(a, 1, APPLICANT, "marriage", 3_000),
            pending(a, 2, SPOUSE, "marriage", 3_000),
            LookupRow {
                department: "tax".into(),
                param: "2025".into(),
                ..pending(a, 3, APPLICANT, "income", 5_000)
            },
        ];
        tx.insert_lookups(C, &logged_a).unwrap();
        let logged_b = vec![
            pending(b, 1, APPLICANT, "property", 5_000),
            pending(b, 2, APPLICANT, "marriage", 1_000),
        ];
        tx.insert_lookups(C, &logged_b).unwrap();
        tx.commit().unwrap();

        let mut tx = s.begin().unwrap();
        assert_eq!(tx.max_lookup_seq(C, a).unwrap(), 3);
        assert_eq!(tx.max_lookup_seq(C, b).unwrap(), 2);
        assert_eq!(tx.max_lookup_seq(C, "WD-2026-9999").unwrap(), 0);
        assert_eq!(tx.lookups_of_application(C, a).unwrap(), logged_a);
        tx.complete_lookups(
            C,
            a,
            &[
                answered(2, &"cd".repeat(32), 4_000),
                LookupOutcome {
                    seq: 3,
                    outcome: "unavailable".into(),
                    answer_hash: String::new(),
                    source: "https://exchange.example/zj".into(),
                    read_at_us: None,
                    detail: "tax: timed out after 3 s".into(),
                },
            ],
        )
        .unwrap();
        tx.commit().unwrap();

        // Completing again, one named twice, or one not in the log is refused, and
        // nothing of the call changes; the transaction stays usable.
        let mut tx = s.begin().unwrap();
        let r = tx.complete_lookups(C, a, &[answered(1, "11", 1), answered(2, "22", 2)]);
        assert!(is_conflict(r), "{}", db.backend);
        let r = tx.complete_lookups(C, a, &[answered(1, "11", 1), answered(1, "11", 1)]);
        assert!(is_conflict(r), "{}", db.backend);
        let r = tx.complete_lookups(C, a, &[answered(1, "11", 1), answered(4, "44", 4)]);
        assert!(is_not_found(r), "{}", db.backend);
        let r = tx.complete_lookups(C, "WD-2026-9999", &[answered(1, "11", 1)]);
        assert!(is_not_found(r), "{}", db.backend);
        assert_eq!(tx.lookups_of_application(C, a).unwrap()[0], logged_a[0]);
        tx.complete_lookups(
            C,
            a,
            &[LookupOutcome {
                outcome: "not_found".into(),
                ..answered(1, "", 6_000)
            }],
        )
        .unwrap();
        tx.complete_lookups(
            C,
            b,
            &[LookupOutcome {
                outcome: "cached".into(),
                source: "cache".into(),
                ..answered(1, &"ef".repeat(32), 500)
            }],
        )
        .unwrap();
        tx.commit().unwrap();
        let mut tx = s.begin().unwrap();
        assert!(is_conflict(tx.complete_lookups(
            C,
            a,
            &[answered(3, "33", 3)]
        )));
        drop(tx);

        let mut tx = s.begin_read().unwrap();
        let log = tx.lookups_of_application(C, a).unwrap();
        let expected_a = vec![
            LookupRow {
                outcome: "not_found".into(),
                source: "https://exchange.example/zj".into(),
                read_at_us: Some(6_000),
                ..logged_a[0].clone()
            },
            LookupRow {
                outcome: "answered".into(),
                answer_hash: "cd".repeat(32),
                source: "https://exchange.example/zj".into(),
                read_at_us: Some(4_000),
                ..logged_a[1].clone()
            },
            LookupRow {
                outcome: "unavailable".into(),
                source: "https://exchange.example/zj".into(),
                detail: "tax: timed out after 3 s".into(),
                ..logged_a[2].clone()
            },
        ];
        assert_eq!(log, expected_a, "{}", db.backend);
        let expected_b1 = LookupRow {
            outcome: "cached".into(),
            answer_hash: "ef".repeat(32),
            source: "cache".into(),
            read_at_us: Some(500),
            ..logged_b[0].clone()
        };
        // Whose data was looked at: by time asked, then application (byte-wise), then seq.
        let seen = tx.lookups_of_subject(C, APPLICANT).unwrap();
        let keys: Vec<(i64, &str, i64)> = seen
            .iter()
            .map(|l| (l.asked_at_us, l.application_no.as_str(), l.seq))
            .collect();
        assert_eq!(
            keys,
            [(1_000, b, 2), (3_000, a, 1), (5_000, b, 1), (5_000, a, 3)],
            "{}",
            db.backend
        );
        assert_eq!(seen[0], logged_b[1]);
        assert_eq!(seen[1], expected_a[0]);
        assert_eq!(seen[2], expected_b1);
        assert_eq!(seen[3], expected_a[2]);
        assert_eq!(
            tx.lookups_of_subject(C, SPOUSE).unwrap(),
            [expected_a[1].clone()]
        );
        assert!(tx.lookups_of_subject(C, CO_BORROWER).unwrap().is_empty());
    });
}

#[test]
fn taken_look_up_numbers_are_refused_whole() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let a = "WD-2026-0001";
        let mut tx = s.begin().unwrap();
        tx.insert_application(C, &app(a), &[]).unwrap();
        tx.insert_lookups(C, &[pending(a, 1, APPLICANT, "marriage", 1)])
            .unwrap();
        tx.commit().unwrap();

        let mut tx = s.begin().unwrap();
        // Seq 2 is new but seq 1 is taken: neither is written.
        let r = tx.insert_lookups(
            C,
            &[
                pending(a, 2, APPLICANT, "income", 2),
                pending(a, 1, SPOUSE, "marriage", 2),
            ],
        );
        assert!(is_conflict(r), "{}", db.backend);
        // Repeated within the call.
        let r = tx.insert_lookups(
            C,
            &[
                pending(a, 3, APPLICANT, "income", 3),
                pending(a, 3, SPOUSE, "income", 3),
            ],
        );
        assert!(is_conflict(r), "{}", db.backend);
        // Seq 0 breaks the schema's rule: not stored either.
        assert!(
            tx.insert_lookups(C, &[pending(a, 0, APPLICANT, "income", 3)])
                .is_err()
        );
        drop(tx);
        let mut tx = s.begin().unwrap();
        assert_eq!(tx.max_lookup_seq(C, a).unwrap(), 1);
        assert_eq!(
            tx.lookups_of_application(C, a).unwrap(),
            [pending(a, 1, APPLICANT, "marriage", 1)]
        );
        // The same numbers under another application are another look-up.
        tx.insert_application(C, &app("WD-2026-0002"), &[]).unwrap();
        tx.insert_lookups(C, &[pending("WD-2026-0002", 1, APPLICANT, "marriage", 4)])
            .unwrap();
        tx.commit().unwrap();
        let mut tx = s.begin_read().unwrap();
        assert_eq!(tx.lookups_of_subject(C, APPLICANT).unwrap().len(), 2);
    });
}

#[test]
fn facts_are_cached_per_application_once_per_key() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let (a, b) = ("WD-2026-0001", "WD-2026-0002");
        let mut tx = s.begin().unwrap();
        tx.insert_application(C, &app(a), &[]).unwrap();
        tx.insert_application(C, &app(b), &[]).unwrap();
        let facts_a = [
            fact(a, SPOUSE, "civil-affairs", "marriage", ""),
            fact(a, APPLICANT, "tax", "income", "2025"),
            fact(a, APPLICANT, "civil-affairs", "marriage", ""),
            fact(a, APPLICANT, "tax", "income", "2024"),
        ];
        tx.insert_facts(C, &facts_a).unwrap();
        tx.insert_facts(C, &[fact(b, APPLICANT, "civil-affairs", "marriage", "")])
            .unwrap();
        tx.commit().unwrap();

        let mut tx = s.begin().unwrap();
        // By subject, department, query and parameter.
        assert_eq!(
            tx.application_facts(C, a).unwrap(),
            [
                facts_a[2].clone(),
                facts_a[3].clone(),
                facts_a[1].clone(),
                facts_a[0].clone()
            ],
            "{}",
            db.backend
        );
        assert_eq!(
            tx.application_facts(C, b).unwrap(),
            [fact(b, APPLICANT, "civil-affairs", "marriage", "")]
        );
        assert!(tx.application_facts(C, "WD-2026-9999").unwrap().is_empty());

        // A key taken, or repeated in the call: nothing of the call is written, and the
        // transaction stays usable.
        let new = fact(a, APPLICANT, "housing", "property", "");
        let taken = FactRow {
            payload: "{}".into(),
            ..fact(a, APPLICANT, "tax", "income", "2025")
        };
        assert!(is_conflict(
            tx.insert_facts(C, &[new.clone(), taken.clone()])
        ));
        assert!(is_conflict(tx.insert_facts(C, &[new.clone(), new.clone()])));
        assert_eq!(tx.application_facts(C, a).unwrap().len(), 4);
        tx.insert_facts(C, std::slice::from_ref(&new)).unwrap();
        tx.commit().unwrap();

        let mut tx = s.begin_read().unwrap();
        let facts = tx.application_facts(C, a).unwrap();
        assert_eq!(facts.len(), 5);
        assert!(facts.contains(&new));
        assert!(
            facts.contains(&facts_a[1]),
            "the taken fact kept its payload"
        );
        assert!(!facts.contains(&taken));
    });
}

/// Concurrent verifications of one application number their look-ups one after the
/// other: lock, read the highest number, append the next ones, commit.
#[test]
fn locked_applications_number_concurrent_look_ups_without_collision() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let a = "WD-2026-0001";
        let mut tx = s.begin().unwrap();
        tx.insert_application(C, &app(a), &[]).unwrap();
        tx.commit().unwrap();
        const THREADS: i64 = 4;
        const ROUNDS: i64 = 10;
        std::thread::scope(|scope| {
            for t in 0..THREADS {
                scope.spawn(move || {
                    for r in 0..ROUNDS {
                        let mut tx = s.begin().unwrap();
                        assert!(tx.lock_application(C, a).unwrap().is_some());
                        let next = tx.max_lookup_seq(C, a).unwrap() + 1;
                        // Give the other threads a chance to collide if the lock fails.
                        std::thread::sleep(std::time::Duration::from_millis(1));
                        tx.insert_lookups(
                            C,
                            &[
                                pending(a, next, APPLICANT, "marriage", t * 100 + r),
                                pending(a, next + 1, SPOUSE, "marriage", t * 100 + r),
                            ],
                        )
                        .unwrap();
                        tx.commit().unwrap();
                    }
                });
            }
        });
        let mut tx = s.begin_read().unwrap();
        let seqs: Vec<i64> = tx
            .lookups_of_application(C, a)
            .unwrap()
            .iter()
            .map(|l| l.seq)
            .collect();
        assert_eq!(
            seqs,
            (1..=THREADS * ROUNDS * 2).collect::<Vec<_>>(),
            "{}",
            db.backend
        );
    });
}

/// Raw SQL on the test database, bypassing Anju.
fn raw_exec(db: &TestDb, sql: &str) -> Result<u64, String> {
    match db.backend {
        Backend::Sqlite => {
            let path = db.url.strip_prefix("sqlite://").unwrap();
            let c = rusqlite::Connection::open(path).unwrap();
            c.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
            c.execute(sql, [])
                .map(|n| n as u64)
                .map_err(|e| e.to_string())
        }
        Backend::Postgres => {
            let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
            c.execute(sql, &[]).map_err(|e| e.to_string())
        }
    }
}

#[test]
fn the_log_refuses_edits_and_deletions_even_by_raw_sql() {
    for_each_backend(|db| {
        let s = db.store.as_ref();
        setup(s);
        let a = "WD-2026-0001";
        let mut tx = s.begin().unwrap();
        tx.insert_application(C, &app(a), &[]).unwrap();
        tx.insert_lookups(
            C,
            &[
                pending(a, 1, APPLICANT, "marriage", 1),
                pending(a, 2, SPOUSE, "marriage", 1),
            ],
        )
        .unwrap();
        tx.complete_lookups(C, a, &[answered(1, "11", 2)]).unwrap();
        tx.commit().unwrap();

        // A completed look-up never changes again; a pending one only in its answer.
        let refused = [
            "UPDATE fact_lookups SET outcome = 'cached' WHERE seq = 1",
            "UPDATE fact_lookups SET answer_hash = '' WHERE seq = 1",
            "UPDATE fact_lookups SET subject_id = 'x' WHERE seq = 2",
            "UPDATE fact_lookups SET purpose = 'loan', outcome = 'answered' WHERE seq = 2",
            "UPDATE fact_lookups SET outcome = 'stolen' WHERE seq = 2",
            "DELETE FROM fact_lookups WHERE seq = 2",
            "UPDATE applications SET status = 'closed' WHERE application_no = 'WD-2026-0001'",
        ];
        for sql in refused {
            let r = raw_exec(db, sql);
            assert!(r.is_err(), "{}: {sql} was allowed", db.backend);
        }
        let mut tx = s.begin_read().unwrap();
        let log = tx.lookups_of_application(C, a).unwrap();
        assert_eq!(log[0].outcome, "answered");
        assert_eq!(log[0].answer_hash, "11");
        assert_eq!(log[1], pending(a, 2, SPOUSE, "marriage", 1));
        drop(tx);
        assert_eq!(
            raw_exec(
                db,
                "UPDATE fact_lookups SET outcome = 'answered', answer_hash = '22' WHERE seq = 2"
            ),
            Ok(1),
            "{}",
            db.backend
        );
    });
}
