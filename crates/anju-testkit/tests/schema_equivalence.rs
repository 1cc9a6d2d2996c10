//! The PostgreSQL and SQLite migrations must produce the same schema: the same tables,
//! columns (name, portable type, nullability, order), primary keys and secondary indexes.
//! Needs PostgreSQL, and fails (never skips) when it cannot be reached.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use anju_store::Backend;
use anju_testkit::TestDb;

#[test]
fn postgres_and_sqlite_schemas_are_equal() {
    let sqlite = TestDb::fresh(Backend::Sqlite);
    let postgres = TestDb::fresh(Backend::Postgres);
    let s = sqlite.store.schema().expect("SQLite schema");
    let p = postgres.store.schema().expect("PostgreSQL schema");
    let names: Vec<&str> = s.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "application_facts",
            "application_parties",
            "applications",
            "approvals",
            "audit_log",
            "bank_notices",
            "banks",
            "bill_lines",
            "bills",
            "centres",
            "day_closes",
            "fact_lookups",
            "incoming_money",
            "interest_runs",
            "journal_entries",
            "journal_legs",
            "known_devices",
            "ledger_accounts",
            "loan_documents",
            "loan_events",
            "loan_installments",
            "loans",
            "login_attempts",
            "member_cards",
            "member_phones",
            "members",
            "notice_refusals",
            "notification_prefs",
            "notifications",
            "notify_cursors",
            "otp_challenges",
            "party_consents",
            "policy_versions",
            "receipts",
            "recon_items",
            "recon_runs",
            "reminders",
            "service_points",
            "sessions",
            "settlement_instructions",
            "staff",
            "status_events",
            "unit_bank_accounts",
            "unit_clerks",
            "units",
            "withdrawal_events",
            "withdrawal_payees",
            "withdrawals",
        ],
        "SQLite tables: {s:#?}"
    );
    assert!(
        s.iter()
            .all(|t| !t.columns.is_empty() && !t.primary_key.is_empty()),
        "every table has columns and a primary key: {s:#?}"
    );
    assert_eq!(
        s, p,
        "schemas differ\n--- SQLite ---\n{s:#?}\n--- PostgreSQL ---\n{p:#?}"
    );
}
