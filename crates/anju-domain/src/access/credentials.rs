//! Passwords, lockout, sessions and the login rate limit, as pure checks on values the
//! policy file's `[access]` section sets ([`AccessRules`]).
//!
//! Passwords apply to staff and unit clerks; members sign in through the government
//! identity platforms (浙里办, the national mini-program) or an SMS code
//! ([`super::otp`]). The checks follow the usual 等保 2.0 (GB/T 22239-2019) expectations:
//! complexity, periodic change, lockout after repeated failures, session timeouts.

use jiff::{SignedDuration, Timestamp};

use super::otp::OtpRules;

/// Password rules (口令策略).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PasswordPolicy {
    /// Fewest characters.
    pub min_length: u32,
    /// Fewest character classes out of four: upper-case, lower-case, digit, symbol.
    pub min_classes: u32,
    /// Days after which a password must be changed.
    pub rotation_days: u32,
}

impl PasswordPolicy {
    /// A policy; the parser bounds the values (length 8–64, classes 1–4, rotation
    /// 1–365 days).
    pub const fn new(min_length: u32, min_classes: u32, rotation_days: u32) -> PasswordPolicy {
        PasswordPolicy {
            min_length,
            min_classes,
            rotation_days,
        }
    }
}

/// Why a new password is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// Too short.
    #[error("the password has {got} characters; at least {min} are required")]
    TooShort {
        /// Required.
        min: u32,
        /// Given.
        got: usize,
    },
    /// Too few character classes.
    #[error(
        "the password mixes {got} kinds of character; at least {min} of upper-case, \
         lower-case, digit and symbol are required"
    )]
    TooFewClasses {
        /// Required.
        min: u32,
        /// Given.
        got: u32,
    },
    /// Contains the user id.
    #[error("the password must not contain the user id")]
    ContainsUserId,
    /// Contains a control character or whitespace.
    #[error("the password must not contain spaces or control characters")]
    BadCharacter,
}

/// Checks a new password against the policy: length, character classes (upper-case,
/// lower-case and digit are ASCII; any other printable character is a symbol) and that
/// it does not contain the user id (compared without case; ids shorter than 3 characters
/// are not looked for).
pub fn check_password(
    password: &str,
    user_id: &str,
    policy: &PasswordPolicy,
) -> Result<(), PasswordError> {
    if password
        .chars()
        .any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(PasswordError::BadCharacter);
    }
    let got = password.chars().count();
    if got < policy.min_length as usize {
        return Err(PasswordError::TooShort {
            min: policy.min_length,
            got,
        });
    }
    let has = |f: fn(&char) -> bool| u32::from(password.chars().any(|c| f(&c)));
    let classes = has(char::is_ascii_uppercase)
        + has(char::is_ascii_lowercase)
        + has(char::is_ascii_digit)
        + has(|c| !c.is_ascii_alphanumeric());
    if classes < policy.min_classes {
        return Err(PasswordError::TooFewClasses {
            min: policy.min_classes,
            got: classes,
        });
    }
    let id = user_id.trim().to_lowercase();
    if id.chars().count() >= 3 && password.to_lowercase().contains(&id) {
        return Err(PasswordError::ContainsUserId);
    }
    Ok(())
}

/// Whether a password last changed at `changed_at` must be changed at `now`: once
/// `rotation_days` whole days have passed.
pub fn must_rotate(changed_at: Timestamp, now: Timestamp, policy: &PasswordPolicy) -> bool {
    let age = SignedDuration::from_hours(i64::from(policy.rotation_days) * 24);
    match changed_at.checked_add(age) {
        Ok(due) => now >= due,
        Err(_) => false,
    }
}

/// Lockout after repeated failed sign-ins (登录失败处理).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockoutPolicy {
    /// Consecutive failures that lock the account.
    pub threshold: u32,
    /// How long the lock lasts.
    pub lock_for: SignedDuration,
}

impl LockoutPolicy {
    /// A policy.
    pub const fn new(threshold: u32, lock_for: SignedDuration) -> LockoutPolicy {
        LockoutPolicy {
            threshold,
            lock_for,
        }
    }
}

/// An account's failure counter and lock, as the store keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LockState {
    /// Consecutive failures since the last success or the last lock.
    pub attempts: u32,
    /// Locked until this instant (exclusive), if locked.
    pub locked_until: Option<Timestamp>,
}

/// The state after a failed sign-in, given the consecutive failures before it. Reaching
/// the threshold locks the account until `now + lock_for` and restarts the count, so
/// after the lock the person again has `threshold` tries.
pub fn after_failure(failed_attempts: u32, now: Timestamp, policy: &LockoutPolicy) -> LockState {
    let attempts = failed_attempts.saturating_add(1);
    if attempts >= policy.threshold {
        LockState {
            attempts: 0,
            locked_until: Some(now.checked_add(policy.lock_for).unwrap_or(Timestamp::MAX)),
        }
    } else {
        LockState {
            attempts,
            locked_until: None,
        }
    }
}

/// The state after a successful sign-in.
pub const fn after_success() -> LockState {
    LockState {
        attempts: 0,
        locked_until: None,
    }
}

/// Whether an account locked until `locked_until` is still locked at `now`. A sign-in
/// attempt on a locked account is refused without checking the password and without
/// counting.
pub fn is_locked(locked_until: Option<Timestamp>, now: Timestamp) -> bool {
    locked_until.is_some_and(|until| now < until)
}

/// Session timeouts (会话超时).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionPolicy {
    /// A session unused this long ends.
    pub idle: SignedDuration,
    /// A session this old ends, however active.
    pub absolute: SignedDuration,
}

impl SessionPolicy {
    /// A policy.
    pub const fn new(idle: SignedDuration, absolute: SignedDuration) -> SessionPolicy {
        SessionPolicy { idle, absolute }
    }
}

/// Why a session is no longer valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionEnd {
    /// Unused for the idle timeout.
    #[error("the session ended after {0} minutes without activity")]
    Idle(i64),
    /// Older than the absolute lifetime.
    #[error("the session ended after its lifetime of {0} minutes")]
    Lifetime(i64),
    /// The times are inconsistent (last seen before creation, or `now` before either):
    /// refused rather than trusted.
    #[error("the session's times are inconsistent")]
    Inconsistent,
}

/// Whether a session created at `created` and last used at `last_seen` is still valid at
/// `now`. Valid means strictly less than the idle timeout since `last_seen` and strictly
/// less than the lifetime since `created`.
pub fn session_valid(
    created: Timestamp,
    last_seen: Timestamp,
    now: Timestamp,
    policy: &SessionPolicy,
) -> Result<(), SessionEnd> {
    if last_seen < created || now < last_seen {
        return Err(SessionEnd::Inconsistent);
    }
    if now.duration_since(created) >= policy.absolute {
        return Err(SessionEnd::Lifetime(policy.absolute.as_mins()));
    }
    if now.duration_since(last_seen) >= policy.idle {
        return Err(SessionEnd::Idle(policy.idle.as_mins()));
    }
    Ok(())
}

/// The login rate limit: whether another sign-in attempt is allowed for a key (a user id
/// or a client address) that has made `attempts_this_minute` attempts in the current
/// clock minute. The caller counts per key and per minute (see [`minute_of`]).
pub const fn login_rate_allows(attempts_this_minute: u32, per_minute: u32) -> bool {
    attempts_this_minute < per_minute
}

/// The minute window a timestamp falls in (seconds since the epoch, floored to the
/// minute): the key of the login rate counter.
pub fn minute_of(now: Timestamp) -> i64 {
    now.as_second().div_euclid(60) * 60
}

/// Every value of the policy's `[access]` section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessRules {
    /// Password rules.
    pub password: PasswordPolicy,
    /// Lockout after failed sign-ins.
    pub lockout: LockoutPolicy,
    /// Session timeouts.
    pub session: SessionPolicy,
    /// SMS one-time codes.
    pub otp: OtpRules,
    /// Sign-in attempts allowed per minute per key.
    pub login_attempts_per_minute: u32,
}

impl AccessRules {
    /// The rules.
    pub const fn new(
        password: PasswordPolicy,
        lockout: LockoutPolicy,
        session: SessionPolicy,
        otp: OtpRules,
        login_attempts_per_minute: u32,
    ) -> AccessRules {
        AccessRules {
            password,
            lockout,
            session,
            otp,
            login_attempts_per_minute,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const P: PasswordPolicy = PasswordPolicy::new(12, 3, 90);

    #[test]
    fn password_rules() {
        assert_eq!(check_password("Quzhou#2026ab", "zhangsan", &P), Ok(()));
        // Three classes without symbols is enough.
        assert_eq!(check_password("Quzhou2026abc", "zhangsan", &P), Ok(()));
        assert_eq!(
            check_password("Qz#2026", "zhangsan", &P),
            Err(PasswordError::TooShort { min: 12, got: 7 })
        );
        // Length counts characters, not bytes.
        assert_eq!(
            check_password("衢州公积金Ab1", "x", &P),
            Err(PasswordError::TooShort { min: 12, got: 8 })
        );
        assert_eq!(
            check_password("quzhou2026abc", "zhangsan", &P),
            Err(PasswordError::TooFewClasses { min: 3, got: 2 })
        );
        assert_eq!(
            check_password("QUZHOUQUZHOUQ", "zhangsan", &P),
            Err(PasswordError::TooFewClasses { min: 3, got: 1 })
        );
        // A non-ASCII character counts as a symbol.
        assert_eq!(check_password("quzhou2026衢州", "zhangsan", &P), Ok(()));
        assert_eq!(
            check_password("xxZhangSan#2026", "zhangsan", &P),
            Err(PasswordError::ContainsUserId)
        );
        // Ids shorter than 3 characters are not looked for.
        assert_eq!(check_password("Quzhou#2026ab", "ab", &P), Ok(()));
        assert_eq!(
            check_password("Quzhou #2026ab", "zhangsan", &P),
            Err(PasswordError::BadCharacter)
        );
        assert_eq!(
            check_password("Quzhou\t2026ab", "zhangsan", &P),
            Err(PasswordError::BadCharacter)
        );
        let four = PasswordPolicy::new(8, 4, 90);
        assert!(check_password("Quzhou2026", "u", &four).is_err());
        assert!(check_password("Quzhou-2026", "u", &four).is_ok());
        let msg = check_password("short", "u", &P).unwrap_err().to_string();
        assert!(msg.contains("at least 12"), "{msg}");
    }

    #[test]
    fn rotation() {
        let changed = ts("2026-01-01T08:00:00Z");
        assert!(!must_rotate(changed, ts("2026-04-01T07:59:59Z"), &P));
        assert!(must_rotate(changed, ts("2026-04-01T08:00:00Z"), &P));
        assert!(must_rotate(changed, ts("2027-01-01T00:00:00Z"), &P));
        assert!(!must_rotate(changed, changed, &P));
    }

    #[test]
    fn lockout() {
        let policy = LockoutPolicy::new(5, SignedDuration::from_mins(30));
        let now = ts("2026-11-27T09:00:00Z");
        let mut state = after_success();
        for n in 1..5 {
            state = after_failure(state.attempts, now, &policy);
            assert_eq!(
                state,
                LockState {
                    attempts: n,
                    locked_until: None
                }
            );
            assert!(!is_locked(state.locked_until, now));
        }
        state = after_failure(state.attempts, now, &policy);
        let until = ts("2026-11-27T09:30:00Z");
        assert_eq!(
            state,
            LockState {
                attempts: 0,
                locked_until: Some(until)
            }
        );
        assert!(is_locked(state.locked_until, now));
        assert!(is_locked(state.locked_until, ts("2026-11-27T09:29:59Z")));
        assert!(!is_locked(state.locked_until, until));
        assert!(!is_locked(None, now));
        // After the lock, a fresh set of tries.
        let later = ts("2026-11-27T10:00:00Z");
        assert_eq!(after_failure(state.attempts, later, &policy).attempts, 1);
        // A huge counter saturates instead of wrapping, and locks.
        assert!(after_failure(u32::MAX, now, &policy).locked_until.is_some());
        // Threshold 1: the first failure locks.
        let strict = LockoutPolicy::new(1, SignedDuration::from_mins(5));
        assert!(after_failure(0, now, &strict).locked_until.is_some());
    }

    #[test]
    fn sessions() {
        let policy =
            SessionPolicy::new(SignedDuration::from_mins(30), SignedDuration::from_hours(8));
        let created = ts("2026-11-27T08:00:00Z");
        let valid = |seen: &str, now: &str| session_valid(created, ts(seen), ts(now), &policy);
        assert_eq!(
            valid("2026-11-27T08:00:00Z", "2026-11-27T08:29:59Z"),
            Ok(())
        );
        assert_eq!(
            valid("2026-11-27T08:00:00Z", "2026-11-27T08:30:00Z"),
            Err(SessionEnd::Idle(30))
        );
        assert_eq!(
            valid("2026-11-27T15:50:00Z", "2026-11-27T15:59:59Z"),
            Ok(())
        );
        assert_eq!(
            valid("2026-11-27T15:50:00Z", "2026-11-27T16:00:00Z"),
            Err(SessionEnd::Lifetime(480))
        );
        assert_eq!(
            valid("2026-11-27T07:59:59Z", "2026-11-27T08:10:00Z"),
            Err(SessionEnd::Inconsistent)
        );
        assert_eq!(
            valid("2026-11-27T08:10:00Z", "2026-11-27T08:05:00Z"),
            Err(SessionEnd::Inconsistent)
        );
        assert!(
            SessionEnd::Idle(30)
                .to_string()
                .contains("30 minutes without activity")
        );
    }

    #[test]
    fn login_rate_limit() {
        assert!(login_rate_allows(0, 10));
        assert!(login_rate_allows(9, 10));
        assert!(!login_rate_allows(10, 10));
        assert!(!login_rate_allows(0, 0));
        assert_eq!(
            minute_of(ts("2026-11-27T08:00:59Z")),
            minute_of(ts("2026-11-27T08:00:00Z"))
        );
        assert_ne!(
            minute_of(ts("2026-11-27T08:01:00Z")),
            minute_of(ts("2026-11-27T08:00:59Z"))
        );
        assert_eq!(minute_of(ts("1969-12-31T23:59:30Z")), -60);
    }
}
