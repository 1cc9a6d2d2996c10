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

/// Where a stored value sits — `table[key].column` — for the error a value that does not
/// decode becomes. Formatted only then: decoding a row builds no strings.
#[derive(Debug)]
pub struct At<'a, K: std::fmt::Display + ?Sized> {
    /// The table.
    pub table: &'static str,
    /// The row's key.
    pub key: &'a K,
    /// The column.
    pub column: &'static str,
}

impl<K: std::fmt::Display + ?Sized> std::fmt::Display for At<'_, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}].{}", self.table, self.key, self.column)
    }
}

/// A two-part row key, shown as `a, b`.
#[derive(Debug)]
pub struct Key2<'a, A: std::fmt::Display + ?Sized, B: std::fmt::Display + ?Sized>(
    pub &'a A,
    pub &'a B,
);

impl<A: std::fmt::Display + ?Sized, B: std::fmt::Display + ?Sized> std::fmt::Display
    for Key2<'_, A, B>
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, {}", self.0, self.1)
    }
}

/// Parses an ISO date column. Anju writes exactly `YYYY-MM-DD`; anything else (another
/// format jiff would also accept, or an impossible date) is not ours and is corrupt.
pub fn parse_date(column: impl std::fmt::Display, text: &str) -> Result<Date, StoreError> {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<i16> {
        b.get(r)?.iter().try_fold(0i16, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i16::from(c - b'0'))
        })
    };
    let parsed = if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        match (digits(0..4), digits(5..7), digits(8..10)) {
            (Some(y), Some(m), Some(d)) => Date::new(
                y,
                i8::try_from(m).unwrap_or(0),
                i8::try_from(d).unwrap_or(0),
            )
            .ok(),
            _ => None,
        }
    } else {
        None
    };
    parsed.ok_or_else(|| {
        corrupt(format!(
            "{column} = {text:?} is not a date in YYYY-MM-DD form"
        ))
    })
}

/// Parses a lower-case hex digest column.
pub fn parse_digest(column: impl std::fmt::Display, text: &str) -> Result<Digest32, StoreError> {
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
        RawAccountRef {
            account_no: &self.account_no,
            normal_side: &self.normal_side,
            non_negative: self.non_negative,
            opened_on: &self.opened_on,
            balance_fen: self.balance_fen,
            pending_out_fen: self.pending_out_fen,
            pending_in_fen: self.pending_in_fen,
            accrual_fen_days: self.accrual_fen_days,
            accrual_from: &self.accrual_from,
            last_change: &self.last_change,
            entry_count: self.entry_count,
        }
        .decode()
    }
}

/// A `ledger_accounts` row borrowed from the driver's buffers (no copies on bulk loads).
#[derive(Debug, Clone, Copy)]
pub struct RawAccountRef<'a> {
    pub account_no: &'a str,
    pub normal_side: &'a str,
    pub non_negative: bool,
    pub opened_on: &'a str,
    pub balance_fen: i64,
    pub pending_out_fen: i64,
    pub pending_in_fen: i64,
    pub accrual_fen_days: i64,
    pub accrual_from: &'a str,
    pub last_change: &'a str,
    pub entry_count: i64,
}

impl RawAccountRef<'_> {
    /// Decodes the row. Column names for error messages are only built on failure.
    pub fn decode(self) -> Result<AccountState, StoreError> {
        let at = |column| At {
            table: "ledger_accounts",
            key: &self.account_no,
            column,
        };
        let no = AccountNo::parse_any(self.account_no)
            .map_err(|e| corrupt(format!("{}: {e}", at("account_no"))))?;
        let normal = Side::from_code(self.normal_side)
            .ok_or_else(|| corrupt(format!("{} = {:?}", at("normal_side"), self.normal_side)))?;
        // The sign rules come from the chart of accounts, not from the row: a row that
        // says otherwise (e.g. a member account made overdraftable) is corrupt.
        if normal != no.chart().normal || self.non_negative != no.chart().non_negative {
            return Err(corrupt(format!(
                "{}: normal side {:?} / non_negative {} differ from the chart of accounts",
                at("normal_side"),
                self.normal_side,
                self.non_negative
            )));
        }
        let date = |c, v: &str| parse_date(at(c), v);
        Ok(AccountState {
            no,
            normal,
            non_negative: self.non_negative,
            opened_on: date("opened_on", self.opened_on)?,
            balance: Fen::new(self.balance_fen),
            pending_out: Fen::new(self.pending_out_fen),
            pending_in: Fen::new(self.pending_in_fen),
            accrual: self.accrual_fen_days,
            accrual_from: date("accrual_from", self.accrual_from)?,
            last_change: date("last_change", self.last_change)?,
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
        let at = |column| At {
            table: "journal_entries",
            key: &seq,
            column,
        };
        let mut out_legs = Vec::with_capacity(legs.len());
        for (i, l) in legs.into_iter().enumerate() {
            let key = Key2(&seq, &l.leg_no);
            let lat = |column| At {
                table: "journal_legs",
                key: &key,
                column,
            };
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
            business_date: parse_date(at("business_date"), &self.business_date)?,
            value_date: parse_date(at("value_date"), &self.value_date)?,
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
            body_hash: parse_digest(at("body_hash"), &self.body_hash)?,
            prev_hash: parse_digest(at("prev_hash"), &self.prev_hash)?,
            hash: parse_digest(at("entry_hash"), &self.entry_hash)?,
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

/// A `units` row as read.
#[derive(Debug, Clone)]
pub struct RawUnit {
    pub unit_no: String,
    pub credit_code: String,
    pub name: String,
    pub address: String,
    pub legal_rep: String,
    pub payday: i32,
    pub bank_code: String,
    pub unit_ratio: i64,
    pub member_ratio: i64,
    pub status: String,
    pub opened_on: String,
}

impl RawUnit {
    /// Decodes the row.
    pub fn decode(self) -> Result<crate::registry::UnitRow, StoreError> {
        let at = |column| At {
            table: "units",
            key: &self.unit_no,
            column,
        };
        Ok(crate::registry::UnitRow {
            status: anju_domain::codes::UnitAccountStatus::from_code(&self.status)
                .map_err(|e| corrupt(format!("{}: {e}", at("status"))))?,
            opened_on: parse_date(at("opened_on"), &self.opened_on)?,
            unit_ratio: anju_domain::money::Rate::from_units(self.unit_ratio),
            member_ratio: anju_domain::money::Rate::from_units(self.member_ratio),
            unit_no: self.unit_no,
            credit_code: self.credit_code,
            name: self.name,
            address: self.address,
            legal_rep: self.legal_rep,
            payday: self.payday,
            bank_code: self.bank_code,
        })
    }
}

/// A `members` row as read.
#[derive(Debug, Clone)]
pub struct RawMember {
    pub account_no: String,
    pub id_number: String,
    pub name: String,
    pub unit_no: Option<String>,
    pub base_fen: i64,
    pub status: String,
    pub before_freeze: Option<String>,
    pub opened_on: String,
    pub paid_to: Option<String>,
    pub flexible_ratio: Option<i64>,
}

impl RawMember {
    /// Decodes the row.
    pub fn decode(self) -> Result<crate::registry::MemberRow, StoreError> {
        use anju_domain::codes::PersonalAccountStatus;
        let at = |column| At {
            table: "members",
            key: &self.account_no,
            column,
        };
        Ok(crate::registry::MemberRow {
            status: PersonalAccountStatus::from_code(&self.status)
                .map_err(|e| corrupt(format!("{}: {e}", at("status"))))?,
            before_freeze: self
                .before_freeze
                .as_deref()
                .map(PersonalAccountStatus::from_code)
                .transpose()
                .map_err(|e| corrupt(format!("{}: {e}", at("before_freeze"))))?,
            opened_on: parse_date(at("opened_on"), &self.opened_on)?,
            paid_to: self
                .paid_to
                .as_deref()
                .map(|m| crate::collection::parse_month(at("paid_to"), m))
                .transpose()?,
            flexible_ratio: self
                .flexible_ratio
                .map(anju_domain::money::Rate::from_units),
            base: Fen::new(self.base_fen),
            account_no: self.account_no,
            id_number: self.id_number,
            name: self.name,
            unit_no: self.unit_no,
        })
    }
}

/// A `status_events` row as read.
#[derive(Debug, Clone)]
pub struct RawEvent {
    pub subject: String,
    pub event_no: i64,
    pub event_date: String,
    pub business: String,
    pub from_status: String,
    pub to_status: String,
    pub reason: String,
    pub operator: String,
    pub channel: String,
    pub service_point: String,
    pub on_behalf_of: Option<String>,
    pub recorded_at_us: i64,
}

impl RawEvent {
    /// Decodes the row.
    pub fn decode(self) -> Result<crate::registry::EventRow, StoreError> {
        let key = Key2(&self.subject, &self.event_no);
        let at = |column| At {
            table: "status_events",
            key: &key,
            column,
        };
        Ok(crate::registry::EventRow {
            date: parse_date(at("event_date"), &self.event_date)?,
            business: anju_domain::codes::CollectionBusinessType::from_code(&self.business)
                .map_err(|e| corrupt(format!("{}: {e}", at("business"))))?,
            stamp: Stamp {
                channel: Channel::from_code(&self.channel)
                    .map_err(|e| corrupt(format!("{}: {e}", at("channel"))))?,
                operator: self.operator,
                service_point: self.service_point,
                on_behalf_of: self.on_behalf_of,
            },
            subject: self.subject,
            event_no: self.event_no,
            from_status: self.from_status,
            to_status: self.to_status,
            reason: self.reason,
            recorded_at_us: self.recorded_at_us,
        })
    }
}
