//! The identity provider's protocol: the OIDC authorization code flow, with face or e-ID
//! authentication and HMAC-SM3-signed ID tokens ([`crate::token`]).
//!
//! ```text
//! GET  /.well-known/openid-configuration          → 200 Discovery
//! GET  /authorize?response_type=code&client_id=…&redirect_uri=…&state=…&nonce=…
//!                &login_hint=<resident id>&method=face|eid
//!      → 302 Location: {redirect_uri}?code=…&state=…
//!      → 302 Location: {redirect_uri}?error=access_denied&error_description=…&state=…
//!        (the face check failed; the person is unknown, deceased, or has no e-ID)
//!      → 200 an HTML page asking for the ID number and method (no login_hint)
//!      → 400 ErrorBody (unknown client_id, missing or bad redirect_uri: never redirected)
//! POST /token   (application/x-www-form-urlencoded)
//!      grant_type=authorization_code&code=…&redirect_uri=…&client_id=…&client_secret=…
//!      → 200 {"access_token","token_type":"Bearer","expires_in","id_token"}
//!      → 400 {"error":"invalid_grant"|"invalid_request"|"unsupported_grant_type", …}
//!      → 401 {"error":"invalid_client", …}
//!      → 5xx {"error":"server_error"|"temporarily_unavailable", …}
//! ```
//!
//! A code is good once, for [`CODE_TTL_SECS`] seconds, and only with the `client_id`
//! and `redirect_uri` it was issued for. Errors are OAuth's `{"error",
//! "error_description"}`. The OpenAPI document (`anju idp-sim --openapi`,
//! `docs/idp-openapi.json`) describes the same.

use std::fmt::Write as _;

use anju_app::identity::{AuthMethod, IdpError};
use serde::{Deserialize, Serialize};

/// The discovery document's path.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// The authorization endpoint's path.
pub const AUTHORIZE_PATH: &str = "/authorize";
/// The token endpoint's path.
pub const TOKEN_PATH: &str = "/token";
/// How long an authorization code is good for, seconds.
pub const CODE_TTL_SECS: u64 = 60;
/// How long an ID token is good for, seconds.
pub const TOKEN_TTL_SECS: i64 = 300;

/// `GET /.well-known/openid-configuration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovery {
    /// The `iss` of its tokens.
    pub issuer: String,
    /// Full URL of `/authorize`.
    pub authorization_endpoint: String,
    /// Full URL of `/token`.
    pub token_endpoint: String,
    /// `["code"]`.
    pub response_types_supported: Vec<String>,
    /// `["authorization_code"]`.
    pub grant_types_supported: Vec<String>,
    /// `["public"]`.
    pub subject_types_supported: Vec<String>,
    /// `["HSM3"]`.
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// `["client_secret_post"]`.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// `["face", "eid"]`.
    pub amr_values_supported: Vec<String>,
    /// The claims of its ID tokens.
    pub claims_supported: Vec<String>,
}

impl Discovery {
    /// The document of a provider whose issuer and base URL is `issuer`.
    pub fn new(issuer: &str, base_url: &str) -> Discovery {
        let v = |xs: &[&str]| xs.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        Discovery {
            issuer: issuer.to_owned(),
            authorization_endpoint: format!("{base_url}{AUTHORIZE_PATH}"),
            token_endpoint: format!("{base_url}{TOKEN_PATH}"),
            response_types_supported: v(&["code"]),
            grant_types_supported: v(&["authorization_code"]),
            subject_types_supported: v(&["public"]),
            id_token_signing_alg_values_supported: v(&[crate::token::ALG]),
            token_endpoint_auth_methods_supported: v(&["client_secret_post"]),
            amr_values_supported: v(&["face", "eid"]),
            claims_supported: v(&[
                "iss",
                "aud",
                "sub",
                "name",
                "iat",
                "exp",
                "auth_time",
                "nonce",
                "amr",
            ]),
        }
    }
}

/// The `200` answer of `POST /token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// An opaque access token (Anju does not use it).
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Lifetime of the access token, seconds.
    pub expires_in: i64,
    /// The signed ID token ([`crate::token`]).
    pub id_token: String,
}

/// An error answer (OAuth 2.0 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unsupported_grant_type`,
    /// `server_error`, `temporarily_unavailable`.
    pub error: String,
    /// Human explanation.
    #[serde(default)]
    pub error_description: String,
}

/// Percent-encodes `text` for a query component: every byte but `A-Z a-z 0-9 - . _ ~`.
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `k=v&…` with both sides percent-encoded.
pub fn encode_pairs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn decode_component(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The pairs of a query string or form body (`+` is a space); `None` when an escape is
/// broken or a value is not UTF-8.
pub fn parse_query(text: &str) -> Option<Vec<(String, String)>> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Some((decode_component(k)?, decode_component(v)?))
        })
        .collect()
}

/// The first value of `name` among `pairs`.
pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The authorization request's URL: `{base}/authorize?…`, with `login_hint` and `method`
/// when the centre already knows who logs in and how (without them the provider asks).
pub fn authorize_url(
    base_url: &str,
    client_id: &str,
    state: &str,
    nonce: &str,
    redirect_uri: &str,
    login_hint: Option<&str>,
    method: Option<AuthMethod>,
) -> String {
    let mut pairs = vec![
        ("response_type", "code"),
        ("scope", "openid"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("state", state),
        ("nonce", nonce),
    ];
    if let Some(h) = login_hint {
        pairs.push(("login_hint", h));
    }
    if let Some(m) = method {
        pairs.push(("method", m.code()));
    }
    format!(
        "{}{AUTHORIZE_PATH}?{}",
        base_url.trim_end_matches('/'),
        encode_pairs(&pairs)
    )
}

/// Reads the callback's query string (`code=…&state=…` or `error=…&state=…`): the code
/// if the provider gave one for this browser's `expected_state`.
///
/// `error=access_denied` (and any other error the provider redirects with) is
/// [`IdpError::Rejected`]; a missing or different `state`, or neither code nor error, is
/// [`IdpError::Invalid`].
pub fn callback(query: &str, expected_state: &str) -> Result<String, IdpError> {
    let query = query.strip_prefix('?').unwrap_or(query);
    let pairs = parse_query(query)
        .ok_or_else(|| IdpError::Invalid("the callback's query string is not valid".into()))?;
    let state = param(&pairs, "state").unwrap_or_default();
    if expected_state.is_empty()
        || !crate::token::constant_time_eq(state.as_bytes(), expected_state.as_bytes())
    {
        return Err(IdpError::Invalid(
            "the callback's state is not this login's (a forged or stale redirect)".into(),
        ));
    }
    if let Some(error) = param(&pairs, "error") {
        let description = param(&pairs, "error_description").unwrap_or_default();
        let error: String = error.chars().take(64).collect();
        let description: String = description.chars().take(300).collect();
        return Err(IdpError::Rejected(if description.is_empty() {
            error
        } else {
            format!("{error}: {description}")
        }));
    }
    match param(&pairs, "code") {
        Some(code) if !code.is_empty() && code.len() <= 256 => Ok(code.to_owned()),
        _ => Err(IdpError::Invalid(
            "the callback has neither a code nor an error".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn queries_round_trip() {
        let q = encode_pairs(&[
            ("redirect_uri", "http://127.0.0.1:8080/login/cb?x=1&y=2"),
            ("name", "王 伟"),
        ]);
        assert_eq!(
            q,
            "redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Flogin%2Fcb%3Fx%3D1%26y%3D2&name=%E7%8E%8B%20%E4%BC%9F"
        );
        let back = parse_query(&q).unwrap();
        assert_eq!(
            param(&back, "redirect_uri"),
            Some("http://127.0.0.1:8080/login/cb?x=1&y=2")
        );
        assert_eq!(param(&back, "name"), Some("王 伟"));
        assert_eq!(
            parse_query("a=b+c&d").unwrap(),
            vec![("a".into(), "b c".into()), ("d".into(), String::new())]
        );
        assert!(parse_query("a=%zz").is_none());
        assert!(parse_query("a=%ff").is_none());
    }

    #[test]
    fn callbacks_are_read() {
        assert_eq!(callback("?code=abc&state=s1", "s1").unwrap(), "abc");
        assert!(matches!(
            callback("code=abc&state=s2", "s1"),
            Err(IdpError::Invalid(_))
        ));
        assert!(matches!(
            callback("code=abc", "s1"),
            Err(IdpError::Invalid(_))
        ));
        assert!(matches!(
            callback("state=s1", "s1"),
            Err(IdpError::Invalid(_))
        ));
        let e = callback(
            "error=access_denied&error_description=face+check+failed&state=s1",
            "s1",
        )
        .unwrap_err();
        assert_eq!(
            e,
            IdpError::Rejected("access_denied: face check failed".into())
        );
    }

    #[test]
    fn authorize_urls_carry_the_hints() {
        let u = authorize_url(
            "http://idp/",
            "anju",
            "s",
            "n",
            "http://c/cb",
            Some("330802199001011232"),
            Some(AuthMethod::EId),
        );
        assert!(u.starts_with("http://idp/authorize?response_type=code&scope=openid&client_id=anju&redirect_uri=http%3A%2F%2Fc%2Fcb&state=s&nonce=n"), "{u}");
        assert!(
            u.ends_with("&login_hint=330802199001011232&method=eid"),
            "{u}"
        );
    }
}
