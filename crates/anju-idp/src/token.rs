//! The ID token: a compact JWS (`header.payload.signature`, each base64url without
//! padding) whose header is `{"alg":"HSM3","typ":"JWT"}` and whose signature is
//! HMAC-SM3 over `header.payload` keyed by the client secret — `HS256` with SM3 in place
//! of SHA-256, as the national standards ask.
//!
//! Claims: `iss`, `aud` (the client id), `sub` (the resident ID number), `name`, `iat`,
//! `exp`, `auth_time` (unix seconds), `nonce`, `amr` (`["face"]` or `["eid"]`).
//!
//! [`verify`] checks, in this order: three parts of base64url, a JSON header with
//! `alg: HSM3`, the signature (in constant time), a JSON payload with every claim; then
//! [`Claims::check`] the issuer, the audience, the times (with [`MAX_SKEW_SECS`] of
//! leeway) and the nonce.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sm3::Sm3;

/// The `alg` of the header.
pub const ALG: &str = "HSM3";
/// Leeway on `exp`, `iat` and `auth_time` for clocks that differ, seconds.
pub const MAX_SKEW_SECS: i64 = 60;
/// Longest token accepted, bytes.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

type HmacSm3 = hmac::Hmac<Sm3>;

/// The header of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`ALG`].
    pub alg: String,
    /// `JWT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
}

/// The claims of an ID token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The provider (its base URL).
    pub iss: String,
    /// The client the token is for.
    pub aud: String,
    /// The resident ID number.
    pub sub: String,
    /// The name on the resident ID.
    pub name: String,
    /// Issued at, unix seconds.
    pub iat: i64,
    /// Expires at, unix seconds.
    pub exp: i64,
    /// When the person was authenticated, unix seconds.
    pub auth_time: i64,
    /// The client's nonce from the authorization request.
    pub nonce: String,
    /// How: `["face"]` or `["eid"]`.
    pub amr: Vec<String>,
}

/// Why a token is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a compact JWS of the expected shape.
    #[error("malformed ID token: {0}")]
    Malformed(String),
    /// Another algorithm than [`ALG`].
    #[error("ID token algorithm {0:?} is not HSM3")]
    Algorithm(String),
    /// The signature does not match.
    #[error("ID token signature does not verify")]
    BadSignature,
    /// Issued by someone else.
    #[error("ID token issuer {found:?} is not {expected:?}")]
    Issuer {
        /// Expected.
        expected: String,
        /// Found.
        found: String,
    },
    /// Meant for another client.
    #[error("ID token audience {found:?} is not {expected:?}")]
    Audience {
        /// Expected.
        expected: String,
        /// Found.
        found: String,
    },
    /// Expired.
    #[error("ID token expired at {exp} (now {now})")]
    Expired {
        /// `exp`.
        exp: i64,
        /// The verifier's clock.
        now: i64,
    },
    /// Issued (or the person authenticated) in the future.
    #[error("ID token {claim} {at} is in the future (now {now})")]
    Future {
        /// `iat` or `auth_time`.
        claim: &'static str,
        /// Its value.
        at: i64,
        /// The verifier's clock.
        now: i64,
    },
    /// Not for this login.
    #[error("ID token nonce does not match this login's")]
    Nonce,
}

fn mac(secret: &[u8]) -> Option<HmacSm3> {
    // HMAC takes keys of any length: this cannot fail.
    HmacSm3::new_from_slice(secret).ok()
}

/// `HMAC-SM3(secret, text)`.
pub fn hmac_sm3(secret: &[u8], text: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    if let Some(mut m) = mac(secret) {
        m.update(text);
        out.copy_from_slice(&m.finalize().into_bytes());
    }
    out
}

/// The compact token of `claims`, signed with `secret`.
pub fn sign(claims: &Claims, secret: &[u8]) -> String {
    let header = Header {
        alg: ALG.to_owned(),
        typ: Some("JWT".to_owned()),
    };
    let h = serde_json::to_vec(&header).unwrap_or_default();
    let p = serde_json::to_vec(claims).unwrap_or_default();
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(h),
        URL_SAFE_NO_PAD.encode(p)
    );
    let sig = hmac_sm3(secret, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn part(text: &str, what: &str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| TokenError::Malformed(format!("the {what} is not base64url: {e}")))
}

/// The claims of `token` if it is well formed, `HSM3` and signed with `secret`. The
/// claims are not checked yet: see [`Claims::check`].
pub fn verify(token: &str, secret: &[u8]) -> Result<Claims, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed(format!(
            "longer than {MAX_TOKEN_LEN} bytes"
        )));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed(
            "not three dot-separated parts (header.payload.signature)".to_owned(),
        ));
    };
    let header: Header = serde_json::from_slice(&part(h, "header")?)
        .map_err(|e| TokenError::Malformed(format!("the header is not JSON: {e}")))?;
    if header.alg != ALG {
        return Err(TokenError::Algorithm(header.alg));
    }
    let sig = part(s, "signature")?;
    let Some(mut m) = mac(secret) else {
        return Err(TokenError::BadSignature);
    };
    m.update(h.as_bytes());
    m.update(b".");
    m.update(p.as_bytes());
    // `verify_slice` compares in constant time.
    m.verify_slice(&sig).map_err(|_| TokenError::BadSignature)?;
    serde_json::from_slice(&part(p, "payload")?)
        .map_err(|e| TokenError::Malformed(format!("the claims are not valid: {e}")))
}

impl Claims {
    /// Checks the issuer, the audience, the times against `now` (unix seconds, with
    /// [`MAX_SKEW_SECS`] of leeway) and the nonce (in constant time).
    pub fn check(
        &self,
        issuer: &str,
        audience: &str,
        nonce: &str,
        now: i64,
    ) -> Result<(), TokenError> {
        if self.iss != issuer {
            return Err(TokenError::Issuer {
                expected: issuer.to_owned(),
                found: self.iss.chars().take(200).collect(),
            });
        }
        if self.aud != audience {
            return Err(TokenError::Audience {
                expected: audience.to_owned(),
                found: self.aud.chars().take(200).collect(),
            });
        }
        if self.exp.saturating_add(MAX_SKEW_SECS) <= now {
            return Err(TokenError::Expired { exp: self.exp, now });
        }
        for (claim, at) in [("iat", self.iat), ("auth_time", self.auth_time)] {
            if at > now.saturating_add(MAX_SKEW_SECS) {
                return Err(TokenError::Future { claim, at, now });
            }
        }
        if !constant_time_eq(self.nonce.as_bytes(), nonce.as_bytes()) {
            return Err(TokenError::Nonce);
        }
        Ok(())
    }
}

/// Whether `a == b`, in time that depends only on the lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn claims() -> Claims {
        Claims {
            iss: "http://127.0.0.1:8093".into(),
            aud: "anju".into(),
            sub: "330802199001011232".into(),
            name: "王伟".into(),
            iat: NOW,
            exp: NOW + 300,
            auth_time: NOW - 5,
            nonce: "n-123".into(),
            amr: vec!["face".into()],
        }
    }

    #[test]
    fn tokens_round_trip() {
        let t = sign(&claims(), b"secret-1");
        assert_eq!(t.split('.').count(), 3);
        let head = URL_SAFE_NO_PAD
            .decode(t.split('.').next().unwrap())
            .unwrap();
        assert_eq!(head, br#"{"alg":"HSM3","typ":"JWT"}"#);
        let back = verify(&t, b"secret-1").unwrap();
        assert_eq!(back, claims());
        back.check("http://127.0.0.1:8093", "anju", "n-123", NOW + 10)
            .unwrap();
    }

    #[test]
    fn tampering_is_detected() {
        let t = sign(&claims(), b"secret-1");
        assert_eq!(verify(&t, b"secret-2"), Err(TokenError::BadSignature));
        // Another payload under the old signature.
        let mut other = claims();
        other.sub = "330802199103151244".into();
        let forged = sign(&other, b"secret-1");
        let mut parts: Vec<&str> = t.split('.').collect();
        let forged_payload = forged.split('.').nth(1).unwrap();
        parts[1] = forged_payload;
        assert_eq!(
            verify(&parts.join("."), b"secret-1"),
            Err(TokenError::BadSignature)
        );
        // One bit of the signature.
        let mut sig = URL_SAFE_NO_PAD
            .decode(t.split('.').nth(2).unwrap())
            .unwrap();
        sig[0] ^= 1;
        let flipped = format!(
            "{}.{}.{}",
            t.split('.').next().unwrap(),
            t.split('.').nth(1).unwrap(),
            URL_SAFE_NO_PAD.encode(sig)
        );
        assert_eq!(verify(&flipped, b"secret-1"), Err(TokenError::BadSignature));
        // An unsigned token (`alg: none`) is refused before the signature.
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            t.split('.').nth(1).unwrap()
        );
        assert_eq!(
            verify(&none, b"secret-1"),
            Err(TokenError::Algorithm("none".into()))
        );
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.??.**",
            &"x".repeat(MAX_TOKEN_LEN + 1),
        ] {
            assert!(
                matches!(verify(bad, b"secret-1"), Err(TokenError::Malformed(_))),
                "{bad:.20}"
            );
        }
    }

    #[test]
    fn claims_are_checked() {
        let c = claims();
        let iss = "http://127.0.0.1:8093";
        assert!(matches!(
            c.check("http://other", "anju", "n-123", NOW),
            Err(TokenError::Issuer { .. })
        ));
        assert!(matches!(
            c.check(iss, "other", "n-123", NOW),
            Err(TokenError::Audience { .. })
        ));
        assert_eq!(c.check(iss, "anju", "n-124", NOW), Err(TokenError::Nonce));
        assert_eq!(c.check(iss, "anju", "", NOW), Err(TokenError::Nonce));
        // Expiry, with the skew allowed.
        assert!(
            c.check(iss, "anju", "n-123", NOW + 300 + MAX_SKEW_SECS - 1)
                .is_ok()
        );
        assert_eq!(
            c.check(iss, "anju", "n-123", NOW + 300 + MAX_SKEW_SECS),
            Err(TokenError::Expired {
                exp: NOW + 300,
                now: NOW + 300 + MAX_SKEW_SECS
            })
        );
        // Issued in the future beyond the skew.
        assert!(c.check(iss, "anju", "n-123", NOW - MAX_SKEW_SECS).is_ok());
        assert!(matches!(
            c.check(iss, "anju", "n-123", NOW - MAX_SKEW_SECS - 1),
            Err(TokenError::Future { claim: "iat", .. })
        ));
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
