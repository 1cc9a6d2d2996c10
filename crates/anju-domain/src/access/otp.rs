//! SMS one-time codes (短信验证码): when a code may be sent, and whether a code entered is
//! accepted. The code itself is drawn by the caller (this crate has no randomness) and
//! compared here in constant time.

use jiff::{SignedDuration, Timestamp};
use subtle::ConstantTimeEq;

/// The rules for SMS one-time codes (the policy's `otp_*` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtpRules {
    /// How long a code stays valid after sending.
    pub ttl: SignedDuration,
    /// Wrong entries allowed per code; the code is dead after that many.
    pub max_attempts: u32,
    /// Shortest time between two sends to the same number.
    pub resend_interval: SignedDuration,
    /// Most codes sent to one number in a day.
    pub daily_cap: u32,
}

impl OtpRules {
    /// The rules.
    pub const fn new(
        ttl: SignedDuration,
        max_attempts: u32,
        resend_interval: SignedDuration,
        daily_cap: u32,
    ) -> OtpRules {
        OtpRules {
            ttl,
            max_attempts,
            resend_interval,
            daily_cap,
        }
    }
}

/// Why a code may not be sent, or was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OtpError {
    /// A code was sent too recently.
    #[error("a code was sent less than {}s ago; try again at {retry_at}", .interval.as_secs())]
    TooSoon {
        /// The resend interval.
        interval: SignedDuration,
        /// The first instant a new code may be sent.
        retry_at: Timestamp,
    },
    /// The day's cap is reached.
    #[error("{cap} codes have been sent to this number today, the most allowed")]
    DailyCapReached {
        /// The cap.
        cap: u32,
    },
    /// The code has expired.
    #[error("the code has expired; ask for a new one")]
    Expired,
    /// Too many wrong entries.
    #[error("too many wrong entries; ask for a new one")]
    TooManyAttempts,
    /// The code was already used.
    #[error("the code has already been used")]
    Consumed,
    /// Wrong code.
    #[error("wrong code; {remaining} attempt(s) left")]
    Wrong {
        /// Entries left before the code dies.
        remaining: u32,
    },
}

/// Whether a new code may be sent to a number now, given when the last one was sent
/// (if ever) and how many were sent today (the caller counts in the centre's business
/// day).
pub fn may_send(
    rules: &OtpRules,
    last_sent_at: Option<Timestamp>,
    sent_today: u32,
    now: Timestamp,
) -> Result<(), OtpError> {
    if sent_today >= rules.daily_cap {
        return Err(OtpError::DailyCapReached {
            cap: rules.daily_cap,
        });
    }
    if let Some(last) = last_sent_at
        && let Ok(retry_at) = last.checked_add(rules.resend_interval)
        && now < retry_at
    {
        return Err(OtpError::TooSoon {
            interval: rules.resend_interval,
            retry_at,
        });
    }
    Ok(())
}

/// A code as sent, and what has happened to it since: what the store keeps per code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpState {
    /// The code sent (digits).
    pub code: String,
    /// When it was sent.
    pub sent_at: Timestamp,
    /// Wrong entries so far.
    pub attempts: u32,
    /// Whether it was accepted once already.
    pub consumed: bool,
}

impl OtpState {
    /// A freshly sent code.
    pub fn sent(code: impl Into<String>, sent_at: Timestamp) -> OtpState {
        OtpState {
            code: code.into(),
            sent_at,
            attempts: 0,
            consumed: false,
        }
    }
}

/// Checks an entered code and updates the state: a right code is consumed (accepted
/// once only), a wrong one counts an attempt. Refused without counting: a consumed code,
/// a code with no attempts left, an expired code (at `sent_at + ttl` and after).
/// The comparison takes the same time whatever the digits.
pub fn check_code(
    rules: &OtpRules,
    state: &mut OtpState,
    given: &str,
    now: Timestamp,
) -> Result<(), OtpError> {
    if state.consumed {
        return Err(OtpError::Consumed);
    }
    if state.attempts >= rules.max_attempts {
        return Err(OtpError::TooManyAttempts);
    }
    let expired = match state.sent_at.checked_add(rules.ttl) {
        Ok(end) => now >= end || now < state.sent_at,
        Err(_) => false,
    };
    if expired {
        return Err(OtpError::Expired);
    }
    let same: bool = state.code.as_bytes().ct_eq(given.trim().as_bytes()).into();
    if same && !state.code.is_empty() {
        state.consumed = true;
        Ok(())
    } else {
        state.attempts = state.attempts.saturating_add(1);
        let remaining = rules.max_attempts.saturating_sub(state.attempts);
        if remaining == 0 {
            Err(OtpError::TooManyAttempts)
        } else {
            Err(OtpError::Wrong { remaining })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const RULES: OtpRules = OtpRules::new(
        SignedDuration::from_secs(300),
        3,
        SignedDuration::from_secs(60),
        10,
    );

    #[test]
    fn sending_is_throttled() {
        let now = ts("2026-11-27T09:00:00Z");
        assert_eq!(may_send(&RULES, None, 0, now), Ok(()));
        assert_eq!(
            may_send(&RULES, Some(ts("2026-11-27T08:59:00Z")), 1, now),
            Ok(())
        );
        let err = may_send(&RULES, Some(ts("2026-11-27T08:59:30Z")), 1, now).unwrap_err();
        assert_eq!(
            err,
            OtpError::TooSoon {
                interval: SignedDuration::from_secs(60),
                retry_at: ts("2026-11-27T09:00:30Z")
            }
        );
        assert!(err.to_string().contains("60s"), "{err}");
        assert_eq!(
            may_send(&RULES, None, 10, now),
            Err(OtpError::DailyCapReached { cap: 10 })
        );
        assert_eq!(may_send(&RULES, None, 9, now), Ok(()));
    }

    #[test]
    fn a_right_code_is_accepted_once() {
        let sent = ts("2026-11-27T09:00:00Z");
        let mut s = OtpState::sent("482913", sent);
        assert_eq!(
            check_code(&RULES, &mut s, "482913", ts("2026-11-27T09:04:59Z")),
            Ok(())
        );
        assert!(s.consumed);
        assert_eq!(
            check_code(&RULES, &mut s, "482913", ts("2026-11-27T09:05:00Z")),
            Err(OtpError::Consumed)
        );
    }

    #[test]
    fn wrong_expired_and_too_many() {
        let sent = ts("2026-11-27T09:00:00Z");
        let at = ts("2026-11-27T09:01:00Z");
        let mut s = OtpState::sent("482913", sent);
        assert_eq!(
            check_code(&RULES, &mut s, "482914", at),
            Err(OtpError::Wrong { remaining: 2 })
        );
        assert_eq!(
            check_code(&RULES, &mut s, "48291", at),
            Err(OtpError::Wrong { remaining: 1 })
        );
        assert_eq!(
            check_code(&RULES, &mut s, "000000", at),
            Err(OtpError::TooManyAttempts)
        );
        assert_eq!(s.attempts, 3);
        // Dead now, even with the right code, and no more counting.
        assert_eq!(
            check_code(&RULES, &mut s, "482913", at),
            Err(OtpError::TooManyAttempts)
        );
        assert_eq!(s.attempts, 3);
        assert!(!s.consumed);

        let mut s = OtpState::sent("482913", sent);
        assert_eq!(
            check_code(&RULES, &mut s, "482913", ts("2026-11-27T09:05:00Z")),
            Err(OtpError::Expired)
        );
        // A clock before sending is not trusted either.
        assert_eq!(
            check_code(&RULES, &mut s, "482913", ts("2026-11-27T08:59:59Z")),
            Err(OtpError::Expired)
        );
        assert_eq!(s.attempts, 0);
        // Surrounding spaces from a paste are ignored; an empty stored code never matches.
        assert_eq!(check_code(&RULES, &mut s, " 482913 ", at), Ok(()));
        let mut empty = OtpState::sent("", sent);
        assert!(check_code(&RULES, &mut empty, "", at).is_err());
    }
}
