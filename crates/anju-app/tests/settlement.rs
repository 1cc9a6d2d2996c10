//! Settlement use cases on every backend, against a scripted bank whose every answer the
//! test chooses (the real protocol, client and `anju bank-sim` are exercised by the
//! binary's tests and the fault drill): two-phase payouts (posted on confirmation,
//! voided only on a definite "not executed", a timeout kept pending and settled by a
//! status query), one send per serial, notices applied once, collections paying their
//! bill once, incoming money matched or parked in suspense, and reconciliation keeping
//! open items until a rerun finds them settled.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::collections::HashMap;
use std::sync::Mutex;

use anju_app::ledger::{audit, open_centre, set_business_date};
use anju_app::registry::{NewMember, NewUnit, open_member, register_unit};
use anju_app::remittance::{Payment, confirm_bill, generate_bill, pay_bill};
use anju_app::settlement::ports::{
    Bank, BankAnswer, Instruction, Notice, NoticeEvent, Statement, StatementLine, Unreachable,
};
use anju_app::settlement::{
    Assignment, BankSet, Collection, NewBank, Outcome, Payout, Settlement, add_unit_bank_account,
    assign_incoming, bind_card, collect, instructions, open_recon_items, pay_members,
    receive_notice, reconcile, register_bank, resolve_all, resolve_unsettled, suspense_items,
};
use anju_domain::calendar::BusinessCalendar;
use anju_domain::codes::{Channel, SettlementBusinessType};
use anju_domain::collection::YearMonth;
use anju_domain::ids::{CreditCode, IdCard};
use anju_domain::ledger::{AccountNo, AccountState};
use anju_domain::money::{Fen, Rate};
use anju_domain::policy::{Policy, QUZHOU_POLICY};
use anju_domain::stamp::Stamp;
use anju_store::Store;
use anju_store::collection::BillStatus;
use anju_testkit::for_each_backend;
use jiff::Timestamp;
use jiff::civil::Date;
use std::sync::Arc;

const C: &str = "330800000000000";
const BANK: &str = "105";
const FUND: &str = "33050166000000000105";

fn d(s: &str) -> Date {
    s.parse().unwrap()
}
fn yuan(s: &str) -> Fen {
    Fen::parse_yuan(s).unwrap()
}
fn now() -> Timestamp {
    "2026-03-10T02:00:00Z".parse().unwrap()
}
fn later(secs: i64) -> Timestamp {
    now() + jiff::SignedDuration::from_secs(secs)
}
fn clerk() -> Stamp {
    Stamp {
        operator: "staff:S0001".into(),
        channel: Channel::Counter,
        service_point: "hall-kecheng".into(),
        on_behalf_of: None,
    }
}

/// What the scripted bank does with an instruction it is sent.
#[derive(Debug, Clone)]
enum Script {
    /// Execute and answer.
    Execute,
    /// Reject.
    Reject(&'static str),
    /// Execute, but the answer is lost (a timeout).
    ExecuteSilently,
    /// Never receive it (the request was lost): a timeout.
    Lose,
}

#[derive(Debug, Default)]
struct Books {
    /// Serial → (amount signed for the fund account, bank ref).
    executed: HashMap<String, (i64, String)>,
    closed: Vec<String>,
    submits: HashMap<String, usize>,
    credits: Vec<StatementLine>,
    /// Status queries fail while set.
    down: bool,
}

#[derive(Debug)]
struct ScriptedBank {
    script: Mutex<HashMap<String, Script>>,
    books: Mutex<Books>,
}

impl ScriptedBank {
    fn new() -> ScriptedBank {
        ScriptedBank {
            script: Mutex::new(HashMap::new()),
            books: Mutex::new(Books::default()),
        }
    }
    fn on(&self, serial: &str, s: Script) {
        self.script.lock().unwrap().insert(serial.into(), s);
    }
    fn sends(&self, serial: &str) -> usize {
        self.books
            .lock()
            .unwrap()
            .submits
            .get(serial)
            .copied()
            .unwrap_or(0)
    }
    fn executed(amount: Fen, serial: &str) -> BankAnswer {
        BankAnswer::Executed {
            amount,
            bank_ref: format!("R{serial}"),
            value_date: d("2026-03-10"),
        }
    }
}

impl Bank for ScriptedBank {
    fn code(&self) -> &str {
        BANK
    }
    fn submit(&self, batch: &[Instruction]) -> Vec<Result<BankAnswer, Unreachable>> {
        let mut books = self.books.lock().unwrap();
        batch
            .iter()
            .map(|i| {
                *books.submits.entry(i.serial.clone()).or_default() += 1;
                let script = self
                    .script
                    .lock()
                    .unwrap()
                    .get(&i.serial)
                    .cloned()
                    .unwrap_or(Script::Execute);
                let signed = if i.kind.is_outgoing() {
                    -i.amount.fen()
                } else {
                    i.amount.fen()
                };
                let lost = || Unreachable {
                    bank: BANK.into(),
                    reason: "timed out".into(),
                };
                match script {
                    Script::Execute => {
                        books
                            .executed
                            .insert(i.serial.clone(), (signed, format!("R{}", i.serial)));
                        Ok(ScriptedBank::executed(i.amount, &i.serial))
                    }
                    Script::ExecuteSilently => {
                        books
                            .executed
                            .insert(i.serial.clone(), (signed, format!("R{}", i.serial)));
                        Err(lost())
                    }
                    Script::Reject(why) => Ok(BankAnswer::Rejected { reason: why.into() }),
                    Script::Lose => Err(lost()),
                }
            })
            .collect()
    }
    fn status(&self, serial: &str) -> Result<BankAnswer, Unreachable> {
        let mut books = self.books.lock().unwrap();
        if books.down {
            return Err(Unreachable {
                bank: BANK.into(),
                reason: "connection refused".into(),
            });
        }
        if let Some((amount, _)) = books.executed.get(serial) {
            return Ok(ScriptedBank::executed(Fen::new(amount.abs()), serial));
        }
        books.closed.push(serial.into());
        Ok(BankAnswer::Rejected {
            reason: "never received; serial closed".into(),
        })
    }
    fn balance(&self, _account: &str) -> Result<Fen, Unreachable> {
        let books = self.books.lock().unwrap();
        Ok(Fen::new(books.executed.values().map(|(a, _)| a).sum()))
    }
    fn statement(&self, account: &str, date: Date) -> Result<Statement, Unreachable> {
        let books = self.books.lock().unwrap();
        let mut lines: Vec<StatementLine> = books
            .executed
            .iter()
            .map(|(serial, (amount, r))| StatementLine {
                bank_ref: r.clone(),
                serial: Some(serial.clone()),
                amount: Fen::new(*amount),
                counterparty_account: "X".into(),
                counterparty_name: "X".into(),
                memo: String::new(),
                value_date: date,
            })
            .collect();
        lines.extend(books.credits.iter().cloned());
        lines.sort_by(|a, b| a.bank_ref.cmp(&b.bank_ref));
        Ok(Statement {
            account: account.into(),
            date,
            opening: Fen::ZERO,
            closing: Fen::new(lines.iter().map(|l| l.amount.fen()).sum()),
            lines,
        })
    }
}

fn acct(s: &dyn Store, no: &str) -> AccountState {
    let mut tx = s.begin_read().unwrap();
    tx.load_accounts(C, &[AccountNo::parse(no).unwrap()])
        .unwrap()
        .pop()
        .unwrap()
}

struct World {
    unit: String,
    members: Vec<String>,
    bill: String,
}

/// A centre with bank 105, one unit with an account there, two members with cards,
/// February's bill paid (3,120.00 in the members' accounts), and March's bill confirmed.
fn world(s: &dyn Store) -> World {
    let p = Policy::from_toml(QUZHOU_POLICY).unwrap();
    let cal = BusinessCalendar::cn().unwrap();
    open_centre(s, C, "衢州市住房公积金管理中心", d("2026-01-05"), now()).unwrap();
    register_bank(
        s,
        C,
        &NewBank {
            code: BANK.into(),
            name: "中国建设银行衢州分行".into(),
            fund_account: FUND.into(),
            fund_account_name: "衢州市住房公积金管理中心".into(),
        },
    )
    .unwrap();
    let unit = register_unit(
        s,
        C,
        &p,
        NewUnit {
            credit_code: CreditCode::parse("91330802MA28F0Q135").unwrap(),
            name: "衢州市示范科技有限公司".into(),
            address: "衢州市柯城区荷花中路1号".into(),
            legal_rep: "张三".into(),
            payday: 10,
            bank_code: BANK.into(),
            unit_ratio: Rate::from_percent(12),
            member_ratio: Rate::from_percent(12),
        },
        &clerk(),
        now(),
    )
    .unwrap()
    .unit_no;
    add_unit_bank_account(s, C, &unit, BANK, "6217000000000000001").unwrap();
    let mut members = Vec::new();
    for (i, w) in ["5000.00", "8000.00"].iter().enumerate() {
        let first17 = format!("33080219900101{:03}", i + 1);
        let (m, _) = open_member(
            s,
            C,
            &p,
            NewMember {
                id_card: IdCard::with_check_char(&first17).unwrap(),
                name: format!("职工{i}"),
                unit_no: unit.clone(),
                wage: yuan(w),
            },
            &clerk(),
            now(),
        )
        .unwrap();
        bind_card(s, C, &m.account_no, BANK, &format!("62270000000000{i:05}")).unwrap();
        members.push(m.account_no);
    }
    set_business_date(s, C, d("2026-02-10")).unwrap();
    let march = generate_bill(s, C, &p, &cal, &unit, YearMonth::parse("2026-02").unwrap()).unwrap();
    confirm_bill(s, C, &march.bill.bill_no).unwrap();
    pay_bill(
        s,
        C,
        Payment {
            bill_no: march.bill.bill_no.clone(),
            receipt_key: "COUNTER-1".into(),
            amount: yuan("3120.00"),
            bank_code: None,
        },
        &clerk(),
        now(),
    )
    .unwrap();
    set_business_date(s, C, d("2026-03-10")).unwrap();
    let april = generate_bill(s, C, &p, &cal, &unit, YearMonth::parse("2026-03").unwrap()).unwrap();
    confirm_bill(s, C, &april.bill.bill_no).unwrap();
    World {
        unit,
        members,
        bill: april.bill.bill_no,
    }
}

fn payout(serial: &str, member: &str, amount: &str) -> Payout {
    Payout {
        serial: serial.into(),
        account_no: member.into(),
        amount: yuan(amount),
        business_type: SettlementBusinessType::PartialWithdrawal,
        memo: "购房提取".into(),
        target: String::new(),
        stamp: clerk(),
    }
}

fn pay(s: &Settlement<'_>, p: Payout) -> Result<Outcome, anju_app::AppError> {
    Ok(pay_members(s, &[p], now())?.pop().unwrap())
}

fn setup_banks(bank: &Arc<ScriptedBank>) -> BankSet {
    let mut set = BankSet::new();
    set.insert(bank.clone());
    set
}

#[test]
fn a_confirmed_payout_posts_once_and_a_rejected_one_gives_the_money_back() {
    for_each_backend(|db| {
        let store = db.store.as_ref();
        let w = world(store);
        let bank = Arc::new(ScriptedBank::new());
        let banks = setup_banks(&bank);
        let s = Settlement {
            store,
            banks: &banks,
            centre: C,
        };
        let m0 = format!("201.{}", w.members[0]);
        assert_eq!(acct(store, &m0).balance, yuan("1200.00"));

        let o = pay(&s, payout("P1", &w.members[0], "1000.00")).unwrap();
        assert!(matches!(o, Outcome::Executed { .. }), "{o:?}");
        assert_eq!(acct(store, &m0).balance, yuan("200.00"));
        assert_eq!(acct(store, &m0).pending_out, Fen::ZERO);
        assert_eq!(acct(store, "101.105").balance, yuan("2120.00"));

        // The same request again: not sent again, same outcome.
        let again = pay(&s, payout("P1", &w.members[0], "1000.00")).unwrap();
        assert_eq!(again, o);
        assert_eq!(bank.sends("P1"), 1);
        assert_eq!(acct(store, &m0).balance, yuan("200.00"));
        // The same serial for something else: refused.
        let err = pay(&s, payout("P1", &w.members[0], "10.00")).unwrap_err();
        assert!(err.to_string().contains("used already"), "{err}");

        // More than is available: refused before anything is sent.
        let err = pay(&s, payout("P2", &w.members[0], "200.01")).unwrap_err();
        assert!(err.to_string().contains("P2"), "{err}");
        assert_eq!(bank.sends("P2"), 0);
        assert!(instructions(store, C, &["P2"]).unwrap().is_empty());

        // A rejection voids the pending entry: the money is back.
        bank.on("P3", Script::Reject("户名不符 (name mismatch)"));
        let o = pay(&s, payout("P3", &w.members[1], "500.00")).unwrap();
        assert!(
            matches!(&o, Outcome::NotExecuted { reason, .. } if reason.contains("户名不符")),
            "{o:?}"
        );
        let m1 = format!("201.{}", w.members[1]);
        assert_eq!(acct(store, &m1).balance, yuan("1920.00"));
        assert_eq!(acct(store, &m1).pending_out, Fen::ZERO);

        // Bad input changes nothing.
        let err = pay(&s, payout("bad serial!", &w.members[1], "1.00")).unwrap_err();
        assert!(err.to_string().contains("serial"), "{err}");
        let err = pay(&s, payout("P4", &w.members[1], "0.00")).unwrap_err();
        assert!(err.to_string().contains("positive"), "{err}");
        assert!(audit(store, C).unwrap().is_clean());
    });
}

#[test]
fn a_timeout_stays_pending_until_the_bank_answers_a_status_query() {
    for_each_backend(|db| {
        let store = db.store.as_ref();
        let w = world(store);
        let bank = Arc::new(ScriptedBank::new());
        let banks = setup_banks(&bank);
        let s = Settlement {
            store,
            banks: &banks,
            centre: C,
        };
        let m1 = format!("201.{}", w.members[1]);
        bank.on("T1", Script::ExecuteSilently);
        bank.on("T2", Script::Lose);
        assert!(matches!(
            pay(&s, payout("T1", &w.members[1], "300.00")).unwrap(),
            Outcome::AwaitingBank { .. }
        ));
        assert!(matches!(
            pay(&s, payout("T2", &w.members[1], "200.00")).unwrap(),
            Outcome::AwaitingBank { .. }
        ));
        // Both reserved: the balance has not moved, the available money has.
        assert_eq!(acct(store, &m1).balance, yuan("1920.00"));
        assert_eq!(acct(store, &m1).pending_out, yuan("500.00"));
        // Asking again with the same serial does not resend.
        assert!(matches!(
            pay(&s, payout("T2", &w.members[1], "200.00")).unwrap(),
            Outcome::AwaitingBank { .. }
        ));
        assert_eq!(bank.sends("T2"), 1);

        // Not due yet: nothing asked.
        let r = resolve_unsettled(&s, None, now(), 100).unwrap();
        assert_eq!(r.queried, 0);
        // The bank is down: still unknown, asked again later, never failed.
        bank.books.lock().unwrap().down = true;
        let r = resolve_unsettled(&s, None, later(10), 100).unwrap();
        assert_eq!((r.queried, r.unknown), (2, 2));
        assert_eq!(acct(store, &m1).pending_out, yuan("500.00"));
        let row = instructions(store, C, &["T1"]).unwrap().pop().unwrap();
        assert_eq!(row.queries, 1);
        assert!(row.next_query_at_us.unwrap() > later(10).as_microsecond());
        // Asking about all of them at once (not yet due) still schedules the next query
        // from now, at most five minutes ahead.
        let r = resolve_all(&s, None, later(11), 100).unwrap();
        assert_eq!((r.queried, r.unknown), (2, 2));
        let row = instructions(store, C, &["T1"]).unwrap().pop().unwrap();
        assert_eq!(row.queries, 2);
        assert!(row.next_query_at_us.unwrap() <= later(11 + 300).as_microsecond());
        // Back up: T1 was executed (posted), T2 never arrived (voided, serial closed).
        bank.books.lock().unwrap().down = false;
        let r = resolve_unsettled(&s, None, later(3600), 100).unwrap();
        assert_eq!((r.executed, r.not_executed, r.unknown), (1, 1, 0));
        assert_eq!(acct(store, &m1).balance, yuan("1620.00"));
        assert_eq!(acct(store, &m1).pending_out, Fen::ZERO);
        assert_eq!(bank.books.lock().unwrap().closed, vec!["T2".to_owned()]);
        let row = instructions(store, C, &["T1"]).unwrap().pop().unwrap();
        assert_eq!(row.settled_at_us, Some(later(3600).as_microsecond()));
        assert_eq!(row.next_query_at_us, None);
        assert_eq!(bank.sends("T1") + bank.sends("T2"), 2);
        assert!(audit(store, C).unwrap().is_clean());
    });
}

#[test]
fn notices_apply_once_and_contradictions_are_refused() {
    for_each_backend(|db| {
        let store = db.store.as_ref();
        let w = world(store);
        let bank = Arc::new(ScriptedBank::new());
        let banks = setup_banks(&bank);
        let s = Settlement {
            store,
            banks: &banks,
            centre: C,
        };
        let m1 = format!("201.{}", w.members[1]);
        bank.on("N1", Script::ExecuteSilently);
        pay(&s, payout("N1", &w.members[1], "100.00")).unwrap();
        let notice = |id: &str, answer: BankAnswer| Notice {
            notice_id: id.into(),
            bank: BANK.into(),
            sent_at: now(),
            event: NoticeEvent::Result {
                serial: "N1".into(),
                answer,
            },
        };
        // A wrong amount is refused and changes nothing.
        let what = receive_notice(
            store,
            C,
            &notice("X0", ScriptedBank::executed(yuan("99.00"), "N1")),
            "h0",
            now(),
        )
        .unwrap();
        assert!(what.starts_with("refused"), "{what}");
        assert_eq!(acct(store, &m1).pending_out, yuan("100.00"));
        // The notice settles it; its duplicate and a second notice saying the same change
        // nothing.
        let ok = notice("X1", ScriptedBank::executed(yuan("100.00"), "N1"));
        assert_eq!(
            receive_notice(store, C, &ok, "h1", now()).unwrap(),
            "applied"
        );
        assert!(
            receive_notice(store, C, &ok, "h1", now())
                .unwrap()
                .contains("seen before")
        );
        let same = notice("X2", ScriptedBank::executed(yuan("100.00"), "N1"));
        assert_eq!(
            receive_notice(store, C, &same, "h2", now()).unwrap(),
            "no change"
        );
        assert_eq!(acct(store, &m1).balance, yuan("1820.00"));
        // "Not executed" after "executed" contradicts: refused, the payment stands.
        let contra = notice(
            "X3",
            BankAnswer::Rejected {
                reason: "late rejection".into(),
            },
        );
        assert!(
            receive_notice(store, C, &contra, "h3", now())
                .unwrap()
                .starts_with("refused")
        );
        assert_eq!(acct(store, &m1).balance, yuan("1820.00"));
        // A notice about an unknown serial is refused.
        let stray = Notice {
            event: NoticeEvent::Result {
                serial: "NOPE".into(),
                answer: ScriptedBank::executed(yuan("1.00"), "NOPE"),
            },
            ..notice("X4", BankAnswer::Processing)
        };
        assert!(
            receive_notice(store, C, &stray, "h4", now())
                .unwrap()
                .starts_with("refused")
        );
        assert!(audit(store, C).unwrap().is_clean());
    });
}

#[test]
fn collections_pay_the_bill_once_and_incoming_money_is_matched_or_parked() {
    for_each_backend(|db| {
        let store = db.store.as_ref();
        let w = world(store);
        let bank = Arc::new(ScriptedBank::new());
        let banks = setup_banks(&bank);
        let s = Settlement {
            store,
            banks: &banks,
            centre: C,
        };
        let coll = |serial: &str| Collection {
            serial: serial.into(),
            bill_no: w.bill.clone(),
            unit_account: None,
            amount: None,
            stamp: clerk(),
        };
        // A rejected direct debit leaves the bill unpaid.
        bank.on("C1", Script::Reject("余额不足 (insufficient funds)"));
        let o = collect(&s, &[coll("C1")], now()).unwrap().pop().unwrap();
        assert!(matches!(o, Outcome::NotExecuted { .. }), "{o:?}");
        {
            let mut tx = store.begin_read().unwrap();
            assert_eq!(
                tx.bill(C, &w.bill).unwrap().unwrap().status,
                BillStatus::Confirmed
            );
        }
        // The answer lost, then a notice: the bill is paid once.
        bank.on("C2", Script::ExecuteSilently);
        collect(&s, &[coll("C2")], now()).unwrap();
        let n = Notice {
            notice_id: "K1".into(),
            bank: BANK.into(),
            sent_at: now(),
            event: NoticeEvent::Result {
                serial: "C2".into(),
                answer: ScriptedBank::executed(yuan("3120.00"), "C2"),
            },
        };
        assert_eq!(
            receive_notice(store, C, &n, "k1", now()).unwrap(),
            "applied"
        );
        let r = resolve_unsettled(&s, None, later(3600), 10).unwrap();
        assert_eq!(r.queried, 0);
        assert_eq!(acct(store, "101.105").balance, yuan("6240.00"));
        {
            let mut tx = store.begin_read().unwrap();
            assert_eq!(
                tx.bill(C, &w.bill).unwrap().unwrap().status,
                BillStatus::Paid
            );
        }
        // Asked again under the same serial (e.g. after a crash): the same instruction,
        // not sent again, although nothing is due any more.
        let again = collect(&s, &[coll("C2")], now()).unwrap().pop().unwrap();
        assert!(matches!(again, Outcome::Executed { .. }), "{again:?}");
        assert_eq!(bank.sends("C2"), 1);
        // A collection whose bill is paid at the counter while the bank works: the money
        // that then arrives is held for the unit, not lost and not stuck.
        set_business_date(store, C, d("2026-04-10")).unwrap();
        let p = Policy::from_toml(QUZHOU_POLICY).unwrap();
        let cal = BusinessCalendar::cn().unwrap();
        let april = generate_bill(
            store,
            C,
            &p,
            &cal,
            &w.unit,
            YearMonth::parse("2026-04").unwrap(),
        )
        .unwrap();
        confirm_bill(store, C, &april.bill.bill_no).unwrap();
        bank.on("C4", Script::ExecuteSilently);
        let c4 = Collection {
            serial: "C4".into(),
            bill_no: april.bill.bill_no.clone(),
            unit_account: None,
            amount: None,
            stamp: clerk(),
        };
        collect(&s, &[c4], now()).unwrap();
        // A second direct debit of the same bill while the first has no answer: refused
        // (it could charge the unit twice), nothing sent.
        let c5 = Collection {
            serial: "C5".into(),
            bill_no: april.bill.bill_no.clone(),
            unit_account: None,
            amount: None,
            stamp: clerk(),
        };
        let err = collect(&s, &[c5], now()).unwrap_err();
        assert!(
            err.to_string()
                .contains("waiting for the bank's answer (C4)"),
            "{err}"
        );
        assert_eq!(bank.sends("C5"), 0);
        assert!(instructions(store, C, &["C5"]).unwrap().is_empty());
        pay_bill(
            store,
            C,
            Payment {
                bill_no: april.bill.bill_no.clone(),
                receipt_key: "COUNTER-2".into(),
                amount: yuan("3120.00"),
                bank_code: None,
            },
            &clerk(),
            now(),
        )
        .unwrap();
        let held_before = acct(store, &format!("213.{}", w.unit)).balance;
        let r = resolve_unsettled(&s, None, later(3600), 10).unwrap();
        assert_eq!(r.executed, 1);
        assert_eq!(
            acct(store, &format!("213.{}", w.unit)).balance,
            held_before.checked_add(yuan("3120.00")).unwrap()
        );
        assert_eq!(acct(store, "101.105").balance, yuan("12480.00"));
        // A paid bill is not collected again.
        let err = collect(&s, &[coll("C3")], now()).unwrap_err();
        assert!(err.to_string().contains("paid"), "{err}");

        // Money someone sent: unknown payer and memo → parked in 215.105.
        let credit = |id: &str, r: &str, amount: &str, payer: &str, memo: &str| Notice {
            notice_id: id.into(),
            bank: BANK.into(),
            sent_at: now(),
            event: NoticeEvent::Credit {
                account: FUND.into(),
                line: StatementLine {
                    bank_ref: r.into(),
                    serial: None,
                    amount: yuan(amount),
                    counterparty_account: payer.into(),
                    counterparty_name: "某公司".into(),
                    memo: memo.into(),
                    value_date: d("2026-03-10"),
                },
            },
        };
        let what = receive_notice(
            store,
            C,
            &credit("K2", "IN1", "88.00", "999", "货款"),
            "k2",
            now(),
        )
        .unwrap();
        assert!(what.contains("suspense"), "{what}");
        assert_eq!(acct(store, "215.105").balance, yuan("88.00"));
        // The same credit again (another notice id): nothing new.
        assert_eq!(
            receive_notice(
                store,
                C,
                &credit("K3", "IN1", "88.00", "999", "货款"),
                "k3",
                now()
            )
            .unwrap(),
            "no change"
        );
        assert_eq!(acct(store, "215.105").balance, yuan("88.00"));
        let parked = suspense_items(store, C).unwrap();
        assert_eq!(parked.len(), 1);
        // Staff assign it to the unit: it moves to the unit's suspense.
        let assignment = Assignment {
            bank_code: BANK.into(),
            bank_ref: "IN1".into(),
            unit_no: w.unit.clone(),
            note: "单位来电确认为五月预缴".into(),
        };
        let row = assign_incoming(store, C, &assignment, &clerk(), now()).unwrap();
        assert_eq!(row.matched, "assigned");
        assert_eq!(acct(store, "215.105").balance, Fen::ZERO);
        // 3,120.00 held from the late collection + these 88.00.
        assert_eq!(
            acct(store, &format!("213.{}", w.unit)).balance,
            yuan("3208.00")
        );
        assert!(suspense_items(store, C).unwrap().is_empty());
        let err = assign_incoming(store, C, &assignment, &clerk(), now()).unwrap_err();
        assert!(err.to_string().contains("not in suspense"), "{err}");
        assert!(audit(store, C).unwrap().is_clean());
    });
}

#[test]
fn reconciliation_lists_differences_and_keeps_them_open_until_settled() {
    for_each_backend(|db| {
        let store = db.store.as_ref();
        let w = world(store);
        let bank = Arc::new(ScriptedBank::new());
        let banks = setup_banks(&bank);
        let s = Settlement {
            store,
            banks: &banks,
            centre: C,
        };
        pay(&s, payout("R1", &w.members[0], "100.00")).unwrap();
        pay(&s, payout("R2", &w.members[1], "200.00")).unwrap();
        let day = d("2026-03-10");
        let r = reconcile(&s, BANK, day, now()).unwrap();
        assert!(r.mismatches.is_empty(), "{:?}", r.mismatches);
        assert_eq!((r.run.bank_lines, r.run.anju_lines), (2, 2));

        // The bank shows a line Anju never sent, and lost R2 (a bank-side error).
        {
            let mut b = bank.books.lock().unwrap();
            b.executed.insert("GHOST".into(), (-5000, "RGHOST".into()));
            let r2 = b.executed.remove("R2").unwrap();
            b.executed.insert("R2X".into(), r2);
            let (a, r) = b.executed.remove("R1").unwrap();
            b.executed.insert("R1".into(), (a - 1, r));
        }
        let r = reconcile(&s, BANK, day, later(60)).unwrap();
        let kinds: Vec<(String, String)> = r
            .open_items
            .iter()
            .map(|i| (i.serial.clone(), i.kind.clone()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("GHOST".to_owned(), "missing_in_anju".to_owned()),
                ("R1".to_owned(), "amount_differs".to_owned()),
                ("R2".to_owned(), "missing_at_bank".to_owned()),
                ("R2X".to_owned(), "missing_in_anju".to_owned()),
            ]
        );
        let r1 = r.open_items.iter().find(|i| i.serial == "R1").unwrap();
        assert_eq!(
            (r1.bank_amount, r1.anju_amount),
            (Some(-10_001), Some(-10_000))
        );
        // Kept open across runs, first-found time kept.
        let again = reconcile(&s, BANK, day, later(120)).unwrap();
        assert_eq!(again.open_items.len(), 4);
        assert_eq!(again.open_items[0].found_at_us, later(60).as_microsecond());
        // The bank corrects its records: a rerun resolves the items.
        {
            let mut b = bank.books.lock().unwrap();
            b.executed.remove("GHOST");
            let r2 = b.executed.remove("R2X").unwrap();
            b.executed.insert("R2".into(), r2);
            let (a, r) = b.executed.remove("R1").unwrap();
            b.executed.insert("R1".into(), (a + 1, r));
        }
        let fixed = reconcile(&s, BANK, day, later(180)).unwrap();
        assert!(fixed.mismatches.is_empty());
        assert_eq!(fixed.resolved.len(), 4);
        assert!(open_recon_items(store, C, Some(BANK)).unwrap().is_empty());
        assert!(audit(store, C).unwrap().is_clean());
    });
}
