//! The bank-settlement commands (`anju bank …`, `anju settle …`, `anju reconcile`), the
//! route that receives banks' signed notices (`POST /bank/notices`, served by
//! `anju serve`), and the background job that asks banks about unanswered instructions.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anju_app::settlement::{
    self, BankSet, Collection, NewBank, Outcome, Payout, ReconReport, Settlement,
};
use anju_bank::client::{BankClient, BankSettings};
use anju_bank::protocol::NonceGuard;
use anju_domain::access::Business;
use anju_domain::codes::SettlementBusinessType;
use anju_domain::money::Fen;
use anju_store::Store;
use anju_store::settlement::NoticeRefusalRow;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use clap::Subcommand;
use jiff::Timestamp;
use jiff::civil::Date;

use crate::collect::At;
use crate::withdraw::{Actor, Whose};

/// How to reach the commissioned banks.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BankArgs {
    /// A bank's settlement API as CODE=URL (repeatable), e.g. 105=http://127.0.0.1:7105.
    /// The secret is read from ANJU_BANK_SECRET (a loopback URL may use the simulator's
    /// development secret).
    #[arg(long = "bank-url", value_name = "CODE=URL")]
    pub bank_urls: Vec<String>,
    /// Our app id at the banks.
    #[arg(long, default_value = "anju")]
    pub bank_app: String,
    /// A TOML file with one [[bank]] table per bank (code, base_url, app_id, secret_env,
    /// timeouts).
    #[arg(long)]
    pub bank_config: Option<PathBuf>,
}

impl BankArgs {
    /// The settings of every configured bank.
    pub fn settings(&self) -> anyhow::Result<Vec<BankSettings>> {
        let mut out = Vec::new();
        if let Some(path) = &self.bank_config {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            out.extend(BankSettings::all_from_toml(&text, |k| {
                std::env::var(k).ok()
            })?);
        }
        for spec in &self.bank_urls {
            let (code, url) = spec
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("--bank-url {spec:?}: expected CODE=URL"))?;
            let secret = match std::env::var("ANJU_BANK_SECRET") {
                Ok(s) => s,
                Err(_) if crate::sharing::is_loopback(url) => anju_bank::sim::DEV_SECRET.to_owned(),
                Err(_) => anyhow::bail!(
                    "--bank-url {spec}: set ANJU_BANK_SECRET (only a loopback bank may use the development secret)"
                ),
            };
            out.push(BankSettings::new(code, url, &self.bank_app, &secret));
        }
        Ok(out)
    }

    /// The banks' adapters.
    pub fn banks(&self) -> anyhow::Result<BankSet> {
        let mut set = BankSet::new();
        for s in self.settings()? {
            set.insert(Arc::new(BankClient::new(s)?));
        }
        Ok(set)
    }

    /// The same banks' own lending (the commercial part of combination loans).
    pub fn lenders(&self) -> anyhow::Result<anju_app::lending::LenderSet> {
        let mut set = anju_app::lending::LenderSet::new();
        for s in self.settings()? {
            set.insert(Arc::new(BankClient::new(s)?));
        }
        Ok(set)
    }

    /// Whether any bank is configured.
    pub fn any(&self) -> bool {
        !self.bank_urls.is_empty() || self.bank_config.is_some()
    }
}

/// `anju bank …`: the registry of commissioned banks and accounts held there.
#[derive(Debug, Subcommand)]
pub enum BankCmd {
    /// Register a commissioned bank and the fund's account there.
    Register {
        #[command(flatten)]
        at: At,
        /// Bank code (e.g. 105).
        #[arg(long)]
        code: String,
        /// Bank name.
        #[arg(long)]
        name: String,
        /// The fund's account number at the bank.
        #[arg(long)]
        fund_account: String,
        /// The fund account's name (户名); the centre's name by default.
        #[arg(long)]
        fund_account_name: Option<String>,
    },
    /// List the commissioned banks.
    List {
        #[command(flatten)]
        at: At,
    },
    /// Bind a member's payout card.
    BindCard {
        #[command(flatten)]
        at: At,
        /// Personal account number.
        #[arg(long)]
        account_no: String,
        /// Bank code.
        #[arg(long)]
        bank: String,
        /// Card number.
        #[arg(long)]
        card: String,
    },
    /// Record a unit's own account at a bank (for direct debits and matching transfers).
    UnitAccount {
        #[command(flatten)]
        at: At,
        /// Unit account number.
        #[arg(long)]
        unit: String,
        /// Bank code.
        #[arg(long)]
        bank: String,
        /// The unit's account number at the bank.
        #[arg(long)]
        account: String,
    },
}

/// `anju settle …`: instructions to banks and what came back.
#[derive(Debug, Subcommand)]
pub enum SettleCmd {
    /// Pay a member's money to their bound card (the payment step of a withdrawal).
    Pay {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        banks: BankArgs,
        /// Serial number (the idempotency key; repeat it to ask again without resending).
        #[arg(long)]
        serial: String,
        /// Personal account number.
        #[arg(long)]
        account_no: String,
        /// Amount in yuan.
        #[arg(long)]
        amount: String,
        /// A closing withdrawal (销户提取) rather than a partial one.
        #[arg(long)]
        closing: bool,
        /// Memo.
        #[arg(long, default_value = "住房公积金提取")]
        memo: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Collect a confirmed bill from the unit's bank account (direct debit).
    Collect {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        banks: BankArgs,
        /// Serial number.
        #[arg(long)]
        serial: String,
        /// Bill number.
        #[arg(long)]
        bill: String,
        /// Amount in yuan (what is due by default).
        #[arg(long)]
        amount: Option<String>,
        #[command(flatten)]
        actor: Actor,
    },
    /// Move money between the fund's accounts at two banks (资金划转).
    Transfer {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        banks: BankArgs,
        /// Serial number.
        #[arg(long)]
        serial: String,
        /// The paying bank.
        #[arg(long)]
        from: String,
        /// The receiving bank.
        #[arg(long)]
        to: String,
        /// Amount in yuan.
        #[arg(long)]
        amount: String,
        /// Memo.
        #[arg(long, default_value = "资金划转")]
        memo: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Ask the banks about every instruction without a definite answer.
    Resolve {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        banks: BankArgs,
    },
    /// The fund's balance at a bank beside the ledger's 101.<bank>.
    Balance {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        banks: BankArgs,
        /// Bank code.
        #[arg(long)]
        bank: String,
    },
    /// Show instructions by serial (their accounts in full: a reconciliation view by a
    /// named member of staff, audited).
    Show {
        #[command(flatten)]
        at: At,
        /// Serial numbers.
        serials: Vec<String>,
        #[command(flatten)]
        actor: Actor,
    },
    /// Money in the unidentified-receipts accounts, waiting for staff (payers' accounts
    /// and names: a reconciliation view by a named member of staff, audited).
    Suspense {
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        actor: Actor,
    },
    /// Assign money in suspense to the unit it belongs to.
    Assign {
        #[command(flatten)]
        at: At,
        /// Bank code.
        #[arg(long)]
        bank: String,
        /// The bank's reference of the credit.
        #[arg(long = "ref")]
        bank_ref: String,
        /// Unit account number.
        #[arg(long)]
        unit: String,
        /// Why (e.g. how the unit confirmed it).
        #[arg(long)]
        note: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Open reconciliation items (a reconciliation view by a named member of staff).
    Items {
        #[command(flatten)]
        at: At,
        /// Bank code (all banks by default).
        #[arg(long)]
        bank: Option<String>,
        #[command(flatten)]
        actor: Actor,
    },
    /// Close an open reconciliation item with a note.
    CloseItem {
        #[command(flatten)]
        at: At,
        /// Bank code.
        #[arg(long)]
        bank: String,
        /// Day.
        #[arg(long)]
        date: Date,
        /// Serial (or `ref:<bank reference>`).
        #[arg(long)]
        serial: String,
        /// How it was resolved.
        #[arg(long)]
        note: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Refused (unsigned or wrongly signed) notices, newest first.
    Refusals {
        #[command(flatten)]
        at: At,
    },
}

/// `anju reconcile`.
#[derive(Debug, clap::Args)]
pub struct ReconcileArgs {
    #[command(flatten)]
    pub at: At,
    #[command(flatten)]
    pub banks: BankArgs,
    /// Bank code.
    #[arg(long)]
    pub bank: String,
    /// Day to reconcile.
    #[arg(long)]
    pub date: Date,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn settlement_of<'a>(store: &'a dyn Store, centre: &'a str, banks: &'a BankSet) -> Settlement<'a> {
    Settlement {
        store,
        banks,
        centre,
    }
}

/// The database and centre a bank command works on.
pub fn bank_at(cmd: &BankCmd) -> &At {
    match cmd {
        BankCmd::Register { at, .. }
        | BankCmd::List { at }
        | BankCmd::BindCard { at, .. }
        | BankCmd::UnitAccount { at, .. } => at,
    }
}

/// The database and centre a settle command works on.
pub fn settle_at(cmd: &SettleCmd) -> &At {
    match cmd {
        SettleCmd::Pay { at, .. }
        | SettleCmd::Collect { at, .. }
        | SettleCmd::Transfer { at, .. }
        | SettleCmd::Resolve { at, .. }
        | SettleCmd::Balance { at, .. }
        | SettleCmd::Show { at, .. }
        | SettleCmd::Suspense { at, .. }
        | SettleCmd::Assign { at, .. }
        | SettleCmd::Items { at, .. }
        | SettleCmd::CloseItem { at, .. }
        | SettleCmd::Refusals { at } => at,
    }
}

fn yuan(field: &str, text: &str) -> anyhow::Result<Fen> {
    Fen::parse_yuan(text).map_err(|e| anyhow::anyhow!("--{field} {text:?}: {e}"))
}

fn print_outcome(o: &Outcome) {
    match o {
        Outcome::Executed {
            serial,
            bank_ref,
            value_date,
        } => println!("{serial}: executed by the bank ({bank_ref}, value date {value_date})"),
        Outcome::NotExecuted { serial, reason } => {
            println!("{serial}: not executed — {reason}; the money is back in the account")
        }
        Outcome::AwaitingBank { serial } => println!(
            "{serial}: sent, no definite answer yet; the money stays reserved until the bank answers (anju settle resolve)"
        ),
    }
}

/// Runs `anju bank …`.
pub fn run_bank(store: &dyn Store, centre: &str, cmd: BankCmd) -> anyhow::Result<u8> {
    match cmd {
        BankCmd::Register {
            code,
            name,
            fund_account,
            fund_account_name,
            ..
        } => {
            let centre_name = store
                .begin_read()?
                .centre(centre)?
                .map(|c| c.name)
                .unwrap_or_default();
            let b = settlement::register_bank(
                store,
                centre,
                &NewBank {
                    code,
                    name,
                    fund_account,
                    fund_account_name: fund_account_name.unwrap_or(centre_name),
                },
            )?;
            println!(
                "bank {} {} registered; fund account {} ({}) is ledger account 101.{}",
                b.code, b.name, b.fund_account, b.fund_account_name, b.code
            );
        }
        BankCmd::List { .. } => {
            for b in settlement::banks(store, centre)? {
                println!(
                    "{}\t{}\t{}\t{}\tsince {}",
                    b.code, b.name, b.fund_account, b.fund_account_name, b.registered_on
                );
            }
        }
        BankCmd::BindCard {
            account_no,
            bank,
            card,
            ..
        } => {
            let c = settlement::bind_card(store, centre, &account_no, &bank, &card)?;
            println!(
                "{}: payouts go to card {} at bank {} ({})",
                c.account_no, c.card_no, c.bank_code, c.holder
            );
        }
        BankCmd::UnitAccount {
            unit,
            bank,
            account,
            ..
        } => {
            let r = settlement::add_unit_bank_account(store, centre, &unit, &bank, &account)?;
            println!(
                "unit {} ({}) account {} at bank {} recorded",
                r.unit_no, r.name, r.account, r.bank_code
            );
        }
    }
    Ok(0)
}

/// Runs `anju settle …`.
pub fn run_settle(store: &dyn Store, centre: &str, cmd: SettleCmd) -> anyhow::Result<u8> {
    let now = Timestamp::now();
    match cmd {
        SettleCmd::Pay {
            banks,
            serial,
            account_no,
            amount,
            closing,
            memo,
            actor,
            ..
        } => {
            let stamp = actor.act(store, centre, Business::WithdrawalApply, Whose::Nobody)?;
            let set = banks.banks()?;
            let s = settlement_of(store, centre, &set);
            let out = settlement::pay_members(
                &s,
                &[Payout {
                    serial,
                    account_no,
                    amount: yuan("amount", &amount)?,
                    business_type: if closing {
                        SettlementBusinessType::ClosingWithdrawal
                    } else {
                        SettlementBusinessType::PartialWithdrawal
                    },
                    memo,
                    target: String::new(),
                    stamp: stamp.clone(),
                }],
                now,
            )?;
            for o in out {
                print_outcome(&o);
            }
        }
        SettleCmd::Collect {
            banks,
            serial,
            bill,
            amount,
            actor,
            ..
        } => {
            let stamp = actor.act(store, centre, Business::Remittance, Whose::Nobody)?;
            let set = banks.banks()?;
            let s = settlement_of(store, centre, &set);
            let amount = amount.map(|a| yuan("amount", &a)).transpose()?;
            for o in settlement::collect(
                &s,
                &[Collection {
                    serial,
                    bill_no: bill,
                    unit_account: None,
                    amount,
                    stamp: stamp.clone(),
                }],
                now,
            )? {
                print_outcome(&o);
            }
        }
        SettleCmd::Transfer {
            banks,
            serial,
            from,
            to,
            amount,
            memo,
            actor,
            ..
        } => {
            let stamp = actor.act(store, centre, Business::Reconcile, Whose::Nobody)?;
            let set = banks.banks()?;
            let s = settlement_of(store, centre, &set);
            let o = settlement::transfer_funds(
                &s,
                &settlement::FundTransfer {
                    serial,
                    from_bank: from,
                    to_bank: to,
                    amount: yuan("amount", &amount)?,
                    memo,
                    stamp: stamp.clone(),
                },
                now,
            )?;
            print_outcome(&o);
        }
        SettleCmd::Resolve { banks, .. } => {
            let set = banks.banks()?;
            let s = settlement_of(store, centre, &set);
            let r = settlement::resolve_all(&s, None, now, 100_000)?;
            println!(
                "asked about {}: {} executed, {} not executed (money back), {} still without an answer",
                r.queried, r.executed, r.not_executed, r.unknown
            );
        }
        SettleCmd::Balance { banks, bank, .. } => {
            let set = banks.banks()?;
            let s = settlement_of(store, centre, &set);
            let (at_bank, ledger) = settlement::fund_balance(&s, &bank)?;
            println!(
                "bank {bank}: fund account balance {at_bank} at the bank, {ledger} in ledger 101.{bank}{}",
                if at_bank == ledger {
                    " — equal".to_owned()
                } else {
                    format!(
                        " — differ by {} (instructions in flight or notices not yet applied; see anju settle resolve and anju reconcile)",
                        Fen::new(at_bank.fen() - ledger.fen())
                    )
                }
            );
        }
        SettleCmd::Show { serials, actor, .. } => {
            actor.act(store, centre, Business::Reconcile, Whose::Nobody)?;
            let refs: Vec<&str> = serials.iter().map(String::as_str).collect();
            for r in settlement::instructions(store, centre, &refs)? {
                println!(
                    "{}\t{}\tbank {}\t{} → {}\t{}\t{}{}{}",
                    r.serial,
                    r.kind,
                    r.bank_code,
                    r.debit_account,
                    r.credit_account,
                    Fen::new(r.amount),
                    r.state,
                    r.bank_ref.map(|b| format!("\t{b}")).unwrap_or_default(),
                    r.reason.map(|b| format!("\t{b}")).unwrap_or_default(),
                );
            }
        }
        SettleCmd::Suspense { actor, .. } => {
            actor.act(store, centre, Business::Reconcile, Whose::Nobody)?;
            for i in settlement::suspense_items(store, centre)? {
                println!(
                    "{}\t{}\t{}\t{} {}\t{}\t{}",
                    i.bank_code,
                    i.bank_ref,
                    Fen::new(i.amount),
                    i.payer_account,
                    i.payer_name,
                    i.memo,
                    i.note.unwrap_or_default()
                );
            }
        }
        SettleCmd::Assign {
            bank,
            bank_ref,
            unit,
            note,
            actor,
            ..
        } => {
            let stamp = actor.act(
                store,
                centre,
                Business::Reconcile,
                Whose::Unit(unit.clone()),
            )?;
            let r = settlement::assign_incoming(
                store,
                centre,
                &settlement::Assignment {
                    bank_code: bank,
                    bank_ref,
                    unit_no: unit.clone(),
                    note,
                },
                &stamp,
                now,
            )?;
            println!(
                "{} {} ({}) assigned to unit {unit}: now in its suspense account 213.{unit}",
                r.bank_code,
                r.bank_ref,
                Fen::new(r.amount)
            );
        }
        SettleCmd::Items { bank, actor, .. } => {
            actor.act(store, centre, Business::Reconcile, Whose::Nobody)?;
            let items = settlement::open_recon_items(store, centre, bank.as_deref())?;
            if items.is_empty() {
                println!("no open reconciliation items");
            }
            for i in items {
                println!(
                    "{}\t{}\t{}\t{}\tbank {}\tanju {}",
                    i.bank_code,
                    i.date,
                    i.serial,
                    i.kind,
                    i.bank_amount
                        .map(|a| Fen::new(a).to_string())
                        .unwrap_or("-".into()),
                    i.anju_amount
                        .map(|a| Fen::new(a).to_string())
                        .unwrap_or("-".into()),
                );
            }
        }
        SettleCmd::CloseItem {
            bank,
            date,
            serial,
            note,
            actor,
            ..
        } => {
            let stamp = actor.act(store, centre, Business::Reconcile, Whose::Nobody)?;
            let closed = settlement::resolve_recon_item(
                store,
                centre,
                &settlement::ItemRef {
                    bank_code: bank,
                    date,
                    serial,
                },
                &note,
                &stamp,
                now,
            )?;
            println!("{} item(s) closed", closed.len());
        }
        SettleCmd::Refusals { .. } => {
            for r in settlement::notice_refusals(store, centre, 100)? {
                println!(
                    "{}\t{}\t{}\t{}",
                    Timestamp::from_microsecond(r.received_at_us)
                        .map(|t| t.to_string())
                        .unwrap_or_default(),
                    r.claimed_bank,
                    r.peer,
                    r.reason
                );
            }
        }
    }
    Ok(0)
}

/// The report as JSON.
pub fn report_json(r: &ReconReport) -> serde_json::Value {
    serde_json::json!({
        "bank": r.run.bank_code,
        "date": r.run.date.to_string(),
        "bank_lines": r.run.bank_lines,
        "anju_lines": r.run.anju_lines,
        "bank_closing_fen": r.run.bank_closing,
        "ledger_balance_fen": r.run.ledger_balance,
        "mismatches": r.mismatches.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "resolved": r.resolved.len(),
        "open_items": r.open_items.iter().map(|i| serde_json::json!({
            "date": i.date.to_string(), "serial": i.serial, "kind": i.kind,
            "bank_fen": i.bank_amount, "anju_fen": i.anju_amount,
        })).collect::<Vec<_>>(),
    })
}

/// Runs `anju reconcile`; exit status 1 when differences remain open.
pub fn run_reconcile(store: &dyn Store, centre: &str, args: &ReconcileArgs) -> anyhow::Result<u8> {
    let set = args.banks.banks()?;
    let s = Settlement {
        store,
        banks: &set,
        centre,
    };
    let r = settlement::reconcile(&s, &args.bank, args.date, Timestamp::now())?;
    if args.json {
        println!("{}", report_json(&r));
    } else {
        println!(
            "bank {} on {}: {} statement lines, {} in Anju; {} difference(s); {} earlier item(s) now settled",
            r.run.bank_code,
            r.run.date,
            r.run.bank_lines,
            r.run.anju_lines,
            r.mismatches.len(),
            r.resolved.len()
        );
        println!(
            "statement closing balance {}, ledger 101.{} balance {}",
            Fen::new(r.run.bank_closing),
            r.run.bank_code,
            Fen::new(r.run.ledger_balance)
        );
        for m in &r.mismatches {
            println!("  {m}");
        }
        if !r.open_items.is_empty() {
            println!("open items (all days): {}", r.open_items.len());
        }
    }
    Ok(u8::from(!r.open_items.is_empty()))
}

/// What the notice route needs.
#[derive(Debug, Clone)]
pub struct NoticeState {
    store: Arc<dyn Store>,
    centre: String,
    secrets: Arc<HashMap<String, Vec<u8>>>,
    nonces: Arc<NonceGuard>,
}

impl NoticeState {
    /// Notices from the banks whose settings are given (their secrets sign notices).
    pub fn new(store: Arc<dyn Store>, centre: &str, banks: &[BankSettings]) -> NoticeState {
        NoticeState {
            store,
            centre: centre.to_owned(),
            secrets: Arc::new(
                banks
                    .iter()
                    .map(|b| (b.code.clone(), b.secret.as_bytes().to_vec()))
                    .collect(),
            ),
            nonces: Arc::new(NonceGuard::new()),
        }
    }
}

/// The path banks post notices to.
pub const NOTICE_ROUTE: &str = "/bank/notices";

/// `POST /bank/notices`: a bank's signed notice. `200` once applied (or seen before);
/// `401` when the signature, timestamp or nonce is wrong (logged in `notice_refusals`);
/// `400` when the body is garbled; `503` when the database failed (the bank retries).
pub fn notice_router(state: NoticeState) -> Router {
    Router::new()
        .route(NOTICE_ROUTE, post(receive))
        .with_state(state)
}

async fn receive(
    State(st): State<NoticeState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let now = Timestamp::now();
    let hash = anju_domain::ledger::sm3_hex(&body);
    let verified = st
        .nonces
        .check_notice(&headers, &body, |app| st.secrets.get(app).cloned(), now);
    let store = st.store.clone();
    let centre = st.centre.clone();
    let result = tokio::task::spawn_blocking(move || match verified {
        Err(refused) => {
            let row = NoticeRefusalRow {
                claimed_bank: refused.bank.clone().unwrap_or_default(),
                reason: refused.reason.clone(),
                body_hash: hash,
                peer: peer.to_string(),
                received_at_us: now.as_microsecond(),
            };
            let status =
                StatusCode::from_u16(refused.http_status()).unwrap_or(StatusCode::UNAUTHORIZED);
            settlement::refuse_notice(store.as_ref(), &centre, &row)
                .map(|()| (status, refused.reason))
        }
        Ok(notice) => settlement::receive_notice(store.as_ref(), &centre, &notice, &hash, now)
            .map(|what| (StatusCode::OK, what)),
    })
    .await;
    match result {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "bank notice not applied; the bank will retry");
            (StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// Asks the banks about unanswered instructions every `every`, until the process ends.
pub fn spawn_resolver(store: Arc<dyn Store>, centre: String, banks: BankSet, every: Duration) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(every);
            let s = Settlement {
                store: store.as_ref(),
                banks: &banks,
                centre: &centre,
            };
            match settlement::resolve_unsettled(&s, None, Timestamp::now(), 1000) {
                Ok(r) if r.queried > 0 => tracing::info!(
                    queried = r.queried,
                    executed = r.executed,
                    not_executed = r.not_executed,
                    unknown = r.unknown,
                    "asked banks about unanswered instructions"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "status queries failed; trying again later"),
            }
        }
    });
}
