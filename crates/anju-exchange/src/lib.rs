//! The provincial data-exchange protocol ([`protocol`]), the HTTP client that implements
//! Anju's data-sharing ports over it ([`client`]), and the simulator `anju exchange-sim`
//! ([`sim`]) that serves the same protocol from a dataset file with fault injection.

pub mod client;
pub mod protocol;
pub mod sim;
