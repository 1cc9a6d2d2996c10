//! Service everywhere (issue 8): who may do what, where, through which channel — service
//! points and staff (`admin`), the hash-chained audit log (`audit`), logins and sessions
//! (`login`), the guard every request passes (`guard`), and the centre's policy
//! versions under maker-checker (`policy`). The rules are the domain's
//! (`anju_domain::access`); this layer reads and writes the store and the ports.

pub mod admin;
pub mod audit;
pub mod guard;
pub mod login;
pub mod policy;
pub mod views;
