//! The settlement port: what Anju asks of a commissioned bank (受委托银行) and what the
//! bank tells Anju. The application owns this trait; `anju-bank` implements it over HTTP
//! (the bank's settlement API, and `anju bank-sim` which speaks the same protocol).
//!
//! Every instruction carries a serial number (流水号) unique in the centre: it is the
//! idempotency key at the bank (the same serial twice executes once) and the key
//! reconciliation matches on. An implementation **never re-sends** an instruction on its
//! own: a timeout or a broken connection is reported as [`Unreachable`] and the caller
//! asks for the status by serial later ([`Bank::status`]).

use std::fmt;

use anju_domain::codes::SettlementBusinessType;
use anju_domain::money::Fen;
use anju_domain::settlement::InstructionKind;
use jiff::Timestamp;
use jiff::civil::Date;

/// One instruction to a bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Serial number (流水号), unique per centre: the idempotency key at the bank.
    pub serial: String,
    /// What it does.
    pub kind: InstructionKind,
    /// Settlement business type (结算业务类型, DOMAIN.md §5).
    pub business_type: SettlementBusinessType,
    /// Account debited: the fund's account at this bank for payments, disbursements and
    /// transfers; the unit's or borrower's account for collections and deductions.
    pub debit_account: String,
    /// Account credited: the member's card, the seller's account, the fund's account at
    /// another bank, or the fund's account at this bank for collections.
    pub credit_account: String,
    /// Name on the credited account (收款人户名), checked by the bank.
    pub credit_name: String,
    /// Bank code of the credited account when it is held at another bank (跨行).
    pub credit_bank: Option<String>,
    /// Amount, positive.
    pub amount: Fen,
    /// Memo (附言) the counterparty sees.
    pub memo: String,
}

/// A bank's definite or interim answer about one instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BankAnswer {
    /// Executed: the money moved.
    Executed {
        /// Amount the bank moved.
        amount: Fen,
        /// The bank's own reference (银行流水号).
        bank_ref: String,
        /// Value date.
        value_date: Date,
    },
    /// Definitely not executed and never will be under this serial: a rejection, or a
    /// status query for a serial the bank never received (the bank closes the serial when
    /// it answers so, so a late arrival is refused).
    Rejected {
        /// The bank's reason.
        reason: String,
    },
    /// Received and still being processed.
    Processing,
}

/// The bank could not be reached or did not answer in time: the outcome is unknown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bank {bank}: {reason}")]
pub struct Unreachable {
    /// Bank code.
    pub bank: String,
    /// What went wrong (timeout, connection refused, 5xx, malformed answer, bad signature).
    pub reason: String,
}

/// One line of a bank statement (对账单) of one account for one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    /// The bank's own reference of the movement.
    pub bank_ref: String,
    /// Anju's instruction serial, when the movement came from an instruction; `None` for
    /// money others sent (a unit's transfer).
    pub serial: Option<String>,
    /// Signed amount: positive into the account, negative out of it.
    pub amount: Fen,
    /// The other side's account.
    pub counterparty_account: String,
    /// The other side's name.
    pub counterparty_name: String,
    /// Memo (附言).
    pub memo: String,
    /// Value date.
    pub value_date: Date,
}

/// A day's statement of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Account number.
    pub account: String,
    /// Day.
    pub date: Date,
    /// Balance at the start of the day.
    pub opening: Fen,
    /// Balance at the end of the day (or now, for today).
    pub closing: Fen,
    /// Movements in booking order.
    pub lines: Vec<StatementLine>,
}

/// What a bank notice (到账通知 / 结果通知) says. Notices are signed by the bank and
/// verified by the adapter before they reach the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeEvent {
    /// The outcome of one of Anju's instructions.
    Result {
        /// The instruction's serial.
        serial: String,
        /// The outcome (never [`BankAnswer::Processing`] in a notice).
        answer: BankAnswer,
    },
    /// Money someone else sent arrived in a fund account (a unit's transfer).
    Credit {
        /// The fund account credited.
        account: String,
        /// The movement.
        line: StatementLine,
    },
}

/// A verified notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The bank's notice id (a notice delivered twice has the same id).
    pub notice_id: String,
    /// The bank that sent it.
    pub bank: String,
    /// When the bank sent it.
    pub sent_at: Timestamp,
    /// What it says.
    pub event: NoticeEvent,
}

/// A commissioned bank's settlement interface.
pub trait Bank: Send + Sync + fmt::Debug {
    /// The bank's code.
    fn code(&self) -> &str;

    /// Sends instructions (one is a single payment or collection, several a batch
    /// 批量代付/批量代收). The answers come in the same order. Never re-sends.
    fn submit(&self, batch: &[Instruction]) -> Vec<Result<BankAnswer, Unreachable>>;

    /// The status of an instruction by serial (结果查询). A serial the bank never
    /// received is answered [`BankAnswer::Rejected`] and closed at the bank.
    fn status(&self, serial: &str) -> Result<BankAnswer, Unreachable>;

    /// The balance of an account held at the bank (余额查询).
    fn balance(&self, account: &str) -> Result<Fen, Unreachable>;

    /// The statement of an account for a day (明细查询 / 对账单).
    fn statement(&self, account: &str, date: Date) -> Result<Statement, Unreachable>;
}
