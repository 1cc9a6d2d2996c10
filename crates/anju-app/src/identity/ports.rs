//! The identity ports: logging a member in through an identity provider (face or e-ID),
//! and sending text messages. The application owns these traits; `anju-idp` implements
//! [`IdentityProvider`] over HTTP, and [`LogSms`] is the development [`SmsGateway`].

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// How the provider authenticated the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuthMethod {
    /// Face recognition against the resident ID photo (刷脸).
    #[serde(rename = "face")]
    Face,
    /// The electronic resident ID (网证, e-ID).
    #[serde(rename = "eid")]
    EId,
}

impl AuthMethod {
    /// Both methods.
    pub const ALL: [AuthMethod; 2] = [AuthMethod::Face, AuthMethod::EId];

    /// The protocol code: `face` or `eid` (the `method` parameter and the `amr` claim).
    pub const fn code(self) -> &'static str {
        match self {
            AuthMethod::Face => "face",
            AuthMethod::EId => "eid",
        }
    }

    /// The method of a code (`face`, `eid`; case-insensitive).
    pub fn from_code(code: &str) -> Option<AuthMethod> {
        AuthMethod::ALL
            .into_iter()
            .find(|m| m.code().eq_ignore_ascii_case(code.trim()))
    }

    /// Its name in Chinese, as shown to members.
    pub const fn name_zh(self) -> &'static str {
        match self {
            AuthMethod::Face => "刷脸",
            AuthMethod::EId => "电子身份证",
        }
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A person the provider vouches for, from a checked ID token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedIdentity {
    /// Resident ID number (the token's `sub`).
    pub resident_id: String,
    /// Name on the resident ID.
    pub name: String,
    /// How the person was authenticated (the token's `amr`).
    pub method: AuthMethod,
    /// Who vouches (the token's `iss`).
    pub issuer: String,
    /// When the person was authenticated (the token's `auth_time`).
    pub authenticated_at: Timestamp,
}

/// Why a login through the provider failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdpError {
    /// The provider could not be reached or failed (timeout, refused connection, `5xx`):
    /// try again later, or log in another way.
    #[error("identity provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the person or the attempt (failed face check, unknown or
    /// deceased person, `error=access_denied`, a code already used or expired).
    #[error("login refused by the identity provider: {0}")]
    Rejected(String),
    /// What came back cannot be trusted (bad signature, wrong `aud` / `iss`, expired
    /// token, nonce or state mismatch, a malformed answer, a client misconfiguration).
    #[error("invalid answer from the identity provider: {0}")]
    Invalid(String),
}

impl IdpError {
    /// The reason, without the category.
    pub fn reason(&self) -> &str {
        match self {
            IdpError::Unavailable(r) | IdpError::Rejected(r) | IdpError::Invalid(r) => r,
        }
    }
}

/// An identity provider speaking the authorization code flow: the member's browser is
/// sent to [`IdentityProvider::authorize_url`], the provider authenticates the person and
/// redirects back with a one-time code, and the centre exchanges the code for a signed
/// ID token ([`IdentityProvider::exchange`]).
pub trait IdentityProvider: Send + Sync + fmt::Debug {
    /// Where to send the browser: `state` ties the redirect back to this browser session,
    /// `nonce` ties the ID token to it, `redirect_uri` is the centre's callback.
    fn authorize_url(&self, state: &str, nonce: &str, redirect_uri: &str) -> String;

    /// Exchanges the `code` from the callback for the person's identity; checks the
    /// token's signature, issuer, audience, expiry and that its nonce is `expected_nonce`.
    fn exchange(
        &self,
        code: &str,
        redirect_uri: &str,
        expected_nonce: &str,
    ) -> Result<VerifiedIdentity, IdpError>;
}

/// Why a text message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// The number is not a mobile number.
    #[error("{0:?} is not a mobile number (11 digits starting with 1, optionally +86)")]
    InvalidPhone(String),
    /// The text is empty or too long.
    #[error("text message: {0}")]
    InvalidText(String),
    /// The gateway failed.
    #[error("text message not sent: {0}")]
    Failed(String),
}

/// Sends text messages (verification codes, notices) to members' mobile phones.
pub trait SmsGateway: Send + Sync + fmt::Debug {
    /// Sends `text` to `phone`.
    fn send(&self, phone: &str, text: &str) -> Result<(), SmsError>;
}

/// Longest text accepted, in characters (a long SMS of several parts).
pub const MAX_SMS_CHARS: usize = 500;

/// A mobile number as shown in logs: `138****1234` (the first three and last four
/// digits); anything shorter than eight characters is all stars.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.trim().chars().collect();
    let n = digits.len();
    if n < 8 {
        return "*".repeat(n);
    }
    let head: String = digits[..3].iter().collect();
    let tail: String = digits[n - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// The mobile number without `+86` / `0086` and spaces, if it is one: 11 digits starting
/// with `1`.
pub fn normalize_phone(phone: &str) -> Option<String> {
    let compact: String = phone
        .trim()
        .chars()
        .filter(|c| *c != ' ' && *c != '-')
        .collect();
    let bare = compact
        .strip_prefix("+86")
        .or_else(|| compact.strip_prefix("0086"))
        .unwrap_or(&compact);
    (bare.len() == 11 && bare.starts_with('1') && bare.bytes().all(|b| b.is_ascii_digit()))
        .then(|| bare.to_owned())
}

/// One message [`LogSms`] sent: also the JSON line of its file sink,
/// `{"at":"2026-11-27T08:00:00Z","phone":"13812341234","text":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentSms {
    /// When it was sent.
    pub at: Timestamp,
    /// The number (normalized: 11 digits).
    pub phone: String,
    /// The text.
    pub text: String,
}

/// The development text-message sender: nothing leaves the machine. Each message is
/// written to the log (`tracing`, the number masked as `138****1234`), kept in an
/// in-memory outbox ([`LogSms::outbox`]) for in-process tests, and — with
/// [`LogSms::with_file`] — appended as a JSON line to a file, so the demo and
/// process-level tests can read the codes sent. This is the development sink: a
/// production gateway logs the masked number only, never the text.
#[derive(Debug, Default)]
pub struct LogSms {
    file: Option<PathBuf>,
    outbox: Mutex<Vec<SentSms>>,
}

impl LogSms {
    /// A sender that logs and keeps an outbox.
    pub fn new() -> LogSms {
        LogSms::default()
    }

    /// A sender that also appends every message to `path` (created if absent).
    pub fn with_file(path: impl Into<PathBuf>) -> LogSms {
        LogSms {
            file: Some(path.into()),
            outbox: Mutex::new(Vec::new()),
        }
    }

    /// The file sink, if any.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Every message sent so far, oldest first.
    pub fn outbox(&self) -> Vec<SentSms> {
        self.outbox
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The messages sent to `phone` (any spelling of the number), oldest first.
    pub fn sent_to(&self, phone: &str) -> Vec<SentSms> {
        let Some(p) = normalize_phone(phone) else {
            return Vec::new();
        };
        self.outbox().into_iter().filter(|m| m.phone == p).collect()
    }

    /// Reads a file sink: every message in it, oldest first (lines that are not messages
    /// are skipped).
    pub fn read_file(path: &Path) -> std::io::Result<Vec<SentSms>> {
        let text = std::fs::read_to_string(path)?;
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }
}

impl SmsGateway for LogSms {
    fn send(&self, phone: &str, text: &str) -> Result<(), SmsError> {
        let Some(number) = normalize_phone(phone) else {
            return Err(SmsError::InvalidPhone(mask_phone(phone)));
        };
        if text.trim().is_empty() {
            return Err(SmsError::InvalidText("the text is empty".to_owned()));
        }
        if text.chars().count() > MAX_SMS_CHARS {
            return Err(SmsError::InvalidText(format!(
                "longer than {MAX_SMS_CHARS} characters"
            )));
        }
        let message = SentSms {
            at: Timestamp::now(),
            phone: number,
            text: text.to_owned(),
        };
        // One lock for the file and the outbox, so both keep the same order.
        let mut outbox = self.outbox.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(path) = &self.file {
            let mut line = serde_json::to_string(&message)
                .map_err(|e| SmsError::Failed(format!("cannot encode the message: {e}")))?;
            line.push('\n');
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| f.write_all(line.as_bytes()))
                .map_err(|e| {
                    SmsError::Failed(format!("cannot write the SMS sink {}: {e}", path.display()))
                })?;
        }
        tracing::info!(
            phone = %mask_phone(&message.phone),
            text = %message.text,
            "sms (development sink): sent"
        );
        outbox.push(message);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn methods_have_codes() {
        for m in AuthMethod::ALL {
            assert_eq!(AuthMethod::from_code(m.code()), Some(m));
            assert_eq!(
                serde_json::to_string(&m).unwrap(),
                format!("\"{}\"", m.code())
            );
        }
        assert_eq!(AuthMethod::from_code(" EID "), Some(AuthMethod::EId));
        assert_eq!(AuthMethod::from_code("password"), None);
    }

    #[test]
    fn phones_are_masked_and_normalized() {
        assert_eq!(mask_phone("13812341234"), "138****1234");
        assert_eq!(mask_phone("+8613812341234"), "+86****1234");
        assert_eq!(mask_phone("12345"), "*****");
        assert_eq!(
            normalize_phone("+86 138-1234-1234").as_deref(),
            Some("13812341234")
        );
        assert_eq!(normalize_phone("23812341234"), None);
        assert_eq!(normalize_phone("1381234123"), None);
    }

    #[test]
    fn log_sms_keeps_an_outbox_and_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sms.jsonl");
        let sms = LogSms::with_file(&path);
        sms.send("13812341234", "您的验证码是 482913，5 分钟内有效。")
            .unwrap();
        sms.send("+86 139 0000 0001", "second").unwrap();
        assert!(matches!(
            sms.send("12345", "x"),
            Err(SmsError::InvalidPhone(_))
        ));
        assert!(matches!(
            sms.send("13812341234", " "),
            Err(SmsError::InvalidText(_))
        ));
        let out = sms.outbox();
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].phone, "13900000001");
        assert_eq!(sms.sent_to("138 1234 1234").len(), 1);
        let read = LogSms::read_file(&path).unwrap();
        assert_eq!(read, out);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(r#""phone":"13812341234","text":"您的验证码是 482913"#),
            "{text}"
        );
    }

    #[test]
    fn errors_keep_their_reasons() {
        let e = IdpError::Rejected("face check failed".into());
        assert_eq!(e.reason(), "face check failed");
        assert!(e.to_string().contains("refused"));
    }
}
