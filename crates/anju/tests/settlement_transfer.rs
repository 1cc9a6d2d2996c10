//! A transfer between the fund's accounts at two banks (资金划转), end to end on every
//! backend: two `anju bank-sim` processes (the paying one forwards the money to the
//! other, which sends its own credit notice), `anju serve` receiving both banks' notices,
//! and `anju settle transfer` / `anju reconcile` as a clerk runs them. The ledger follows
//! each bank: the paying account drops when its bank executes, the receiving account rises
//! when its bank's notice arrives, and the in-transit account `103` returns to zero.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use anju_app::ledger::{audit, open_accounts, open_centre, post_one};
use anju_app::settlement::{NewBank, register_bank};
use anju_bank::sim::process::BankSimProcess;
use anju_domain::ledger::{AccountNo, EntryRequest, Leg, TxCode};
use anju_domain::money::Fen;
use anju_domain::stamp::Stamp;
use anju_store::Store;
use anju_testkit::for_each_backend;
use jiff::Timestamp;
use jiff::civil::Date;

const EXE: &str = env!("CARGO_BIN_EXE_anju");
const C: &str = "330800000000000";
const DAY: &str = "2026-05-11";

fn fund(bank: &str) -> String {
    format!("3305016600000000{bank:0>4}")
}

fn balance(store: &dyn Store, no: &str) -> i64 {
    store
        .begin_read()
        .unwrap()
        .load_accounts(C, &[AccountNo::parse(no).unwrap()])
        .unwrap()
        .pop()
        .map_or(0, |a| a.balance.fen())
}

fn anju(args: &[&str]) -> std::process::Output {
    Command::new(EXE).args(args).output().unwrap()
}

#[test]
fn a_transfer_between_banks_follows_both_banks_and_reconciles() {
    for_each_backend(|db| {
        let store = db.store.as_ref();
        let day: Date = DAY.parse().unwrap();
        let now = Timestamp::now();
        open_centre(store, C, "衢州市住房公积金管理中心", day, now).unwrap();
        anju_testkit::staff::seed(store, C, day);
        for (code, name) in [
            ("105", "中国建设银行衢州分行"),
            ("103", "中国农业银行衢州分行"),
        ] {
            register_bank(
                store,
                C,
                &NewBank {
                    code: code.into(),
                    name: name.into(),
                    fund_account: fund(code),
                    fund_account_name: "衢州市住房公积金管理中心".into(),
                },
            )
            .unwrap();
        }
        // 10,000.00 at bank 105 (migrated opening balances).
        let member = AccountNo::sub("201", "33080000000001").unwrap();
        open_accounts(store, C, std::slice::from_ref(&member), day).unwrap();
        post_one(
            store,
            C,
            EntryRequest::posted(
                "open:1",
                TxCode::OpeningBalance,
                day,
                day,
                vec![
                    Leg::debit(AccountNo::sub("101", "105").unwrap(), Fen::new(1_000_000)),
                    Leg::credit(member, Fen::new(1_000_000)),
                ],
                "期初余额",
                Stamp::system("test"),
            ),
            now,
        )
        .unwrap();

        let dir = tempfile::tempdir().unwrap();
        let port = anju_testkit::free_port();
        let callback = format!("http://127.0.0.1:{port}/bank/notices");
        let exe = std::path::Path::new(EXE);
        let b = BankSimProcess::start(
            exe,
            &dir.path().join("b.db"),
            &["--bank", "103", "--date", DAY, "--callback", &callback],
        )
        .unwrap();
        let peer = format!("103={}", b.url());
        let a = BankSimProcess::start(
            exe,
            &dir.path().join("a.db"),
            &[
                "--bank",
                "105",
                "--date",
                DAY,
                "--callback",
                &callback,
                "--peer",
                &peer,
            ],
        )
        .unwrap();
        a.admin()
            .open_account(&fund("105"), "衢州市住房公积金管理中心", 1_000_000)
            .unwrap();
        b.admin()
            .open_account(&fund("103"), "衢州市住房公积金管理中心", 0)
            .unwrap();

        // Anju's server receives both banks' notices.
        let url_a = format!("105={}", a.url());
        let url_b = format!("103={}", b.url());
        let server = common::Serve::start(
            &db.url,
            port,
            &["--bank-url", &url_a, "--bank-url", &url_b],
            &[],
            &dir.path().join("serve.log"),
        );
        let banks = ["--bank-url", &url_a, "--bank-url", &url_b];
        let with = |args: &[&str]| {
            let mut v: Vec<&str> = args.to_vec();
            v.extend_from_slice(&["--db", &db.url]);
            v.extend_from_slice(&banks);
            anju(&v)
        };

        // Refused before anything is sent.
        let same = with(&[
            "settle",
            "transfer",
            "--operator",
            "staff:ac01",
            "--serial",
            "Z1",
            "--from",
            "105",
            "--to",
            "105",
            "--amount",
            "1.00",
        ]);
        assert!(!same.status.success());
        assert!(String::from_utf8_lossy(&same.stderr).contains("another bank"));
        let unknown = with(&[
            "settle",
            "transfer",
            "--operator",
            "staff:ac01",
            "--serial",
            "Z2",
            "--from",
            "105",
            "--to",
            "999",
            "--amount",
            "1.00",
        ]);
        assert!(!unknown.status.success());
        assert!(String::from_utf8_lossy(&unknown.stderr).contains("not a registered"));

        let out = with(&[
            "settle",
            "transfer",
            "--operator",
            "staff:ac01",
            "--serial",
            "HZ0001",
            "--from",
            "105",
            "--to",
            "103",
            "--amount",
            "2500.00",
        ]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("HZ0001: executed"), "{text}");
        assert_eq!(balance(store, "101.105"), 750_000);

        // Bank 103's credit notice arrives at the server.
        let deadline = Instant::now() + Duration::from_secs(20);
        while balance(store, "101.103") == 0 {
            assert!(Instant::now() < deadline, "bank 103's credit never arrived");
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(balance(store, "101.103"), 250_000);
        assert_eq!(balance(store, "103"), 0);
        let arrived = store
            .begin_read()
            .unwrap()
            .incoming_on(C, "103", day)
            .unwrap();
        assert_eq!(arrived.len(), 1);
        assert_eq!(arrived[0].matched, "transfer");

        // Both banks reconcile without a difference and hold what the ledger says.
        for bank in ["105", "103"] {
            let r = with(&["reconcile", "--bank", bank, "--date", DAY]);
            let text = String::from_utf8_lossy(&r.stdout);
            assert!(r.status.success(), "{bank}: {text}");
            assert!(text.contains("0 difference(s)"), "{text}");
        }
        let at = |p: &BankSimProcess, acct: &str| {
            p.admin()
                .accounts()
                .unwrap()
                .into_iter()
                .find(|x| x.account == acct)
                .unwrap()
                .balance_fen
        };
        assert_eq!(at(&a, &fund("105")), balance(store, "101.105"));
        assert_eq!(at(&b, &fund("103")), balance(store, "101.103"));
        // The balance query: the bank's figure beside the ledger's.
        let b105 = with(&["settle", "balance", "--bank", "105"]);
        let text = String::from_utf8_lossy(&b105.stdout);
        assert!(b105.status.success(), "{text}");
        assert!(
            text.contains("7,500.00 at the bank, 7,500.00 in ledger 101.105 — equal"),
            "{text}"
        );
        assert!(audit(store, C).unwrap().is_clean());
        drop(server);
    });
}
