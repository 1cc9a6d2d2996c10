//! Settlement benchmarks: `anju bench payout` (the time a payout through `anju bank-sim`
//! adds to a withdrawal) and `anju bench reconcile` (one day's statement of 500,000 lines
//! against Anju's records).

use std::sync::Arc;
use std::time::Instant;

use anju_app::ledger::post_one;
use anju_app::settlement::{self, BankSet, NewBank, Payout, Settlement, register_bank};
use anju_bank::client::BankClient;
use anju_bank::protocol::{StatementBody, WireLine};
use anju_bank::sim::process::BankSimProcess;
use anju_domain::codes::SettlementBusinessType;
use anju_domain::ledger::{AccountNo, EntryRequest, Leg, TxCode};
use anju_domain::money::Fen;
use anju_domain::policy::{Policy, QUZHOU_POLICY};
use anju_domain::stamp::Stamp;
use anju_store::Backend;
use anju_store::settlement::InstructionRow;
use jiff::Timestamp;
use jiff::civil::date;

use crate::bench::{peak_rss_mb, percentile, scratch, seconds};
use crate::drill::{CENTRE, fund_account};

/// `anju bench payout`: `payouts` withdrawals paid one after another to members' cards
/// through `anju bank-sim` on loopback (no faults), each timed from the call to the
/// executed outcome; and the same number of withdrawals posted straight to the ledger
/// (the withdrawal without a bank) as the baseline. Prints p50/p99 of both and of the
/// difference.
pub fn payout(backend: Backend, db: Option<&str>, payouts: usize) -> anyhow::Result<()> {
    let s = scratch(backend, db)?;
    let store = s.store.as_ref();
    let policy = Policy::from_toml(QUZHOU_POLICY)?;
    let dir = tempfile::tempdir()?;
    let exe = std::env::current_exe()?;
    let sim = BankSimProcess::start(&exe, &dir.path().join("bank.db"), &["--bank", "105"])?;
    let count = (payouts * 2).max(20);
    crate::drill::fixture_for_bench(store, &policy, &sim.admin(), "105", count)?;
    let mut banks = BankSet::new();
    banks.insert(Arc::new(BankClient::new(sim.settings())?));
    let st = Settlement {
        store,
        banks: &banks,
        centre: CENTRE,
    };
    let members = crate::drill::members_for(count);
    let stamp = Stamp::system("bench");
    // Warm-up.
    for i in 0..20 {
        let p = Payout {
            serial: format!("W{i}"),
            account_no: crate::drill::member_no(i % members),
            amount: Fen::new(100),
            business_type: SettlementBusinessType::PartialWithdrawal,
            memo: "预热".into(),
            target: String::new(),
            stamp: stamp.clone(),
        };
        settlement::pay_members(&st, &[p], Timestamp::now())?;
    }
    let mut with_bank = Vec::with_capacity(payouts);
    for i in 0..payouts {
        let p = Payout {
            serial: format!("B{i}"),
            account_no: crate::drill::member_no(i % members),
            amount: Fen::new(100 + i as i64 % 1000),
            business_type: SettlementBusinessType::PartialWithdrawal,
            memo: "提取".into(),
            target: String::new(),
            stamp: stamp.clone(),
        };
        let t = Instant::now();
        let o = settlement::pay_members(&st, &[p], Timestamp::now())?;
        with_bank.push(t.elapsed().as_micros());
        anyhow::ensure!(
            matches!(o.first(), Some(settlement::Outcome::Executed { .. })),
            "payout {i} not executed: {o:?}"
        );
    }
    // Baseline: the withdrawal's own entry, no bank.
    let mut direct = Vec::with_capacity(payouts);
    for i in 0..payouts {
        let req = EntryRequest::posted(
            format!("direct:{i}"),
            TxCode::Withdrawal,
            date(2026, 5, 11),
            date(2026, 5, 11),
            vec![
                Leg::debit(
                    AccountNo::sub("201", &crate::drill::member_no(i % members))?,
                    Fen::new(100),
                ),
                Leg::credit(AccountNo::sub("101", "105")?, Fen::new(100)),
            ],
            "提取",
            stamp.clone(),
        );
        let t = Instant::now();
        post_one(store, CENTRE, req, Timestamp::now())?;
        direct.push(t.elapsed().as_micros());
    }
    // The bank's own share: instructions sent straight through the client.
    let client = BankClient::new(sim.settings())?;
    let fund = fund_account("105");
    let mut bank_only = Vec::with_capacity(payouts);
    for i in 0..payouts {
        use anju_app::settlement::ports::{Bank, Instruction};
        let ins = Instruction {
            serial: format!("X{i}"),
            kind: anju_domain::settlement::InstructionKind::Payment,
            business_type: SettlementBusinessType::PartialWithdrawal,
            debit_account: fund.clone(),
            credit_account: crate::drill::card_no(i % members),
            credit_name: format!("职工{}", i % members),
            credit_bank: None,
            amount: Fen::new(1),
            memo: "提取".into(),
        };
        let t = Instant::now();
        let r = client.submit(std::slice::from_ref(&ins));
        bank_only.push(t.elapsed().as_micros());
        anyhow::ensure!(
            matches!(
                r.first(),
                Some(Ok(anju_app::settlement::ports::BankAnswer::Executed { .. }))
            ),
            "bank-only payment {i}: {r:?}"
        );
    }
    bank_only.sort_unstable();
    with_bank.sort_unstable();
    direct.sort_unstable();
    let p = |v: &[u128], q| seconds(percentile(v, q));
    println!(
        "{{\"bench\":\"payout\",\"backend\":\"{}\",\"payouts\":{payouts},\"with_bank_p50_s\":{},\"with_bank_p99_s\":{},\"direct_p50_s\":{},\"direct_p99_s\":{},\"added_p50_s\":{},\"added_p99_s\":{},\"bank_only_p50_s\":{},\"bank_only_p99_s\":{},\"peak_rss_mb\":{}}}",
        backend.name(),
        p(&with_bank, 50),
        p(&with_bank, 99),
        p(&direct, 50),
        p(&direct, 99),
        seconds(percentile(&with_bank, 50).saturating_sub(percentile(&direct, 50))),
        seconds(percentile(&with_bank, 99).saturating_sub(percentile(&direct, 99))),
        p(&bank_only, 50),
        p(&bank_only, 99),
        peak_rss_mb()
    );
    Ok(())
}

/// `anju bench reconcile`: a day with `lines` executed instructions at one bank (recorded
/// through the store port as a fixture), the bank's statement of the same day as the JSON
/// body the bank sends (a few lines changed, missing or extra), then timed: parsing and
/// checking the statement, reading Anju's records, comparing, and storing the run and its
/// open items.
pub fn reconcile(backend: Backend, db: Option<&str>, lines: usize) -> anyhow::Result<()> {
    let s = scratch(backend, db)?;
    let store = s.store.as_ref();
    let day = date(2026, 5, 11);
    let now = Timestamp::now();
    anju_app::ledger::open_centre(store, CENTRE, "衢州市住房公积金管理中心", day, now)?;
    let fund = fund_account("105");
    register_bank(
        store,
        CENTRE,
        &NewBank {
            code: "105".into(),
            name: "基准银行".into(),
            fund_account: fund.clone(),
            fund_account_name: "衢州市住房公积金管理中心".into(),
        },
    )?;
    let t_fix = Instant::now();
    let mut wire = Vec::with_capacity(lines);
    let mut rows = Vec::with_capacity(10_000);
    let mut closing = 0i64;
    for i in 0..lines {
        let serial = format!("S{i:09}");
        let payment = i % 3 != 0;
        let amount = 100 + (i as i64 * 7919) % 500_000;
        let signed = if payment { -amount } else { amount };
        let row = InstructionRow {
            serial: serial.clone(),
            bank_code: "105".into(),
            kind: if payment { "payment" } else { "collection" }.into(),
            business_type: if payment { "02" } else { "01" }.into(),
            debit_account: if payment {
                fund.clone()
            } else {
                format!("U{i}")
            },
            credit_account: if payment {
                format!("C{i}")
            } else {
                fund.clone()
            },
            credit_name: "职工".into(),
            credit_bank: None,
            amount,
            memo: String::new(),
            target: format!("member:{i}"),
            entry_key: None,
            state: "executed".into(),
            bank_ref: Some(format!("R{i:09}")),
            value_date: Some(day),
            reason: None,
            business_date: day,
            operator: "system:bench".into(),
            created_at_us: now.as_microsecond(),
            settled_at_us: Some(now.as_microsecond()),
            queries: 0,
            next_query_at_us: None,
        };
        rows.push(row);
        if rows.len() == 10_000 {
            let mut tx = store.begin()?;
            tx.insert_instructions(CENTRE, &rows)?;
            tx.commit()?;
            rows.clear();
        }
        // The bank's side: every 100,000th line differs by a fen, one is missing.
        let bank_amount = if i % 100_000 == 1 { signed - 1 } else { signed };
        if i != 7 {
            closing += bank_amount;
            wire.push(WireLine {
                bank_ref: format!("R{i:09}"),
                serial: Some(serial),
                amount_fen: bank_amount,
                counterparty_account: format!("C{i}"),
                counterparty_name: "职工".into(),
                memo: String::new(),
                value_date: day,
            });
        }
    }
    if !rows.is_empty() {
        let mut tx = store.begin()?;
        tx.insert_instructions(CENTRE, &rows)?;
        tx.commit()?;
    }
    // A line Anju never sent.
    wire.push(WireLine {
        bank_ref: "RX".into(),
        serial: Some("SX".into()),
        amount_fen: -5_000,
        counterparty_account: "CX".into(),
        counterparty_name: "X".into(),
        memo: String::new(),
        value_date: day,
    });
    closing -= 5_000;
    let body = serde_json::to_vec(&StatementBody {
        account: fund.clone(),
        date: day,
        opening_fen: 0,
        closing_fen: closing,
        lines: wire,
    })?;
    let fixture_us = t_fix.elapsed().as_micros();
    let t = Instant::now();
    let parsed: StatementBody = serde_json::from_slice(&body)?;
    let statement = parsed
        .to_port(&fund, day)
        .map_err(|e| anyhow::anyhow!("statement: {e}"))?;
    let parse_us = t.elapsed().as_micros();
    let report = settlement::reconcile_statement(store, CENTRE, "105", &statement, now)?;
    let total_us = t.elapsed().as_micros();
    let expected = 1 + lines.div_ceil(100_000) + usize::from(lines > 7);
    anyhow::ensure!(
        report.mismatches.len() == expected,
        "expected {expected} differences, found {}",
        report.mismatches.len()
    );
    println!(
        "{{\"bench\":\"reconcile\",\"backend\":\"{}\",\"lines\":{lines},\"statement_mb\":{},\"differences\":{},\"parse_s\":{},\"total_s\":{},\"fixture_s\":{},\"peak_rss_mb\":{}}}",
        backend.name(),
        body.len() / 1_048_576,
        report.mismatches.len(),
        seconds(parse_us),
        seconds(total_us),
        seconds(fixture_us),
        peak_rss_mb()
    );
    Ok(())
}
