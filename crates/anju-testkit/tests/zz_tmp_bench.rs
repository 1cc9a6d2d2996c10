//! TEMPORARY benchmark (to be deleted).
use std::time::Instant;

use anju_domain::codes::Channel;
use anju_domain::ledger::{
    AccountNo, AccountState, ChainHead, Entry, EntryKind, Leg, SealedEntry, TxCode, genesis_hash,
};
use anju_domain::money::Fen;
use anju_domain::stamp::Stamp;
use anju_store::{Backend, CentreRow};
use anju_testkit::TestDb;

const CENTRE: &str = "330800000000000";
const MEMBERS: usize = 224_000;
const ENTRIES: usize = 6_000;
const PER: usize = 36;

fn member(i: usize) -> AccountNo {
    AccountNo::parse(&format!("201.M{i:06}")).unwrap()
}

#[test]
fn bench() {
    let backend = match std::env::var("BENCH_BACKEND").as_deref() {
        Ok("sqlite") => Backend::Sqlite,
        _ => Backend::Postgres,
    };
    let db = TestDb::fresh(backend);
    let store = db.store.as_ref();
    if std::env::var("SHOW_SCHEMA").is_ok() {
        println!("{:#?}", store.schema().unwrap());
    }
    let opened = "2025-07-01".parse().unwrap();
    let bd = "2026-01-05".parse().unwrap();
    let centre = CentreRow {
        code: CENTRE.into(),
        name: "c".into(),
        business_date: bd,
        head: ChainHead {
            seq: 0,
            hash: genesis_hash(CENTRE),
        },
        created_at_us: 0,
    };
    let mut accounts = vec![
        AccountState::open(AccountNo::parse("101.ICBC").unwrap(), opened),
        AccountState::open(AccountNo::control("201").unwrap(), opened),
    ];
    accounts.extend((0..MEMBERS).map(|i| AccountState::open(member(i), opened)));
    if let Ok(ff) = std::env::var("FILLFACTOR") {
        let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
        c.batch_execute(&format!(
            "ALTER TABLE ledger_accounts SET (fillfactor = {ff})"
        ))
        .unwrap();
    }
    let t = Instant::now();
    let mut tx = store.begin().unwrap();
    tx.insert_centre(&centre).unwrap();
    tx.insert_accounts(CENTRE, &accounts).unwrap();
    tx.commit().unwrap();
    println!("insert {} accounts: {:?}", accounts.len(), t.elapsed());
    let mut head = centre.head;
    let batches: usize = std::env::var("BATCHES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let mut total_store = std::time::Duration::ZERO;
    let mut postings = 0usize;
    for b in 0..batches {
        // build entries
        let t0 = Instant::now();
        let mut sealed = Vec::with_capacity(ENTRIES);
        let mut nos = Vec::new();
        for e in 0..ENTRIES {
            let mut legs = vec![Leg::debit(
                AccountNo::parse("101.ICBC").unwrap(),
                Fen::new(100 * PER as i64),
            )];
            for k in 0..PER {
                let m = member((e * PER + k + b * 7) % MEMBERS);
                nos.push(m.clone());
                legs.push(Leg::credit(m, Fen::new(100)));
            }
            let body = Entry {
                key: format!("b{b}-e{e}"),
                kind: EntryKind::Posted,
                ref_seq: None,
                code: TxCode::Remittance,
                business_date: bd,
                value_date: bd,
                memo: "汇缴".into(),
                stamp: Stamp {
                    operator: "system:bench".into(),
                    channel: Channel::Batch,
                    service_point: "centre".into(),
                    on_behalf_of: None,
                },
                legs,
            };
            let s = SealedEntry::seal(CENTRE, head.seq + 1, head.hash, 1, body);
            head = ChainHead {
                seq: s.seq,
                hash: s.hash,
            };
            sealed.push(s);
        }
        nos.push(AccountNo::parse("101.ICBC").unwrap());
        nos.push(AccountNo::control("201").unwrap());
        nos.sort();
        nos.dedup();
        let build = t0.elapsed();
        let t = Instant::now();
        let mut tx = store.begin().unwrap();
        tx.lock_chain_head(CENTRE).unwrap();
        tx.centre(CENTRE).unwrap();
        let keys: Vec<String> = sealed.iter().map(|s| s.entry.key.clone()).collect();
        assert!(tx.entries_by_keys(CENTRE, &keys).unwrap().is_empty());
        let t_keys = t.elapsed();
        let mut loaded = tx.load_accounts(CENTRE, &nos).unwrap();
        let t_load = t.elapsed();
        for a in &mut loaded {
            a.balance = Fen::new(a.balance.fen() + 100);
            a.entry_count += 1;
        }
        loaded.sort_by(|a, b| a.no.cmp(&b.no));
        tx.insert_entries(CENTRE, &sealed).unwrap();
        let t_ins = t.elapsed();
        tx.save_accounts(CENTRE, &loaded).unwrap();
        let t_save = t.elapsed();
        tx.set_chain_head(CENTRE, head).unwrap();
        tx.commit().unwrap();
        let el = t.elapsed();
        total_store += el;
        postings += ENTRIES * PER;
        println!(
            "batch {b}: build {build:?}; keys {t_keys:?} load {:?} ({}) insert {:?} save {:?} commit {:?}; total {el:?} => {:.0} member postings/s (store only)",
            t_load - t_keys,
            loaded.len(),
            t_ins - t_load,
            t_save - t_ins,
            el - t_save,
            (ENTRIES * PER) as f64 / el.as_secs_f64()
        );
    }
    println!(
        "overall store: {postings} postings in {total_store:?} = {:.0}/s",
        postings as f64 / total_store.as_secs_f64()
    );
    let t = Instant::now();
    let mut tx = store.begin().unwrap();
    let all = tx.scan_entries(CENTRE, 0, 20_000).unwrap();
    println!("scan 20000 entries: {:?} ({})", t.elapsed(), all.len());
    let t = Instant::now();
    let all = tx.all_accounts(CENTRE).unwrap();
    println!("all_accounts: {:?} ({})", t.elapsed(), all.len());
}
