//! Time-based one-time passwords (TOTP, RFC 6238) for staff second-factor sign-in with an
//! authenticator app: HMAC-SHA1 (RFC 4226 HOTP), 30-second steps, 6 digits, one step of
//! clock drift accepted either way, and a code's step never accepted twice.
//!
//! Also RFC 4648 base32, the form authenticator apps take secrets in, and the
//! `otpauth://` URI they scan from a QR code. The secret itself comes from the caller's
//! random source (at least [`MIN_SECRET_BYTES`]; 20 is usual).

use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// Seconds per TOTP step (RFC 6238 default).
pub const TOTP_STEP_SECONDS: i64 = 30;

/// Digits of a TOTP code.
pub const TOTP_DIGITS: u32 = 6;

/// Shortest secret accepted for verification: 128 bits (RFC 4226 §4 R6).
pub const MIN_SECRET_BYTES: usize = 16;

/// HOTP (RFC 4226): the `digits`-digit code (6 to 9 digits) of `secret` at `counter`.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let digits = digits.clamp(6, 9);
    let mut mac =
        <Hmac<Sha1> as KeyInit>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    // Dynamic truncation (RFC 4226 §5.3).
    let offset = usize::from(hash[hash.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    binary % 10_u32.pow(digits)
}

/// The TOTP step of a Unix time, or `None` before the epoch.
fn step_of(unix_secs: i64) -> Option<u64> {
    u64::try_from(unix_secs.div_euclid(TOTP_STEP_SECONDS)).ok()
}

/// The `digits`-digit TOTP code of `secret` at `unix_secs` (RFC 6238 with SHA-1 and
/// 30-second steps). Times before the epoch use step 0.
pub fn totp_code_digits(secret: &[u8], unix_secs: i64, digits: u32) -> u32 {
    hotp(secret, step_of(unix_secs).unwrap_or(0), digits)
}

/// The 6-digit TOTP code of `secret` at `unix_secs`.
pub fn totp_code(secret: &[u8], unix_secs: i64) -> u32 {
    totp_code_digits(secret, unix_secs, TOTP_DIGITS)
}

/// Why a TOTP code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TotpError {
    /// Not exactly 6 ASCII digits.
    #[error("the code must be exactly 6 digits")]
    Malformed,
    /// The secret is shorter than 128 bits.
    #[error("the TOTP secret is shorter than 128 bits")]
    WeakSecret,
    /// The clock reads before 1970.
    #[error("the clock reads before 1970")]
    BadClock,
    /// The code matches no step in the window.
    #[error("wrong code")]
    Wrong,
    /// The code matches a step already used (or an earlier one): a replay.
    #[error("this code has already been used")]
    Replayed,
}

/// Verifies a 6-digit code at `now`, accepting the current step and one step either side
/// (±30 s of drift). Returns the step matched, which the caller stores as the account's
/// `last_used_step`; a code of that step or an earlier one is then refused as a replay.
pub fn verify_totp(
    secret: &[u8],
    code: &str,
    now: Timestamp,
    last_used_step: Option<u64>,
) -> Result<u64, TotpError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(TotpError::WeakSecret);
    }
    let code = code.trim();
    if code.len() != TOTP_DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TotpError::Malformed);
    }
    let current = step_of(now.as_second()).ok_or(TotpError::BadClock)?;
    let mut matched: Option<u64> = None;
    let mut replayed = false;
    // Every candidate is computed and compared, so the time taken does not tell which
    // step (if any) matched.
    for step in [
        current.checked_sub(1),
        Some(current),
        current.checked_add(1),
    ]
    .into_iter()
    .flatten()
    {
        let expected = format!("{:06}", hotp(secret, step, TOTP_DIGITS));
        let same: bool = expected.as_bytes().ct_eq(code.as_bytes()).into();
        if same {
            if last_used_step.is_some_and(|last| step <= last) {
                replayed = true;
            } else if matched.is_none() {
                matched = Some(step);
            }
        }
    }
    match (matched, replayed) {
        (Some(step), _) => Ok(step),
        (None, true) => Err(TotpError::Replayed),
        (None, false) => Err(TotpError::Wrong),
    }
}

const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding, as authenticator apps take secrets.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(
                BASE32_ALPHABET[((buffer >> bits) & 31) as usize],
            ));
        }
    }
    if bits > 0 {
        out.push(char::from(
            BASE32_ALPHABET[((buffer << (5 - bits)) & 31) as usize],
        ));
    }
    out
}

/// Why base32 text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Base32Error {
    /// A character outside the base32 alphabet.
    #[error("{0:?} is not a base32 character")]
    BadCharacter(char),
    /// A length no encoding produces, padding in the middle, or non-zero spare bits.
    #[error("not a valid base32 length or padding")]
    BadLength,
}

/// RFC 4648 base32 decoding. Accepts lower case, trailing `=` padding, and spaces or
/// hyphens between groups (as secrets are often shown for typing).
pub fn base32_decode(text: &str) -> Result<Vec<u8>, Base32Error> {
    let cleaned: Vec<char> = text.chars().filter(|c| *c != ' ' && *c != '-').collect();
    let data_len = cleaned
        .iter()
        .position(|&c| c == '=')
        .unwrap_or(cleaned.len());
    let (data, padding) = cleaned.split_at(data_len);
    if padding.iter().any(|&c| c != '=') {
        return Err(Base32Error::BadLength);
    }
    if !padding.is_empty() && !(data.len() + padding.len()).is_multiple_of(8) {
        return Err(Base32Error::BadLength);
    }
    // Lengths mod 8 of 1, 3 and 6 never occur.
    if matches!(data.len() % 8, 1 | 3 | 6) {
        return Err(Base32Error::BadLength);
    }
    let mut out = Vec::with_capacity(data.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &c in data {
        let upper = c.to_ascii_uppercase();
        let value = BASE32_ALPHABET
            .iter()
            .position(|&a| char::from(a) == upper)
            .ok_or(Base32Error::BadCharacter(c))?;
        buffer = (buffer << 5) | value as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    if bits > 0 && buffer & ((1 << bits) - 1) != 0 {
        return Err(Base32Error::BadLength);
    }
    Ok(out)
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `otpauth://totp/…` URI an authenticator app scans (the Key Uri Format): label
/// `issuer:account`, the base32 secret, and the parameters stated explicitly
/// (SHA1, 6 digits, 30 s). Issuer and account are percent-encoded as UTF-8.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let issuer_enc = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer_enc}:{}?secret={}&issuer={issuer_enc}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP_SECONDS}",
        percent_encode(account),
        base32_encode(secret),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RFC 6238 appendix B SHA-1 seed.
    const SEED: &[u8] = b"12345678901234567890";

    /// RFC 6238 appendix B, SHA-1 rows: (Unix time, 8-digit TOTP).
    const VECTORS: &[(i64, u32)] = &[
        (59, 94_287_082),
        (1_111_111_109, 7_081_804),
        (1_111_111_111, 14_050_471),
        (1_234_567_890, 89_005_924),
        (2_000_000_000, 69_279_037),
        (20_000_000_000, 65_353_130),
    ];

    #[test]
    fn rfc6238_sha1_vectors() {
        for &(t, eight) in VECTORS {
            assert_eq!(totp_code_digits(SEED, t, 8), eight, "t = {t}");
            // The 6-digit code is the same truncation mod 10^6.
            assert_eq!(totp_code(SEED, t), eight % 1_000_000, "t = {t}");
        }
        assert_eq!(totp_code(SEED, 59), 287_082);
        assert_eq!(totp_code(SEED, 1_234_567_890), 5_924);
    }

    #[test]
    fn rfc4226_hotp_vectors() {
        // RFC 4226 appendix D, counters 0..=9.
        let want = [
            755_224, 287_082, 359_152, 969_429, 338_314, 254_676, 287_922, 162_583, 399_871,
            520_489,
        ];
        for (counter, w) in want.into_iter().enumerate() {
            assert_eq!(hotp(SEED, counter as u64, 6), w, "counter {counter}");
        }
    }

    fn at(unix: i64) -> Timestamp {
        Timestamp::from_second(unix).unwrap()
    }

    #[test]
    fn verification_window_and_replay() {
        let t = 1_111_111_111; // step 37037037
        let step = 37_037_037_u64;
        let code = |s: i64| format!("{:06}", totp_code(SEED, s));
        assert_eq!(verify_totp(SEED, &code(t), at(t), None), Ok(step));
        // One step of drift either way.
        assert_eq!(verify_totp(SEED, &code(t - 30), at(t), None), Ok(step - 1));
        assert_eq!(verify_totp(SEED, &code(t + 30), at(t), None), Ok(step + 1));
        assert_eq!(
            verify_totp(SEED, &code(t - 60), at(t), None),
            Err(TotpError::Wrong)
        );
        assert_eq!(
            verify_totp(SEED, &code(t + 60), at(t), None),
            Err(TotpError::Wrong)
        );
        // The same step again is a replay, and so is an earlier one.
        assert_eq!(
            verify_totp(SEED, &code(t), at(t + 5), Some(step)),
            Err(TotpError::Replayed)
        );
        assert_eq!(
            verify_totp(SEED, &code(t - 30), at(t), Some(step)),
            Err(TotpError::Replayed)
        );
        // A later step after a used one is fine.
        assert_eq!(
            verify_totp(SEED, &code(t + 30), at(t + 30), Some(step)),
            Ok(step + 1)
        );
        // 8-digit RFC value's last six digits work as the 6-digit code.
        assert_eq!(verify_totp(SEED, "050471", at(t), None), Ok(step));
        assert_eq!(verify_totp(SEED, " 050471 ", at(t), None), Ok(step));
    }

    #[test]
    fn malformed_and_weak() {
        let now = at(1_111_111_111);
        for bad in ["", "05047", "0504711", "05O471", "١٢٣٤٥٦"] {
            assert_eq!(
                verify_totp(SEED, bad, now, None),
                Err(TotpError::Malformed),
                "{bad:?}"
            );
        }
        assert_eq!(
            verify_totp(&SEED[..15], "050471", now, None),
            Err(TotpError::WeakSecret)
        );
        assert_eq!(
            verify_totp(SEED, "050471", at(-1), None),
            Err(TotpError::BadClock)
        );
    }

    #[test]
    fn base32_rfc4648_vectors() {
        let cases: &[(&str, &str)] = &[
            ("", ""),
            ("f", "MY======"),
            ("fo", "MZXQ===="),
            ("foo", "MZXW6==="),
            ("foob", "MZXW6YQ="),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI======"),
        ];
        for &(plain, padded) in cases {
            let bare = padded.trim_end_matches('=');
            assert_eq!(base32_encode(plain.as_bytes()), bare);
            assert_eq!(base32_decode(padded).unwrap(), plain.as_bytes());
            assert_eq!(base32_decode(bare).unwrap(), plain.as_bytes());
            assert_eq!(
                base32_decode(&bare.to_ascii_lowercase()).unwrap(),
                plain.as_bytes()
            );
        }
        assert_eq!(base32_encode(SEED), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            base32_decode("gezd gnbv gy3t qojq gezd gnbv gy3t qojq").unwrap(),
            SEED
        );
        assert_eq!(base32_decode("MZXW1"), Err(Base32Error::BadCharacter('1')));
        assert_eq!(base32_decode("M"), Err(Base32Error::BadLength));
        assert_eq!(base32_decode("MZX"), Err(Base32Error::BadLength));
        assert_eq!(
            base32_decode("MY=====").unwrap_err(),
            Base32Error::BadLength
        );
        assert_eq!(
            base32_decode("MY==A===").unwrap_err(),
            Base32Error::BadLength
        );
        // Non-zero spare bits: "MZ" would carry bits beyond the one byte.
        assert_eq!(base32_decode("MZ"), Err(Base32Error::BadLength));
        // Round trip over every length up to 40 bytes.
        for n in 0..40_u8 {
            let bytes: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37).wrapping_add(n)).collect();
            assert_eq!(base32_decode(&base32_encode(&bytes)).unwrap(), bytes);
        }
    }

    #[test]
    fn otpauth_uri_for_authenticator_apps() {
        let uri = otpauth_uri("衢州公积金", "staff:0012", SEED);
        assert_eq!(
            uri,
            "otpauth://totp/%E8%A1%A2%E5%B7%9E%E5%85%AC%E7%A7%AF%E9%87%91:staff%3A0012\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=%E8%A1%A2%E5%B7%9E%E5%85%AC%E7%A7%AF%E9%87%91\
             &algorithm=SHA1&digits=6&period=30"
        );
        assert!(otpauth_uri("Anju", "a b", SEED).contains("totp/Anju:a%20b?"));
    }
}
