//! Notifications to members (issue 8): every change to a member's balance, every status
//! an application of theirs (withdrawal, loan) enters, and every sign-in from a device
//! they have not used before — each sent as a text message to the phone the member
//! signs in with, unless the member turned that kind off.
//!
//! How notifications are made and sent:
//!
//! - **Balance changes** come from the journal. [`scan`] reads the entries after the
//!   centre's notification cursor (`notify_cursors.last_seq`), makes one notification
//!   per leg on a member account (`201.<account_no>`) of every entry that moves money
//!   (posted, completed, reversal — not a pending reservation nor its void), and moves
//!   the cursor in the same transaction as the notifications it wrote, under the centre
//!   lock: each entry is turned into notifications exactly once, however often and from
//!   however many processes [`scan`] runs.
//! - **Application status changes** are queued where the status changes, in the same
//!   transaction as the timeline step (the withdrawal and loan timelines call
//!   [`notify_application_status`]): one notification per act that moved an application,
//!   naming the status it reached. No second cursor is needed (the schema has one per
//!   centre), nothing is missed and nothing is told twice — the notification commits or
//!   rolls back with the change it reports.
//! - **New-device sign-ins** are queued by the login code with [`notify_new_device`]
//!   when `remember_device` says the device is new.
//! - **A kind the member turned off is not queued at all** (nothing is recorded): the
//!   member's list ([`of_member`]) shows what was meant for them. Kinds are on until
//!   turned off ([`preferences`]).
//! - [`dispatch`] sends the pending notifications, oldest first, to the member's bound
//!   phone: `sent`; no bound phone: `skipped` ("no bound phone"); a number or text the
//!   gateway refuses: `failed` at once; a gateway failure leaves the notification pending
//!   and ends the run (the gateway is down: retry on the next run), until it is older
//!   than [`GIVE_UP_AFTER`], when it is `failed` with the gateway's error. A message is
//!   sent before it is marked sent, so a crash in between sends it again on the next
//!   run (at least once); run one dispatcher per centre.
//!
//! Logs carry masked ID numbers and phones only (`3308****1234`, `138****1234`).

use std::collections::HashMap;

use anju_domain::codes::Channel;
use anju_domain::ledger::EntryKind;
use anju_domain::money::Fen;
use anju_store::access::{NotificationPrefRow, NotificationRow};
use anju_store::{Store, StoreTx};
use jiff::{SignedDuration, Timestamp};

use crate::identity::{SmsError, SmsGateway, mask_phone};
use crate::{AppError, mask};

/// A pending notification the gateway could not take is given up (`failed`) once it is
/// this old.
pub const GIVE_UP_AFTER: SignedDuration = SignedDuration::from_hours(24);

/// Most notifications one [`scan`] or [`dispatch`] call handles by default.
pub const DEFAULT_LIMIT: usize = 1000;

/// What a member is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NotificationKind {
    /// Money in or out of the member's account (资金变动).
    BalanceChange,
    /// A withdrawal or loan application entered a new status (业务办理进度).
    ApplicationStatus,
    /// A sign-in from a device not used before (新设备登录).
    NewDeviceLogin,
}

impl NotificationKind {
    /// Every kind.
    pub const ALL: [NotificationKind; 3] = [
        NotificationKind::BalanceChange,
        NotificationKind::ApplicationStatus,
        NotificationKind::NewDeviceLogin,
    ];

    /// The store code: `balance_change`, `application_status`, `new_device_login`.
    pub const fn code(self) -> &'static str {
        match self {
            NotificationKind::BalanceChange => "balance_change",
            NotificationKind::ApplicationStatus => "application_status",
            NotificationKind::NewDeviceLogin => "new_device_login",
        }
    }

    /// The kind of a code (case-insensitive; `-` for `_` accepted).
    pub fn from_code(code: &str) -> Option<NotificationKind> {
        let code = code.trim().replace('-', "_");
        NotificationKind::ALL
            .into_iter()
            .find(|k| k.code().eq_ignore_ascii_case(&code))
    }

    /// Its name in Chinese, as shown to members.
    pub const fn name_zh(self) -> &'static str {
        match self {
            NotificationKind::BalanceChange => "资金变动",
            NotificationKind::ApplicationStatus => "业务办理进度",
            NotificationKind::NewDeviceLogin => "新设备登录",
        }
    }
}

impl std::fmt::Display for NotificationKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

fn kind_of(code: &str) -> Result<NotificationKind, AppError> {
    NotificationKind::from_code(code).ok_or_else(|| {
        AppError::Store(anju_store::StoreError::Corrupt {
            what: format!("notification kind {code:?}"),
        })
    })
}

fn check_id(id_number: &str) -> Result<&str, AppError> {
    let id = id_number.trim();
    if id.is_empty() || id.chars().count() > 32 {
        return Err(AppError::Invalid {
            field: "id_number",
            value: mask(id),
            rule: "a resident ID number".to_owned(),
        });
    }
    Ok(id)
}

// ---- preferences ------------------------------------------------------------------------

/// Turns one kind of notification on or off for a member.
pub fn set_preference(
    store: &dyn Store,
    centre: &str,
    id_number: &str,
    kind: NotificationKind,
    enabled: bool,
) -> Result<(), AppError> {
    let id = check_id(id_number)?;
    let mut tx = store.begin()?;
    crate::ledger::centre(tx.as_mut(), centre)?;
    tx.set_notification_pref(
        centre,
        &NotificationPrefRow {
            id_number: id.to_owned(),
            kind: kind.code().to_owned(),
            enabled,
        },
    )?;
    tx.commit()?;
    tracing::info!(id = %mask(id), kind = kind.code(), enabled, "notification preference set");
    Ok(())
}

/// A member's choices, one per kind in [`NotificationKind::ALL`] order; a kind never set
/// is on.
pub fn preferences(
    store: &dyn Store,
    centre: &str,
    id_number: &str,
) -> Result<Vec<(NotificationKind, bool)>, AppError> {
    let id = check_id(id_number)?;
    let mut tx = store.begin_read()?;
    preferences_in(tx.as_mut(), centre, id)
}

fn preferences_in(
    tx: &mut dyn StoreTx,
    centre: &str,
    id_number: &str,
) -> Result<Vec<(NotificationKind, bool)>, AppError> {
    let rows = tx.notification_prefs(centre, id_number)?;
    let mut out: Vec<(NotificationKind, bool)> =
        NotificationKind::ALL.iter().map(|k| (*k, true)).collect();
    for r in rows {
        let k = kind_of(&r.kind)?;
        for (kind, on) in &mut out {
            if *kind == k {
                *on = r.enabled;
            }
        }
    }
    Ok(out)
}

/// Whether the member wants `kind` (on unless turned off).
pub fn wants(
    tx: &mut dyn StoreTx,
    centre: &str,
    id_number: &str,
    kind: NotificationKind,
) -> Result<bool, AppError> {
    Ok(preferences_in(tx, centre, id_number)?
        .into_iter()
        .find(|(k, _)| *k == kind)
        .is_none_or(|(_, on)| on))
}

// ---- queueing ---------------------------------------------------------------------------

/// The signature that opens every text (`【衢州公积金】`), from the centre's name:
/// `衢州市住房公积金管理中心` → `衢州公积金`.
pub fn signature(centre_name: &str) -> String {
    let mut short = centre_name.trim();
    for suffix in [
        "住房公积金管理中心",
        "住房公积金中心",
        "公积金管理中心",
        "公积金中心",
    ] {
        if let Some(s) = short.strip_suffix(suffix) {
            short = s;
            break;
        }
    }
    let short = short.strip_suffix('市').unwrap_or(short);
    if short.is_empty() {
        "【住房公积金】".to_owned()
    } else {
        format!("【{short}公积金】")
    }
}

fn signature_of(tx: &mut dyn StoreTx, centre: &str) -> Result<String, AppError> {
    Ok(signature(&crate::ledger::centre(tx, centre)?.name))
}

/// Queues a notification to a member, if they want that kind: the id of the pending
/// notification, or `None` when the member turned the kind off (nothing is recorded).
/// Runs in the caller's transaction, so it commits or rolls back with what it reports.
pub fn queue(
    tx: &mut dyn StoreTx,
    centre: &str,
    id_number: &str,
    kind: NotificationKind,
    body: &str,
    now: Timestamp,
) -> Result<Option<i64>, AppError> {
    let id = check_id(id_number)?;
    if body.trim().is_empty() || body.chars().count() > crate::identity::ports::MAX_SMS_CHARS {
        return Err(AppError::Invalid {
            field: "body",
            value: body.chars().take(40).collect(),
            rule: format!(
                "1-{} characters (one text message)",
                crate::identity::ports::MAX_SMS_CHARS
            ),
        });
    }
    if !wants(tx, centre, id, kind)? {
        return Ok(None);
    }
    let n = tx.insert_notification(
        centre,
        &NotificationRow {
            id: 0,
            id_number: id.to_owned(),
            kind: kind.code().to_owned(),
            body: body.to_owned(),
            created_at_us: now.as_microsecond(),
            status: "pending".to_owned(),
            sent_at_us: None,
            error: None,
        },
    )?;
    Ok(Some(n))
}

/// Beijing time (UTC+8, no daylight saving) as `2026-11-28 16:05`.
fn beijing(now: Timestamp) -> String {
    jiff::tz::offset(8)
        .to_datetime(now)
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

/// Queues the notice of a sign-in from a new device (the login code calls it when
/// `remember_device` says the device is new), in the login's transaction:
/// `【衢州公积金】您于2026-11-28 16:05通过浙里办在新设备（iPhone 15）上登录住房公积金服务。如非本人操作，请立即致电12329。`
/// `None` when the member turned these off.
pub fn notify_new_device(
    tx: &mut dyn StoreTx,
    centre: &str,
    id_number: &str,
    device: &str,
    channel: Channel,
    now: Timestamp,
) -> Result<Option<i64>, AppError> {
    let device: String = device
        .chars()
        .filter(|c| !c.is_control())
        .take(40)
        .collect();
    let device = if device.trim().is_empty() {
        "未知设备".to_owned()
    } else {
        device.trim().to_owned()
    };
    let body = format!(
        "{}您于{}通过{}在新设备（{device}）上登录住房公积金服务。如非本人操作，请立即致电12329。",
        signature_of(tx, centre)?,
        beijing(now),
        channel.label_zh(),
    );
    queue(
        tx,
        centre,
        id_number,
        NotificationKind::NewDeviceLogin,
        &body,
        now,
    )
}

/// Which kind of application a status change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Application {
    /// A withdrawal (提取).
    Withdrawal,
    /// A loan (贷款), from application to payoff.
    Loan,
}

/// Queues the notice that an application entered a status, in the transaction that
/// changed it: `【衢州公积金】您的公积金提取申请（编号W-1）状态更新为：已到账。`
/// `None` when the member turned these off.
pub fn notify_application_status(
    tx: &mut dyn StoreTx,
    centre: &str,
    id_number: &str,
    application: Application,
    number: &str,
    status_zh: &str,
    now: Timestamp,
) -> Result<Option<i64>, AppError> {
    let what = match application {
        Application::Withdrawal => "公积金提取申请",
        Application::Loan => "公积金贷款",
    };
    let body = format!(
        "{}您的{what}（编号{number}）状态更新为：{status_zh}。",
        signature_of(tx, centre)?
    );
    queue(
        tx,
        centre,
        id_number,
        NotificationKind::ApplicationStatus,
        &body,
        now,
    )
}

// ---- scanning the journal ---------------------------------------------------------------

/// What one [`scan`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScanReport {
    /// The cursor before (the last journal seq told before this scan).
    pub from_seq: i64,
    /// The cursor after.
    pub to_seq: i64,
    /// Entries read.
    pub entries: usize,
    /// Legs on member accounts that moved money.
    pub changes: usize,
    /// Notifications queued.
    pub queued: usize,
    /// Changes not queued because the member turned balance changes off.
    pub turned_off: usize,
    /// Whether the cursor reached the end of the journal.
    pub caught_up: bool,
}

/// How a member account's balance changed, and what it was after.
struct Change {
    account_no: String,
    code_zh: &'static str,
    delta: i64,
    date: jiff::civil::Date,
    balance_after: Option<i64>,
}

/// The text of a balance change:
/// `【衢州公积金】您的公积金账户（尾号0001）于2026-11-20汇缴入账1,234.00元，余额56,789.00元。`
fn balance_text(sig: &str, c: &Change) -> String {
    let tail: String = {
        let chars: Vec<char> = c.account_no.chars().collect();
        chars[chars.len().saturating_sub(4)..].iter().collect()
    };
    let dir = if c.delta >= 0 { "入账" } else { "支出" };
    let mut text = format!(
        "{sig}您的公积金账户（尾号{tail}）于{}{}{dir}{}元",
        c.date,
        c.code_zh,
        Fen::new(c.delta.abs()).grouped()
    );
    if let Some(b) = c.balance_after {
        text.push_str(&format!("，余额{}元", Fen::new(b).grouped()));
    }
    text.push('。');
    text
}

/// Turns the journal entries after the centre's cursor into balance-change
/// notifications and moves the cursor past them, all in one transaction under the
/// centre lock (so each entry is told exactly once). A batch is whole entries: at most
/// `limit` of them and at most `limit` changes, but always at least one entry (the
/// year-end interest has a leg per member). The balance after each change is given when
/// the batch reaches the end of the journal (it is worked back from the account's
/// balance); a batch that stops short (a backlog) leaves it out of its texts. Call it
/// again until [`ScanReport::caught_up`] ([`run`] does).
pub fn scan(
    store: &dyn Store,
    centre: &str,
    now: Timestamp,
    limit: usize,
) -> Result<ScanReport, AppError> {
    let limit = limit.clamp(1, 100_000);
    let mut tx = store.begin()?;
    let row = crate::ledger::lock_centre(tx.as_mut(), centre)?;
    let head = row.head.seq;
    let sig = signature(&row.name);
    let from = tx.notify_cursor(centre)?;
    let mut report = ScanReport {
        from_seq: from,
        to_seq: from,
        ..ScanReport::default()
    };
    if from >= head {
        report.caught_up = true;
        return Ok(report);
    }
    let entries = tx.scan_entries(centre, from, limit)?;
    if entries.is_empty() {
        report.caught_up = true;
        return Ok(report);
    }
    // Whole entries, up to `limit` changes (but at least one entry, however many members
    // it pays: the year-end interest has a leg per member).
    let mut changes: Vec<Change> = Vec::new();
    let mut accounts: Vec<anju_domain::ledger::AccountNo> = Vec::new();
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut last = from;
    for e in &entries {
        let mut of_entry = Vec::new();
        if matches!(
            e.entry.kind,
            EntryKind::Posted | EntryKind::PostPending | EntryKind::Reversal
        ) {
            let code_zh = if e.entry.kind == EntryKind::Reversal {
                "冲正"
            } else {
                e.entry.code.label_zh()
            };
            for leg in &e.entry.legs {
                if leg.account.code() != "201" {
                    continue;
                }
                let Some(account_no) = leg.account.sub_key() else {
                    continue;
                };
                let delta = leg.signed_delta();
                if delta == 0 {
                    continue;
                }
                of_entry.push((
                    leg,
                    Change {
                        account_no: account_no.to_owned(),
                        code_zh,
                        delta,
                        date: e.entry.business_date,
                        balance_after: None,
                    },
                ));
            }
        }
        if report.entries > 0 && !changes.is_empty() && changes.len() + of_entry.len() > limit {
            break;
        }
        for (leg, c) in of_entry {
            if seen.insert(leg.account.as_str()) {
                accounts.push(leg.account.clone());
            }
            changes.push(c);
        }
        report.entries += 1;
        last = e.seq;
    }
    report.to_seq = last;
    report.caught_up = last >= head;
    report.changes = changes.len();
    if report.caught_up && !changes.is_empty() {
        // Nothing was posted after the batch (the centre is locked): each balance after
        // is the balance now less the later changes of the batch.
        let mut balance: HashMap<String, i64> = tx
            .load_accounts(centre, &accounts)?
            .into_iter()
            .filter_map(|a| a.no.sub_key().map(|k| (k.to_owned(), a.balance.fen())))
            .collect();
        for c in changes.iter_mut().rev() {
            if let Some(b) = balance.get_mut(&c.account_no) {
                c.balance_after = Some(*b);
                *b -= c.delta;
            }
        }
    }
    let mut person: HashMap<String, Option<String>> = HashMap::new();
    let mut wanted: HashMap<String, bool> = HashMap::new();
    for c in &changes {
        let id = match person.get(&c.account_no) {
            Some(id) => id.clone(),
            None => {
                let id = tx.member(centre, &c.account_no)?.map(|m| m.id_number);
                person.insert(c.account_no.clone(), id.clone());
                id
            }
        };
        let Some(id) = id else {
            tracing::warn!(
                account = %mask(&c.account_no),
                "a member account in the journal has no member row: no notification"
            );
            continue;
        };
        let on = match wanted.get(&id) {
            Some(on) => *on,
            None => {
                let on = wants(tx.as_mut(), centre, &id, NotificationKind::BalanceChange)?;
                wanted.insert(id.clone(), on);
                on
            }
        };
        if !on {
            report.turned_off += 1;
            continue;
        }
        queue(
            tx.as_mut(),
            centre,
            &id,
            NotificationKind::BalanceChange,
            &balance_text(&sig, c),
            now,
        )?;
        report.queued += 1;
    }
    tx.set_notify_cursor(centre, last)?;
    tx.commit()?;
    if report.queued > 0 {
        tracing::info!(
            from = from,
            to = last,
            queued = report.queued,
            "balance-change notifications queued"
        );
    }
    Ok(report)
}

/// Moves the cursor to the end of the journal without telling anyone: for a centre that
/// starts notifying with a journal already full of history. The new cursor.
pub fn skip_to_end(store: &dyn Store, centre: &str) -> Result<i64, AppError> {
    let mut tx = store.begin()?;
    let head = crate::ledger::lock_centre(tx.as_mut(), centre)?.head.seq;
    tx.set_notify_cursor(centre, head)?;
    tx.commit()?;
    Ok(head)
}

// ---- sending ----------------------------------------------------------------------------

/// What one [`dispatch`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DispatchReport {
    /// Sent.
    pub sent: usize,
    /// Not sent because the member has no bound phone.
    pub skipped: usize,
    /// Given up (a number or text the gateway refused, or a gateway failure older than
    /// [`GIVE_UP_AFTER`]).
    pub failed: usize,
    /// Left pending for the next run (the gateway failed).
    pub deferred: usize,
    /// The gateway's error that ended the run early, if any.
    pub gateway_error: Option<String>,
}

fn finish(
    store: &dyn Store,
    centre: &str,
    n: &NotificationRow,
    status: &str,
    now: Timestamp,
    error: Option<&str>,
) -> Result<(), AppError> {
    let mut tx = store.begin()?;
    tx.finish_notification(centre, n.id, status, now.as_microsecond(), error)?;
    tx.commit()?;
    Ok(())
}

/// Sends up to `limit` pending notifications, oldest first, each to the member's bound
/// phone, and records how each ended (see the module's notes for the retry policy).
pub fn dispatch(
    store: &dyn Store,
    centre: &str,
    sms: &dyn SmsGateway,
    now: Timestamp,
    limit: usize,
) -> Result<DispatchReport, AppError> {
    let pending = {
        let mut tx = store.begin_read()?;
        crate::ledger::centre(tx.as_mut(), centre)?;
        tx.pending_notifications(centre, limit.clamp(1, 100_000))?
    };
    let mut report = DispatchReport::default();
    let mut phones: HashMap<String, Option<String>> = HashMap::new();
    for (i, n) in pending.iter().enumerate() {
        let phone = match phones.get(&n.id_number) {
            Some(p) => p.clone(),
            None => {
                let mut tx = store.begin_read()?;
                let p = tx.phone_of_person(centre, &n.id_number)?.map(|b| b.phone);
                phones.insert(n.id_number.clone(), p.clone());
                p
            }
        };
        let Some(phone) = phone else {
            finish(store, centre, n, "skipped", now, Some("no bound phone"))?;
            report.skipped += 1;
            continue;
        };
        match sms.send(&phone, &n.body) {
            Ok(()) => {
                finish(store, centre, n, "sent", now, None)?;
                report.sent += 1;
            }
            Err(e @ (SmsError::InvalidPhone(_) | SmsError::InvalidText(_))) => {
                tracing::warn!(
                    id = %mask(&n.id_number),
                    phone = %mask_phone(&phone),
                    notification = n.id,
                    error = %e,
                    "notification refused by the gateway"
                );
                finish(store, centre, n, "failed", now, Some(&e.to_string()))?;
                report.failed += 1;
            }
            Err(e) => {
                let age = now.as_microsecond() - n.created_at_us;
                if age >= GIVE_UP_AFTER.as_micros() as i64 {
                    tracing::warn!(
                        id = %mask(&n.id_number),
                        phone = %mask_phone(&phone),
                        notification = n.id,
                        error = %e,
                        "notification given up after the gateway kept failing"
                    );
                    finish(store, centre, n, "failed", now, Some(&e.to_string()))?;
                    report.failed += 1;
                    continue;
                }
                tracing::warn!(
                    notification = n.id,
                    error = %e,
                    "SMS gateway failed: the rest waits for the next run"
                );
                report.deferred += pending.len() - i;
                report.gateway_error = Some(e.to_string());
                break;
            }
        }
    }
    Ok(report)
}

/// [`scan`] until caught up, then [`dispatch`] until nothing is pending or the gateway
/// fails (each in batches of `limit`).
pub fn run(
    store: &dyn Store,
    centre: &str,
    sms: &dyn SmsGateway,
    now: Timestamp,
    limit: usize,
) -> Result<(ScanReport, DispatchReport), AppError> {
    let mut scanned = ScanReport::default();
    let mut first = true;
    loop {
        let r = scan(store, centre, now, limit)?;
        if first {
            scanned.from_seq = r.from_seq;
            first = false;
        }
        scanned.to_seq = r.to_seq;
        scanned.entries += r.entries;
        scanned.changes += r.changes;
        scanned.queued += r.queued;
        scanned.turned_off += r.turned_off;
        scanned.caught_up = r.caught_up;
        if r.caught_up || r.entries == 0 {
            break;
        }
    }
    let mut sent = DispatchReport::default();
    loop {
        let r = dispatch(store, centre, sms, now, limit)?;
        let done = r.sent + r.skipped + r.failed;
        sent.sent += r.sent;
        sent.skipped += r.skipped;
        sent.failed += r.failed;
        sent.deferred = r.deferred;
        if r.gateway_error.is_some() {
            sent.gateway_error = r.gateway_error;
            break;
        }
        if done < limit.max(1) {
            break;
        }
    }
    Ok((scanned, sent))
}

// ---- the member's list ------------------------------------------------------------------

/// A notification as a member sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Its number.
    pub id: i64,
    /// What it is about.
    pub kind: NotificationKind,
    /// The text.
    pub body: String,
    /// When made.
    pub created_at: Timestamp,
    /// `pending`, `sent`, `failed` or `skipped`.
    pub status: String,
    /// When sent.
    pub sent_at: Option<Timestamp>,
    /// Why it failed or was skipped.
    pub error: Option<String>,
}

fn ts(us: i64) -> Result<Timestamp, AppError> {
    Timestamp::from_microsecond(us).map_err(|e| {
        AppError::Store(anju_store::StoreError::Corrupt {
            what: format!("notification time {us}: {e}"),
        })
    })
}

/// A member's notifications, newest first, at most `limit`.
pub fn of_member(
    store: &dyn Store,
    centre: &str,
    id_number: &str,
    limit: usize,
) -> Result<Vec<Notification>, AppError> {
    let id = check_id(id_number)?;
    let mut tx = store.begin_read()?;
    tx.notifications_of(centre, id, limit.clamp(1, 10_000))?
        .into_iter()
        .map(|r| {
            Ok(Notification {
                id: r.id,
                kind: kind_of(&r.kind)?,
                body: r.body,
                created_at: ts(r.created_at_us)?,
                status: r.status,
                sent_at: r.sent_at_us.map(ts).transpose()?,
                error: r.error,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn kinds_have_codes() {
        for k in NotificationKind::ALL {
            assert_eq!(NotificationKind::from_code(k.code()), Some(k));
        }
        assert_eq!(
            NotificationKind::from_code("Balance-Change"),
            Some(NotificationKind::BalanceChange)
        );
        assert_eq!(NotificationKind::from_code("email"), None);
        assert_eq!(
            NotificationKind::ALL.map(NotificationKind::code),
            anju_store::access::NOTIFICATION_KINDS
        );
    }

    #[test]
    fn signatures_come_from_the_centre_name() {
        assert_eq!(signature("衢州市住房公积金管理中心"), "【衢州公积金】");
        assert_eq!(signature("杭州住房公积金中心"), "【杭州公积金】");
        assert_eq!(signature(""), "【住房公积金】");
    }

    #[test]
    fn balance_texts_say_what_moved() {
        let c = Change {
            account_no: "330800000123".into(),
            code_zh: "汇缴",
            delta: 123_400,
            date: "2026-11-20".parse().unwrap(),
            balance_after: Some(5_678_900),
        };
        assert_eq!(
            balance_text("【衢州公积金】", &c),
            "【衢州公积金】您的公积金账户（尾号0123）于2026-11-20汇缴入账1,234.00元，余额56,789.00元。"
        );
        let c = Change {
            delta: -50_000,
            code_zh: "提取",
            balance_after: None,
            ..c
        };
        assert_eq!(
            balance_text("【衢州公积金】", &c),
            "【衢州公积金】您的公积金账户（尾号0123）于2026-11-20提取支出500.00元。"
        );
    }

    #[test]
    fn beijing_time_is_utc_plus_eight() {
        assert_eq!(
            beijing("2026-11-28T08:05:00Z".parse().unwrap()),
            "2026-11-28 16:05"
        );
    }
}
