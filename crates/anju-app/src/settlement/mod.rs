//! Bank settlement (资金结算): sending instructions to commissioned banks, applying their
//! answers and notices to the ledger exactly once, matching incoming money to bills, and
//! daily reconciliation (对账).

pub mod ports;
