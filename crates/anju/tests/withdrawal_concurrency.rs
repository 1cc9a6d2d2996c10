//! 1,000 concurrent applicants (issue 6): every member applies three times at once — a
//! purchase withdrawal, a serious-illness withdrawal, and the purchase again — for more
//! than the balance holds, from many threads, through `anju exchange-sim` and
//! `anju bank-sim` on loopback, on every backend. No payout is made twice, no balance
//! goes negative, the bank paid exactly what the ledger says, and `anju audit` passes.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anju_app::AppError;
use anju_app::ledger::{audit, open_centre, post_batch};
use anju_app::registry::{NewMember, NewUnit, open_member, register_unit};
use anju_app::settlement::{BankSet, NewBank, bind_card, register_bank};
use anju_app::withdrawal::{self as wd, NewWithdrawal, Withdrawals};
use anju_bank::sim::process::BankSimProcess;
use anju_domain::codes::{Channel, MaritalStatus};
use anju_domain::ids::{CreditCode, IdCard};
use anju_domain::ledger::{AccountNo, EntryRequest, Leg, TxCode};
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::{Policy, QUZHOU_POLICY};
use anju_domain::sharing::verify::Claims;
use anju_domain::sharing::{
    Area, ContractKind, CreditReport, Identity, Marriage, MedicalExpense, PurchaseContract,
};
use anju_domain::stamp::Stamp;
use anju_domain::withdrawal::Ground;
use anju_exchange::sim::dataset::{Dataset, PersonRecord};
use anju_testkit::for_each_backend;
use common::{EXE, ExchangeSim, departments};
use jiff::Timestamp;
use jiff::civil::Date;

const C: &str = "330800000000000";
const BANK: &str = "105";
const FUND: &str = "33050166000000000105";
const APPLICANTS: usize = 1_000;
const THREADS: usize = 12;

fn d(s: &str) -> Date {
    s.parse().unwrap()
}
fn yuan(s: &str) -> Fen {
    Fen::parse_yuan(s).unwrap()
}

fn person_id(i: usize) -> String {
    // Birth dates spread over 1980–1999; the serial makes each number unique.
    let birth = format!("19{}{:02}{:02}", 80 + i % 20, 1 + i % 12, 1 + i % 28);
    IdCard::with_check_char(&format!("330802{birth}{:03}", i / 20 * 2 % 1000))
        .unwrap()
        .as_str()
        .to_owned()
}

#[test]
fn a_thousand_concurrent_applicants_never_get_paid_twice() {
    for_each_backend(|db| {
        let store = db.store.as_ref();
        let policy = Policy::from_toml(QUZHOU_POLICY).unwrap();
        let now = Timestamp::now();
        let today = d("2026-11-27");
        let dir = tempfile::tempdir().unwrap();
        let bank =
            BankSimProcess::start(EXE.as_ref(), &dir.path().join("bank.db"), &["--bank", BANK])
                .unwrap();
        let admin = bank.admin();
        open_centre(store, C, "衢州市住房公积金管理中心", today, now).unwrap();
        register_bank(
            store,
            C,
            &NewBank {
                code: BANK.into(),
                name: "中国建设银行衢州分行".into(),
                fund_account: FUND.into(),
                fund_account_name: "衢州市住房公积金管理中心".into(),
            },
        )
        .unwrap();
        let clerk = Stamp {
            operator: "staff:S0001".into(),
            channel: Channel::Counter,
            service_point: "hall".into(),
            on_behalf_of: None,
        };
        let unit = register_unit(
            store,
            C,
            &policy,
            NewUnit {
                credit_code: CreditCode::with_check_char("91330802MA2DXXXX2").unwrap(),
                name: "衢州市示范科技有限公司".into(),
                address: "衢州市柯城区荷花中路1号".into(),
                legal_rep: "赵六".into(),
                payday: 10,
                bank_code: BANK.into(),
                unit_ratio: Rate::from_percent(12),
                member_ratio: Rate::from_percent(12),
            },
            &clerk,
            now,
        )
        .unwrap();
        let mut ds = Dataset::empty(now);
        let mut people = Vec::new();
        let mut opening = Vec::new();
        for i in 0..APPLICANTS {
            let id = person_id(i);
            let name = format!("申请人{i:04}");
            let (m, _) = open_member(
                store,
                C,
                &policy,
                NewMember {
                    id_card: IdCard::parse(&id).unwrap(),
                    name: name.clone(),
                    unit_no: unit.unit_no.clone(),
                    wage: yuan("8000"),
                },
                &clerk,
                now,
            )
            .unwrap();
            opening.push(EntryRequest::posted(
                format!("open:{}", m.account_no),
                TxCode::OpeningBalance,
                today,
                today,
                vec![
                    Leg::debit(AccountNo::sub("101", BANK).unwrap(), yuan("10000")),
                    Leg::credit(AccountNo::sub("201", &m.account_no).unwrap(), yuan("10000")),
                ],
                "期初余额",
                Stamp::system("migration"),
            ));
            let card = format!("62270000{i:010}");
            bind_card(store, C, &m.account_no, BANK, &card).unwrap();
            admin.open_account(&card, &name, 0).unwrap();
            let record = PersonRecord {
                identity: Some(Identity {
                    id_number: id.clone(),
                    name: name.clone(),
                    sex: IdCard::parse(&id).unwrap().sex(),
                    birth_date: IdCard::parse(&id).unwrap().birth_date(),
                    alive: true,
                }),
                marriage: Some(Marriage {
                    status: MaritalStatus::Unmarried,
                    spouse_id: None,
                    spouse_name: None,
                    since: None,
                }),
                contracts: vec![PurchaseContract {
                    contract_no: format!("QZ-2026-{i:06}"),
                    kind: ContractKind::New,
                    address: format!("衢州市柯城区安居苑{i}号"),
                    region_code: "330802".into(),
                    area: Area(9_000),
                    price: yuan("900000"),
                    signed_on: d("2026-10-01"),
                    filed_on: d("2026-10-08"),
                    buyers: vec![id.clone()],
                    seller_name: "衢州锦绣置业有限公司".into(),
                    seller_account: "33050100000000001234".into(),
                    seller_bank: BANK.into(),
                    cancelled: false,
                }],
                credit: Some(CreditReport {
                    loans: vec![],
                    overdue_count_24m: 0,
                }),
                medical: vec![MedicalExpense {
                    year: 2026,
                    serious_illness: true,
                    diagnosis: "恶性肿瘤".into(),
                    total: yuan("90000"),
                    self_paid: yuan("50000"),
                }],
                ..PersonRecord::default()
            };
            ds.people.insert(id.clone(), record);
            people.push((id, m.account_no));
        }
        post_batch(store, C, opening, now).unwrap();
        admin
            .open_account(
                FUND,
                "衢州市住房公积金管理中心",
                10_000 * 100 * APPLICANTS as i64,
            )
            .unwrap();
        let sim = ExchangeSim::start(&ds);
        let live = departments(&sim.url);
        let mut banks = BankSet::new();
        banks.insert(Arc::new(bank.client().unwrap()));
        let ctx = Withdrawals {
            store,
            departments: &live,
            banks: &banks,
            centre: C,
            policy: &policy,
        };

        // Three applications per applicant, 8,000 each against a balance of 10,000:
        // a purchase, an illness withdrawal, the purchase again. Interleaved so the
        // same member's applications run at the same time on different threads.
        let requests: Vec<NewWithdrawal> = (0..3)
            .flat_map(|k| (0..APPLICANTS).map(move |i| (k, i)))
            .map(|(k, i)| {
                let (id, _) = &people[i];
                NewWithdrawal {
                    application_no: format!("CC-{i:04}-{k}"),
                    id_number: id.clone(),
                    ground: if k == 1 {
                        Ground::Illness
                    } else {
                        Ground::Purchase
                    },
                    mode: None,
                    requested: Some(yuan("8000")),
                    claims: Claims::default(),
                    spouse: None,
                    heirs: vec![],
                    consents: vec![],
                    stamp: Stamp {
                        operator: format!("member:{id}"),
                        channel: Channel::MobileApp,
                        service_point: "online".into(),
                        on_behalf_of: None,
                    },
                }
            })
            .collect();
        // Each thread takes every THREADS-th request of a shuffled order.
        let mut order: Vec<usize> = (0..requests.len()).collect();
        let mut seed = 0x2545_f491_u64;
        for n in (1..order.len()).rev() {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            order.swap(n, (seed >> 33) as usize % (n + 1));
        }
        let next = AtomicUsize::new(0);
        let outcomes: Vec<(usize, Result<String, String>)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    s.spawn(|| {
                        let mut mine = Vec::new();
                        loop {
                            let n = next.fetch_add(1, Ordering::Relaxed);
                            let Some(&r) = order.get(n) else { break };
                            let res = match wd::apply(&ctx, &requests[r], Timestamp::now()) {
                                Ok(v) => Ok(v.status),
                                Err(AppError::Invalid { field, rule, .. }) => {
                                    Err(format!("{field}: {rule}"))
                                }
                                Err(e) => panic!("{}: {e}", requests[r].application_no),
                            };
                            mine.push((r, res));
                        }
                        mine
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        assert_eq!(outcomes.len(), 3 * APPLICANTS);

        // Exactly one payout per applicant; the others refused or turned away.
        let mut paid_per: BTreeMap<usize, usize> = BTreeMap::new();
        for (r, res) in &outcomes {
            let i = r % APPLICANTS;
            match res {
                Ok(s) if s == "paid" => *paid_per.entry(i).or_default() += 1,
                Ok(s) => assert_eq!(s, "refused", "{}", requests[*r].application_no),
                Err(e) => assert!(e.starts_with("ground:"), "{e}"),
            }
        }
        assert_eq!(paid_per.len(), APPLICANTS, "every applicant was paid once");
        assert!(paid_per.values().all(|&n| n == 1), "nobody was paid twice");
        let mut tx = store.begin_read().unwrap();
        let nos: Vec<AccountNo> = people
            .iter()
            .map(|(_, a)| AccountNo::sub("201", a).unwrap())
            .collect();
        for a in tx.load_accounts(C, &nos).unwrap() {
            assert_eq!(a.balance, yuan("2000"), "{}", a.no);
            assert_eq!(a.pending_out, Fen::ZERO, "{}", a.no);
        }
        drop(tx);
        // The bank executed exactly one payment per applicant, 8,000 each.
        let stats = admin.stats().unwrap();
        assert_eq!(stats.ledger.executed, APPLICANTS as i64, "{stats:?}");
        let cards = admin.accounts().unwrap();
        let paid_in: i64 = cards
            .iter()
            .filter(|a| a.account.starts_with("62270000"))
            .map(|a| a.balance_fen)
            .sum();
        assert_eq!(paid_in, 800_000 * APPLICANTS as i64);
        let report = audit(store, C).unwrap();
        assert!(report.is_clean(), "{report:?}");
        println!(
            "{} applicants, {} applications on {:?}: each paid once",
            APPLICANTS,
            outcomes.len(),
            db.backend
        );
    });
}
