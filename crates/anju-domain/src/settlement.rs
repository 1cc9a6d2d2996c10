//! Bank settlement rules (资金结算), pure: the life of an instruction sent to a commissioned
//! bank, matching incoming money to bills, and comparing a bank statement with Anju's
//! records. The port is `anju_app::settlement::ports::Bank`, the use cases
//! `anju_app::settlement`, the HTTP client and `anju bank-sim` live in `anju-bank`.
//!
//! **Two-phase money.** An outgoing payment is posted as *pending* when sent, *posted*
//! when the bank confirms it, and *voided* (money back to the member) only on a definite
//! answer that it was not executed: a rejection, or the bank's answer to a status query.
//! A timeout is never a failure: the instruction stays in flight and is queried again,
//! resolved by reconciliation at the latest. Nothing is re-sent until the bank has said
//! the first attempt did not happen. [`step`] enforces this: it is the only way an
//! [`InstructionState`] changes, and it says which ledger effect each change needs.

use std::collections::HashMap;
use std::fmt;

use jiff::civil::Date;

use crate::money::Fen;

/// What an instruction to a bank does (the port's operations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InstructionKind {
    /// 代付: payment from the fund's account to a member's card (a withdrawal).
    Payment,
    /// 代收: collection from a unit's account into the fund's account (remittance direct
    /// debit).
    Collection,
    /// 放款: loan disbursement from the fund's account to the seller's account.
    Disbursement,
    /// 扣款: repayment deducted from a borrower's card into the fund's account.
    Deduction,
    /// 资金划转: transfer between the fund's accounts at two banks.
    Transfer,
}

impl InstructionKind {
    /// Every kind.
    pub const ALL: [InstructionKind; 5] = [
        InstructionKind::Payment,
        InstructionKind::Collection,
        InstructionKind::Disbursement,
        InstructionKind::Deduction,
        InstructionKind::Transfer,
    ];

    /// Stored and wire code.
    pub const fn code(self) -> &'static str {
        match self {
            InstructionKind::Payment => "payment",
            InstructionKind::Collection => "collection",
            InstructionKind::Disbursement => "disbursement",
            InstructionKind::Deduction => "deduction",
            InstructionKind::Transfer => "transfer",
        }
    }

    /// Parses [`InstructionKind::code`].
    pub fn from_code(code: &str) -> Option<InstructionKind> {
        InstructionKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Chinese label.
    pub const fn label_zh(self) -> &'static str {
        match self {
            InstructionKind::Payment => "代付",
            InstructionKind::Collection => "代收",
            InstructionKind::Disbursement => "放款",
            InstructionKind::Deduction => "扣款",
            InstructionKind::Transfer => "资金划转",
        }
    }

    /// Whether money leaves the fund's account (posted as pending when sent); otherwise
    /// it comes in (posted only when the bank confirms it).
    pub const fn is_outgoing(self) -> bool {
        matches!(
            self,
            InstructionKind::Payment | InstructionKind::Disbursement | InstructionKind::Transfer
        )
    }
}

impl fmt::Display for InstructionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Where an instruction stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstructionState {
    /// Recorded (the pending entry posted), not yet handed to the bank.
    Created,
    /// Handed to the bank; no definite answer yet (including after a timeout).
    InFlight,
    /// The bank executed it (the pending entry posted).
    Executed {
        /// The bank's reference.
        bank_ref: String,
        /// The bank's value date.
        value_date: Date,
    },
    /// The bank definitely did not execute it (the pending entry voided).
    NotExecuted {
        /// The bank's reason.
        reason: String,
    },
}

impl InstructionState {
    /// Stored code.
    pub const fn code(&self) -> &'static str {
        match self {
            InstructionState::Created => "created",
            InstructionState::InFlight => "in_flight",
            InstructionState::Executed { .. } => "executed",
            InstructionState::NotExecuted { .. } => "not_executed",
        }
    }

    /// Whether the outcome is final.
    pub const fn is_final(&self) -> bool {
        matches!(
            self,
            InstructionState::Executed { .. } | InstructionState::NotExecuted { .. }
        )
    }
}

/// Something that happened to an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// We sent it. A serial is sent once; sending it again is refused.
    Sent,
    /// The send timed out or the connection broke: outcome unknown.
    Timeout,
    /// The bank answered (synchronously, by notice or to a status query) that it executed
    /// the instruction for `amount`.
    Executed {
        /// Amount the bank says it moved.
        amount: Fen,
        /// The bank's reference.
        bank_ref: String,
        /// Value date.
        value_date: Date,
    },
    /// The bank answered that it did not and will not execute it (rejection, or a status
    /// query finding no such instruction executed).
    NotExecuted {
        /// The bank's reason.
        reason: String,
    },
    /// A status query found the instruction still being processed.
    StillProcessing,
}

/// What the ledger must do for a state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Nothing (a duplicate or an in-between answer).
    None,
    /// Post the pending entry (the money left or arrived).
    PostPending,
    /// Void the pending entry (the money goes back).
    VoidPending,
    /// Ask the bank for the status by serial number later.
    QueryLater,
}

/// A bank answer that contradicts what Anju knows: never applied, always kept for staff
/// and reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettlementError {
    /// The instruction was to be sent again: a serial is sent once (while its outcome is
    /// unknown, resending could pay twice; after it, a new attempt needs a new serial).
    #[error("instruction {serial}: already sent; a serial is sent once")]
    ResendWhileUnknown {
        /// Serial number.
        serial: String,
    },
    /// The bank reports an amount other than the instruction's.
    #[error(
        "instruction {serial}: bank reports {reported} yuan, the instruction is for {expected}"
    )]
    AmountDiffers {
        /// Serial number.
        serial: String,
        /// Instruction amount.
        expected: Fen,
        /// Bank's amount.
        reported: Fen,
    },
    /// The bank says "executed" after it said "not executed", or the reverse.
    #[error("instruction {serial}: bank now says {now}, earlier {before}")]
    Contradiction {
        /// Serial number.
        serial: String,
        /// The final state held.
        before: &'static str,
        /// The new answer.
        now: &'static str,
    },
    /// An answer for an instruction that was never sent.
    #[error("instruction {serial}: an answer arrived before it was sent")]
    NotSent {
        /// Serial number.
        serial: String,
    },
}

/// Applies `event` to an instruction for `amount` in `state`: the new state and the
/// ledger effect, or why the event cannot be applied (which changes nothing).
pub fn step(
    serial: &str,
    amount: Fen,
    state: &InstructionState,
    event: &Event,
) -> Result<(InstructionState, Effect), SettlementError> {
    use InstructionState as S;
    let s = || serial.to_owned();
    match (state, event) {
        (S::Created, Event::Sent) => Ok((S::InFlight, Effect::None)),
        (S::Created, _) => Err(SettlementError::NotSent { serial: s() }),
        // One serial is sent once. After a definite "not executed" the void has returned
        // the money, and trying again is a new instruction with a new serial.
        (S::InFlight, Event::Sent) => Err(SettlementError::ResendWhileUnknown { serial: s() }),
        (S::InFlight, Event::Timeout | Event::StillProcessing) => {
            Ok((S::InFlight, Effect::QueryLater))
        }
        (
            S::InFlight,
            Event::Executed {
                amount: reported,
                bank_ref,
                value_date,
            },
        ) => {
            if *reported != amount {
                return Err(SettlementError::AmountDiffers {
                    serial: s(),
                    expected: amount,
                    reported: *reported,
                });
            }
            Ok((
                S::Executed {
                    bank_ref: bank_ref.clone(),
                    value_date: *value_date,
                },
                Effect::PostPending,
            ))
        }
        (S::InFlight, Event::NotExecuted { reason }) => Ok((
            S::NotExecuted {
                reason: reason.clone(),
            },
            Effect::VoidPending,
        )),
        // Final states: the same answer again (a duplicate notice) changes nothing.
        (
            S::Executed { .. },
            Event::Executed {
                amount: reported, ..
            },
        ) => {
            if *reported == amount {
                Ok((state.clone(), Effect::None))
            } else {
                Err(SettlementError::AmountDiffers {
                    serial: s(),
                    expected: amount,
                    reported: *reported,
                })
            }
        }
        (S::NotExecuted { .. }, Event::NotExecuted { .. }) => Ok((state.clone(), Effect::None)),
        (S::Executed { .. } | S::NotExecuted { .. }, Event::Timeout | Event::StillProcessing) => {
            Ok((state.clone(), Effect::None))
        }
        (S::Executed { .. }, Event::NotExecuted { .. }) => Err(SettlementError::Contradiction {
            serial: s(),
            before: "executed",
            now: "not executed",
        }),
        (S::NotExecuted { .. }, Event::Executed { .. }) => Err(SettlementError::Contradiction {
            serial: s(),
            before: "not executed",
            now: "executed",
        }),
        (S::Executed { .. } | S::NotExecuted { .. }, Event::Sent) => {
            Err(SettlementError::ResendWhileUnknown { serial: s() })
        }
    }
}

/// Money that arrived in a fund account (a line of the bank's notice or statement).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The bank's serial of the credit.
    pub bank_serial: String,
    /// Amount.
    pub amount: Fen,
    /// Payer's account number.
    pub payer_account: String,
    /// The remitter's memo (附言), where units write the bill number.
    pub memo: String,
}

/// An open bill that incoming money may pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenBill {
    /// Bill number.
    pub bill_no: String,
    /// Amount still due.
    pub due: Fen,
    /// The unit's registered bank accounts.
    pub payer_accounts: Vec<String>,
}

/// Where incoming money goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// The memo names an open bill.
    ByReference {
        /// Bill number.
        bill_no: String,
    },
    /// Exactly one open bill of that payer is due for exactly that amount.
    ByAmountAndPayer {
        /// Bill number.
        bill_no: String,
    },
    /// Nothing (or more than one bill) fits: parked in suspense for staff to assign.
    Suspense {
        /// Why.
        reason: String,
    },
}

/// Matches `money` to one of `bills`: by a bill number in the memo, then by amount and
/// payer account when exactly one bill fits; otherwise suspense (never lost, never
/// guessed).
pub fn match_incoming(money: &Incoming, bills: &[OpenBill]) -> Match {
    let memo = money.memo.to_uppercase();
    let named: Vec<&OpenBill> = bills
        .iter()
        .filter(|b| !b.bill_no.is_empty() && memo.contains(&b.bill_no.to_uppercase()))
        .collect();
    if let [one] = named.as_slice() {
        return Match::ByReference {
            bill_no: one.bill_no.clone(),
        };
    }
    if named.len() > 1 {
        return Match::Suspense {
            reason: format!("the memo names {} bills", named.len()),
        };
    }
    let fits: Vec<&OpenBill> = bills
        .iter()
        .filter(|b| b.due == money.amount && b.payer_accounts.contains(&money.payer_account))
        .collect();
    match fits.as_slice() {
        [one] => Match::ByAmountAndPayer {
            bill_no: one.bill_no.clone(),
        },
        [] => Match::Suspense {
            reason: "no open bill names this payment or fits its amount and payer".to_owned(),
        },
        many => Match::Suspense {
            reason: format!(
                "{} open bills of this payer are due for this amount",
                many.len()
            ),
        },
    }
}

/// One movement as one side records it, for reconciliation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    /// The instruction's serial number (our idempotency key, echoed by the bank).
    pub serial: String,
    /// Signed amount: positive into the fund account, negative out of it.
    pub amount: Fen,
}

/// A difference between the bank's statement and Anju's records (对账差异).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// On the bank's statement, not in Anju's records.
    MissingInAnju {
        /// Serial.
        serial: String,
        /// Bank's amount.
        bank: Fen,
    },
    /// In Anju's records, not on the statement.
    MissingAtBank {
        /// Serial.
        serial: String,
        /// Anju's amount.
        anju: Fen,
    },
    /// On both, different amounts.
    AmountDiffers {
        /// Serial.
        serial: String,
        /// Bank's amount.
        bank: Fen,
        /// Anju's amount.
        anju: Fen,
    },
    /// The same serial twice on one side.
    Duplicate {
        /// Serial.
        serial: String,
        /// `bank` or `anju`.
        side: &'static str,
    },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::MissingInAnju { serial, bank } => {
                write!(f, "{serial}: on the bank statement ({bank}), not in Anju")
            }
            Mismatch::MissingAtBank { serial, anju } => {
                write!(f, "{serial}: in Anju ({anju}), not on the bank statement")
            }
            Mismatch::AmountDiffers { serial, bank, anju } => {
                write!(f, "{serial}: bank {bank}, Anju {anju}")
            }
            Mismatch::Duplicate { serial, side } => write!(f, "{serial}: twice on the {side} side"),
        }
    }
}

/// Compares a day's bank statement with Anju's settled movements for the same account and
/// day, by serial number. Linear in the number of lines; the mismatches come sorted by
/// serial.
pub fn reconcile(bank: &[Movement], anju: &[Movement]) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let mut ours: HashMap<&str, Fen> = HashMap::with_capacity(anju.len());
    for m in anju {
        if ours.insert(m.serial.as_str(), m.amount).is_some() {
            out.push(Mismatch::Duplicate {
                serial: m.serial.clone(),
                side: "anju",
            });
        }
    }
    let mut seen: HashMap<&str, ()> = HashMap::with_capacity(bank.len());
    for m in bank {
        if seen.insert(m.serial.as_str(), ()).is_some() {
            out.push(Mismatch::Duplicate {
                serial: m.serial.clone(),
                side: "bank",
            });
            continue;
        }
        match ours.remove(m.serial.as_str()) {
            None => out.push(Mismatch::MissingInAnju {
                serial: m.serial.clone(),
                bank: m.amount,
            }),
            Some(a) if a != m.amount => out.push(Mismatch::AmountDiffers {
                serial: m.serial.clone(),
                bank: m.amount,
                anju: a,
            }),
            Some(_) => {}
        }
    }
    out.extend(
        ours.into_iter()
            .map(|(serial, anju)| Mismatch::MissingAtBank {
                serial: serial.to_owned(),
                anju,
            }),
    );
    out.sort_by(|a, b| serial_of(a).cmp(serial_of(b)));
    out
}

fn serial_of(m: &Mismatch) -> &str {
    match m {
        Mismatch::MissingInAnju { serial, .. }
        | Mismatch::MissingAtBank { serial, .. }
        | Mismatch::AmountDiffers { serial, .. }
        | Mismatch::Duplicate { serial, .. } => serial,
    }
}

#[cfg(test)]
mod tests;
