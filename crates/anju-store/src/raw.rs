//! Rows as both SQL backends read them (plain strings and integers), and their decoding
//! into domain types. Shared so both backends decode identically; a value that does not
//! decode is reported as [`StoreError::Corrupt`], naming the row and column, because it
//! means corruption or tampering.

use anju_domain::codes::Channel;
use anju_domain::ledger::{
    AccountNo, AccountState, Digest32, Entry, EntryKind, HashAlg, Leg, SealedEntry, Side, TxCode,
};
use anju_domain::money::Fen;
use anju_domain::stamp::Stamp;
use jiff::civil::Date;

use crate::StoreError;

fn corrupt(what: String) -> StoreError {
    StoreError::Corrupt { what }
}

/// Parses an ISO date column.
pub fn parse_date(column: &str, text: &str) -> Result<Date, StoreError> {
    let d: Date = text
        .parse()
        .map_err(|_| corrupt(format!("{column} = {text:?} is not a date")))?;
    // Anju writes exactly YYYY-MM-DD; anything else is not ours.
    if d.to_string() != text {
        return Err(corrupt(format!(
            "{column} = {text:?} is not in YYYY-MM-DD form"
        )));
    }
    Ok(d)
}

/// Parses a lower-case hex digest column.
pub fn parse_digest(column: &str, text: &str) -> Result<Digest32, StoreError> {
    Digest32::from_hex(text).map_err(|e| corrupt(format!("{column}: {e}")))
}

/// A `ledger_accounts` row.
#[derive(Debug, Clone)]
pub struct RawAccount {
    pub account_no: String,
    pub normal_side: String,
    pub non_negative: bool,
    pub opened_on: String,
    pub balance_fen: i64,
    pub pending_out_fen: i64,
    pub pending_in_fen: i64,
    pub accrual_fen_days: i64,
    pub accrual_from: String,
    pub last_change: String,
    pub entry_count: i64,
}

impl RawAccount {
    /// Decodes the row.
    pub fn decode(self) -> Result<AccountState, StoreError> {
        let at = |c: &str| format!("ledger_accounts[{}].{c}", self.account_no);
        let no = AccountNo::parse_any(&self.account_no)
            .map_err(|e| corrupt(format!("{}: {e}", at("account_no"))))?;
        let normal = Side::from_code(&self.normal_side)
            .ok_or_else(|| corrupt(format!("{} = {:?}", at("normal_side"), self.normal_side)))?;
        Ok(AccountState {
            no,
            normal,
            non_negative: self.non_negative,
            opened_on: parse_date(&at("opened_on"), &self.opened_on)?,
            balance: Fen::new(self.balance_fen),
            pending_out: Fen::new(self.pending_out_fen),
            pending_in: Fen::new(self.pending_in_fen),
            accrual: self.accrual_fen_days,
            accrual_from: parse_date(&at("accrual_from"), &self.accrual_from)?,
            last_change: parse_date(&at("last_change"), &self.last_change)?,
            entry_count: self.entry_count,
        })
    }
}

/// A `journal_entries` row.
#[derive(Debug, Clone)]
pub struct RawEntry {
    pub centre_code: String,
    pub seq: i64,
    pub idempotency_key: String,
    pub kind: String,
    pub ref_seq: Option<i64>,
    pub tx_code: String,
    pub business_date: String,
    pub value_date: String,
    pub memo: String,
    pub operator: String,
    pub channel: String,
    pub service_point: String,
    pub on_behalf_of: Option<String>,
    pub recorded_at_us: i64,
    pub hash_alg: String,
    pub body_hash: String,
    pub prev_hash: String,
    pub entry_hash: String,
}

/// A `journal_legs` row.
#[derive(Debug, Clone)]
pub struct RawLeg {
    pub seq: i64,
    pub leg_no: i64,
    pub account_no: String,
    pub side: String,
    pub amount_fen: i64,
}

impl RawEntry {
    /// Decodes the row with its legs (which must be this entry's, numbered 0, 1, 2, …).
    pub fn decode(self, legs: Vec<RawLeg>) -> Result<SealedEntry, StoreError> {
        let seq = self.seq;
        let at = |c: &str| format!("journal_entries[{seq}].{c}");
        let mut out_legs = Vec::with_capacity(legs.len());
        for (i, l) in legs.into_iter().enumerate() {
            let lat = |c: &str| format!("journal_legs[{seq}, {}].{c}", l.leg_no);
            if l.seq != seq || l.leg_no != i as i64 {
                return Err(corrupt(format!(
                    "{}: legs of entry {seq} are not numbered 0..n (found leg {} at position {i})",
                    lat("leg_no"),
                    l.leg_no
                )));
            }
            out_legs.push(Leg {
                account: AccountNo::parse(&l.account_no)
                    .map_err(|e| corrupt(format!("{}: {e}", lat("account_no"))))?,
                side: Side::from_code(&l.side)
                    .ok_or_else(|| corrupt(format!("{} = {:?}", lat("side"), l.side)))?,
                amount: Fen::new(l.amount_fen),
            });
        }
        let entry = Entry {
            key: self.idempotency_key,
            kind: EntryKind::from_code(&self.kind)
                .map_err(|e| corrupt(format!("{}: {e}", at("kind"))))?,
            ref_seq: self.ref_seq,
            code: TxCode::from_code(&self.tx_code)
                .map_err(|e| corrupt(format!("{}: {e}", at("tx_code"))))?,
            business_date: parse_date(&at("business_date"), &self.business_date)?,
            value_date: parse_date(&at("value_date"), &self.value_date)?,
            memo: self.memo,
            stamp: Stamp {
                operator: self.operator,
                channel: Channel::from_code(&self.channel)
                    .map_err(|e| corrupt(format!("{}: {e}", at("channel"))))?,
                service_point: self.service_point,
                on_behalf_of: self.on_behalf_of,
            },
            legs: out_legs,
        };
        Ok(SealedEntry {
            centre: self.centre_code,
            seq,
            entry,
            recorded_at_us: self.recorded_at_us,
            alg: HashAlg::from_code(&self.hash_alg)
                .map_err(|e| corrupt(format!("{}: {e}", at("hash_alg"))))?,
            body_hash: parse_digest(&at("body_hash"), &self.body_hash)?,
            prev_hash: parse_digest(&at("prev_hash"), &self.prev_hash)?,
            hash: parse_digest(&at("entry_hash"), &self.entry_hash)?,
        })
    }
}

/// Groups legs (ordered by seq, leg_no) under their entries (ordered by seq) and decodes.
pub fn assemble(entries: Vec<RawEntry>, legs: Vec<RawLeg>) -> Result<Vec<SealedEntry>, StoreError> {
    let mut out = Vec::with_capacity(entries.len());
    let mut legs = legs.into_iter().peekable();
    for e in entries {
        let mut mine = Vec::new();
        while let Some(l) = legs.peek() {
            if l.seq < e.seq {
                let l = legs.next().map(|l| l.seq).unwrap_or_default();
                return Err(corrupt(format!(
                    "journal_legs: legs of entry {l}, which does not exist"
                )));
            }
            if l.seq > e.seq {
                break;
            }
            if let Some(l) = legs.next() {
                mine.push(l);
            }
        }
        out.push(e.decode(mine)?);
    }
    if let Some(l) = legs.next() {
        return Err(corrupt(format!(
            "journal_legs: legs of entry {}, which does not exist",
            l.seq
        )));
    }
    Ok(out)
}
