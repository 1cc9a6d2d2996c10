//! Journal entries (记账凭证): legs, kinds, transaction codes, validation, and the
//! canonical encoding and SM3 hash chain that make the journal tamper-evident.

use std::fmt;

use jiff::civil::Date;
use sm3::{Digest, Sm3};

use super::LedgerError;
use super::chart::{AccountNo, Side};
use crate::money::Fen;
use crate::stamp::Stamp;

/// Upper bound on legs in one entry: a unit's monthly bill has one leg per member plus the
/// bank leg, and the largest units in a city have tens of thousands of members.
pub const MAX_LEGS: usize = 100_000;
/// Upper bound on an idempotency key's length.
pub const MAX_KEY_LEN: usize = 128;
/// Upper bound on a memo's length in characters.
pub const MAX_MEMO_CHARS: usize = 200;

/// Why money moved (业务代码). Stored as the code string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TxCode {
    /// 汇缴: monthly remittance by a unit.
    Remittance,
    /// 补缴: back-payment of missed months.
    BackPayment,
    /// 灵活就业缴存: voluntary contribution by a flexible worker.
    VoluntaryContribution,
    /// 提取: withdrawal paid to a member.
    Withdrawal,
    /// 放款: loan disbursement.
    LoanDisbursement,
    /// 还款: loan repayment.
    LoanRepayment,
    /// 年终结息: year-end interest settlement on member accounts; closes the interest
    /// period of every member account (the audit follows it).
    InterestSettlement,
    /// 销户结息: interest to the day paid with the principal when an account is closed or
    /// transferred out mid-year.
    ClosingInterest,
    /// 冲正: reversal of an earlier entry.
    Reversal,
    /// 转入: transfer in from another centre.
    TransferIn,
    /// 转出: transfer out to another centre.
    TransferOut,
    /// 内部转移: transfer between units within the centre.
    InternalTransfer,
    /// 暂收: money received and parked in suspense.
    Suspense,
    /// 存款利息: interest received on fund deposits from a bank.
    DepositInterest,
    /// 增值收益分配: distribution of value-added income.
    IncomeDistribution,
    /// 期初余额: opening balance migrated from a previous system.
    OpeningBalance,
    /// 调账: an adjustment approved by maker-checker.
    Adjustment,
    /// 资金划转: money moved between the fund's accounts at two banks.
    FundTransfer,
    /// 结息调整: interest a settled year paid on money that a later reversal (冲正) took
    /// back out of that year, taken back with it (Dr the member, Cr `501`).
    InterestCorrection,
}

impl TxCode {
    /// Every code.
    pub const ALL: &'static [TxCode] = &[
        TxCode::Remittance,
        TxCode::BackPayment,
        TxCode::VoluntaryContribution,
        TxCode::Withdrawal,
        TxCode::LoanDisbursement,
        TxCode::LoanRepayment,
        TxCode::InterestSettlement,
        TxCode::ClosingInterest,
        TxCode::Reversal,
        TxCode::TransferIn,
        TxCode::TransferOut,
        TxCode::InternalTransfer,
        TxCode::Suspense,
        TxCode::DepositInterest,
        TxCode::IncomeDistribution,
        TxCode::OpeningBalance,
        TxCode::Adjustment,
        TxCode::FundTransfer,
        TxCode::InterestCorrection,
    ];

    /// Storage code.
    pub const fn code(self) -> &'static str {
        match self {
            TxCode::Remittance => "remit",
            TxCode::BackPayment => "back-pay",
            TxCode::VoluntaryContribution => "voluntary",
            TxCode::Withdrawal => "withdraw",
            TxCode::LoanDisbursement => "loan-disburse",
            TxCode::LoanRepayment => "loan-repay",
            TxCode::InterestSettlement => "interest",
            TxCode::ClosingInterest => "closing-interest",
            TxCode::Reversal => "reversal",
            TxCode::TransferIn => "transfer-in",
            TxCode::TransferOut => "transfer-out",
            TxCode::InternalTransfer => "internal-transfer",
            TxCode::Suspense => "suspense",
            TxCode::DepositInterest => "deposit-interest",
            TxCode::IncomeDistribution => "income-distribution",
            TxCode::OpeningBalance => "opening",
            TxCode::Adjustment => "adjust",
            TxCode::FundTransfer => "fund-transfer",
            TxCode::InterestCorrection => "interest-correction",
        }
    }

    /// Chinese label.
    pub const fn label_zh(self) -> &'static str {
        match self {
            TxCode::Remittance => "汇缴",
            TxCode::BackPayment => "补缴",
            TxCode::VoluntaryContribution => "灵活就业缴存",
            TxCode::Withdrawal => "提取",
            TxCode::LoanDisbursement => "放款",
            TxCode::LoanRepayment => "还款",
            TxCode::InterestSettlement => "年终结息",
            TxCode::ClosingInterest => "销户结息",
            TxCode::Reversal => "冲正",
            TxCode::TransferIn => "转入",
            TxCode::TransferOut => "转出",
            TxCode::InternalTransfer => "内部转移",
            TxCode::Suspense => "暂收",
            TxCode::DepositInterest => "存款利息",
            TxCode::IncomeDistribution => "增值收益分配",
            TxCode::OpeningBalance => "期初余额",
            TxCode::Adjustment => "调账",
            TxCode::FundTransfer => "资金划转",
            TxCode::InterestCorrection => "结息调整",
        }
    }

    /// Parses a storage code.
    pub fn from_code(code: &str) -> Result<TxCode, LedgerError> {
        TxCode::ALL
            .iter()
            .copied()
            .find(|c| c.code() == code)
            .ok_or_else(|| LedgerError::BadField {
                field: "tx_code",
                value: code.to_owned(),
                rule: "must be one of the ledger transaction codes",
            })
    }
}

impl fmt::Display for TxCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_zh())
    }
}

/// The kind of an entry: an ordinary posting, or one phase of a two-phase transfer, or a
/// reversal. All kinds are append-only journal rows in one hash chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// Posted at once: balances change.
    Posted,
    /// Money waiting on a bank or another centre: outflows are reserved (available balance
    /// falls) but balances do not change until a [`EntryKind::PostPending`].
    Pending,
    /// Completes a pending entry: its legs post in full.
    PostPending,
    /// Cancels a pending entry: the reservation is released, nothing posts.
    VoidPending,
    /// Reverses a posted entry (冲正) with the same legs on opposite sides.
    Reversal,
}

impl EntryKind {
    /// Storage code.
    pub const fn code(self) -> &'static str {
        match self {
            EntryKind::Posted => "posted",
            EntryKind::Pending => "pending",
            EntryKind::PostPending => "post",
            EntryKind::VoidPending => "void",
            EntryKind::Reversal => "reversal",
        }
    }

    /// Parses a storage code.
    pub fn from_code(code: &str) -> Result<EntryKind, LedgerError> {
        [
            EntryKind::Posted,
            EntryKind::Pending,
            EntryKind::PostPending,
            EntryKind::VoidPending,
            EntryKind::Reversal,
        ]
        .into_iter()
        .find(|k| k.code() == code)
        .ok_or_else(|| LedgerError::BadField {
            field: "kind",
            value: code.to_owned(),
            rule: "must be posted, pending, post, void or reversal",
        })
    }

    /// Whether this kind refers to an earlier entry.
    pub const fn needs_reference(self) -> bool {
        matches!(
            self,
            EntryKind::PostPending | EntryKind::VoidPending | EntryKind::Reversal
        )
    }
}

/// One line of an entry: an amount on one side of one posting account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Leg {
    /// The posting account.
    pub account: AccountNo,
    /// Debit or credit.
    pub side: Side,
    /// Amount, always > 0.
    pub amount: Fen,
}

impl Leg {
    /// A debit leg.
    pub fn debit(account: AccountNo, amount: Fen) -> Leg {
        Leg {
            account,
            side: Side::Debit,
            amount,
        }
    }

    /// A credit leg.
    pub fn credit(account: AccountNo, amount: Fen) -> Leg {
        Leg {
            account,
            side: Side::Credit,
            amount,
        }
    }

    /// The change this leg makes to its account's balance on the account's normal side.
    pub fn signed_delta(&self) -> i64 {
        if self.side == self.account.chart().normal {
            self.amount.fen()
        } else {
            -self.amount.fen()
        }
    }
}

/// What a caller asks the ledger to record. For [`EntryKind::PostPending`],
/// [`EntryKind::VoidPending`] and [`EntryKind::Reversal`] the legs are left empty and
/// derived from the referenced entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRequest {
    /// Idempotency key (幂等键), unique per centre: the same key again returns the first
    /// entry and posts nothing; the same key with a different body is an error.
    pub key: String,
    /// Entry kind.
    pub kind: EntryKind,
    /// The key of the entry this one completes, voids or reverses.
    pub refers_to: Option<String>,
    /// Why money moved.
    pub code: TxCode,
    /// Business date (营业日) on which the entry is booked.
    pub business_date: Date,
    /// Value date (起息日) from which the money counts for interest.
    pub value_date: Date,
    /// Legs (empty for kinds that derive them).
    pub legs: Vec<Leg>,
    /// A short human note (摘要).
    pub memo: String,
    /// Who, where, through which channel, for whom.
    pub stamp: Stamp,
}

impl EntryRequest {
    /// An ordinary posted entry.
    pub fn posted(
        key: impl Into<String>,
        code: TxCode,
        business_date: Date,
        value_date: Date,
        legs: Vec<Leg>,
        memo: impl Into<String>,
        stamp: Stamp,
    ) -> EntryRequest {
        EntryRequest {
            key: key.into(),
            kind: EntryKind::Posted,
            refers_to: None,
            code,
            business_date,
            value_date,
            legs,
            memo: memo.into(),
            stamp,
        }
    }

    /// A pending entry: outflows reserved until posted or voided.
    pub fn pending(
        key: impl Into<String>,
        code: TxCode,
        business_date: Date,
        legs: Vec<Leg>,
        memo: impl Into<String>,
        stamp: Stamp,
    ) -> EntryRequest {
        EntryRequest {
            kind: EntryKind::Pending,
            ..EntryRequest::posted(key, code, business_date, business_date, legs, memo, stamp)
        }
    }

    /// Completes (`post = true`) or voids the pending entry with key `pending_key`.
    pub fn resolve_pending(
        key: impl Into<String>,
        pending_key: impl Into<String>,
        post: bool,
        business_date: Date,
        value_date: Date,
        memo: impl Into<String>,
        stamp: Stamp,
    ) -> EntryRequest {
        EntryRequest {
            key: key.into(),
            kind: if post {
                EntryKind::PostPending
            } else {
                EntryKind::VoidPending
            },
            refers_to: Some(pending_key.into()),
            // The code is copied from the pending entry when resolved.
            code: TxCode::Adjustment,
            business_date,
            value_date,
            legs: Vec::new(),
            memo: memo.into(),
            stamp,
        }
    }

    /// Reverses (冲正) the posted entry with key `original_key`. The value date defaults
    /// to the original's, so interest figures are corrected from that day.
    pub fn reversal(
        key: impl Into<String>,
        original_key: impl Into<String>,
        business_date: Date,
        memo: impl Into<String>,
        stamp: Stamp,
    ) -> EntryRequest {
        EntryRequest {
            key: key.into(),
            kind: EntryKind::Reversal,
            refers_to: Some(original_key.into()),
            code: TxCode::Reversal,
            business_date,
            value_date: business_date,
            legs: Vec::new(),
            memo: memo.into(),
            stamp,
        }
    }

    /// Checks the request's own fields (not against the ledger's state).
    pub fn validate_shape(&self) -> Result<(), LedgerError> {
        validate_key(&self.key)?;
        if self.memo.chars().count() > MAX_MEMO_CHARS || self.memo.chars().any(char::is_control) {
            return Err(LedgerError::BadField {
                field: "memo",
                value: self.memo.clone(),
                rule: "at most 200 printable characters",
            });
        }
        self.stamp.validate().map_err(LedgerError::Stamp)?;
        if self.value_date > self.business_date {
            return Err(LedgerError::BadField {
                field: "value_date",
                value: self.value_date.to_string(),
                rule: "must not be after the business date",
            });
        }
        match (self.kind.needs_reference(), &self.refers_to) {
            (true, None) => {
                return Err(LedgerError::BadField {
                    field: "refers_to",
                    value: String::new(),
                    rule: "post, void and reversal entries must name the entry they refer to",
                });
            }
            (false, Some(r)) => {
                return Err(LedgerError::BadField {
                    field: "refers_to",
                    value: r.clone(),
                    rule: "only post, void and reversal entries refer to another entry",
                });
            }
            (true, Some(r)) => validate_key(r)?,
            (false, None) => {}
        }
        if self.kind.needs_reference() {
            if !self.legs.is_empty() {
                return Err(LedgerError::BadField {
                    field: "legs",
                    value: self.legs.len().to_string(),
                    rule: "post, void and reversal entries take their legs from the referenced entry",
                });
            }
            return Ok(());
        }
        validate_legs(&self.legs)
    }
}

fn validate_key(key: &str) -> Result<(), LedgerError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(LedgerError::BadField {
            field: "idempotency_key",
            value: key.to_owned(),
            rule: "1-128 printable ASCII characters without spaces",
        });
    }
    Ok(())
}

/// Checks leg count, positive amounts and balance (Σ debits = Σ credits).
pub fn validate_legs(legs: &[Leg]) -> Result<(), LedgerError> {
    if legs.len() < 2 {
        return Err(LedgerError::TooFewLegs { legs: legs.len() });
    }
    if legs.len() > MAX_LEGS {
        return Err(LedgerError::TooManyLegs { legs: legs.len() });
    }
    let mut debits = Fen::ZERO;
    let mut credits = Fen::ZERO;
    for (i, leg) in legs.iter().enumerate() {
        if leg.amount.fen() <= 0 {
            return Err(LedgerError::NonPositiveAmount {
                leg: i,
                amount: leg.amount,
            });
        }
        if leg.account.is_control() {
            return Err(LedgerError::PostToControl {
                account: leg.account.clone(),
            });
        }
        let total = match leg.side {
            Side::Debit => &mut debits,
            Side::Credit => &mut credits,
        };
        *total = total
            .checked_add(leg.amount)
            .map_err(|_| LedgerError::Overflow {
                what: "entry total",
            })?;
    }
    if debits != credits {
        return Err(LedgerError::Unbalanced { debits, credits });
    }
    Ok(())
}

/// A complete entry body: the request with references resolved and legs filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Idempotency key.
    pub key: String,
    /// Kind.
    pub kind: EntryKind,
    /// Sequence number of the referenced entry, for post/void/reversal.
    pub ref_seq: Option<i64>,
    /// Why money moved.
    pub code: TxCode,
    /// Business date.
    pub business_date: Date,
    /// Value date.
    pub value_date: Date,
    /// Memo.
    pub memo: String,
    /// Stamp.
    pub stamp: Stamp,
    /// Legs.
    pub legs: Vec<Leg>,
}

/// The hash algorithm recorded on each entry, so the chain can move to another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlg {
    /// SM3 (GB/T 32905-2016), 256-bit.
    Sm3,
}

impl HashAlg {
    /// Storage code.
    pub const fn code(self) -> &'static str {
        match self {
            HashAlg::Sm3 => "sm3",
        }
    }

    /// Parses a storage code.
    pub fn from_code(code: &str) -> Result<HashAlg, LedgerError> {
        match code {
            "sm3" => Ok(HashAlg::Sm3),
            other => Err(LedgerError::BadField {
                field: "hash_alg",
                value: other.to_owned(),
                rule: "must be sm3",
            }),
        }
    }

    fn digest(self, bytes: &[u8]) -> [u8; 32] {
        match self {
            HashAlg::Sm3 => Sm3::digest(bytes).into(),
        }
    }
}

/// A 256-bit digest, shown as lower-case hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest32(pub [u8; 32]);

impl Digest32 {
    /// Lower-case hex.
    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }

    /// Parses exactly 64 lower-case hex digits (the only form Anju writes, so a changed
    /// letter case is caught as tampering rather than silently accepted).
    pub fn from_hex(text: &str) -> Result<Digest32, LedgerError> {
        if text.len() != 64 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(LedgerError::BadField {
                field: "hash",
                value: text.to_owned(),
                rule: "must be 64 lower-case hex digits",
            });
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).map_err(|_| LedgerError::BadField {
            field: "hash",
            value: text.to_owned(),
            rule: "must be 64 hex digits",
        })?;
        Ok(Digest32(out))
    }
}

impl fmt::Debug for Digest32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest32({})", self.to_hex())
    }
}

impl fmt::Display for Digest32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Canonical encoding: a version byte, then each field as a one-byte tag, a 4-byte
/// big-endian length and the UTF-8 bytes. Unambiguous, so no two bodies share an encoding.
struct Canon(Vec<u8>);

impl Canon {
    const VERSION: u8 = 1;

    fn new(capacity: usize) -> Canon {
        let mut v = Vec::with_capacity(capacity);
        v.push(Self::VERSION);
        Canon(v)
    }

    fn put(&mut self, tag: u8, bytes: &[u8]) {
        self.0.push(tag);
        // Fields are bounded far below 4 GiB (keys 128 bytes, memos 200 chars).
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(bytes);
    }

    fn put_i64(&mut self, tag: u8, v: i64) {
        self.put(tag, &v.to_be_bytes());
    }
}

impl Entry {
    /// SM3 of the canonical body: every field except the chain position. Two requests
    /// with the same key are the same request exactly when their body hashes are equal.
    pub fn body_hash(&self, alg: HashAlg) -> Digest32 {
        let mut c = Canon::new(128 + self.legs.len() * 40);
        c.put(b'k', self.key.as_bytes());
        c.put(b'K', self.kind.code().as_bytes());
        match self.ref_seq {
            Some(r) => c.put_i64(b'r', r),
            None => c.put(b'r', &[]),
        }
        c.put(b'c', self.code.code().as_bytes());
        c.put(b'b', self.business_date.to_string().as_bytes());
        c.put(b'v', self.value_date.to_string().as_bytes());
        c.put(b'm', self.memo.as_bytes());
        c.put(b'o', self.stamp.operator.as_bytes());
        c.put(b'h', self.stamp.channel.code().as_bytes());
        c.put(b'p', self.stamp.service_point.as_bytes());
        // Absent and empty are different values, so they get different tags.
        match &self.stamp.on_behalf_of {
            Some(w) => c.put(b'W', w.as_bytes()),
            None => c.put(b'w', &[]),
        }
        c.put_i64(b'n', self.legs.len() as i64);
        for leg in &self.legs {
            c.put(b'a', leg.account.as_str().as_bytes());
            c.put(b's', leg.side.code().as_bytes());
            c.put_i64(b'f', leg.amount.fen());
        }
        Digest32(alg.digest(&c.0))
    }
}

/// An entry at its place in the centre's hash chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedEntry {
    /// Centre code (the chain it belongs to).
    pub centre: String,
    /// Position in the chain, from 1.
    pub seq: i64,
    /// The body.
    pub entry: Entry,
    /// Wall-clock time of recording, microseconds since the Unix epoch (for people; all
    /// business logic uses the business and value dates).
    pub recorded_at_us: i64,
    /// Hash algorithm.
    pub alg: HashAlg,
    /// Hash of the body (also the idempotency fingerprint).
    pub body_hash: Digest32,
    /// Hash of the previous entry in the chain (or the genesis hash).
    pub prev_hash: Digest32,
    /// This entry's hash.
    pub hash: Digest32,
}

/// SM3 of `bytes` as lower-case hex (e.g. migration checksums).
pub fn sm3_hex(bytes: &[u8]) -> String {
    hex::encode(HashAlg::Sm3.digest(bytes))
}

/// The genesis hash of a centre's chain: SM3("anju-genesis:" + centre code).
pub fn genesis_hash(centre: &str) -> Digest32 {
    Digest32(HashAlg::Sm3.digest(format!("anju-genesis:{centre}").as_bytes()))
}

/// The chain hash: over the algorithm, centre, position, previous hash, recording time
/// and body hash.
pub fn chain_hash(
    alg: HashAlg,
    centre: &str,
    seq: i64,
    prev: Digest32,
    recorded_at_us: i64,
    body_hash: Digest32,
) -> Digest32 {
    let mut c = Canon::new(160);
    c.put(b'A', alg.code().as_bytes());
    c.put(b'C', centre.as_bytes());
    c.put_i64(b'S', seq);
    c.put(b'P', &prev.0);
    c.put_i64(b'T', recorded_at_us);
    c.put(b'B', &body_hash.0);
    Digest32(alg.digest(&c.0))
}

impl SealedEntry {
    /// Seals a body after `prev` in the chain.
    pub fn seal(
        centre: &str,
        seq: i64,
        prev_hash: Digest32,
        recorded_at_us: i64,
        entry: Entry,
    ) -> SealedEntry {
        let alg = HashAlg::Sm3;
        let body_hash = entry.body_hash(alg);
        let hash = chain_hash(alg, centre, seq, prev_hash, recorded_at_us, body_hash);
        SealedEntry {
            centre: centre.to_owned(),
            seq,
            entry,
            recorded_at_us,
            alg,
            body_hash,
            prev_hash,
            hash,
        }
    }

    /// Recomputes both hashes from the stored fields; `Err` names what does not match.
    pub fn verify(&self) -> Result<(), LedgerError> {
        let body = self.entry.body_hash(self.alg);
        if body != self.body_hash {
            return Err(LedgerError::ChainBroken {
                seq: self.seq,
                reason: format!(
                    "body hash is {} but the stored fields hash to {body}",
                    self.body_hash
                ),
            });
        }
        let h = chain_hash(
            self.alg,
            &self.centre,
            self.seq,
            self.prev_hash,
            self.recorded_at_us,
            body,
        );
        if h != self.hash {
            return Err(LedgerError::ChainBroken {
                seq: self.seq,
                reason: format!("entry hash is {} but recomputes to {h}", self.hash),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::Channel;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn sample() -> Entry {
        Entry {
            key: "k1".into(),
            kind: EntryKind::Posted,
            ref_seq: None,
            code: TxCode::Remittance,
            business_date: d("2026-01-05"),
            value_date: d("2026-01-05"),
            memo: "2026-01 汇缴".into(),
            stamp: Stamp::system("test"),
            legs: vec![
                Leg::debit(AccountNo::parse("101.ICBC").unwrap(), Fen::new(100)),
                Leg::credit(AccountNo::parse("201.A1").unwrap(), Fen::new(100)),
            ],
        }
    }

    #[test]
    fn every_field_changes_the_body_hash() {
        let base = sample();
        let h = base.body_hash(HashAlg::Sm3);
        let mut variants = Vec::new();
        let mut e = base.clone();
        e.key.push('x');
        variants.push(e);
        let mut e = base.clone();
        e.kind = EntryKind::Pending;
        variants.push(e);
        let mut e = base.clone();
        e.ref_seq = Some(0);
        variants.push(e);
        let mut e = base.clone();
        e.code = TxCode::BackPayment;
        variants.push(e);
        let mut e = base.clone();
        e.business_date = d("2026-01-06");
        variants.push(e);
        let mut e = base.clone();
        e.value_date = d("2026-01-04");
        variants.push(e);
        let mut e = base.clone();
        e.memo.push('.');
        variants.push(e);
        let mut e = base.clone();
        e.stamp.operator.push('x');
        variants.push(e);
        let mut e = base.clone();
        e.stamp.channel = Channel::Counter;
        variants.push(e);
        let mut e = base.clone();
        e.stamp.service_point.push('x');
        variants.push(e);
        let mut e = base.clone();
        e.stamp.on_behalf_of = Some("x".into());
        variants.push(e);
        let mut e = base.clone();
        e.legs[0].amount = Fen::new(101);
        variants.push(e);
        let mut e = base.clone();
        e.legs[0].side = Side::Credit;
        variants.push(e);
        let mut e = base.clone();
        e.legs.swap(0, 1);
        variants.push(e);
        for v in variants {
            assert_ne!(v.body_hash(HashAlg::Sm3), h, "{v:?}");
        }
    }

    #[test]
    fn sm3_matches_the_standard_test_vector() {
        // GB/T 32905-2016 Appendix A, example 1: SM3("abc").
        assert_eq!(
            hex::encode(HashAlg::Sm3.digest(b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }

    #[test]
    fn sealing_chains_and_verifies() {
        let g = genesis_hash("330800000000000");
        let s1 = SealedEntry::seal("330800000000000", 1, g, 7, sample());
        assert!(s1.verify().is_ok());
        let mut tampered = s1.clone();
        tampered.entry.legs[1].amount = Fen::new(99);
        assert!(tampered.verify().is_err());
        let mut tampered = s1.clone();
        tampered.recorded_at_us = 8;
        assert!(tampered.verify().is_err());
        let mut e2 = sample();
        e2.key = "k2".into();
        let s2 = SealedEntry::seal("330800000000000", 2, s1.hash, 9, e2);
        assert_eq!(s2.prev_hash, s1.hash);
        assert!(s2.verify().is_ok());
    }

    #[test]
    fn shape_validation_names_the_rule() {
        let stamp = Stamp::system("t");
        let a = AccountNo::parse("101.ICBC").unwrap();
        let b = AccountNo::parse("201.A1").unwrap();
        let unbalanced = EntryRequest::posted(
            "k",
            TxCode::Remittance,
            d("2026-01-05"),
            d("2026-01-05"),
            vec![
                Leg::debit(a.clone(), Fen::new(100)),
                Leg::credit(b.clone(), Fen::new(99)),
            ],
            "",
            stamp.clone(),
        );
        let err = unbalanced.validate_shape().unwrap_err();
        assert!(matches!(err, LedgerError::Unbalanced { .. }));
        assert!(
            err.to_string().contains("1.00") && err.to_string().contains("0.99"),
            "{err}"
        );
        let mut r = unbalanced.clone();
        r.legs[1].amount = Fen::new(100);
        assert!(r.validate_shape().is_ok());
        let mut neg = r.clone();
        neg.legs = vec![
            Leg::debit(a.clone(), Fen::new(-1)),
            Leg::credit(b.clone(), Fen::new(-1)),
        ];
        assert!(matches!(
            neg.validate_shape(),
            Err(LedgerError::NonPositiveAmount { leg: 0, .. })
        ));
        let mut future = r.clone();
        future.value_date = d("2026-01-06");
        assert!(matches!(
            future.validate_shape(),
            Err(LedgerError::BadField {
                field: "value_date",
                ..
            })
        ));
        let mut nokey = r.clone();
        nokey.key = "a b".into();
        assert!(matches!(
            nokey.validate_shape(),
            Err(LedgerError::BadField {
                field: "idempotency_key",
                ..
            })
        ));
        let mut one = r.clone();
        one.legs.pop();
        assert!(matches!(
            one.validate_shape(),
            Err(LedgerError::TooFewLegs { legs: 1 })
        ));
        let mut control = r.clone();
        control.legs[1].account = AccountNo::control("201").unwrap();
        assert!(matches!(
            control.validate_shape(),
            Err(LedgerError::PostToControl { .. })
        ));
        let rev = EntryRequest::reversal("r", "k", d("2026-01-05"), "", stamp);
        assert!(rev.validate_shape().is_ok());
        let mut rev_legs = rev.clone();
        rev_legs.legs = r.legs.clone();
        assert!(matches!(
            rev_legs.validate_shape(),
            Err(LedgerError::BadField { field: "legs", .. })
        ));
    }
}
