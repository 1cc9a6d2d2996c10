//! The storage port: what the application needs from a database, with no SQL in it.
//!
//! **API boundary:** the application owns these traits; `anju-store-sqlite` and
//! `anju-store-postgres` implement them. A [`Store`] hands out transactions; every use
//! case runs in exactly one [`StoreTx`] and commits it or drops it (which rolls back).
//! Stores load and save the ledger's figures but never compute them: the posting engine in
//! `anju-domain` does, so both backends share one posting path.
//!
//! Finders return `Result<Option<T>, StoreError>` (or a possibly shorter `Vec`), never
//! swallow an error as "not found".

pub mod access;
pub mod collection;
pub mod loan;
pub mod raw;
pub mod registry;
pub mod settlement;
pub mod sharing;
pub mod withdrawal;

use std::fmt;

use anju_domain::collection::YearMonth;
use anju_domain::ledger::{AccountNo, AccountState, ChainHead, SealedEntry};
use collection::{
    BillLineRow, BillRow, FullPayment, InterestRunRow, LegRow, LineDue, ReceiptRow, ReminderRow,
};
use jiff::civil::Date;
use registry::{EventRow, MemberRow, UnitRow};
use sharing::{ApplicationRow, FactRow, LookupOutcome, LookupRow, PartyRow};

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Embedded SQLite (the default; one file).
    Sqlite,
    /// PostgreSQL (production).
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Storage failures. Domain-rule failures are not here: they are found before writing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL is not `sqlite://PATH` or `postgres://…`.
    #[error("database URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    /// The database cannot be reached or opened.
    #[error("cannot open database {url}: {reason}")]
    Connect { url: String, reason: String },
    /// A migration failed or the applied migrations differ from this build's.
    #[error("migration {version}: {reason}")]
    Migration { version: i64, reason: String },
    /// A uniqueness rule was broken (e.g. an account opened twice).
    #[error("already exists: {what}")]
    Conflict { what: String },
    /// A row that must exist does not.
    #[error("not found: {what}")]
    NotFound { what: String },
    /// A stored value does not parse: corruption or tampering.
    #[error("stored data is corrupt: {what}")]
    Corrupt { what: String },
    /// Any other database error, with the engine's message.
    #[error("{backend} error: {message}")]
    Database { backend: Backend, message: String },
}

/// A fund centre (住房公积金管理中心) and the head of its journal's hash chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CentreRow {
    /// 15-digit centre code (e.g. 330800000000000 for Quzhou).
    pub code: String,
    /// Name.
    pub name: String,
    /// The business date (营业日) the centre is working on.
    pub business_date: Date,
    /// End of the journal's hash chain.
    pub head: ChainHead,
    /// When the centre was created, µs since the Unix epoch.
    pub created_at_us: i64,
}

/// Counts for status pages and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LedgerCounts {
    /// Ledger accounts (posting and control).
    pub accounts: i64,
    /// Journal entries.
    pub entries: i64,
    /// Journal legs.
    pub legs: i64,
}

/// One column of a table, normalised for comparing schemas across engines.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ColumnSchema {
    /// Column name.
    pub name: String,
    /// Portable type: `text`, `bigint`, `integer`, `date` or `boolean`.
    pub ty: String,
    /// Whether NULL is allowed.
    pub nullable: bool,
}

/// A table's columns, primary key and indexes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TableSchema {
    /// Table name.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<ColumnSchema>,
    /// Primary-key columns in order.
    pub primary_key: Vec<String>,
    /// Secondary indexes: (name, columns, unique), sorted by name.
    pub indexes: Vec<(String, Vec<String>, bool)>,
}

/// A database that hands out transactions.
pub trait Store: Send + Sync + fmt::Debug {
    /// The engine.
    fn backend(&self) -> Backend;
    /// A printable description (engine and location, never a password).
    fn describe(&self) -> String;
    /// Starts a read-write transaction. Dropping it without `commit` rolls back.
    fn begin(&self) -> Result<Box<dyn StoreTx + '_>, StoreError>;
    /// Starts a read-only transaction that sees one consistent snapshot and does not
    /// block writers (audits, reports, pages). Write methods on it fail.
    fn begin_read(&self) -> Result<Box<dyn StoreTx + '_>, StoreError>;
    /// The application tables as they are in the database, normalised.
    fn schema(&self) -> Result<Vec<TableSchema>, StoreError>;
    /// Database housekeeping after a bulk load (a data migration, `anju import` of a
    /// whole centre): refreshes the query planner's statistics and, on SQLite, folds the
    /// write-ahead log into the database file. Changes no data.
    fn optimize(&self) -> Result<(), StoreError>;
}

/// One database transaction. Every method either does all it says or errors; after a
/// write method errors, the caller drops the transaction (which rolls back) — a backend
/// may refuse to commit it.
pub trait StoreTx {
    /// Commits.
    fn commit(self: Box<Self>) -> Result<(), StoreError>;

    // ---- centres -------------------------------------------------------------------
    /// Creates a centre; `Conflict` if the code exists.
    fn insert_centre(&mut self, centre: &CentreRow) -> Result<(), StoreError>;
    /// A centre by code.
    fn centre(&mut self, code: &str) -> Result<Option<CentreRow>, StoreError>;
    /// All centre codes.
    fn centre_codes(&mut self) -> Result<Vec<String>, StoreError>;
    /// Reads the centre (business date and chain head) and locks its row until the
    /// transaction ends, so postings to one centre are serialised (the chain is strictly
    /// sequential). `NotFound` if there is no such centre.
    fn lock_centre(&mut self, centre: &str) -> Result<CentreRow, StoreError>;
    /// Moves the chain head.
    fn set_chain_head(&mut self, centre: &str, head: ChainHead) -> Result<(), StoreError>;
    /// Moves the business date.
    fn set_business_date(&mut self, centre: &str, date: Date) -> Result<(), StoreError>;

    // ---- accounts ------------------------------------------------------------------
    /// Opens accounts; `Conflict` if any exists.
    fn insert_accounts(
        &mut self,
        centre: &str,
        accounts: &[AccountState],
    ) -> Result<(), StoreError>;
    /// The accounts among `nos` that exist (any order; missing ones are left out).
    fn load_accounts(
        &mut self,
        centre: &str,
        nos: &[AccountNo],
    ) -> Result<Vec<AccountState>, StoreError>;
    /// Saves the running figures of existing accounts. Figures change only by posting, so
    /// a transaction that saves figures also moves the chain head (`set_chain_head`): the
    /// PostgreSQL account cache relies on it.
    fn save_accounts(&mut self, centre: &str, accounts: &[AccountState]) -> Result<(), StoreError>;
    /// [`StoreTx::save_accounts`] taking the accounts by value, so a backend that keeps
    /// what it wrote (for a cache) need not copy 200,000 rows.
    fn save_accounts_owned(
        &mut self,
        centre: &str,
        accounts: Vec<AccountState>,
    ) -> Result<(), StoreError> {
        self.save_accounts(centre, &accounts)
    }
    /// Every account of the centre, ordered by account number.
    fn all_accounts(&mut self, centre: &str) -> Result<Vec<AccountState>, StoreError>;

    // ---- journal -------------------------------------------------------------------
    /// Entries whose idempotency keys are among `keys`.
    fn entries_by_keys(
        &mut self,
        centre: &str,
        keys: &[String],
    ) -> Result<Vec<SealedEntry>, StoreError>;
    /// For each of `seqs`, the entries that refer to it: pairs (referenced seq, referring seq).
    fn referring_entries(
        &mut self,
        centre: &str,
        seqs: &[i64],
    ) -> Result<Vec<(i64, i64)>, StoreError>;
    /// Appends sealed entries (with their legs).
    fn insert_entries(&mut self, centre: &str, entries: &[SealedEntry]) -> Result<(), StoreError>;
    /// Entries with `seq > after`, in order, at most `limit`.
    fn scan_entries(
        &mut self,
        centre: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<SealedEntry>, StoreError>;
    /// Row counts.
    fn counts(&mut self, centre: &str) -> Result<LedgerCounts, StoreError>;

    // ---- collection registry -------------------------------------------------------
    /// Registers a unit; `Conflict` if its number or credit code exists.
    fn insert_unit(&mut self, centre: &str, unit: &UnitRow) -> Result<(), StoreError>;
    /// Saves a unit's changeable fields (everything but its number and credit code).
    fn update_unit(&mut self, centre: &str, unit: &UnitRow) -> Result<(), StoreError>;
    /// A unit by number.
    fn unit(&mut self, centre: &str, unit_no: &str) -> Result<Option<UnitRow>, StoreError>;
    /// A unit by unified social credit code.
    fn unit_by_credit_code(
        &mut self,
        centre: &str,
        code: &str,
    ) -> Result<Option<UnitRow>, StoreError>;
    /// Every unit number of the centre, in order.
    fn unit_nos(&mut self, centre: &str) -> Result<Vec<String>, StoreError>;
    /// Number of units ever registered in the centre.
    fn count_units(&mut self, centre: &str) -> Result<i64, StoreError>;
    /// Number of personal accounts currently attached to a unit.
    fn count_unit_members(&mut self, centre: &str, unit_no: &str) -> Result<i64, StoreError>;
    /// Opens a personal account; `Conflict` if its number or ID number exists.
    fn insert_member(&mut self, centre: &str, member: &MemberRow) -> Result<(), StoreError>;
    /// Saves a member's changeable fields (unit, base, status).
    fn update_member(&mut self, centre: &str, member: &MemberRow) -> Result<(), StoreError>;
    /// A member by personal account number.
    fn member(&mut self, centre: &str, account_no: &str) -> Result<Option<MemberRow>, StoreError>;
    /// A member by resident ID number.
    fn member_by_id_number(
        &mut self,
        centre: &str,
        id_number: &str,
    ) -> Result<Option<MemberRow>, StoreError>;
    /// Number of personal accounts ever opened in the centre.
    fn count_members(&mut self, centre: &str) -> Result<i64, StoreError>;
    /// Appends a status event (its `event_no` must be the subject's next).
    fn append_event(&mut self, centre: &str, event: &EventRow) -> Result<(), StoreError>;
    /// A subject's events in order.
    fn events(&mut self, centre: &str, subject: &str) -> Result<Vec<EventRow>, StoreError>;

    // ---- remittance ----------------------------------------------------------------
    /// The personal accounts currently attached to a unit, by account number.
    fn members_of_unit(
        &mut self,
        centre: &str,
        unit_no: &str,
    ) -> Result<Vec<MemberRow>, StoreError>;
    /// Account numbers of closed (销户) personal accounts, by account number.
    fn closed_member_accounts(&mut self, centre: &str) -> Result<Vec<String>, StoreError>;
    /// The personal accounts in any of `statuses`, by account number (e.g. those that
    /// cannot receive money, checked before a batch of payments).
    fn members_in_statuses(
        &mut self,
        centre: &str,
        statuses: &[anju_domain::codes::PersonalAccountStatus],
    ) -> Result<Vec<MemberRow>, StoreError>;
    /// Sets one member's 缴至年月.
    fn set_paid_to(
        &mut self,
        centre: &str,
        account_no: &str,
        paid_to: Option<YearMonth>,
    ) -> Result<(), StoreError>;
    /// For the lines of `bill_no` for `month` paid by `entry_key`: sets each member's
    /// 缴至年月 to `month` where it is unset or the month before (so it never skips a
    /// gap). Returns how many members moved.
    fn advance_paid_to(
        &mut self,
        centre: &str,
        bill_no: &str,
        entry_key: &str,
        month: YearMonth,
    ) -> Result<u64, StoreError>;
    /// Sets the 缴至年月 of each of `accounts` to `month` where it is unset or the month
    /// before (a month paid in full). Returns how many members moved.
    fn move_paid_to(
        &mut self,
        centre: &str,
        accounts: &[String],
        month: YearMonth,
    ) -> Result<u64, StoreError>;
    /// Number of bills ever made in the centre.
    fn count_bills(&mut self, centre: &str) -> Result<i64, StoreError>;
    /// Stores a new bill with its lines; `Conflict` if the bill number exists or (for a
    /// remittance) the payer already has a bill for the month.
    fn insert_bill(
        &mut self,
        centre: &str,
        bill: &BillRow,
        lines: &[BillLineRow],
    ) -> Result<(), StoreError>;
    /// Saves a bill's status, totals and dates.
    fn update_bill(&mut self, centre: &str, bill: &BillRow) -> Result<(), StoreError>;
    /// Replaces every line of a bill (a draft being adjusted).
    fn replace_bill_lines(
        &mut self,
        centre: &str,
        bill_no: &str,
        lines: &[BillLineRow],
    ) -> Result<(), StoreError>;
    /// A bill by number.
    fn bill(&mut self, centre: &str, bill_no: &str) -> Result<Option<BillRow>, StoreError>;
    /// A payer's remittance bill for a month.
    fn remittance_bill(
        &mut self,
        centre: &str,
        payer: &str,
        month: YearMonth,
    ) -> Result<Option<BillRow>, StoreError>;
    /// A payer's bills, by bill number.
    fn bills_of(&mut self, centre: &str, payer: &str) -> Result<Vec<BillRow>, StoreError>;
    /// Bills not fully paid whose due date is before `date`, by due date then number.
    fn unpaid_bills_due_before(
        &mut self,
        centre: &str,
        date: Date,
    ) -> Result<Vec<BillRow>, StoreError>;
    /// A bill's lines, by line number. Each line's `paid_entry` is the entry that paid it:
    /// its own if it was paid on its own, else the entry that paid the rest of the bill.
    fn bill_lines(&mut self, centre: &str, bill_no: &str) -> Result<Vec<BillLineRow>, StoreError>;
    /// Marks lines of a bill as paid by `entry_key`: those numbered in `line_nos`, or every
    /// unpaid line when `line_nos` is empty — recorded once on the bill, not per line, so
    /// paying a whole bill costs one row whatever its size. Returns how many lines changed.
    fn mark_lines_paid(
        &mut self,
        centre: &str,
        bill_no: &str,
        line_nos: &[i64],
        entry_key: &str,
    ) -> Result<u64, StoreError>;
    /// Marks the lines of a bill paid by `entry_key` as unpaid again (the entry was
    /// reversed). Returns how many lines changed.
    fn unmark_lines_paid(
        &mut self,
        centre: &str,
        bill_no: &str,
        entry_key: &str,
    ) -> Result<u64, StoreError>;
    /// The months for which a member has a paid bill line, ascending, each once.
    fn paid_months(&mut self, centre: &str, account_no: &str)
    -> Result<Vec<YearMonth>, StoreError>;
    // ---- remittance in bulk (the monthly batch) --------------------------------------
    /// Every unit of the centre, by unit number.
    fn units_all(&mut self, centre: &str) -> Result<Vec<UnitRow>, StoreError>;
    /// Every personal account attached to a unit, by unit number then account number.
    fn members_with_unit(&mut self, centre: &str) -> Result<Vec<MemberRow>, StoreError>;
    /// The same members in the same order, handed one at a time to `each` as they are
    /// read, until it returns `false`: the monthly batch builds a unit's bill as soon as
    /// its roster is complete. By default read whole by `members_with_unit`.
    fn each_member_with_unit(
        &mut self,
        centre: &str,
        each: &mut dyn FnMut(MemberRow) -> bool,
    ) -> Result<(), StoreError> {
        for m in self.members_with_unit(centre)? {
            if !each(m) {
                break;
            }
        }
        Ok(())
    }
    /// Every remittance bill of a month, by payer.
    fn remittance_bills_of_month(
        &mut self,
        centre: &str,
        month: YearMonth,
    ) -> Result<Vec<BillRow>, StoreError>;
    /// Stores many new bills with their lines ([`StoreTx::insert_bill`] for each).
    fn insert_bills(
        &mut self,
        centre: &str,
        bills: &[(BillRow, Vec<BillLineRow>)],
    ) -> Result<(), StoreError> {
        for (b, lines) in bills {
            self.insert_bill(centre, b, lines)?;
        }
        Ok(())
    }
    /// The bills among `bill_nos` that exist (any order).
    fn bills_by_nos(
        &mut self,
        centre: &str,
        bill_nos: &[String],
    ) -> Result<Vec<BillRow>, StoreError>;
    /// The lines of the bills among `bill_nos`, by bill number then line number.
    fn lines_of_bills(
        &mut self,
        centre: &str,
        bill_nos: &[String],
    ) -> Result<Vec<BillLineRow>, StoreError>;
    /// The lines of each bill in `bill_nos`, in line order, as a payment needs them: one
    /// list per bill number, in the order given (empty for a bill that does not exist).
    /// The default groups [`StoreTx::lines_of_bills`]; a store may read less.
    fn lines_due(
        &mut self,
        centre: &str,
        bill_nos: &[String],
    ) -> Result<Vec<Vec<LineDue>>, StoreError> {
        let mut due = collection::DueByBill::new(bill_nos);
        for l in self.lines_of_bills(centre, bill_nos)? {
            due.push(&l.bill_no, l.line_no, LineDue::from(&l));
        }
        Ok(due.finish())
    }
    /// The receipts among `keys` that exist (any order).
    fn receipts_by_keys(
        &mut self,
        centre: &str,
        keys: &[String],
    ) -> Result<Vec<ReceiptRow>, StoreError>;
    /// Records bills paid in full, each by one entry: the receipt, every unpaid line of
    /// the bill marked paid by the receipt's entry, the settled accounts' 缴至年月 moved to
    /// `advance` ([`StoreTx::move_paid_to`]), and the bill saved with its new status.
    fn record_full_payments(
        &mut self,
        centre: &str,
        payments: &[FullPayment],
    ) -> Result<(), StoreError> {
        for p in payments {
            self.insert_receipt(centre, &p.receipt)?;
            if !p.accounts.is_empty() {
                self.mark_bill_paid(centre, &p.bill.bill_no, &p.receipt.entry_key)?;
            }
            if let Some(month) = p.advance {
                self.move_paid_to(centre, &p.accounts, month)?;
            }
            self.update_bill(centre, &p.bill)?;
        }
        Ok(())
    }

    /// Records on a bill that `entry_key` paid every line of it not paid on its own, for a
    /// caller that has just read (in this transaction) that some are unpaid. The default
    /// is [`StoreTx::mark_lines_paid`] with no line numbers, which counts them again.
    fn mark_bill_paid(
        &mut self,
        centre: &str,
        bill_no: &str,
        entry_key: &str,
    ) -> Result<(), StoreError> {
        self.mark_lines_paid(centre, bill_no, &[], entry_key)
            .map(|_| ())
    }
    /// A member's paid bill lines as (paying entry key, month), in month order: which
    /// months each entry paid, for statements.
    fn paid_lines_of(
        &mut self,
        centre: &str,
        account_no: &str,
    ) -> Result<Vec<(String, YearMonth)>, StoreError>;
    /// Records money received; `Conflict` if the receipt key exists.
    fn insert_receipt(&mut self, centre: &str, receipt: &ReceiptRow) -> Result<(), StoreError>;
    /// A receipt by key.
    fn receipt(&mut self, centre: &str, key: &str) -> Result<Option<ReceiptRow>, StoreError>;
    /// A payer's receipts, by business date then key.
    fn receipts_of(&mut self, centre: &str, payer: &str) -> Result<Vec<ReceiptRow>, StoreError>;
    /// Records a reminder; `Conflict` if the bill was already reminded that day.
    fn insert_reminder(&mut self, centre: &str, reminder: &ReminderRow) -> Result<(), StoreError>;
    /// A bill's reminders, oldest first.
    fn reminders(&mut self, centre: &str, bill_no: &str) -> Result<Vec<ReminderRow>, StoreError>;
    /// Records a year-end interest run; `Conflict` if the year was settled.
    fn insert_interest_run(&mut self, centre: &str, run: &InterestRunRow)
    -> Result<(), StoreError>;
    /// The interest run of a year.
    fn interest_run(
        &mut self,
        centre: &str,
        year: i16,
    ) -> Result<Option<InterestRunRow>, StoreError>;
    /// Every leg on one posting account with its entry's facts, in journal order.
    fn account_legs(&mut self, centre: &str, account: &str) -> Result<Vec<LegRow>, StoreError>;

    // ---- data sharing --------------------------------------------------------------
    /// Records a party's consent for an application; `Conflict` if already recorded.
    fn insert_consent(
        &mut self,
        centre: &str,
        application_no: &str,
        consent: &sharing::ConsentRow,
    ) -> Result<(), StoreError>;
    /// The consents recorded for an application, by ID number.
    fn consents(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Vec<sharing::ConsentRow>, StoreError>;
    // Writes here are all-or-nothing, and their `Conflict` and `NotFound` leave the
    // transaction usable on both backends (except a clash with a concurrent transaction
    // on the same application, which the caller avoids with `lock_application`).
    /// Stores a new application with the persons party to it; `Conflict` if its number
    /// exists in the centre or a person is listed twice (nothing is then written).
    fn insert_application(
        &mut self,
        centre: &str,
        app: &ApplicationRow,
        parties: &[PartyRow],
    ) -> Result<(), StoreError>;
    /// An application by number.
    fn application(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Option<ApplicationRow>, StoreError>;
    /// The persons party to an application, by role then ID number (byte-wise); empty if
    /// there is no such application.
    fn application_parties(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Vec<PartyRow>, StoreError>;
    /// Closes an open application at `closed_at_us`; `NotFound` if there is no such
    /// application, `Conflict` if it is already closed (its closing time is kept).
    fn close_application(
        &mut self,
        centre: &str,
        application_no: &str,
        closed_at_us: i64,
    ) -> Result<(), StoreError>;
    /// [`StoreTx::application`], and locks the application's row until the transaction
    /// ends, so concurrent verifications of one application number their look-ups
    /// ([`StoreTx::max_lookup_seq`] + 1 …) one after the other without collision.
    fn lock_application(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Option<ApplicationRow>, StoreError>;
    /// The highest look-up number of an application, 0 if it has none.
    fn max_lookup_seq(&mut self, centre: &str, application_no: &str) -> Result<i64, StoreError>;
    /// Appends look-ups to the log; `Conflict` if an (application, seq) exists or repeats.
    fn insert_lookups(&mut self, centre: &str, rows: &[LookupRow]) -> Result<(), StoreError>;
    /// Completes pending look-ups of an application with their outcomes. Only a look-up
    /// still `pending` may be completed, once: `NotFound` if a seq is not in the log,
    /// `Conflict` if it is no longer pending (or is named twice); nothing is then changed.
    fn complete_lookups(
        &mut self,
        centre: &str,
        application_no: &str,
        outcomes: &[LookupOutcome],
    ) -> Result<(), StoreError>;
    /// An application's look-ups, by seq.
    fn lookups_of_application(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Vec<LookupRow>, StoreError>;
    /// Every look-up of one person's data, by time asked, then application number
    /// (byte-wise), then seq: who looked at whose data, and why.
    fn lookups_of_subject(
        &mut self,
        centre: &str,
        subject_id: &str,
    ) -> Result<Vec<LookupRow>, StoreError>;
    /// The facts cached for an application, by subject, department, query and parameter
    /// (each byte-wise).
    fn application_facts(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Vec<FactRow>, StoreError>;
    /// Caches facts for their applications; `Conflict` if a (application, subject,
    /// department, query, param) exists or repeats.
    fn insert_facts(&mut self, centre: &str, rows: &[FactRow]) -> Result<(), StoreError>;

    // ---- bank settlement -----------------------------------------------------------
    /// Registers a commissioned bank; `Conflict` if its code or fund account is taken.
    fn insert_bank(&mut self, centre: &str, bank: &settlement::BankRow) -> Result<(), StoreError>;
    /// The centre's banks, by code.
    fn banks(&mut self, centre: &str) -> Result<Vec<settlement::BankRow>, StoreError>;
    /// A bank by code.
    fn bank(&mut self, centre: &str, code: &str)
    -> Result<Option<settlement::BankRow>, StoreError>;
    /// Binds (or re-binds) a member's payout card: one card per member.
    fn bind_card(&mut self, centre: &str, card: &settlement::CardRow) -> Result<(), StoreError>;
    /// A member's payout card.
    fn card(
        &mut self,
        centre: &str,
        account_no: &str,
    ) -> Result<Option<settlement::CardRow>, StoreError>;
    /// Records a unit's own bank account; `Conflict` if that (bank, account) is recorded
    /// for any unit already.
    fn insert_unit_bank_account(
        &mut self,
        centre: &str,
        row: &settlement::UnitBankAccountRow,
    ) -> Result<(), StoreError>;
    /// A unit's bank accounts, by bank then account.
    fn unit_bank_accounts(
        &mut self,
        centre: &str,
        unit_no: &str,
    ) -> Result<Vec<settlement::UnitBankAccountRow>, StoreError>;
    /// The unit holding an account at a bank, if Anju knows it.
    fn unit_by_bank_account(
        &mut self,
        centre: &str,
        bank_code: &str,
        account: &str,
    ) -> Result<Option<settlement::UnitBankAccountRow>, StoreError>;
    /// Stores new instructions; `Conflict` if a serial exists or repeats (nothing is
    /// then written).
    fn insert_instructions(
        &mut self,
        centre: &str,
        rows: &[settlement::InstructionRow],
    ) -> Result<(), StoreError>;
    /// Instructions by serial (those that exist), in serial order.
    fn instructions(
        &mut self,
        centre: &str,
        serials: &[&str],
    ) -> Result<Vec<settlement::InstructionRow>, StoreError>;
    /// Like [`StoreTx::instructions`] for one serial, and locks the row until the
    /// transaction ends, so two answers about one instruction apply one after the other.
    fn lock_instruction(
        &mut self,
        centre: &str,
        serial: &str,
    ) -> Result<Option<settlement::InstructionRow>, StoreError>;
    /// Like [`StoreTx::instructions`], and locks the rows until the transaction ends
    /// (in serial order, so two gates never wait on each other crosswise): a batch of
    /// answers applied at once.
    fn lock_instructions(
        &mut self,
        centre: &str,
        serials: &[&str],
    ) -> Result<Vec<settlement::InstructionRow>, StoreError>;
    /// Saves the mutable part of instructions (state, bank_ref, value_date, reason,
    /// settled_at_us, queries, next_query_at_us); `NotFound` if a serial is unknown.
    fn update_instructions(
        &mut self,
        centre: &str,
        rows: &[settlement::InstructionRow],
    ) -> Result<(), StoreError>;
    /// Instructions still in flight (state `created` or `in_flight`) at a bank (all banks
    /// when `None`) whose next query is due at or before `due_us` (or not scheduled), by
    /// serial, at most `limit`.
    fn instructions_unsettled(
        &mut self,
        centre: &str,
        bank_code: Option<&str>,
        due_us: i64,
        limit: usize,
    ) -> Result<Vec<settlement::InstructionRow>, StoreError>;
    /// Instructions at a bank executed with value date `date`, by serial.
    fn instructions_executed_on(
        &mut self,
        centre: &str,
        bank_code: &str,
        date: Date,
    ) -> Result<Vec<settlement::InstructionRow>, StoreError>;
    /// Counts of instructions by state code, all banks.
    fn instruction_counts(&mut self, centre: &str) -> Result<Vec<(String, i64)>, StoreError>;
    /// Keeps a verified notice; `false` (and nothing written) if this bank's notice id
    /// was kept before.
    fn insert_notice(
        &mut self,
        centre: &str,
        row: &settlement::NoticeRow,
    ) -> Result<bool, StoreError>;
    /// Logs a refused notice.
    fn insert_notice_refusal(
        &mut self,
        centre: &str,
        row: &settlement::NoticeRefusalRow,
    ) -> Result<(), StoreError>;
    /// The latest refused notices, newest first, at most `limit`.
    fn notice_refusals(
        &mut self,
        centre: &str,
        limit: usize,
    ) -> Result<Vec<settlement::NoticeRefusalRow>, StoreError>;
    /// Records incoming money; `Conflict` if that bank's reference is recorded.
    fn insert_incoming(
        &mut self,
        centre: &str,
        row: &settlement::IncomingRow,
    ) -> Result<(), StoreError>;
    /// Incoming money by bank and reference.
    fn incoming(
        &mut self,
        centre: &str,
        bank_code: &str,
        bank_ref: &str,
    ) -> Result<Option<settlement::IncomingRow>, StoreError>;
    /// Saves `matched`, `bill_no`, `note` and `assigned_key` of incoming money;
    /// `NotFound` if unknown.
    fn update_incoming(
        &mut self,
        centre: &str,
        row: &settlement::IncomingRow,
    ) -> Result<(), StoreError>;
    /// Incoming money at a bank with value date `date`, by reference.
    fn incoming_on(
        &mut self,
        centre: &str,
        bank_code: &str,
        date: Date,
    ) -> Result<Vec<settlement::IncomingRow>, StoreError>;
    /// Incoming money still in suspense (matched = `suspense`), oldest first.
    fn incoming_in_suspense(
        &mut self,
        centre: &str,
    ) -> Result<Vec<settlement::IncomingRow>, StoreError>;
    /// Records a reconciliation run (a later run of the same bank and day adds a row).
    fn insert_recon_run(
        &mut self,
        centre: &str,
        row: &settlement::ReconRunRow,
    ) -> Result<(), StoreError>;
    /// Reconciliation runs of a bank and day, oldest first.
    fn recon_runs(
        &mut self,
        centre: &str,
        bank_code: &str,
        date: Date,
    ) -> Result<Vec<settlement::ReconRunRow>, StoreError>;
    /// Stores reconciliation items; one already stored (same bank, day, serial, kind) is
    /// left as it is (its first-found time and status kept).
    fn upsert_recon_items(
        &mut self,
        centre: &str,
        rows: &[settlement::ReconItemRow],
    ) -> Result<(), StoreError>;
    /// Reconciliation items of a bank (all when `None`), of a day (all when `None`), open
    /// only or all, by day then serial then kind.
    fn recon_items(
        &mut self,
        centre: &str,
        bank_code: Option<&str>,
        date: Option<Date>,
        open_only: bool,
    ) -> Result<Vec<settlement::ReconItemRow>, StoreError>;
    /// Saves status, resolved_at_us and resolution of items; `NotFound` if one is unknown.
    fn update_recon_items(
        &mut self,
        centre: &str,
        rows: &[settlement::ReconItemRow],
    ) -> Result<(), StoreError>;

    // ---- withdrawals ---------------------------------------------------------------
    /// Stores a new withdrawal; `Conflict` if its number exists in the centre, or if the
    /// same account already has an in-flight withdrawal ([`withdrawal::IN_FLIGHT`]) on
    /// the same ground (nothing is then written).
    fn insert_withdrawal(
        &mut self,
        centre: &str,
        row: &withdrawal::WithdrawalRow,
    ) -> Result<(), StoreError>;
    /// A withdrawal by number.
    fn withdrawal(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Option<withdrawal::WithdrawalRow>, StoreError>;
    /// [`StoreTx::withdrawal`], and locks the row until the transaction ends.
    fn lock_withdrawal(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Option<withdrawal::WithdrawalRow>, StoreError>;
    /// Saves every mutable field (mode, home_key, amount, interest, closes_account,
    /// status, decision, reasons, proposed_by, decided_by, updated_at_us); `NotFound` if
    /// unknown, `Conflict` if the new status would make a second in-flight withdrawal of
    /// the account on the ground (nothing is then changed). The schema refuses leaving a
    /// final status (`paid`, `refused`, `returned`), except `returned` → `paying` (paying
    /// again after the bank returned the payment): a `Database` error.
    fn update_withdrawal(
        &mut self,
        centre: &str,
        row: &withdrawal::WithdrawalRow,
    ) -> Result<(), StoreError>;
    /// Every withdrawal from an account, oldest first (created_at_us, then number).
    fn withdrawals_of_account(
        &mut self,
        centre: &str,
        account_no: &str,
    ) -> Result<Vec<withdrawal::WithdrawalRow>, StoreError>;
    /// Every withdrawal on `ground` whose `home_key` equals `home_key` (any account; e.g.
    /// both spouses' withdrawals for one home), oldest first.
    fn withdrawals_by_home_key(
        &mut self,
        centre: &str,
        ground: &str,
        home_key: &str,
    ) -> Result<Vec<withdrawal::WithdrawalRow>, StoreError>;
    /// Every withdrawal in one of `statuses`, oldest first (e.g. the review queue).
    fn withdrawals_with_status(
        &mut self,
        centre: &str,
        statuses: &[&str],
    ) -> Result<Vec<withdrawal::WithdrawalRow>, StoreError>;
    /// Appends timeline steps, all or none; `Conflict` if a (application, seq) exists or
    /// is given twice.
    fn insert_withdrawal_events(
        &mut self,
        centre: &str,
        rows: &[withdrawal::WithdrawalEventRow],
    ) -> Result<(), StoreError>;
    /// A withdrawal's timeline in order.
    fn withdrawal_events(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Vec<withdrawal::WithdrawalEventRow>, StoreError>;
    /// Records who a withdrawal pays, all or none; `Conflict` if a (application, seq) or
    /// a serial (unique in the centre) exists or is given twice.
    fn insert_payees(
        &mut self,
        centre: &str,
        rows: &[withdrawal::PayeeRow],
    ) -> Result<(), StoreError>;
    /// Who a withdrawal pays, by seq.
    fn payees(
        &mut self,
        centre: &str,
        application_no: &str,
    ) -> Result<Vec<withdrawal::PayeeRow>, StoreError>;

    // ---- loans ---------------------------------------------------------------------
    /// How many loans the centre has ever recorded (numbers are allocated from it under
    /// the centre lock).
    fn count_loans(&mut self, centre: &str) -> Result<i64, StoreError>;
    /// Stores a new loan; `Conflict` if its number or application number exists in the
    /// centre, or if the applicant's account already has a loan being applied for or
    /// repaid ([`loan::APPLYING`], [`loan::SERVICING`]) (nothing is then written).
    fn insert_loan(&mut self, centre: &str, row: &loan::LoanRow) -> Result<(), StoreError>;
    /// A loan by number.
    fn loan(&mut self, centre: &str, loan_no: &str) -> Result<Option<loan::LoanRow>, StoreError>;
    /// [`StoreTx::loan`], and locks the row until the transaction ends.
    fn lock_loan(
        &mut self,
        centre: &str,
        loan_no: &str,
    ) -> Result<Option<loan::LoanRow>, StoreError>;
    /// Saves every mutable field of each loan (everything but the number, application,
    /// borrowers, business date, creation time and stamp); `NotFound` if one is unknown.
    /// The schema refuses leaving a final status (`paid_off`, `refused`, `cancelled`): a
    /// `Database` error.
    fn update_loans(&mut self, centre: &str, rows: &[loan::LoanRow]) -> Result<(), StoreError>;
    /// Saves only the servicing state of loans being repaid — the narrow write of the day
    /// close and of repayments (the terms, card and details are [`update_loans`]'s): a
    /// loan whose row says `active` gets its principal outstanding, risk class, overdue
    /// days and update time, and must still be active; any other (paid off) also its
    /// status and closed-on date. `NotFound` if a loan is unknown or no longer active;
    /// the schema refuses leaving a final status. Either error may leave some rows
    /// written: the caller drops the transaction.
    ///
    /// [`update_loans`]: StoreTx::update_loans
    fn service_loans(&mut self, centre: &str, rows: &[loan::LoanRow]) -> Result<(), StoreError>;
    /// The loans whose applicant or co-borrower is `id_number`, oldest first.
    fn loans_of_person(
        &mut self,
        centre: &str,
        id_number: &str,
    ) -> Result<Vec<loan::LoanRow>, StoreError>;
    /// The loans in one of `statuses`, by number.
    fn loans_with_status(
        &mut self,
        centre: &str,
        statuses: &[&str],
    ) -> Result<Vec<loan::LoanRow>, StoreError>;
    /// The loans of the given numbers that exist, by number.
    fn loans_by_nos(
        &mut self,
        centre: &str,
        loan_nos: &[String],
    ) -> Result<Vec<loan::LoanRow>, StoreError>;
    /// Writes schedule rows: inserts new (loan, period)s and replaces existing ones
    /// (re-amortising after a prepayment or a re-pricing).
    fn upsert_installments(
        &mut self,
        centre: &str,
        rows: &[loan::InstallmentRow],
    ) -> Result<(), StoreError>;
    /// Saves only what repayment and the day close change on existing schedule rows —
    /// paid principal, paid interest, penalty, paid penalty, status and paid-on date —
    /// never the due date, principal or interest (re-amortising is
    /// [`upsert_installments`]'s). Rows are found by loan, period and due date as read;
    /// `NotFound` if one is unknown; the schema
    /// refuses changing a paid installment. Either error may leave some rows written: the
    /// caller drops the transaction.
    ///
    /// [`upsert_installments`]: StoreTx::upsert_installments
    fn service_installments(
        &mut self,
        centre: &str,
        rows: &[loan::InstallmentRow],
    ) -> Result<(), StoreError>;
    /// Deletes a loan's schedule rows from `from_period` on (a shortened term); the
    /// schema refuses deleting one that has a payment (a `Database` error).
    fn delete_installments_from(
        &mut self,
        centre: &str,
        loan_no: &str,
        from_period: i32,
    ) -> Result<(), StoreError>;
    /// A loan's schedule by period.
    fn installments(
        &mut self,
        centre: &str,
        loan_no: &str,
    ) -> Result<Vec<loan::InstallmentRow>, StoreError>;
    /// Every unpaid (`scheduled` or `overdue`) installment due on or before `date`, by
    /// loan and period (the daily batch).
    fn installments_unpaid_by(
        &mut self,
        centre: &str,
        date: Date,
    ) -> Result<Vec<loan::InstallmentRow>, StoreError>;
    /// The given loans' unpaid (`scheduled` or `overdue`) installments due on or before
    /// `date`, by loan and period (what a batch of repayments covers).
    fn loan_installments_unpaid_by(
        &mut self,
        centre: &str,
        loan_nos: &[String],
        date: Date,
    ) -> Result<Vec<loan::InstallmentRow>, StoreError>;
    /// How many timeline steps each of the given loans has (its next step is numbered one
    /// more), by loan number; a loan without steps is left out.
    fn count_loan_events(
        &mut self,
        centre: &str,
        loan_nos: &[String],
    ) -> Result<Vec<(String, i64)>, StoreError>;
    /// Appends timeline steps, all or none; `Conflict` if a (loan, seq) exists or is
    /// given twice.
    fn insert_loan_events(
        &mut self,
        centre: &str,
        rows: &[loan::LoanEventRow],
    ) -> Result<(), StoreError>;
    /// A loan's timeline in order.
    fn loan_events(
        &mut self,
        centre: &str,
        loan_no: &str,
    ) -> Result<Vec<loan::LoanEventRow>, StoreError>;
    /// Stores a signed document; `Conflict` if its number exists in the centre.
    fn insert_loan_document(
        &mut self,
        centre: &str,
        row: &loan::LoanDocumentRow,
    ) -> Result<(), StoreError>;
    /// A loan's documents, oldest first.
    fn loan_documents(
        &mut self,
        centre: &str,
        loan_no: &str,
    ) -> Result<Vec<loan::LoanDocumentRow>, StoreError>;
    /// The day close of a business date, if it was done.
    fn day_close(
        &mut self,
        centre: &str,
        date: Date,
    ) -> Result<Option<loan::DayCloseRow>, StoreError>;
    /// Records a day close; `Conflict` if that date was closed already.
    fn insert_day_close(&mut self, centre: &str, row: &loan::DayCloseRow)
    -> Result<(), StoreError>;
    // ---- access --------------------------------------------------------------------
    // Writes that find nothing to change say `NotFound`; one refused by the row's state
    // (already closed, revoked, consumed, decided) says `Conflict`; either leaves the
    // transaction usable. A row the schema refuses (a CHECK, a trigger, a missing
    // service point) is a `Database` error, after which the caller drops the transaction
    // (as after any failed write), except where a method says otherwise.
    /// Registers a service point; `Conflict` if its code exists in the centre.
    fn insert_service_point(
        &mut self,
        centre: &str,
        row: &access::ServicePointRow,
    ) -> Result<(), StoreError>;
    /// A service point by code.
    fn service_point(
        &mut self,
        centre: &str,
        code: &str,
    ) -> Result<Option<access::ServicePointRow>, StoreError>;
    /// The service points of a type and of a status (any when `None`), by code.
    fn service_points(
        &mut self,
        centre: &str,
        point_type: Option<&str>,
        status: Option<&str>,
    ) -> Result<Vec<access::ServicePointRow>, StoreError>;
    /// Sets the business codes a point may handle; `NotFound` if unknown.
    fn set_point_businesses(
        &mut self,
        centre: &str,
        code: &str,
        businesses: &str,
    ) -> Result<(), StoreError>;
    /// Closes an open point as of `on`; `NotFound` if unknown, `Conflict` if closed.
    fn close_service_point(&mut self, centre: &str, code: &str, on: Date)
    -> Result<(), StoreError>;
    /// Reopens a closed point (its closing date cleared); `NotFound` if unknown,
    /// `Conflict` if open.
    fn reopen_service_point(&mut self, centre: &str, code: &str) -> Result<(), StoreError>;

    /// Adds a member of staff; `Conflict` if the id exists in the centre. Their service
    /// point must exist (a `Database` error otherwise).
    fn insert_staff(&mut self, centre: &str, row: &access::StaffRow) -> Result<(), StoreError>;
    /// A member of staff by id.
    fn staff(
        &mut self,
        centre: &str,
        staff_id: &str,
    ) -> Result<Option<access::StaffRow>, StoreError>;
    /// The staff of a service point (all when `None`), by id.
    fn staff_list(
        &mut self,
        centre: &str,
        service_point: Option<&str>,
    ) -> Result<Vec<access::StaffRow>, StoreError>;
    /// Sets a password hash as of `at_us`, clearing the failures and any lock;
    /// `NotFound` if unknown.
    fn set_staff_password(
        &mut self,
        centre: &str,
        staff_id: &str,
        password_hash: &str,
        at_us: i64,
    ) -> Result<(), StoreError>;
    /// Counts one more failed sign-in, and locks the account until `locked_until_us` when
    /// the count reaches `lock_after`; returns the new count. `NotFound` if unknown.
    fn record_staff_failure(
        &mut self,
        centre: &str,
        staff_id: &str,
        lock_after: i32,
        locked_until_us: i64,
    ) -> Result<i32, StoreError>;
    /// Records a successful sign-in: failures and lock cleared, and the TOTP time step
    /// used, if any. `NotFound` if unknown; `Conflict` (nothing changed) if `totp_step`
    /// is not after the last step accepted (a code replayed).
    fn record_staff_success(
        &mut self,
        centre: &str,
        staff_id: &str,
        totp_step: Option<i64>,
    ) -> Result<(), StoreError>;
    /// Sets (or, with `None`, clears) the TOTP secret; the last step accepted is
    /// forgotten. `NotFound` if unknown.
    fn set_staff_totp(
        &mut self,
        centre: &str,
        staff_id: &str,
        secret: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Sets the role; `NotFound` if unknown.
    fn set_staff_role(
        &mut self,
        centre: &str,
        staff_id: &str,
        role: &str,
    ) -> Result<(), StoreError>;
    /// Moves a member of staff to another (existing) service point; `NotFound` if unknown.
    fn set_staff_point(
        &mut self,
        centre: &str,
        staff_id: &str,
        service_point: &str,
    ) -> Result<(), StoreError>;
    /// Disables a member of staff; `NotFound` if unknown, `Conflict` if disabled already.
    fn disable_staff(&mut self, centre: &str, staff_id: &str) -> Result<(), StoreError>;

    /// Authorises a unit's clerk; a revoked clerk of the unit is authorised again (the row
    /// replaced). `Conflict` if the clerk is authorised already.
    fn insert_unit_clerk(
        &mut self,
        centre: &str,
        row: &access::UnitClerkRow,
    ) -> Result<(), StoreError>;
    /// A unit's clerk by resident ID number.
    fn unit_clerk(
        &mut self,
        centre: &str,
        unit_no: &str,
        id_number: &str,
    ) -> Result<Option<access::UnitClerkRow>, StoreError>;
    /// A unit's clerks (revoked ones too), by ID number.
    fn unit_clerks(
        &mut self,
        centre: &str,
        unit_no: &str,
    ) -> Result<Vec<access::UnitClerkRow>, StoreError>;
    /// Revokes a clerk's authorisation at `at_us`; `NotFound` if unknown, `Conflict` if
    /// revoked already.
    fn revoke_unit_clerk(
        &mut self,
        centre: &str,
        unit_no: &str,
        id_number: &str,
        at_us: i64,
    ) -> Result<(), StoreError>;
    /// As [`StoreTx::set_staff_password`], for a clerk.
    fn set_unit_clerk_password(
        &mut self,
        centre: &str,
        unit_no: &str,
        id_number: &str,
        password_hash: &str,
        at_us: i64,
    ) -> Result<(), StoreError>;
    /// As [`StoreTx::record_staff_failure`], for a clerk.
    fn record_unit_clerk_failure(
        &mut self,
        centre: &str,
        unit_no: &str,
        id_number: &str,
        lock_after: i32,
        locked_until_us: i64,
    ) -> Result<i32, StoreError>;
    /// Clears a clerk's failures and lock; `NotFound` if unknown.
    fn record_unit_clerk_success(
        &mut self,
        centre: &str,
        unit_no: &str,
        id_number: &str,
    ) -> Result<(), StoreError>;

    /// Binds a phone to a person, replacing the person's earlier phone; `Conflict`
    /// (nothing changed) if the phone is bound to another person.
    fn bind_phone(&mut self, centre: &str, row: &access::PhoneBindingRow)
    -> Result<(), StoreError>;
    /// The binding of a phone.
    fn phone_binding(
        &mut self,
        centre: &str,
        phone: &str,
    ) -> Result<Option<access::PhoneBindingRow>, StoreError>;
    /// The binding of a person.
    fn phone_of_person(
        &mut self,
        centre: &str,
        id_number: &str,
    ) -> Result<Option<access::PhoneBindingRow>, StoreError>;
    /// Removes a person's binding; whether there was one.
    fn unbind_phone(&mut self, centre: &str, id_number: &str) -> Result<bool, StoreError>;

    /// Stores a one-time code sent (its `id` is ignored); returns the id given.
    fn insert_otp(
        &mut self,
        centre: &str,
        row: &access::OtpChallengeRow,
    ) -> Result<i64, StoreError>;
    /// The latest code sent to a phone for a purpose that is neither consumed nor expired
    /// at `now_us`.
    fn open_otp(
        &mut self,
        centre: &str,
        phone: &str,
        purpose: &str,
        now_us: i64,
    ) -> Result<Option<access::OtpChallengeRow>, StoreError>;
    /// How many codes were sent to a phone (any purpose) at or after `since_us`.
    fn count_otps_since(
        &mut self,
        centre: &str,
        phone: &str,
        since_us: i64,
    ) -> Result<i64, StoreError>;
    /// Counts one more wrong code tried against a code; returns the new count.
    /// `NotFound` if unknown, `Conflict` if consumed.
    fn record_otp_attempt(&mut self, centre: &str, id: i64) -> Result<i32, StoreError>;
    /// Consumes a code at `at_us`, once: `NotFound` if unknown, `Conflict` if consumed.
    fn consume_otp(&mut self, centre: &str, id: i64, at_us: i64) -> Result<(), StoreError>;

    /// Stores a new session; `Conflict` if its token hash exists in the centre.
    fn insert_session(&mut self, centre: &str, row: &access::SessionRow) -> Result<(), StoreError>;
    /// A session by token hash (revoked and expired ones too).
    fn session(
        &mut self,
        centre: &str,
        token_hash: &str,
    ) -> Result<Option<access::SessionRow>, StoreError>;
    /// Records a session's use at `at_us`; `NotFound` if unknown, `Conflict` if revoked.
    fn touch_session(
        &mut self,
        centre: &str,
        token_hash: &str,
        at_us: i64,
    ) -> Result<(), StoreError>;
    /// Revokes a session at `at_us`; `NotFound` if unknown, `Conflict` if revoked already.
    fn revoke_session(
        &mut self,
        centre: &str,
        token_hash: &str,
        at_us: i64,
    ) -> Result<(), StoreError>;
    /// Revokes every unrevoked session of a subject at `at_us`; how many.
    fn revoke_sessions_of(
        &mut self,
        centre: &str,
        subject_kind: &str,
        subject_id: &str,
        at_us: i64,
    ) -> Result<u64, StoreError>;
    /// A subject's sessions (revoked ones too), newest first.
    fn sessions_of(
        &mut self,
        centre: &str,
        subject_kind: &str,
        subject_id: &str,
    ) -> Result<Vec<access::SessionRow>, StoreError>;
    /// Remembers that a subject signed in from `device` (first seen at `at_us`); whether
    /// the device was new to them.
    fn remember_device(
        &mut self,
        centre: &str,
        subject_kind: &str,
        subject_id: &str,
        device: &str,
        at_us: i64,
    ) -> Result<bool, StoreError>;

    /// Logs a sign-in attempt under a rate-limit key (`phone:…`, `staff:…`, `ip:…`).
    fn insert_login_attempt(
        &mut self,
        centre: &str,
        key: &str,
        at_us: i64,
        ok: bool,
    ) -> Result<(), StoreError>;
    /// The attempts and failures under a key at or after `since_us`.
    fn count_login_attempts(
        &mut self,
        centre: &str,
        key: &str,
        since_us: i64,
    ) -> Result<access::AttemptCounts, StoreError>;
    /// Forgets the attempts before `before_us`; how many.
    fn prune_login_attempts(&mut self, centre: &str, before_us: i64) -> Result<u64, StoreError>;

    /// The last row of the audit log: (seq, entry_hash); `None` while it is empty.
    fn audit_head(&mut self, centre: &str) -> Result<Option<(i64, String)>, StoreError>;
    /// Appends a row the caller numbered (head + 1) and hashed. `Conflict` if its seq is
    /// taken (another writer appended first: read the head again); a `Database` error if
    /// it does not follow the row numbered one less or does not carry that row's hash.
    fn append_audit(&mut self, centre: &str, row: &access::AuditRow) -> Result<(), StoreError>;
    /// Rows with `seq > after`, in order, at most `limit` (verifying the chain page by
    /// page).
    fn audit_range(
        &mut self,
        centre: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<access::AuditRow>, StoreError>;
    /// Rows matching `filter` with `seq < before` (any when `None`), newest first, at
    /// most `limit`: the next page starts before the last row's seq.
    fn search_audit(
        &mut self,
        centre: &str,
        filter: &access::AuditFilter,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<access::AuditRow>, StoreError>;
    /// Rows about one person's data (`subject_id`), newest first, paged as
    /// [`StoreTx::search_audit`].
    fn audit_of_person(
        &mut self,
        centre: &str,
        id_number: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<access::AuditRow>, StoreError> {
        let filter = access::AuditFilter {
            subject_id: Some(id_number.to_owned()),
            ..access::AuditFilter::default()
        };
        self.search_audit(centre, &filter, before, limit)
    }

    /// Turns one kind of notification on or off for a person.
    fn set_notification_pref(
        &mut self,
        centre: &str,
        row: &access::NotificationPrefRow,
    ) -> Result<(), StoreError>;
    /// A person's notification choices, by kind (a kind not listed was never set).
    fn notification_prefs(
        &mut self,
        centre: &str,
        id_number: &str,
    ) -> Result<Vec<access::NotificationPrefRow>, StoreError>;
    /// Stores a notification (its `id` is ignored); returns the id given.
    fn insert_notification(
        &mut self,
        centre: &str,
        row: &access::NotificationRow,
    ) -> Result<i64, StoreError>;
    /// Pending notifications, oldest first, at most `limit`.
    fn pending_notifications(
        &mut self,
        centre: &str,
        limit: usize,
    ) -> Result<Vec<access::NotificationRow>, StoreError>;
    /// Ends a pending notification as `sent` (at `at_us`), `failed` or `skipped` (with
    /// `error`); `NotFound` if unknown, `Conflict` if no longer pending.
    fn finish_notification(
        &mut self,
        centre: &str,
        id: i64,
        status: &str,
        at_us: i64,
        error: Option<&str>,
    ) -> Result<(), StoreError>;
    /// A person's notifications, newest first, at most `limit`.
    fn notifications_of(
        &mut self,
        centre: &str,
        id_number: &str,
        limit: usize,
    ) -> Result<Vec<access::NotificationRow>, StoreError>;
    /// The last journal seq already turned into balance-change notifications (0 before
    /// any).
    fn notify_cursor(&mut self, centre: &str) -> Result<i64, StoreError>;
    /// Moves the notification cursor.
    fn set_notify_cursor(&mut self, centre: &str, seq: i64) -> Result<(), StoreError>;

    /// Stores a change waiting for a checker (its `id` is ignored; its decision must be
    /// `pending`); returns the id given.
    fn insert_approval(
        &mut self,
        centre: &str,
        row: &access::ApprovalRow,
    ) -> Result<i64, StoreError>;
    /// An approval by id.
    fn approval(
        &mut self,
        centre: &str,
        id: i64,
    ) -> Result<Option<access::ApprovalRow>, StoreError>;
    /// Approvals waiting for a checker in a business (any when `None`), oldest first.
    fn pending_approvals(
        &mut self,
        centre: &str,
        business: Option<&str>,
    ) -> Result<Vec<access::ApprovalRow>, StoreError>;
    /// Decides a pending approval (`approved` or `rejected`) by `checker` at `at_us`;
    /// `NotFound` if unknown, `Conflict` if decided already. The schema refuses a checker
    /// who is the maker (a `Database` error; the transaction stays usable).
    fn decide_approval(
        &mut self,
        centre: &str,
        id: i64,
        decision: &str,
        checker: &str,
        at_us: i64,
        reason: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Records a version of the centre's policy. `Conflict` if the version is taken; the
    /// schema refuses a gap (a `Database` error; the transaction stays usable).
    fn insert_policy_version(
        &mut self,
        centre: &str,
        row: &access::PolicyVersionRow,
    ) -> Result<(), StoreError>;
    /// Every version of the centre's policy, oldest first.
    fn policy_versions(
        &mut self,
        centre: &str,
    ) -> Result<Vec<access::PolicyVersionRow>, StoreError>;
    /// The version in effect (the highest), if any.
    fn current_policy(
        &mut self,
        centre: &str,
    ) -> Result<Option<access::PolicyVersionRow>, StoreError>;
}

/// Splits a database URL into its backend and the rest, with a clear error for anything
/// that is not `sqlite://PATH` or `postgres://…` / `postgresql://…`.
pub fn parse_url(url: &str) -> Result<(Backend, &str), StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        if path.is_empty() {
            return Err(StoreError::BadUrl {
                url: url.to_owned(),
                reason: "sqlite:// needs a file path, e.g. sqlite://anju.db".to_owned(),
            });
        }
        return Ok((Backend::Sqlite, path));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url));
    }
    Err(StoreError::BadUrl {
        url: url.to_owned(),
        reason: "must start with sqlite:// or postgres://".to_owned(),
    })
}

/// The checksum recorded for an embedded migration: SM3 of its SQL text.
pub fn migration_checksum(sql: &str) -> String {
    anju_domain::ledger::sm3_hex(sql.as_bytes())
}

/// Whether embedded migration `version` must be applied, given the checksum recorded
/// when it was applied (if it was). A migration that was applied with different SQL
/// stops the start: the database and this build disagree about the schema.
pub fn migration_needed(
    version: i64,
    name: &str,
    sql: &str,
    applied_checksum: Option<&str>,
) -> Result<bool, StoreError> {
    let checksum = migration_checksum(sql);
    match applied_checksum {
        None => Ok(true),
        Some(c) if c == checksum => Ok(false),
        Some(c) => Err(StoreError::Migration {
            version,
            reason: format!(
                "applied with checksum {c}, but this build's {name} migration has {checksum}"
            ),
        }),
    }
}

/// Hides the password in a PostgreSQL URL for logs and messages.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((userinfo, host)) = rest.split_once('@')
        && let Some((user, _pw)) = userinfo.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert_eq!(
            parse_url("sqlite://a.db").unwrap(),
            (Backend::Sqlite, "a.db")
        );
        assert_eq!(parse_url("postgres://u@h/db").unwrap().0, Backend::Postgres);
        assert_eq!(
            parse_url("postgresql://u@h/db").unwrap().0,
            Backend::Postgres
        );
        for bad in ["", "a.db", "mysql://x", "sqlite://"] {
            let err = parse_url(bad).unwrap_err().to_string();
            assert!(err.contains("sqlite://"), "{bad}: {err}");
        }
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn changed_migrations_stop_the_start() {
        let sum = migration_checksum("CREATE TABLE t (x INTEGER)");
        assert!(migration_needed(1, "t", "CREATE TABLE t (x INTEGER)", None).unwrap());
        assert!(!migration_needed(1, "t", "CREATE TABLE t (x INTEGER)", Some(&sum)).unwrap());
        let err = migration_needed(1, "t", "CREATE TABLE t (x BIGINT)", Some(&sum)).unwrap_err();
        assert!(
            matches!(err, StoreError::Migration { version: 1, .. }),
            "{err}"
        );
    }
}
