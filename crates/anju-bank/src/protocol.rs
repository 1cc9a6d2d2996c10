//! The commissioned bank's settlement protocol: signed JSON over HTTP, money in integer
//! fen.
//!
//! ```text
//! POST /v1/instructions                         1..=1000 instructions (single or batch)
//! GET  /v1/instructions/{serial}                the result of one instruction (结果查询)
//! GET  /v1/accounts/{account}/balance           余额查询
//! GET  /v1/accounts/{account}/statement?date=YYYY-MM-DD   明细查询 / 对账单
//! POST /v1/loans                                商业贷款审批 (a combination loan's commercial part)
//! POST /v1/loans/{bank_loan_no}/disburse        商业贷款发放 to the seller
//! GET  /v1/loans/{bank_loan_no}                 贷款查询
//!
//! x-bank-app:        <the caller's app id>
//! x-bank-timestamp:  <unix seconds>
//! x-bank-nonce:      <32 hex digits, never reused>
//! x-bank-signature:  hex(HMAC-SM3(secret, "{METHOD}\n{path?query}\n{timestamp}\n{nonce}\n{hex(SM3(body))}"))
//! ```
//!
//! Requests are signed exactly like the data exchange's ([`anju_exchange::protocol`]):
//! the signed path is the request target as sent, query string included
//! (`/v1/accounts/33001/statement?date=2026-11-27`); a `GET` signs an empty body. The bank
//! refuses (`401`) a missing or wrong signature, an unknown app, a timestamp more than
//! [`MAX_CLOCK_SKEW_SECS`] off its clock and a nonce it has seen within that window.
//!
//! **Answers are signed too**, so a client can trust an "executed": every answer carries
//! `x-bank-app` = the bank code, its own `x-bank-timestamp`, `x-bank-nonce` = **the
//! request's nonce** (binding the answer to the request) and `x-bank-signature` =
//! hex(HMAC-SM3(secret, `"ANSWER\n{path?query}\n{timestamp}\n{request nonce}\n{hex(SM3(body))}"`)).
//!
//! **Notices** (到账通知 / 结果通知) are `POST`ed by the bank to the centre's callback URL
//! with the same four headers, `x-bank-app` = the bank code, signed with the same shared
//! secret over the fixed path [`NOTICE_SIGNING_PATH`] (whatever the callback URL is), and
//! checked by [`verify_notice`] (plus a [`NonceGuard`] against replays). A notice may
//! arrive twice (same `notice_id`), late, or out of order.
//!
//! Idempotency: the serial (流水号) is the key. The same serial with the same content
//! answers the stored result and executes once; the same serial with different content is
//! answered `rejected` ("serial reused") and leaves the original untouched. A status query
//! for a serial the bank never received answers `rejected` **and closes the serial**, so
//! an instruction arriving later under it is refused, never executed: "not received" is a
//! definite answer.
//!
//! **Commercial lending** (the bank's own loans, the commercial part of a combination
//! loan): [`LoanApplication`] → [`LoanDecisionBody`] (`approved` with the [`WireLoan`],
//! `declined` with the reason, or `refused` when the application number was used for other
//! content — the same content answers the stored decision, the loan as it stands now);
//! [`DisburseRequest`] → [`DisburseBody`] (`disbursed` with the final schedule, or
//! `refused`; the loan number is the idempotency key: the same order again answers the
//! disbursed loan and moves nothing); `GET` answers the [`WireLoan`], or `404` with
//! error `no_such_loan`. Amounts are integer `…_fen`, the rate a percent decimal string
//! (`annual_rate_pct: "3.2"`), schedule rows fen integers with ISO due dates.
//!
//! Errors are [`ErrorBody`] with `400` (bad request; the message names the field), `401`
//! (signature, app, timestamp or nonce), `404` (no such path or account), `409`
//! (conflict) or `5xx`. The OpenAPI document (`docs/bank-openapi.json`,
//! `anju bank-sim --openapi`) describes the same.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use anju_app::lending::{
    BorrowerRole, CommercialDecision, CommercialLoan, CommercialRequest, CommercialStatus,
    DisburseOrder, Disbursement,
};
use anju_app::settlement::ports::{
    BankAnswer, Instruction, Notice, NoticeEvent, Statement, StatementLine,
};
use anju_domain::codes::SettlementBusinessType;
use anju_domain::loan::{MAX_MONTHS, MAX_REPAY_DAY, Method, Row};
use anju_domain::money::{Fen, Rate};
use anju_domain::settlement::InstructionKind;
use axum::http::HeaderMap;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use sm3::{Digest, Sm3};

use anju_exchange::protocol::NonceCache;
pub use anju_exchange::protocol::{canonical, nonce, sign, verify};

/// Header naming the signer: the caller's app id on requests, the bank code on answers
/// and notices.
pub const H_APP: &str = "x-bank-app";
/// Header with the signing time (unix seconds).
pub const H_TIMESTAMP: &str = "x-bank-timestamp";
/// Header with a one-time nonce (on answers: the request's nonce, echoed).
pub const H_NONCE: &str = "x-bank-nonce";
/// Header with the signature.
pub const H_SIGNATURE: &str = "x-bank-signature";
/// Largest accepted difference between the signer's and the checker's clock.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;
/// Most instructions in one request.
pub const MAX_BATCH: usize = 1000;
/// The path notices are signed over, whatever the callback URL is.
pub const NOTICE_SIGNING_PATH: &str = "/notice";
/// The "method" of an answer's signing string.
pub const ANSWER_METHOD: &str = "ANSWER";
/// Most nonces a [`NonceGuard`] remembers at once. When full, the oldest is forgotten and
/// messages signed no later than it are refused (so a forgotten nonce can never be
/// replayed).
pub const NONCE_CACHE_CAP: usize = 200_000;
/// The error code of a `404` answering a loan number the bank does not have.
pub const NO_SUCH_LOAN: &str = "no_such_loan";
/// Largest amount accepted in one instruction, fen (10¹³ fen = 100 billion yuan).
pub const MAX_AMOUNT_FEN: i64 = 10_000_000_000_000;

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable code: `bad_request`, `unauthorized`, `forbidden`, `not_found`,
    /// `no_such_loan`, `conflict`, `bank_error`, `unavailable`.
    pub error: String,
    /// Human explanation.
    pub message: String,
}

/// Wire codes of [`InstructionKind`] (`payment`, `collection`, …).
pub mod kind_code {
    use super::InstructionKind;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the code.
    pub fn serialize<S: Serializer>(k: &InstructionKind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(k.code())
    }

    /// Reads a code, naming the ones allowed when it is unknown.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<InstructionKind, D::Error> {
        let text = String::deserialize(d)?;
        InstructionKind::from_code(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown instruction kind {text:?}; one of: {}",
                InstructionKind::ALL.map(InstructionKind::code).join(", ")
            ))
        })
    }
}

/// Wire codes of [`SettlementBusinessType`] (`"01"` … `"20"`).
pub mod business_type_code {
    use super::SettlementBusinessType;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the code.
    pub fn serialize<S: Serializer>(t: &SettlementBusinessType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(t.code())
    }

    /// Reads a code.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<SettlementBusinessType, D::Error> {
        let text = String::deserialize(d)?;
        SettlementBusinessType::from_code(&text).map_err(|_| {
            serde::de::Error::custom(format!(
                "unknown settlement business type {text:?}; a code from 01 to 20"
            ))
        })
    }
}

/// One instruction on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireInstruction {
    /// Serial number (流水号): the idempotency key.
    pub serial: String,
    /// What it does.
    #[serde(with = "kind_code")]
    pub kind: InstructionKind,
    /// Settlement business type (结算业务类型).
    #[serde(with = "business_type_code")]
    pub business_type: SettlementBusinessType,
    /// Account debited.
    pub debit_account: String,
    /// Account credited.
    pub credit_account: String,
    /// Name on the credited account (checked by the bank when it holds the account).
    pub credit_name: String,
    /// Bank code of the credited account when another bank holds it (跨行).
    #[serde(default)]
    pub credit_bank: Option<String>,
    /// Amount in fen, positive.
    pub amount_fen: i64,
    /// Memo (附言).
    #[serde(default)]
    pub memo: String,
}

impl WireInstruction {
    /// The wire form of a port instruction.
    pub fn from_port(i: &Instruction) -> WireInstruction {
        WireInstruction {
            serial: i.serial.clone(),
            kind: i.kind,
            business_type: i.business_type,
            debit_account: i.debit_account.clone(),
            credit_account: i.credit_account.clone(),
            credit_name: i.credit_name.clone(),
            credit_bank: i.credit_bank.clone(),
            amount_fen: i.amount.fen(),
            memo: i.memo.clone(),
        }
    }

    /// Checks every field; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        check_serial(&self.serial).map_err(|e| format!("`serial` {e}"))?;
        check_account(&self.debit_account).map_err(|e| format!("`debit_account` {e}"))?;
        check_account(&self.credit_account).map_err(|e| format!("`credit_account` {e}"))?;
        check_text(&self.credit_name, 1, 100).map_err(|e| format!("`credit_name` {e}"))?;
        if let Some(b) = &self.credit_bank {
            check_bank_code(b).map_err(|e| format!("`credit_bank` {e}"))?;
        }
        if !(1..=MAX_AMOUNT_FEN).contains(&self.amount_fen) {
            return Err(format!(
                "`amount_fen` must be a whole number of fen from 1 to {MAX_AMOUNT_FEN}, not {}",
                self.amount_fen
            ));
        }
        check_text(&self.memo, 0, 140).map_err(|e| format!("`memo` {e}"))?;
        if self.debit_account == self.credit_account
            && self.credit_bank.as_deref().is_none_or(|b| b.is_empty())
        {
            return Err("`credit_account` is the debit account".to_owned());
        }
        Ok(())
    }

    /// SM3 of the instruction's canonical JSON (fields in declaration order), hex: what
    /// "the same content" means for a resubmitted serial.
    pub fn content_hash(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sm3::digest(&bytes))
    }
}

/// `POST /v1/instructions` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstructionsRequest {
    /// 1..=[`MAX_BATCH`] instructions, executed in this order.
    pub instructions: Vec<WireInstruction>,
}

impl InstructionsRequest {
    /// Parses and checks a request body; the error names the instruction and the field
    /// (`instructions[3]: `amount_fen` must be …`).
    pub fn parse(body: &[u8]) -> Result<InstructionsRequest, String> {
        #[derive(Deserialize)]
        struct Raw {
            instructions: Option<Vec<serde_json::Value>>,
        }
        let raw: Raw =
            serde_json::from_slice(body).map_err(|e| format!("the body is not valid: {e}"))?;
        let items = raw
            .instructions
            .ok_or_else(|| "field `instructions` is missing".to_owned())?;
        if items.is_empty() || items.len() > MAX_BATCH {
            return Err(format!(
                "field `instructions` must hold 1 to {MAX_BATCH} instructions, not {}",
                items.len()
            ));
        }
        let mut instructions = Vec::with_capacity(items.len());
        for (i, v) in items.into_iter().enumerate() {
            let one: WireInstruction =
                serde_json::from_value(v).map_err(|e| format!("instructions[{i}]: {e}"))?;
            one.validate()
                .map_err(|e| format!("instructions[{i}]: {e}"))?;
            instructions.push(one);
        }
        Ok(InstructionsRequest { instructions })
    }
}

/// Where an instruction stands, on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireStatus {
    /// The money moved.
    Executed,
    /// Definitely not executed, and never will be under this serial.
    Rejected,
    /// Received, still being processed.
    Processing,
}

impl WireStatus {
    /// The wire (and stored) code.
    pub const fn code(self) -> &'static str {
        match self {
            WireStatus::Executed => "executed",
            WireStatus::Rejected => "rejected",
            WireStatus::Processing => "processing",
        }
    }

    /// Parses [`WireStatus::code`].
    pub fn from_code(code: &str) -> Option<WireStatus> {
        [
            WireStatus::Executed,
            WireStatus::Rejected,
            WireStatus::Processing,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
}

/// The result of one instruction (an element of [`InstructionsResponse`], the answer of
/// `GET /v1/instructions/{serial}`, and the body of a result notice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstructionResult {
    /// The instruction's serial.
    pub serial: String,
    /// Where it stands.
    pub status: WireStatus,
    /// Amount moved (executed) or asked (rejected), fen; absent when unknown.
    #[serde(default)]
    pub amount_fen: Option<i64>,
    /// The bank's reference (银行流水号), when executed.
    #[serde(default)]
    pub bank_ref: Option<String>,
    /// Value date, when executed.
    #[serde(default)]
    pub value_date: Option<Date>,
    /// Why, when rejected.
    #[serde(default)]
    pub reason: Option<String>,
}

impl InstructionResult {
    /// An executed result.
    pub fn executed(serial: &str, amount_fen: i64, bank_ref: &str, value_date: Date) -> Self {
        InstructionResult {
            serial: serial.to_owned(),
            status: WireStatus::Executed,
            amount_fen: Some(amount_fen),
            bank_ref: Some(bank_ref.to_owned()),
            value_date: Some(value_date),
            reason: None,
        }
    }

    /// A rejected result.
    pub fn rejected(serial: &str, amount_fen: Option<i64>, reason: &str) -> Self {
        InstructionResult {
            serial: serial.to_owned(),
            status: WireStatus::Rejected,
            amount_fen,
            bank_ref: None,
            value_date: None,
            reason: Some(reason.to_owned()),
        }
    }

    /// The port's answer, checking the fields its status needs: an executed result has a
    /// positive amount, a bank reference and a value date; a rejected one a reason.
    pub fn answer(&self) -> Result<BankAnswer, String> {
        match self.status {
            WireStatus::Executed => {
                let amount = self
                    .amount_fen
                    .filter(|a| (1..=MAX_AMOUNT_FEN).contains(a))
                    .ok_or_else(|| {
                        format!(
                            "executed result for {:?} without a positive `amount_fen`",
                            self.serial
                        )
                    })?;
                let bank_ref = self
                    .bank_ref
                    .clone()
                    .filter(|r| !r.trim().is_empty())
                    .ok_or_else(|| {
                        format!("executed result for {:?} without `bank_ref`", self.serial)
                    })?;
                let value_date = self.value_date.ok_or_else(|| {
                    format!("executed result for {:?} without `value_date`", self.serial)
                })?;
                Ok(BankAnswer::Executed {
                    amount: Fen::new(amount),
                    bank_ref,
                    value_date,
                })
            }
            WireStatus::Rejected => {
                let reason = self
                    .reason
                    .clone()
                    .filter(|r| !r.trim().is_empty())
                    .ok_or_else(|| {
                        format!("rejected result for {:?} without `reason`", self.serial)
                    })?;
                Ok(BankAnswer::Rejected { reason })
            }
            WireStatus::Processing => Ok(BankAnswer::Processing),
        }
    }

    /// The wire form of a port answer.
    pub fn from_answer(serial: &str, answer: &BankAnswer) -> InstructionResult {
        match answer {
            BankAnswer::Executed {
                amount,
                bank_ref,
                value_date,
            } => InstructionResult::executed(serial, amount.fen(), bank_ref, *value_date),
            BankAnswer::Rejected { reason } => InstructionResult::rejected(serial, None, reason),
            BankAnswer::Processing => InstructionResult {
                serial: serial.to_owned(),
                status: WireStatus::Processing,
                amount_fen: None,
                bank_ref: None,
                value_date: None,
                reason: None,
            },
        }
    }
}

/// `POST /v1/instructions` answer: one result per instruction, in the request's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstructionsResponse {
    /// The results.
    pub results: Vec<InstructionResult>,
}

/// `GET /v1/accounts/{account}/balance` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceBody {
    /// The account.
    pub account: String,
    /// Its balance, fen.
    pub balance_fen: i64,
    /// When the balance was read.
    pub as_of: Timestamp,
}

/// One statement line on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireLine {
    /// The bank's reference of the movement.
    pub bank_ref: String,
    /// The instruction's serial, when the movement came from one.
    #[serde(default)]
    pub serial: Option<String>,
    /// Signed amount, fen: positive in, negative out.
    pub amount_fen: i64,
    /// The other side's account.
    pub counterparty_account: String,
    /// The other side's name.
    pub counterparty_name: String,
    /// Memo.
    pub memo: String,
    /// Value date.
    pub value_date: Date,
}

impl WireLine {
    /// The port's line.
    pub fn to_port(&self) -> StatementLine {
        StatementLine {
            bank_ref: self.bank_ref.clone(),
            serial: self.serial.clone(),
            amount: Fen::new(self.amount_fen),
            counterparty_account: self.counterparty_account.clone(),
            counterparty_name: self.counterparty_name.clone(),
            memo: self.memo.clone(),
            value_date: self.value_date,
        }
    }
}

/// `GET /v1/accounts/{account}/statement?date=…` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementBody {
    /// The account.
    pub account: String,
    /// The day.
    pub date: Date,
    /// Balance at the start of the day, fen.
    pub opening_fen: i64,
    /// Balance at the end of the day (or now, for today), fen.
    pub closing_fen: i64,
    /// Movements in booking order.
    pub lines: Vec<WireLine>,
}

impl StatementBody {
    /// The port's statement, checking that it is the one asked for and that it adds up:
    /// no zero line, every line of the day, opening + Σ lines = closing.
    pub fn to_port(&self, account: &str, date: Date) -> Result<Statement, String> {
        if self.account != account || self.date != date {
            return Err(format!(
                "statement of {} on {} asked, {} on {} answered",
                account, date, self.account, self.date
            ));
        }
        let mut sum = Fen::new(self.opening_fen);
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, l) in self.lines.iter().enumerate() {
            if l.amount_fen == 0 || l.bank_ref.trim().is_empty() {
                return Err(format!("statement line {i}: zero amount or no bank_ref"));
            }
            if l.value_date != date {
                return Err(format!(
                    "statement line {i}: value date {} in the statement of {date}",
                    l.value_date
                ));
            }
            sum = sum
                .checked_add(Fen::new(l.amount_fen))
                .map_err(|e| format!("statement line {i}: {e}"))?;
            lines.push(l.to_port());
        }
        if sum.fen() != self.closing_fen {
            return Err(format!(
                "statement does not add up: opening {} + lines = {}, closing says {}",
                self.opening_fen,
                sum.fen(),
                self.closing_fen
            ));
        }
        Ok(Statement {
            account: self.account.clone(),
            date: self.date,
            opening: Fen::new(self.opening_fen),
            closing: Fen::new(self.closing_fen),
            lines,
        })
    }
}

/// Money someone else sent into an account at the bank (the body of a credit notice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditEvent {
    /// The account credited (a fund account).
    pub account: String,
    /// The bank's reference of the movement.
    pub bank_ref: String,
    /// Amount, fen, positive.
    pub amount_fen: i64,
    /// The payer's account.
    pub counterparty_account: String,
    /// The payer's name.
    pub counterparty_name: String,
    /// Memo (附言).
    pub memo: String,
    /// Value date.
    pub value_date: Date,
}

/// What a notice says, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum NoticeKind {
    /// The outcome of an instruction (status `executed` or `rejected`).
    Result(InstructionResult),
    /// Money arrived from someone else.
    Credit(CreditEvent),
}

/// A notice's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeBody {
    /// The bank's notice id; the same when a notice is delivered twice.
    pub notice_id: String,
    /// The sending bank's code.
    pub bank: String,
    /// When the bank wrote the notice.
    pub sent_at: Timestamp,
    /// What it says.
    #[serde(flatten)]
    pub event: NoticeKind,
}

impl NoticeBody {
    /// The port's notice, checking the fields.
    pub fn to_port(&self) -> Result<Notice, String> {
        check_text(&self.notice_id, 1, 128).map_err(|e| format!("`notice_id` {e}"))?;
        check_bank_code(&self.bank).map_err(|e| format!("`bank` {e}"))?;
        let event = match &self.event {
            NoticeKind::Result(r) => {
                check_serial(&r.serial).map_err(|e| format!("`serial` {e}"))?;
                if r.status == WireStatus::Processing {
                    return Err("a result notice must be `executed` or `rejected`".to_owned());
                }
                NoticeEvent::Result {
                    serial: r.serial.clone(),
                    answer: r.answer()?,
                }
            }
            NoticeKind::Credit(c) => {
                check_account(&c.account).map_err(|e| format!("`account` {e}"))?;
                if !(1..=MAX_AMOUNT_FEN).contains(&c.amount_fen) {
                    return Err(format!(
                        "`amount_fen` of a credit must be positive, not {}",
                        c.amount_fen
                    ));
                }
                if c.bank_ref.trim().is_empty() {
                    return Err("`bank_ref` is empty".to_owned());
                }
                NoticeEvent::Credit {
                    account: c.account.clone(),
                    line: StatementLine {
                        bank_ref: c.bank_ref.clone(),
                        serial: None,
                        amount: Fen::new(c.amount_fen),
                        counterparty_account: c.counterparty_account.clone(),
                        counterparty_name: c.counterparty_name.clone(),
                        memo: c.memo.clone(),
                        value_date: c.value_date,
                    },
                }
            }
        };
        Ok(Notice {
            notice_id: self.notice_id.clone(),
            bank: self.bank.clone(),
            sent_at: self.sent_at,
            event,
        })
    }
}

fn check_chars(
    text: &str,
    min: usize,
    max: usize,
    ok: impl Fn(char) -> bool,
    what: &str,
) -> Result<(), String> {
    let n = text.chars().count();
    if n < min || n > max {
        return Err(format!("must be {min}-{max} characters, not {n}"));
    }
    if let Some(c) = text.chars().find(|c| !ok(*c)) {
        return Err(format!("has {c:?}; only {what} are allowed"));
    }
    Ok(())
}

/// A serial: 1-64 characters of `A-Z a-z 0-9 . _ : -` (so it can stand in a path as is).
pub fn check_serial(serial: &str) -> Result<(), String> {
    check_chars(
        serial,
        1,
        64,
        |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'),
        "letters, digits, `.`, `_`, `:` and `-`",
    )
}

/// An account number: 1-40 characters of `A-Z a-z 0-9 -`.
pub fn check_account(account: &str) -> Result<(), String> {
    check_chars(
        account,
        1,
        40,
        |c| c.is_ascii_alphanumeric() || c == '-',
        "letters, digits and `-`",
    )
}

/// A bank code: 1-16 letters or digits (e.g. `105`).
pub fn check_bank_code(code: &str) -> Result<(), String> {
    check_chars(
        code,
        1,
        16,
        |c| c.is_ascii_alphanumeric(),
        "letters and digits",
    )
}

/// Free text of `min..=max` characters without control characters.
pub fn check_text(text: &str, min: usize, max: usize) -> Result<(), String> {
    if min > 0 && text.trim().is_empty() {
        return Err("is empty".to_owned());
    }
    check_chars(text, min, max, |c| !c.is_control(), "printable characters")
}

/// The four headers of a signed request (or notice): `(name, value)` pairs in the order
/// app, timestamp, nonce, signature.
pub fn sign_request(
    secret: &[u8],
    app: &str,
    method: &str,
    path: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> [(&'static str, String); 4] {
    let signature = sign(secret, &canonical(method, path, timestamp, nonce, body));
    [
        (H_APP, app.to_owned()),
        (H_TIMESTAMP, timestamp.to_string()),
        (H_NONCE, nonce.to_owned()),
        (H_SIGNATURE, signature),
    ]
}

/// The signature headers of an answer to a request to `path` that carried
/// `request_nonce`: `(name, value)` pairs.
pub fn sign_answer(
    secret: &[u8],
    bank: &str,
    path: &str,
    timestamp: i64,
    request_nonce: &str,
    body: &[u8],
) -> [(&'static str, String); 4] {
    sign_request(
        secret,
        bank,
        ANSWER_METHOD,
        path,
        timestamp,
        request_nonce,
        body,
    )
}

/// A text header, or why not.
fn header<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, String> {
    match headers.get(name) {
        None => Err(format!("missing header {name}")),
        Some(v) => v
            .to_str()
            .map(str::trim)
            .map_err(|_| format!("header {name} is not plain text")),
    }
}

/// Who signed a message that [`authenticate`] accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    /// `x-bank-app`.
    pub app: String,
    /// `x-bank-timestamp`.
    pub timestamp: i64,
    /// `x-bank-nonce`.
    pub nonce: String,
}

/// Why [`authenticate`] refused a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct AuthError {
    /// The `x-bank-app` claimed, if readable.
    pub app: Option<String>,
    /// Why.
    pub reason: String,
}

/// Checks the four signature headers of a message (`method`, `path`, `body`) at `now`:
/// `secret_of` gives the secret of a known signer (`None`: unknown app); the timestamp
/// must be within [`MAX_CLOCK_SKEW_SECS`] and the signature right. Does **not** check
/// the nonce for replays: that is [`NonceGuard::admit`]'s job.
pub fn authenticate(
    headers: &HeaderMap,
    method: &str,
    path: &str,
    body: &[u8],
    secret_of: impl Fn(&str) -> Option<Vec<u8>>,
    now: Timestamp,
) -> Result<Signer, AuthError> {
    let fail = |app: Option<&str>, reason: String| AuthError {
        app: app.map(|a| a.chars().take(64).collect()),
        reason,
    };
    let app = header(headers, H_APP).map_err(|e| fail(None, e))?;
    let app_opt = Some(app);
    let timestamp = header(headers, H_TIMESTAMP).map_err(|e| fail(app_opt, e))?;
    let nonce = header(headers, H_NONCE).map_err(|e| fail(app_opt, e))?;
    let signature = header(headers, H_SIGNATURE).map_err(|e| fail(app_opt, e))?;
    let Some(secret) = secret_of(app) else {
        let shown: String = app.chars().take(64).collect();
        return Err(fail(app_opt, format!("unknown app {shown:?}")));
    };
    let ts: i64 = timestamp.parse().map_err(|_| {
        fail(
            app_opt,
            format!("header {H_TIMESTAMP} must be unix seconds"),
        )
    })?;
    let skew = now.as_second().saturating_sub(ts);
    if skew.unsigned_abs() > MAX_CLOCK_SKEW_SECS.unsigned_abs() {
        return Err(fail(
            app_opt,
            format!(
                "timestamp is {skew} s off the receiver's clock (at most {MAX_CLOCK_SKEW_SECS} s allowed)"
            ),
        ));
    }
    if nonce.is_empty() || nonce.len() > 128 || !nonce.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(fail(
            app_opt,
            format!("header {H_NONCE} must be 1-128 visible ASCII characters (32 hex digits)"),
        ));
    }
    let text = canonical(method, path, ts, nonce, body);
    if !verify(&secret, &text, signature) {
        return Err(fail(
            app_opt,
            format!(
                "bad signature: expected hex(HMAC-SM3(secret, \"{method}\\n{{path}}\\n{{timestamp}}\\n{{nonce}}\\n{{hex(SM3(body))}}\"))"
            ),
        ));
    }
    Ok(Signer {
        app: app.to_owned(),
        timestamp: ts,
        nonce: nonce.to_owned(),
    })
}

/// Nonces seen within the clock-skew window: refuses a replayed request or notice. Safe
/// to share between threads.
#[derive(Debug)]
pub struct NonceGuard {
    inner: Mutex<NonceCache>,
}

impl Default for NonceGuard {
    fn default() -> NonceGuard {
        NonceGuard {
            inner: Mutex::new(NonceCache::new(NONCE_CACHE_CAP)),
        }
    }
}

impl NonceGuard {
    /// An empty guard.
    pub fn new() -> NonceGuard {
        NonceGuard::default()
    }

    /// Records `nonce` signed at `timestamp` (unix seconds); refuses one seen before
    /// within the window. `now` drops what fell out of the window.
    pub fn admit(&self, nonce: &str, timestamp: i64, now: Timestamp) -> Result<(), String> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .admit(nonce, timestamp, now.as_second())
    }

    /// [`verify_notice`], then the nonce check: what a callback handler calls.
    pub fn check_notice(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        secrets: impl Fn(&str) -> Option<Vec<u8>>,
        now: Timestamp,
    ) -> Result<Notice, NoticeRefused> {
        let notice = verify_notice(headers, body, secrets, now)?;
        let ts = header(headers, H_TIMESTAMP)
            .ok()
            .and_then(|t| t.parse::<i64>().ok())
            .unwrap_or_default();
        let nonce = header(headers, H_NONCE).unwrap_or_default();
        self.admit(nonce, ts, now).map_err(|reason| NoticeRefused {
            bank: Some(notice.bank.clone()),
            reason,
            kind: Refusal::Unauthorized,
        })?;
        Ok(notice)
    }
}

/// How a notice was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Signature, signer, timestamp or nonce: answer `401`.
    Unauthorized,
    /// Signed but not a valid notice: answer `400`.
    Malformed,
}

/// A notice that is not trusted or not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("notice from bank {} refused: {reason}", .bank.as_deref().unwrap_or("(unknown)"))]
pub struct NoticeRefused {
    /// The bank it claims to come from (`x-bank-app`), if readable.
    pub bank: Option<String>,
    /// Why it was refused.
    pub reason: String,
    /// Which kind of refusal.
    pub kind: Refusal,
}

impl NoticeRefused {
    /// The HTTP status the callback should answer: `401` or `400`.
    pub fn http_status(&self) -> u16 {
        match self.kind {
            Refusal::Unauthorized => 401,
            Refusal::Malformed => 400,
        }
    }
}

/// Verifies a notice the bank `POST`ed to the callback: the four headers signed by
/// `x-bank-app` (a bank code whose shared secret `secrets` gives) over
/// [`NOTICE_SIGNING_PATH`], the timestamp within [`MAX_CLOCK_SKEW_SECS`] of `now`, the
/// body a valid [`NoticeBody`] from the same bank. Replays are caught by
/// [`NonceGuard::check_notice`], which calls this; duplicates (same `notice_id`, fresh
/// signature) pass, and the application treats them as no-ops.
pub fn verify_notice(
    headers: &HeaderMap,
    body: &[u8],
    secrets: impl Fn(&str) -> Option<Vec<u8>>,
    now: Timestamp,
) -> Result<Notice, NoticeRefused> {
    let signer =
        authenticate(headers, "POST", NOTICE_SIGNING_PATH, body, secrets, now).map_err(|e| {
            NoticeRefused {
                bank: e.app,
                reason: e.reason,
                kind: Refusal::Unauthorized,
            }
        })?;
    let malformed = |reason: String| NoticeRefused {
        bank: Some(signer.app.clone()),
        reason,
        kind: Refusal::Malformed,
    };
    let parsed: NoticeBody = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("the body is not a notice: {e}")))?;
    if parsed.bank != signer.app {
        return Err(NoticeRefused {
            bank: Some(signer.app.clone()),
            reason: format!(
                "signed by bank {:?} but says it is from bank {:?}",
                signer.app, parsed.bank
            ),
            kind: Refusal::Unauthorized,
        });
    }
    parsed.to_port().map_err(malformed)
}

// ---- commercial lending (组合贷款的商业贷款部分) ----------------------------------------

/// A borrower on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireBorrower {
    /// Name.
    pub name: String,
    /// ID number.
    pub id_number: String,
    /// `applicant` or `co-borrower`.
    pub role: String,
    /// Monthly income, fen, not negative.
    pub monthly_income_fen: i64,
}

/// `POST /v1/loans` body: the commercial part of a combination-loan application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoanApplication {
    /// The centre's application number: the idempotency key (like a serial).
    pub application_no: String,
    /// 1–10 borrowers, exactly one `applicant`.
    pub borrowers: Vec<WireBorrower>,
    /// The commercial amount, fen, positive.
    pub amount_fen: i64,
    /// Term, 1–360 months.
    pub months: u32,
    /// `equal-installment` or `equal-principal`.
    pub method: Method,
    /// Repayment day, 1–28.
    pub repay_day: u8,
    /// First home (首套).
    pub first_home: bool,
    /// The property's price, fen, positive.
    pub price_fen: i64,
    /// The property's registry key or certificate number (the shared collateral).
    pub property: String,
    /// The centre's part, fen, not negative.
    pub hpf_amount_fen: i64,
    /// The first monthly payment of the centre's part, fen, not negative.
    #[serde(default)]
    pub hpf_payment_fen: i64,
    /// The day the application was taken.
    pub requested_on: Date,
}

fn fen_in(field: &str, v: i64, min: i64) -> Result<(), String> {
    if !(min..=MAX_AMOUNT_FEN).contains(&v) {
        return Err(format!(
            "`{field}` must be a whole number of fen from {min} to {MAX_AMOUNT_FEN}, not {v}"
        ));
    }
    Ok(())
}

impl LoanApplication {
    /// The wire form of a port request.
    pub fn from_port(r: &CommercialRequest) -> LoanApplication {
        LoanApplication {
            application_no: r.application_no.clone(),
            borrowers: r
                .borrowers
                .iter()
                .map(|b| WireBorrower {
                    name: b.name.clone(),
                    id_number: b.id_number.clone(),
                    role: b.role.code().to_owned(),
                    monthly_income_fen: b.monthly_income.fen(),
                })
                .collect(),
            amount_fen: r.amount.fen(),
            months: r.months,
            method: r.method,
            repay_day: r.repay_day,
            first_home: r.first_home,
            price_fen: r.price.fen(),
            property: r.property.clone(),
            hpf_amount_fen: r.hpf_amount.fen(),
            hpf_payment_fen: r.hpf_payment.fen(),
            requested_on: r.requested_on,
        }
    }

    /// Parses and checks a request body; the error names the field.
    pub fn parse(body: &[u8]) -> Result<LoanApplication, String> {
        let a: LoanApplication =
            serde_json::from_slice(body).map_err(|e| format!("the body is not valid: {e}"))?;
        a.validate()?;
        Ok(a)
    }

    /// Checks every field; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        check_serial(&self.application_no).map_err(|e| format!("`application_no` {e}"))?;
        if self.borrowers.is_empty() || self.borrowers.len() > 10 {
            return Err(format!(
                "`borrowers` must list 1 to 10 borrowers, not {}",
                self.borrowers.len()
            ));
        }
        let mut applicants = 0;
        for (i, b) in self.borrowers.iter().enumerate() {
            check_text(&b.name, 1, 100).map_err(|e| format!("borrowers[{i}]: `name` {e}"))?;
            check_chars(
                &b.id_number,
                1,
                40,
                |c| c.is_ascii_alphanumeric(),
                "letters and digits",
            )
            .map_err(|e| format!("borrowers[{i}]: `id_number` {e}"))?;
            match BorrowerRole::from_code(&b.role) {
                Some(BorrowerRole::Applicant) => applicants += 1,
                Some(BorrowerRole::CoBorrower) => {}
                None => {
                    return Err(format!(
                        "borrowers[{i}]: `role` must be `applicant` or `co-borrower`, not {:?}",
                        b.role
                    ));
                }
            }
            fen_in(
                &format!("borrowers[{i}].monthly_income_fen"),
                b.monthly_income_fen,
                0,
            )?;
            if self.borrowers[..i]
                .iter()
                .any(|o| o.id_number == b.id_number)
            {
                return Err(format!("borrowers[{i}]: `id_number` is listed twice"));
            }
        }
        if applicants != 1 {
            return Err(format!(
                "`borrowers` must have exactly one `applicant`, not {applicants}"
            ));
        }
        fen_in("amount_fen", self.amount_fen, 1)?;
        if !(1..=MAX_MONTHS).contains(&self.months) {
            return Err(format!(
                "`months` must be 1 to {MAX_MONTHS}, not {}",
                self.months
            ));
        }
        if !(1..=MAX_REPAY_DAY).contains(&self.repay_day) {
            return Err(format!(
                "`repay_day` must be 1 to {MAX_REPAY_DAY}, not {}",
                self.repay_day
            ));
        }
        fen_in("price_fen", self.price_fen, 1)?;
        check_text(&self.property, 1, 100).map_err(|e| format!("`property` {e}"))?;
        fen_in("hpf_amount_fen", self.hpf_amount_fen, 0)?;
        fen_in("hpf_payment_fen", self.hpf_payment_fen, 0)?;
        Ok(())
    }

    /// SM3 of the canonical JSON, hex: what "the same content" means for an application
    /// number asked again.
    pub fn content_hash(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sm3::digest(&bytes))
    }
}

/// One schedule row on the wire: fen integers and an ISO due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireRow {
    /// 1-based period.
    pub period: u32,
    /// Due date.
    pub due: Date,
    /// Payment = principal + interest, fen.
    pub payment_fen: i64,
    /// Principal part, fen.
    pub principal_fen: i64,
    /// Interest part, fen.
    pub interest_fen: i64,
    /// Principal remaining after the period, fen.
    pub remaining_fen: i64,
}

impl WireRow {
    /// The wire form of a schedule row (a row without a due date is refused).
    pub fn from_row(r: &Row) -> Result<WireRow, String> {
        Ok(WireRow {
            period: r.period,
            due: r
                .due
                .ok_or_else(|| format!("schedule row {} has no due date", r.period))?,
            payment_fen: r.payment.fen(),
            principal_fen: r.principal.fen(),
            interest_fen: r.interest.fen(),
            remaining_fen: r.remaining.fen(),
        })
    }

    /// The schedule row.
    pub fn to_row(&self) -> Row {
        Row {
            period: self.period,
            due: Some(self.due),
            payment: Fen::new(self.payment_fen),
            principal: Fen::new(self.principal_fen),
            interest: Fen::new(self.interest_fen),
            remaining: Fen::new(self.remaining_fen),
        }
    }
}

/// A commercial loan's status on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WireLoanStatus {
    /// Approved, not disbursed.
    Approved,
    /// Disbursed.
    Disbursed,
    /// Repaid in full.
    PaidOff,
    /// Cancelled.
    Cancelled,
}

impl WireLoanStatus {
    /// The wire (and stored) code.
    pub const fn code(self) -> &'static str {
        match self {
            WireLoanStatus::Approved => "approved",
            WireLoanStatus::Disbursed => "disbursed",
            WireLoanStatus::PaidOff => "paid_off",
            WireLoanStatus::Cancelled => "cancelled",
        }
    }

    /// Parses [`WireLoanStatus::code`].
    pub fn from_code(code: &str) -> Option<WireLoanStatus> {
        [
            WireLoanStatus::Approved,
            WireLoanStatus::Disbursed,
            WireLoanStatus::PaidOff,
            WireLoanStatus::Cancelled,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
}

/// A commercial loan on the wire (the answer of `GET /v1/loans/{bank_loan_no}`, and part
/// of the answers to applying and disbursing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireLoan {
    /// The bank's loan number.
    pub bank_loan_no: String,
    /// The centre's application number.
    pub application_no: String,
    /// Where it stands.
    pub status: WireLoanStatus,
    /// Disbursement date, when disbursed.
    #[serde(default)]
    pub disbursed_on: Option<Date>,
    /// The bank's reference of the disbursement, when disbursed.
    #[serde(default)]
    pub disbursement_ref: Option<String>,
    /// Principal, fen.
    pub amount_fen: i64,
    /// Annual rate, a percent decimal string (`"3.2"`).
    pub annual_rate_pct: Rate,
    /// Term, months.
    pub months: u32,
    /// Repayment method.
    pub method: Method,
    /// Repayment day.
    pub repay_day: u8,
    /// The schedule: provisional before disbursement, final after.
    pub schedule: Vec<WireRow>,
}

impl WireLoan {
    /// The wire form of a port loan.
    pub fn from_port(l: &CommercialLoan) -> Result<WireLoan, String> {
        let (status, disbursed_on, disbursement_ref) = match &l.status {
            CommercialStatus::Approved => (WireLoanStatus::Approved, None, None),
            CommercialStatus::Disbursed { on, bank_ref } => {
                (WireLoanStatus::Disbursed, Some(*on), Some(bank_ref.clone()))
            }
            CommercialStatus::PaidOff => (WireLoanStatus::PaidOff, None, None),
            CommercialStatus::Cancelled => (WireLoanStatus::Cancelled, None, None),
        };
        Ok(WireLoan {
            bank_loan_no: l.bank_loan_no.clone(),
            application_no: l.application_no.clone(),
            status,
            disbursed_on,
            disbursement_ref,
            amount_fen: l.amount.fen(),
            annual_rate_pct: l.annual_rate,
            months: l.months,
            method: l.method,
            repay_day: l.repay_day,
            schedule: l
                .schedule
                .iter()
                .map(WireRow::from_row)
                .collect::<Result<_, _>>()?,
        })
    }

    /// The port's loan, checking that it hangs together: a loan number, a disbursed loan
    /// with its date and reference, exactly `months` rows numbered 1.. in due-date order,
    /// each payment = principal + interest, the remaining principal falling from the
    /// amount to zero.
    pub fn to_port(&self) -> Result<CommercialLoan, String> {
        check_serial(&self.bank_loan_no).map_err(|e| format!("`bank_loan_no` {e}"))?;
        let status = match self.status {
            WireLoanStatus::Approved => CommercialStatus::Approved,
            WireLoanStatus::Disbursed => CommercialStatus::Disbursed {
                on: self
                    .disbursed_on
                    .ok_or("a disbursed loan without `disbursed_on`")?,
                bank_ref: self
                    .disbursement_ref
                    .clone()
                    .filter(|r| !r.trim().is_empty())
                    .ok_or("a disbursed loan without `disbursement_ref`")?,
            },
            WireLoanStatus::PaidOff => CommercialStatus::PaidOff,
            WireLoanStatus::Cancelled => CommercialStatus::Cancelled,
        };
        if !(1..=MAX_AMOUNT_FEN).contains(&self.amount_fen) {
            return Err(format!("`amount_fen` {} is not positive", self.amount_fen));
        }
        if usize::try_from(self.months).ok() != Some(self.schedule.len()) {
            return Err(format!(
                "the schedule has {} rows for a term of {} months",
                self.schedule.len(),
                self.months
            ));
        }
        let mut remaining = self.amount_fen;
        let mut last_due: Option<Date> = None;
        for (i, r) in self.schedule.iter().enumerate() {
            let bad = |what: &str| format!("schedule row {}: {what}", i + 1);
            if usize::try_from(r.period).ok() != Some(i + 1) {
                return Err(bad("period out of order"));
            }
            if last_due.is_some_and(|d| r.due <= d) {
                return Err(bad("due date not after the previous one"));
            }
            last_due = Some(r.due);
            if r.principal_fen < 0
                || r.interest_fen < 0
                || r.principal_fen.checked_add(r.interest_fen) != Some(r.payment_fen)
            {
                return Err(bad("payment is not principal + interest"));
            }
            remaining = remaining
                .checked_sub(r.principal_fen)
                .ok_or_else(|| bad("overflow"))?;
            if remaining != r.remaining_fen || remaining < 0 {
                return Err(bad("remaining principal does not add up"));
            }
        }
        if remaining != 0 {
            return Err(format!(
                "the schedule leaves {remaining} fen of principal unpaid"
            ));
        }
        Ok(CommercialLoan {
            bank_loan_no: self.bank_loan_no.clone(),
            application_no: self.application_no.clone(),
            status,
            amount: Fen::new(self.amount_fen),
            annual_rate: self.annual_rate_pct,
            months: self.months,
            method: self.method,
            repay_day: self.repay_day,
            schedule: self.schedule.iter().map(WireRow::to_row).collect(),
        })
    }
}

/// The kind of a decision on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireDecision {
    /// Approved: `loan` is present.
    Approved,
    /// Declined on credit grounds: `reason` is present.
    Declined,
    /// Not considered (application number reused): `reason` is present.
    Refused,
}

impl WireDecision {
    /// The wire code.
    pub const fn code(self) -> &'static str {
        match self {
            WireDecision::Approved => "approved",
            WireDecision::Declined => "declined",
            WireDecision::Refused => "refused",
        }
    }
}

/// `POST /v1/loans` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoanDecisionBody {
    /// The application number asked about.
    pub application_no: String,
    /// The decision.
    pub decision: WireDecision,
    /// The loan, when approved.
    #[serde(default)]
    pub loan: Option<WireLoan>,
    /// Why, when declined or refused.
    #[serde(default)]
    pub reason: Option<String>,
}

fn needed_reason(reason: &Option<String>, what: &str) -> Result<String, String> {
    reason
        .clone()
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| format!("{what} without `reason`"))
}

impl LoanDecisionBody {
    /// The port's decision, checking the fields (and that it answers `application_no`).
    pub fn to_port(&self, application_no: &str) -> Result<CommercialDecision, String> {
        if self.application_no != application_no {
            return Err(format!(
                "asked about application {application_no}, answered about {:?}",
                self.application_no
            ));
        }
        match self.decision {
            WireDecision::Approved => {
                let loan = self
                    .loan
                    .as_ref()
                    .ok_or("an approval without `loan`")?
                    .to_port()?;
                if loan.application_no != application_no {
                    return Err(format!(
                        "the loan approved is for application {:?}",
                        loan.application_no
                    ));
                }
                Ok(CommercialDecision::Approved(loan))
            }
            WireDecision::Declined => Ok(CommercialDecision::Declined {
                reason: needed_reason(&self.reason, "a decline")?,
            }),
            WireDecision::Refused => Ok(CommercialDecision::Refused {
                reason: needed_reason(&self.reason, "a refusal")?,
            }),
        }
    }
}

/// `POST /v1/loans/{bank_loan_no}/disburse` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisburseRequest {
    /// The seller's account.
    pub seller_account: String,
    /// The name on it.
    pub seller_name: String,
    /// Bank code of the seller's account when another bank holds it.
    #[serde(default)]
    pub seller_bank: Option<String>,
    /// Disbursement date: must be the bank's business date.
    pub date: Date,
    /// Memo.
    #[serde(default)]
    pub memo: String,
}

impl DisburseRequest {
    /// The wire form of a port order.
    pub fn from_port(o: &DisburseOrder) -> DisburseRequest {
        DisburseRequest {
            seller_account: o.seller_account.clone(),
            seller_name: o.seller_name.clone(),
            seller_bank: o.seller_bank.clone(),
            date: o.date,
            memo: o.memo.clone(),
        }
    }

    /// Parses and checks a request body; the error names the field.
    pub fn parse(body: &[u8]) -> Result<DisburseRequest, String> {
        let d: DisburseRequest =
            serde_json::from_slice(body).map_err(|e| format!("the body is not valid: {e}"))?;
        d.validate()?;
        Ok(d)
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), String> {
        check_account(&self.seller_account).map_err(|e| format!("`seller_account` {e}"))?;
        check_text(&self.seller_name, 1, 100).map_err(|e| format!("`seller_name` {e}"))?;
        if let Some(b) = &self.seller_bank {
            check_bank_code(b).map_err(|e| format!("`seller_bank` {e}"))?;
        }
        check_text(&self.memo, 0, 140).map_err(|e| format!("`memo` {e}"))
    }

    /// SM3 of the canonical JSON, hex: what "the same order" means.
    pub fn content_hash(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sm3::digest(&bytes))
    }
}

/// The outcome of a disbursement order on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireDisbursement {
    /// Disbursed: `loan` is present.
    Disbursed,
    /// Not disbursed: `reason` is present.
    Refused,
}

/// `POST /v1/loans/{bank_loan_no}/disburse` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisburseBody {
    /// The loan number asked about.
    pub bank_loan_no: String,
    /// The outcome.
    pub outcome: WireDisbursement,
    /// The disbursed loan with its final schedule.
    #[serde(default)]
    pub loan: Option<WireLoan>,
    /// Why not, when refused.
    #[serde(default)]
    pub reason: Option<String>,
}

impl DisburseBody {
    /// The port's answer, checking the fields: a disbursement is of the loan asked about
    /// and the loan is disbursed.
    pub fn to_port(&self, bank_loan_no: &str) -> Result<Disbursement, String> {
        if self.bank_loan_no != bank_loan_no {
            return Err(format!(
                "asked to disburse {bank_loan_no}, answered about {:?}",
                self.bank_loan_no
            ));
        }
        match self.outcome {
            WireDisbursement::Disbursed => {
                let loan = self
                    .loan
                    .as_ref()
                    .ok_or("a disbursement without `loan`")?
                    .to_port()?;
                if loan.bank_loan_no != bank_loan_no
                    || !matches!(loan.status, CommercialStatus::Disbursed { .. })
                {
                    return Err(format!(
                        "answered disbursed, but the loan is {} {}",
                        loan.bank_loan_no,
                        loan.status.code()
                    ));
                }
                Ok(Disbursement::Disbursed(loan))
            }
            WireDisbursement::Refused => Ok(Disbursement::Refused {
                reason: needed_reason(&self.reason, "a refused disbursement")?,
            }),
        }
    }
}

/// Matches results to the serials asked, in order: the `n`-th result with a serial goes
/// to the `n`-th instruction with it. Results for serials not asked are ignored; an
/// instruction without one gets `None`.
pub fn match_results(
    serials: &[&str],
    results: Vec<InstructionResult>,
) -> Vec<Option<InstructionResult>> {
    let mut by_serial: HashMap<String, std::collections::VecDeque<InstructionResult>> =
        HashMap::new();
    for r in results {
        by_serial.entry(r.serial.clone()).or_default().push_back(r);
    }
    serials
        .iter()
        .map(|s| by_serial.get_mut(*s).and_then(|q| q.pop_front()))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use axum::http::HeaderValue;
    use jiff::civil::date;

    fn wire() -> WireInstruction {
        WireInstruction {
            serial: "ZF20261127000001".into(),
            kind: InstructionKind::Payment,
            business_type: SettlementBusinessType::PartialWithdrawal,
            debit_account: "33001".into(),
            credit_account: "6217001".into(),
            credit_name: "王伟".into(),
            credit_bank: None,
            amount_fen: 12_345,
            memo: "部分提取".into(),
        }
    }

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn loan_app() -> LoanApplication {
        LoanApplication {
            application_no: "DK-2026-000123".into(),
            borrowers: vec![
                WireBorrower {
                    name: "王伟".into(),
                    id_number: "330802199001011234".into(),
                    role: "applicant".into(),
                    monthly_income_fen: 2_000_000,
                },
                WireBorrower {
                    name: "李娜".into(),
                    id_number: "330802199202022345".into(),
                    role: "co-borrower".into(),
                    monthly_income_fen: 1_500_000,
                },
            ],
            amount_fen: 40_000_000,
            months: 240,
            method: Method::EqualInstallment,
            repay_day: 20,
            first_home: true,
            price_fen: 200_000_000,
            property: "浙(2026)衢州市不动产权第0012345号".into(),
            hpf_amount_fen: 60_000_000,
            hpf_payment_fen: 250_000,
            requested_on: date(2026, 11, 10),
        }
    }

    fn wire_loan() -> WireLoan {
        let rate = Rate::parse_percent("3.2").unwrap();
        let rows = anju_domain::loan::schedule(
            Fen::new(40_000_000),
            rate,
            240,
            Method::EqualInstallment,
            Some((date(2026, 11, 10), 20)),
        )
        .unwrap();
        WireLoan {
            bank_loan_no: "L1052026111000000001".into(),
            application_no: "DK-2026-000123".into(),
            status: WireLoanStatus::Approved,
            disbursed_on: None,
            disbursement_ref: None,
            amount_fen: 40_000_000,
            annual_rate_pct: rate,
            months: 240,
            method: Method::EqualInstallment,
            repay_day: 20,
            schedule: rows.iter().map(|r| WireRow::from_row(r).unwrap()).collect(),
        }
    }

    #[test]
    fn loan_applications_round_trip_and_name_bad_fields() {
        let a = loan_app();
        let json = serde_json::to_string(&a).unwrap();
        assert!(json.contains(r#""amount_fen":40000000"#), "{json}");
        assert!(json.contains(r#""method":"equal-installment""#), "{json}");
        assert!(json.contains(r#""requested_on":"2026-11-10""#), "{json}");
        assert_eq!(LoanApplication::parse(json.as_bytes()).unwrap(), a);
        let mut other = a.clone();
        other.borrowers[1].monthly_income_fen += 1;
        assert_ne!(other.content_hash(), a.content_hash());

        let bad = |f: &dyn Fn(&mut serde_json::Value), field: &str| {
            let mut v = serde_json::to_value(loan_app()).unwrap();
            f(&mut v);
            let e = LoanApplication::parse(&serde_json::to_vec(&v).unwrap()).unwrap_err();
            assert!(e.contains(field), "{field}: {e}");
        };
        bad(
            &|v| v["amount_fen"] = serde_json::json!(4.5),
            "floating point",
        );
        bad(&|v| v["amount_fen"] = serde_json::json!(0), "amount_fen");
        bad(&|v| v["months"] = serde_json::json!(361), "months");
        bad(&|v| v["repay_day"] = serde_json::json!(29), "repay_day");
        bad(&|v| v["method"] = serde_json::json!("balloon"), "balloon");
        bad(
            &|v| v["application_no"] = serde_json::json!("a b"),
            "application_no",
        );
        bad(
            &|v| v["borrowers"][1]["role"] = serde_json::json!("applicant"),
            "exactly one",
        );
        bad(
            &|v| v["borrowers"][1]["role"] = serde_json::json!("guarantor"),
            "borrowers[1]",
        );
        bad(
            &|v| v["borrowers"][1]["id_number"] = serde_json::json!("330802199001011234"),
            "twice",
        );
        bad(
            &|v| v["borrowers"][0]["monthly_income_fen"] = serde_json::json!(-1),
            "monthly_income_fen",
        );
        bad(&|v| v["borrowers"] = serde_json::json!([]), "borrowers");
        bad(
            &|v| v["hpf_amount_fen"] = serde_json::json!(-1),
            "hpf_amount_fen",
        );
        bad(&|v| v["property"] = serde_json::json!(" "), "property");
    }

    #[test]
    fn loans_carry_fen_rows_and_a_percent_rate_and_must_add_up() {
        let l = wire_loan();
        let json = serde_json::to_string(&l).unwrap();
        assert!(json.contains(r#""annual_rate_pct":"3.2""#), "{json}");
        assert!(json.contains(r#""due":"2026-11-20""#), "{json}");
        assert!(json.contains(r#""remaining_fen":0}"#), "{json}");
        let back: WireLoan = serde_json::from_str(&json).unwrap();
        assert_eq!(back, l);
        let port = back.to_port().unwrap();
        assert_eq!(port.status, CommercialStatus::Approved);
        assert_eq!(WireLoan::from_port(&port).unwrap(), l);

        let mut short = l.clone();
        short.schedule.pop();
        assert!(short.to_port().unwrap_err().contains("rows"));
        let mut off = l.clone();
        off.schedule[3].interest_fen += 1;
        assert!(off.to_port().unwrap_err().contains("row 4"));
        let mut left = l.clone();
        left.amount_fen += 1;
        assert!(left.to_port().is_err());
        let mut undated = l.clone();
        undated.status = WireLoanStatus::Disbursed;
        assert!(undated.to_port().unwrap_err().contains("disbursed_on"));
        undated.disbursed_on = Some(date(2026, 11, 27));
        undated.disbursement_ref = Some("B1".into());
        assert!(matches!(
            undated.to_port().unwrap().status,
            CommercialStatus::Disbursed { .. }
        ));
        assert!(serde_json::from_str::<WireLoan>(&json.replace("\"3.2\"", "3.2")).is_err());
    }

    #[test]
    fn decisions_and_disbursements_are_checked() {
        let approved = LoanDecisionBody {
            application_no: "DK-2026-000123".into(),
            decision: WireDecision::Approved,
            loan: Some(wire_loan()),
            reason: None,
        };
        assert!(matches!(
            approved.to_port("DK-2026-000123").unwrap(),
            CommercialDecision::Approved(_)
        ));
        assert!(approved.to_port("DK-OTHER").is_err());
        let mut no_loan = approved.clone();
        no_loan.loan = None;
        assert!(no_loan.to_port("DK-2026-000123").is_err());
        let declined = LoanDecisionBody {
            decision: WireDecision::Declined,
            loan: None,
            reason: Some("收入不足".into()),
            ..approved.clone()
        };
        assert_eq!(
            declined.to_port("DK-2026-000123").unwrap(),
            CommercialDecision::Declined {
                reason: "收入不足".into()
            }
        );
        let json = serde_json::to_string(&declined).unwrap();
        assert!(json.contains(r#""decision":"declined""#), "{json}");
        let mut silent = declined.clone();
        silent.reason = None;
        assert!(silent.to_port("DK-2026-000123").is_err());

        let order = DisburseRequest {
            seller_account: "1202020109000099999".into(),
            seller_name: "衢州房产开发有限公司".into(),
            seller_bank: None,
            date: date(2026, 11, 27),
            memo: String::new(),
        };
        let json = serde_json::to_vec(&order).unwrap();
        assert_eq!(DisburseRequest::parse(&json).unwrap(), order);
        let mut bad = order.clone();
        bad.seller_account = "12 34".into();
        assert!(bad.validate().unwrap_err().contains("seller_account"));
        let mut body = DisburseBody {
            bank_loan_no: "L1052026111000000001".into(),
            outcome: WireDisbursement::Disbursed,
            loan: Some(wire_loan()),
            reason: None,
        };
        // Answered "disbursed" but the loan is only approved: not believed.
        assert!(body.to_port("L1052026111000000001").is_err());
        let mut loan = wire_loan();
        loan.status = WireLoanStatus::Disbursed;
        loan.disbursed_on = Some(date(2026, 11, 10));
        loan.disbursement_ref = Some("B1".into());
        body.loan = Some(loan);
        assert!(matches!(
            body.to_port("L1052026111000000001").unwrap(),
            Disbursement::Disbursed(_)
        ));
        assert!(body.to_port("L-other").is_err());
    }

    #[test]
    fn instructions_round_trip_with_codes_and_integer_fen() {
        let req = InstructionsRequest {
            instructions: vec![wire()],
        };
        let json = serde_json::to_string(&req).unwrap();
        assert!(
            json.contains(r#""kind":"payment","business_type":"02""#),
            "{json}"
        );
        assert!(json.contains(r#""amount_fen":12345"#), "{json}");
        assert!(json.contains(r#""credit_bank":null"#), "{json}");
        assert_eq!(InstructionsRequest::parse(json.as_bytes()).unwrap(), req);
        let port = Instruction {
            serial: "ZF20261127000001".into(),
            kind: InstructionKind::Payment,
            business_type: SettlementBusinessType::PartialWithdrawal,
            debit_account: "33001".into(),
            credit_account: "6217001".into(),
            credit_name: "王伟".into(),
            credit_bank: None,
            amount: Fen::new(12_345),
            memo: "部分提取".into(),
        };
        assert_eq!(WireInstruction::from_port(&port), wire());
        // The hash is the content: any field changes it.
        let mut other = wire();
        assert_eq!(other.content_hash(), wire().content_hash());
        other.amount_fen += 1;
        assert_ne!(other.content_hash(), wire().content_hash());
    }

    #[test]
    fn bad_instructions_name_the_index_and_field() {
        let mut v = serde_json::to_value(InstructionsRequest {
            instructions: vec![wire(), wire()],
        })
        .unwrap();
        v["instructions"][1]["amount_fen"] = serde_json::json!(12.5);
        let e = InstructionsRequest::parse(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(e.starts_with("instructions[1]:"), "{e}");
        v["instructions"][1]["amount_fen"] = serde_json::json!(0);
        let e = InstructionsRequest::parse(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(e.contains("instructions[1]: `amount_fen`"), "{e}");
        v["instructions"][1]["amount_fen"] = serde_json::json!(5);
        v["instructions"][0]["kind"] = serde_json::json!("gift");
        let e = InstructionsRequest::parse(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(e.contains("instructions[0]") && e.contains("gift"), "{e}");
        v["instructions"][0]["kind"] = serde_json::json!("payment");
        v["instructions"][0]["serial"] = serde_json::json!("a/b");
        let e = InstructionsRequest::parse(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(e.contains("`serial`"), "{e}");
        let e = InstructionsRequest::parse(br#"{"instructions":[]}"#).unwrap_err();
        assert!(e.contains("1 to 1000"), "{e}");
        let many = InstructionsRequest {
            instructions: vec![wire(); MAX_BATCH + 1],
        };
        let e = InstructionsRequest::parse(&serde_json::to_vec(&many).unwrap()).unwrap_err();
        assert!(e.contains("1001"), "{e}");
    }

    #[test]
    fn results_become_port_answers_only_when_complete() {
        let d = date(2026, 11, 27);
        let ok = InstructionResult::executed("S1", 100, "B1", d);
        assert_eq!(
            ok.answer().unwrap(),
            BankAnswer::Executed {
                amount: Fen::new(100),
                bank_ref: "B1".into(),
                value_date: d
            }
        );
        assert_eq!(
            InstructionResult::from_answer("S1", &ok.answer().unwrap()),
            ok
        );
        let mut broken = ok.clone();
        broken.bank_ref = None;
        assert!(broken.answer().unwrap_err().contains("bank_ref"));
        let mut broken = ok.clone();
        broken.amount_fen = Some(-1);
        assert!(broken.answer().is_err());
        let rej = InstructionResult::rejected("S1", Some(100), "余额不足");
        assert_eq!(
            rej.answer().unwrap(),
            BankAnswer::Rejected {
                reason: "余额不足".into()
            }
        );
        let mut broken = rej.clone();
        broken.reason = Some(" ".into());
        assert!(broken.answer().is_err());
        // A float amount is not fen.
        let e = serde_json::from_str::<InstructionResult>(
            r#"{"serial":"S1","status":"executed","amount_fen":1.5,"bank_ref":"B","value_date":"2026-11-27"}"#,
        );
        assert!(e.is_err());
    }

    #[test]
    fn results_are_matched_by_serial_in_order() {
        let d = date(2026, 11, 27);
        let results = vec![
            InstructionResult::executed("B", 1, "r1", d),
            InstructionResult::executed("X", 1, "r2", d),
            InstructionResult::rejected("A", None, "no"),
            InstructionResult::rejected("B", None, "reused"),
        ];
        let m = match_results(&["A", "B", "B", "C"], results);
        assert_eq!(m[0].as_ref().unwrap().status, WireStatus::Rejected);
        assert_eq!(m[1].as_ref().unwrap().bank_ref.as_deref(), Some("r1"));
        assert_eq!(m[2].as_ref().unwrap().reason.as_deref(), Some("reused"));
        assert!(m[3].is_none());
    }

    #[test]
    fn statements_must_add_up() {
        let d = date(2026, 11, 27);
        let line = |amount_fen| WireLine {
            bank_ref: "B1".into(),
            serial: None,
            amount_fen,
            counterparty_account: "1".into(),
            counterparty_name: "x".into(),
            memo: String::new(),
            value_date: d,
        };
        let s = StatementBody {
            account: "33001".into(),
            date: d,
            opening_fen: 1_000,
            closing_fen: 700,
            lines: vec![line(-500), line(200)],
        };
        let port = s.to_port("33001", d).unwrap();
        assert_eq!(port.lines[0].amount, Fen::new(-500));
        assert_eq!(port.closing, Fen::new(700));
        let mut wrong = s.clone();
        wrong.closing_fen = 701;
        assert!(wrong.to_port("33001", d).unwrap_err().contains("add up"));
        assert!(s.to_port("33002", d).is_err());
        let mut zero = s.clone();
        zero.lines.push(line(0));
        assert!(zero.to_port("33001", d).is_err());
    }

    fn notice_json() -> Vec<u8> {
        serde_json::to_vec(&NoticeBody {
            notice_id: "N1".into(),
            bank: "105".into(),
            sent_at: Timestamp::UNIX_EPOCH,
            event: NoticeKind::Result(InstructionResult::executed(
                "S1",
                100,
                "B1",
                date(2026, 11, 27),
            )),
        })
        .unwrap()
    }

    fn signed_notice(secret: &str, app: &str, ts: i64, n: &str, body: &[u8]) -> HeaderMap {
        headers(&sign_request(
            secret.as_bytes(),
            app,
            "POST",
            NOTICE_SIGNING_PATH,
            ts,
            n,
            body,
        ))
    }

    #[test]
    fn notices_are_verified_and_replays_refused() {
        let secrets = |bank: &str| (bank == "105").then(|| b"bank-secret".to_vec());
        let now = Timestamp::now();
        let body = notice_json();
        let text = String::from_utf8(body.clone()).unwrap();
        assert!(text.contains(r#""kind":"result","serial":"S1""#), "{text}");
        let n = nonce();
        let h = signed_notice("bank-secret", "105", now.as_second(), &n, &body);
        let notice = verify_notice(&h, &body, secrets, now).unwrap();
        assert_eq!(notice.notice_id, "N1");
        assert!(matches!(
            notice.event,
            NoticeEvent::Result {
                answer: BankAnswer::Executed { .. },
                ..
            }
        ));

        // The guard lets it through once.
        let guard = NonceGuard::new();
        assert!(guard.check_notice(&h, &body, secrets, now).is_ok());
        let e = guard.check_notice(&h, &body, secrets, now).unwrap_err();
        assert!(e.reason.contains("replay"), "{e}");
        assert_eq!(e.http_status(), 401);
        assert_eq!(e.bank.as_deref(), Some("105"));

        // Wrong secret, unknown bank, stale, tampered body, missing headers.
        let e = verify_notice(
            &signed_notice("other-secret", "105", now.as_second(), &nonce(), &body),
            &body,
            secrets,
            now,
        )
        .unwrap_err();
        assert!(e.reason.contains("bad signature"), "{e}");
        assert!(e.to_string().contains("bank 105"), "{e}");
        let e = verify_notice(
            &signed_notice("bank-secret", "999", now.as_second(), &nonce(), &body),
            &body,
            secrets,
            now,
        )
        .unwrap_err();
        assert!(e.reason.contains("unknown app"), "{e}");
        let e = verify_notice(
            &signed_notice(
                "bank-secret",
                "105",
                now.as_second() - 1_000,
                &nonce(),
                &body,
            ),
            &body,
            secrets,
            now,
        )
        .unwrap_err();
        assert!(e.reason.contains("timestamp"), "{e}");
        let mut tampered = body.clone();
        let pos = tampered.iter().position(|b| *b == b'1').unwrap();
        tampered[pos] = b'2';
        let e = verify_notice(&h, &tampered, secrets, now).unwrap_err();
        assert!(e.reason.contains("bad signature"), "{e}");
        let e = verify_notice(&HeaderMap::new(), &body, secrets, now).unwrap_err();
        assert!(e.reason.contains("missing header"), "{e}");
        assert_eq!(e.bank, None);

        // Signed by one bank, claiming another.
        let two = |b: &str| Some(format!("{b}-secret").into_bytes());
        let h = signed_notice("102-secret", "102", now.as_second(), &nonce(), &body);
        let e = verify_notice(&h, &body, two, now).unwrap_err();
        assert!(e.reason.contains("says it is from"), "{e}");

        // Signed garbage is malformed (400), not unauthorised.
        let junk = br#"{"notice_id":"N2","bank":"105","sent_at":"2026-11-27T00:00:00Z","kind":"result","serial":"S1","status":"processing"}"#;
        let h = signed_notice("bank-secret", "105", now.as_second(), &nonce(), junk);
        let e = verify_notice(&h, junk, secrets, now).unwrap_err();
        assert_eq!(e.http_status(), 400, "{e}");
    }

    #[test]
    fn credit_notices_parse() {
        let body = r#"{"notice_id":"N9","bank":"105","sent_at":"2026-11-27T08:00:00Z","kind":"credit","account":"33001","bank_ref":"B9","amount_fen":500000,"counterparty_account":"1202","counterparty_name":"衢州宏远科技有限公司","memo":"202611汇缴","value_date":"2026-11-27"}"#;
        let n: NoticeBody = serde_json::from_str(body).unwrap();
        let port = n.to_port().unwrap();
        match port.event {
            NoticeEvent::Credit { account, line } => {
                assert_eq!(account, "33001");
                assert_eq!(line.amount, Fen::new(500_000));
                assert_eq!(line.serial, None);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            serde_json::from_slice::<NoticeBody>(&serde_json::to_vec(&n).unwrap()).unwrap(),
            n
        );
    }

    #[test]
    fn answers_are_bound_to_the_request_nonce() {
        let body = br#"{"results":[]}"#;
        let h = headers(&sign_answer(
            b"s3cret-bank",
            "105",
            "/v1/instructions",
            1_800_000_000,
            "req-nonce",
            body,
        ));
        let now = Timestamp::from_second(1_800_000_010).unwrap();
        let secret = |_: &str| Some(b"s3cret-bank".to_vec());
        let ok = authenticate(&h, ANSWER_METHOD, "/v1/instructions", body, secret, now).unwrap();
        assert_eq!(ok.nonce, "req-nonce");
        assert_eq!(ok.app, "105");
        // Not valid as a request signature, nor for another path.
        assert!(authenticate(&h, "POST", "/v1/instructions", body, secret, now).is_err());
        assert!(authenticate(&h, ANSWER_METHOD, "/v1/other", body, secret, now).is_err());
    }

    #[test]
    fn the_nonce_guard_forgets_after_the_window() {
        let g = NonceGuard::new();
        let t = |s| Timestamp::from_second(s).unwrap();
        let now = 1_800_000_000;
        assert!(g.admit("a", now, t(now)).is_ok());
        assert!(
            g.admit("a", now, t(now + 10))
                .unwrap_err()
                .contains("replay")
        );
        assert!(g.admit("b", now - 100, t(now)).is_ok());
        assert!(g.admit("c", now + 400, t(now + 400)).is_ok());
        let c = g.inner.lock().unwrap();
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn identifiers_are_checked() {
        assert!(check_serial("ZF-2026.11:27_1").is_ok());
        assert!(check_serial("").is_err());
        assert!(check_serial(&"x".repeat(65)).is_err());
        assert!(check_serial("a b").is_err());
        assert!(check_account("6217-0001").is_ok());
        assert!(check_account("62170001?").is_err());
        assert!(check_bank_code("105").is_ok());
        assert!(check_bank_code("").is_err());
        assert!(check_text("", 0, 10).is_ok());
        assert!(check_text(" ", 1, 10).is_err());
        assert!(check_text("a\nb", 0, 10).is_err());
    }
}
