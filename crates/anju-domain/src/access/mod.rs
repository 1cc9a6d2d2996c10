//! Service everywhere (issue 8): who may do which business where, and the rules that guard
//! identities, sessions, one-time codes, channel payouts and personal data.
//!
//! Everything here is pure: no I/O, no randomness, no clock reads. The caller passes the
//! current time as a [`jiff::Timestamp`], secrets and codes as bytes or text, and the
//! centre's values from the policy file's `[access]` and `[[channel_limits]]` sections
//! ([`Policy::access`](crate::policy::Policy::access),
//! [`Policy::channel_limits`](crate::policy::Policy::channel_limits)).
//!
//! | Submodule | What it decides |
//! |---|---|
//! | [`codes`] | the local code lists [`Role`], [`PointType`], [`Business`], [`PointStatus`] |
//! | [`matrix`] | [`authorize`]: role × business × service-point type (the permission matrix), a [`ServicePoint`]'s own list and status, maker-checker ([`check_checker`]) |
//! | [`credentials`] | password rules, rotation, lockout, sessions, login rate limit |
//! | [`totp`] | RFC 6238 one-time passwords for authenticator apps, RFC 4648 base32, `otpauth://` URIs |
//! | [`otp`] | SMS one-time codes: send throttling, expiry, attempts, single use |
//! | [`limits`] | per-channel per-transaction and per-day limits on money leaving members' accounts |
//! | [`privacy`] | which role sees which personal field in full, and the masks |
//!
//! The permission matrix answers only "may this role do this kind of business at this
//! kind of place". Whose account it is (a member acts for themselves, a unit clerk for
//! their own unit and its employees, a station clerk for residents of their area) is the
//! use case's check, made with the [`Stamp`](crate::stamp::Stamp)'s operator and
//! beneficiary.

pub mod codes;
pub mod credentials;
pub mod limits;
pub mod matrix;
pub mod otp;
pub mod privacy;
pub mod totp;

pub use codes::{Business, PointStatus, PointType, Role};
pub use credentials::{
    AccessRules, LockState, LockoutPolicy, PasswordError, PasswordPolicy, SessionEnd,
    SessionPolicy, after_failure, after_success, check_password, is_locked, login_rate_allows,
    minute_of, must_rotate, session_valid,
};
pub use limits::{ChannelLimit, LimitExceeded, check_channel_limit};
pub use matrix::{
    Denied, DenyRule, ServicePoint, ServicePointError, allowed_points, authorize, check_checker,
    checker_roles, point_allows,
};
pub use otp::{OtpError, OtpRules, OtpState, check_code, may_send};
pub use privacy::{
    Field, mask, mask_address, mask_card, mask_name, mask_phone, mask_resident_id, reveals, show,
};
pub use totp::{
    Base32Error, MIN_SECRET_BYTES, TOTP_DIGITS, TOTP_STEP_SECONDS, TotpError, base32_decode,
    base32_encode, hotp, otpauth_uri, totp_code, totp_code_digits, verify_totp,
};
