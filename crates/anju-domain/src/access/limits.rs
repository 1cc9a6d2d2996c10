//! Channel limits (渠道限额): how much may leave members' accounts through one channel,
//! per transaction and per day. They apply to payouts a member or a clerk starts —
//! withdrawals paid out and loan prepayments from the fund ([`Business::pays_out`]) — not
//! to system batches, whose amounts the loan and settlement rules fix.
//!
//! A channel with no row in the policy's `[[channel_limits]]` pays out nothing.
//!
//! [`Business::pays_out`]: super::Business::pays_out

use crate::codes::Channel;
use crate::money::Fen;

/// One `[[channel_limits]]` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChannelLimit {
    /// The channel.
    pub channel: Channel,
    /// Most one transaction may pay out.
    pub per_transaction: Fen,
    /// Most one member may be paid through the channel in a day.
    pub per_day: Fen,
}

impl ChannelLimit {
    /// A row; the parser checks both amounts are positive and the daily one is at least
    /// the per-transaction one.
    pub const fn new(channel: Channel, per_transaction: Fen, per_day: Fen) -> ChannelLimit {
        ChannelLimit {
            channel,
            per_transaction,
            per_day,
        }
    }
}

/// Why a payout exceeds the channel's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitExceeded {
    /// The channel has no limits row: it may not pay out.
    #[error("{} ({}) may not pay out money from a member's account", .channel.label_en(), .channel.label_zh())]
    ChannelClosed {
        /// The channel.
        channel: Channel,
    },
    /// The amount is zero or negative, or the day's total is negative.
    #[error("the amount {amount} (already today {already_today}) is not a payout")]
    NotAPayout {
        /// The amount.
        amount: Fen,
        /// Paid already today.
        already_today: Fen,
    },
    /// Above the per-transaction limit.
    #[error("{amount} yuan is above the {} per-transaction limit of {limit} yuan", .channel.label_en())]
    PerTransaction {
        /// The channel.
        channel: Channel,
        /// The amount.
        amount: Fen,
        /// The limit.
        limit: Fen,
    },
    /// The day's total would pass the per-day limit.
    #[error(
        "{amount} yuan after {already_today} yuan today passes the {} daily limit of {limit} yuan; at most {remaining} yuan more today",
        .channel.label_en()
    )]
    PerDay {
        /// The channel.
        channel: Channel,
        /// The amount.
        amount: Fen,
        /// Paid already today through the channel.
        already_today: Fen,
        /// The limit.
        limit: Fen,
        /// What may still be paid today.
        remaining: Fen,
    },
}

/// Checks a payout of `amount` through `channel` after `already_today` has been paid out
/// to the same member through it today.
pub fn check_channel_limit(
    channel: Channel,
    amount: Fen,
    already_today: Fen,
    limits: &[ChannelLimit],
) -> Result<(), LimitExceeded> {
    if !amount.is_positive() || already_today.is_negative() {
        return Err(LimitExceeded::NotAPayout {
            amount,
            already_today,
        });
    }
    let Some(limit) = limits.iter().find(|l| l.channel == channel) else {
        return Err(LimitExceeded::ChannelClosed { channel });
    };
    if amount > limit.per_transaction {
        return Err(LimitExceeded::PerTransaction {
            channel,
            amount,
            limit: limit.per_transaction,
        });
    }
    let total = already_today.checked_add(amount).unwrap_or(Fen::MAX);
    if total > limit.per_day {
        let remaining = limit
            .per_day
            .checked_sub(already_today)
            .ok()
            .filter(|r| !r.is_negative())
            .unwrap_or(Fen::ZERO);
        return Err(LimitExceeded::PerDay {
            channel,
            amount,
            already_today,
            limit: limit.per_day,
            remaining,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(yuan: i64) -> Fen {
        Fen::from_yuan(yuan).unwrap()
    }

    fn limits() -> Vec<ChannelLimit> {
        vec![
            ChannelLimit::new(Channel::Counter, y(5_000_000), y(5_000_000)),
            ChannelLimit::new(Channel::MobileApp, y(200_000), y(500_000)),
            ChannelLimit::new(Channel::SelfService, y(50_000), y(50_000)),
        ]
    }

    #[test]
    fn within_limits() {
        let l = limits();
        assert_eq!(
            check_channel_limit(Channel::MobileApp, y(200_000), y(300_000), &l),
            Ok(())
        );
        assert_eq!(
            check_channel_limit(Channel::MobileApp, Fen::new(1), Fen::ZERO, &l),
            Ok(())
        );
        assert_eq!(
            check_channel_limit(Channel::SelfService, y(50_000), Fen::ZERO, &l),
            Ok(())
        );
    }

    #[test]
    fn per_transaction() {
        let e = check_channel_limit(
            Channel::MobileApp,
            Fen::new(20_000_001),
            Fen::ZERO,
            &limits(),
        )
        .unwrap_err();
        assert_eq!(
            e,
            LimitExceeded::PerTransaction {
                channel: Channel::MobileApp,
                amount: Fen::new(20_000_001),
                limit: y(200_000)
            }
        );
        assert!(e.to_string().contains("per-transaction"), "{e}");
    }

    #[test]
    fn per_day() {
        let e =
            check_channel_limit(Channel::MobileApp, y(150_000), y(400_000), &limits()).unwrap_err();
        assert_eq!(
            e,
            LimitExceeded::PerDay {
                channel: Channel::MobileApp,
                amount: y(150_000),
                already_today: y(400_000),
                limit: y(500_000),
                remaining: y(100_000),
            }
        );
        assert!(
            e.to_string().contains("at most 100,000.00 yuan more"),
            "{e}"
        );
        // Already past the limit (a lowered limit): nothing remains.
        let e = check_channel_limit(Channel::SelfService, y(1), y(60_000), &limits()).unwrap_err();
        assert!(matches!(e, LimitExceeded::PerDay { remaining, .. } if remaining == Fen::ZERO));
        // Overflow of the day's total is a refusal, not a wrap.
        let e = check_channel_limit(Channel::Counter, y(1), Fen::MAX, &limits()).unwrap_err();
        assert!(matches!(e, LimitExceeded::PerDay { .. }));
    }

    #[test]
    fn channels_without_a_row_and_non_payouts() {
        assert_eq!(
            check_channel_limit(Channel::Hotline, y(1), Fen::ZERO, &limits()),
            Err(LimitExceeded::ChannelClosed {
                channel: Channel::Hotline
            })
        );
        assert!(matches!(
            check_channel_limit(Channel::Counter, Fen::ZERO, Fen::ZERO, &limits()),
            Err(LimitExceeded::NotAPayout { .. })
        ));
        assert!(matches!(
            check_channel_limit(Channel::Counter, y(-5), Fen::ZERO, &limits()),
            Err(LimitExceeded::NotAPayout { .. })
        ));
        assert!(matches!(
            check_channel_limit(Channel::Counter, y(5), y(-1), &limits()),
            Err(LimitExceeded::NotAPayout { .. })
        ));
    }
}
