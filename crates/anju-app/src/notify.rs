//! Notifications to members (interim: the new-device notice only).

use anju_domain::codes::Channel;
use anju_store::StoreTx;
use anju_store::access::NotificationRow;
use jiff::Timestamp;

use crate::AppError;

/// Queues a "signed in from a new device" notice, unless the member turned it off.
pub fn notify_new_device(
    tx: &mut dyn StoreTx,
    centre: &str,
    id_number: &str,
    device: &str,
    channel: Channel,
    now: Timestamp,
) -> Result<(), AppError> {
    let off = tx
        .notification_prefs(centre, id_number)?
        .iter()
        .any(|p| p.kind == "new_device_login" && !p.enabled);
    if off {
        return Ok(());
    }
    let device: String = device.chars().take(40).collect();
    tx.insert_notification(
        centre,
        &NotificationRow {
            id: 0,
            id_number: id_number.to_owned(),
            kind: "new_device_login".to_owned(),
            body: format!(
                "【住房公积金】您的账户于{}通过{}在新设备（{device}）登录，如非本人操作请致电12329。",
                now.strftime("%Y-%m-%d %H:%M"),
                channel.label_zh()
            ),
            created_at_us: now.as_microsecond(),
            status: "pending".to_owned(),
            sent_at_us: None,
            error: None,
        },
    )?;
    Ok(())
}
