//! `anju notify …`: members' notifications (issue 8) — turn the journal's new entries
//! into balance-change notices and send what is pending (`run`), a member's choices
//! (`prefs`), a member's notifications (`list`).

use std::path::PathBuf;

use anju_app::identity::{LogSms, mask_phone};
use anju_app::notify::{self, NotificationKind};
use anju_store::Store;
use clap::Subcommand;
use jiff::Timestamp;

/// The database and the centre.
#[derive(Debug, Clone, clap::Args)]
pub struct NotifyAt {
    /// Database URL (sqlite://PATH or postgres://…).
    #[arg(long)]
    pub db: String,
    /// Centre (default: the only one in the database).
    #[arg(long)]
    pub centre: Option<String>,
}

/// `anju notify` subcommands.
#[derive(Debug, Subcommand)]
pub enum NotifyCmd {
    /// Queue a notification for every balance change recorded since the last run, then
    /// send everything pending by text message (the development sender: a JSON line per
    /// message in the SMS log file, the log showing masked numbers).
    Run {
        #[command(flatten)]
        at: NotifyAt,
        /// The development sender's file (default: beside an SQLite database `x.db`,
        /// `x-sms.jsonl`; else `anju-demo-sms.jsonl`).
        #[arg(long)]
        sms_log: Option<PathBuf>,
        /// Most entries scanned, or notifications sent, per batch.
        #[arg(long, default_value_t = notify::DEFAULT_LIMIT)]
        limit: usize,
        /// First move past the journal's history without telling anyone (a centre that
        /// starts notifying with years of entries).
        #[arg(long)]
        skip_history: bool,
    },
    /// Show a member's choices; `--enable` / `--disable` a kind first
    /// (balance_change, application_status, new_device_login).
    Prefs {
        #[command(flatten)]
        at: NotifyAt,
        /// The member's resident ID number.
        #[arg(long)]
        id_number: String,
        /// Kinds to turn on.
        #[arg(long, value_parser = parse_kind)]
        enable: Vec<NotificationKind>,
        /// Kinds to turn off.
        #[arg(long, value_parser = parse_kind)]
        disable: Vec<NotificationKind>,
    },
    /// A member's notifications, newest first.
    List {
        #[command(flatten)]
        at: NotifyAt,
        /// The member's resident ID number.
        #[arg(long)]
        id_number: String,
        /// Most shown.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

fn parse_kind(text: &str) -> Result<NotificationKind, String> {
    NotificationKind::from_code(text).ok_or_else(|| {
        format!("{text:?}: one of balance_change, application_status, new_device_login")
    })
}

impl NotifyCmd {
    fn at(&self) -> &NotifyAt {
        match self {
            NotifyCmd::Run { at, .. }
            | NotifyCmd::Prefs { at, .. }
            | NotifyCmd::List { at, .. } => at,
        }
    }
}

/// The development sender's default file beside the database.
fn default_sms_log(db: &str) -> PathBuf {
    let mut name = crate::demo_file_base(db).into_os_string();
    name.push("-sms.jsonl");
    PathBuf::from(name)
}

/// Runs a `notify` subcommand.
pub fn run(cmd: NotifyCmd) -> anyhow::Result<u8> {
    let at = cmd.at().clone();
    let store = crate::db::open(&at.db)?;
    let centre = crate::only_centre(store.as_ref(), at.centre.clone())?;
    let store: &dyn Store = store.as_ref();
    match cmd {
        NotifyCmd::Run {
            sms_log,
            limit,
            skip_history,
            ..
        } => {
            if skip_history {
                let seq = notify::skip_to_end(store, &centre)?;
                println!("skipped the journal's history up to entry {seq}");
            }
            let path = sms_log.unwrap_or_else(|| default_sms_log(&at.db));
            let sms = LogSms::with_file(&path);
            let (scanned, sent) = notify::run(store, &centre, &sms, Timestamp::now(), limit)?;
            println!(
                "scanned entries {}..{} ({} entries, {} balance changes): {} queued, {} turned off by members",
                scanned.from_seq,
                scanned.to_seq,
                scanned.entries,
                scanned.changes,
                scanned.queued,
                scanned.turned_off
            );
            println!(
                "sent {}, skipped (no bound phone) {}, failed {}, left pending {}; SMS log {}",
                sent.sent,
                sent.skipped,
                sent.failed,
                sent.deferred,
                path.display()
            );
            if let Some(e) = sent.gateway_error {
                eprintln!("the SMS gateway failed ({e}): the rest is sent on the next run");
                return Ok(1);
            }
            Ok(0)
        }
        NotifyCmd::Prefs {
            id_number,
            enable,
            disable,
            ..
        } => {
            for k in &enable {
                if disable.contains(k) {
                    anyhow::bail!("--enable and --disable both name {k}");
                }
            }
            for k in enable {
                notify::set_preference(store, &centre, &id_number, k, true)?;
            }
            for k in disable {
                notify::set_preference(store, &centre, &id_number, k, false)?;
            }
            let phone = store
                .begin_read()?
                .phone_of_person(&centre, id_number.trim())?
                .map_or_else(|| "none bound".to_owned(), |b| mask_phone(&b.phone));
            println!("notifications of {} (phone {phone}):", mask_id(&id_number));
            for (k, on) in notify::preferences(store, &centre, &id_number)? {
                println!(
                    "  {:<20} {:<8} {}",
                    k.code(),
                    if on { "on" } else { "off" },
                    k.name_zh()
                );
            }
            Ok(0)
        }
        NotifyCmd::List {
            id_number, limit, ..
        } => {
            let list = notify::of_member(store, &centre, &id_number, limit)?;
            println!(
                "{} notification(s) of {}, newest first:",
                list.len(),
                mask_id(&id_number)
            );
            for n in list {
                let status = match (&n.status[..], &n.error) {
                    (_, Some(e)) => format!("{} ({e})", n.status),
                    (s, None) => s.to_owned(),
                };
                println!(
                    "  #{} {} {} [{}] {}",
                    n.id,
                    n.created_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                    n.kind.code(),
                    status,
                    n.body
                );
            }
            Ok(0)
        }
    }
}

/// An ID number as printed: the first and last four characters.
fn mask_id(id: &str) -> String {
    anju_app::mask(id.trim())
}

/// Runs [`anju_app::notify::run`] every `every` on its own thread until the process ends
/// (`anju serve`): new journal entries become notices and pending notices are sent.
pub fn spawn_notifier(
    store: std::sync::Arc<dyn anju_store::Store>,
    centre: String,
    sms: std::sync::Arc<dyn anju_app::identity::SmsGateway>,
    every: std::time::Duration,
) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(every);
            match anju_app::notify::run(
                store.as_ref(),
                &centre,
                sms.as_ref(),
                jiff::Timestamp::now(),
                anju_app::notify::DEFAULT_LIMIT,
            ) {
                Ok((scan, sent)) => {
                    if sent.sent + sent.skipped + sent.failed > 0 {
                        tracing::info!(?scan, ?sent, "notifications");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "notifications failed; trying again later"),
            }
        }
    });
}
