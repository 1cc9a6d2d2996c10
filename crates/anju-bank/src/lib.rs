//! A commissioned bank's settlement protocol ([`protocol`]), the HTTP client that
//! implements Anju's settlement port over it ([`client`]), and the simulator
//! `anju bank-sim` ([`sim`]) that keeps accounts in an SQLite file, executes instructions
//! exactly once, sends signed notices and injects faults on demand.
//!
//! The port itself (`anju_app::settlement::ports::Bank`) belongs to the application; this
//! crate is one adapter of it. Money on the wire is always an integer number of fen.

pub mod client;
pub mod protocol;
pub mod sim;
