//! The production adapter of [`IdentityProvider`]: an HTTP client of a provider speaking
//! [`crate::protocol`].
//!
//! [`IdpClient::exchange`] posts the code to `/token` once (a code is single-use, so a
//! failed exchange is never retried), then checks the ID token: its signature under the
//! client secret (constant time), `alg`, issuer, audience, expiry (with
//! [`crate::token::MAX_SKEW_SECS`] of leeway), nonce, and that `sub` is a resident ID
//! number and `amr` a known method. A timeout, a refused connection or a `5xx` is
//! [`IdpError::Unavailable`]; `invalid_grant` (the code is unknown, used or expired) is
//! [`IdpError::Rejected`]; anything else that is wrong is [`IdpError::Invalid`].

use std::fmt;
use std::time::Duration;

use anju_app::identity::{AuthMethod, IdentityProvider, IdpError, VerifiedIdentity};
use anju_domain::ids::IdCard;
use jiff::Timestamp;

use crate::protocol::{self, ErrorBody, TOKEN_PATH, TokenResponse};
use crate::token;

/// Where the provider is and who the centre is to it.
#[derive(Clone)]
pub struct IdpSettings {
    /// Base URL, e.g. `https://idp.example.gov.cn` (no trailing slash needed).
    pub base_url: String,
    /// The `iss` its tokens carry (usually the base URL).
    pub issuer: String,
    /// The centre's client id at the provider (the tokens' `aud`).
    pub client_id: String,
    /// The client secret: authenticates the centre at `/token` and keys the tokens'
    /// HMAC-SM3 (never printed).
    pub client_secret: String,
    /// TCP (and TLS) connect timeout.
    pub connect_timeout: Duration,
    /// Timeout of the token request, end to end.
    pub request_timeout: Duration,
}

impl fmt::Debug for IdpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdpSettings")
            .field("base_url", &self.base_url)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

/// Why settings are unusable.
#[derive(Debug, thiserror::Error)]
#[error("identity provider settings: {field} = {value:?}: {rule}")]
pub struct SettingsError {
    /// The field.
    pub field: &'static str,
    /// The value found.
    pub value: String,
    /// The rule broken.
    pub rule: &'static str,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    idp: SettingsSection,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsSection {
    base_url: String,
    issuer: Option<String>,
    client_id: String,
    /// Name of the environment variable holding the client secret.
    secret_env: String,
    connect_timeout_ms: Option<u64>,
    request_timeout_ms: Option<u64>,
}

impl IdpSettings {
    /// Reads an `[idp]` TOML section (`base_url`, `issuer`, `client_id`, `secret_env`,
    /// `connect_timeout_ms`, `request_timeout_ms`); the secret comes from the environment
    /// variable `secret_env` names, so it is never in a file that might be committed.
    pub fn from_toml(
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<IdpSettings, SettingsError> {
        let file: SettingsFile = toml::from_str(text).map_err(|e| SettingsError {
            field: "file",
            value: e.message().to_owned(),
            rule: "must be TOML with an [idp] section of known keys",
        })?;
        let s = file.idp;
        let secret = env(&s.secret_env).ok_or(SettingsError {
            field: "secret_env",
            value: s.secret_env.clone(),
            rule: "names an environment variable that is not set",
        })?;
        let mut out = IdpSettings::new(&s.base_url, &s.client_id, &secret);
        if let Some(i) = s.issuer {
            out.issuer = i;
        }
        if let Some(ms) = s.connect_timeout_ms {
            out.connect_timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = s.request_timeout_ms {
            out.request_timeout = Duration::from_millis(ms);
        }
        out.validate()?;
        Ok(out)
    }

    /// Defaults for `base_url` (also the issuer): 300 ms connect, 3 s per request.
    pub fn new(base_url: &str, client_id: &str, client_secret: &str) -> IdpSettings {
        let base = base_url.trim_end_matches('/').to_owned();
        IdpSettings {
            issuer: base.clone(),
            base_url: base,
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            connect_timeout: Duration::from_millis(300),
            request_timeout: Duration::from_secs(3),
        }
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let bad = |field, value: String, rule| Err(SettingsError { field, value, rule });
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return bad(
                "base_url",
                self.base_url.clone(),
                "must start with http:// or https://",
            );
        }
        if self.issuer.is_empty() {
            return bad("issuer", String::new(), "must not be empty");
        }
        if self.client_id.is_empty()
            || self.client_id.len() > 64
            || !self.client_id.bytes().all(|b| b.is_ascii_graphic())
        {
            return bad(
                "client_id",
                self.client_id.clone(),
                "must be 1-64 visible ASCII characters",
            );
        }
        if self.client_secret.len() < 8 {
            return bad(
                "client_secret",
                "<redacted>".into(),
                "must be at least 8 characters",
            );
        }
        if self.request_timeout.is_zero() || self.connect_timeout.is_zero() {
            return bad(
                "request_timeout",
                format!("{:?}", self.request_timeout),
                "timeouts must be positive",
            );
        }
        Ok(())
    }
}

/// The HTTP client. Cheap to share (`Arc`).
pub struct IdpClient {
    settings: IdpSettings,
    agent: ureq::Agent,
}

impl fmt::Debug for IdpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdpClient")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl IdpClient {
    /// A client for `settings` (validated).
    pub fn new(settings: IdpSettings) -> Result<IdpClient, SettingsError> {
        settings.validate()?;
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(settings.connect_timeout))
            .timeout_global(Some(settings.request_timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("anju/", env!("CARGO_PKG_VERSION")))
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::default(),
            anju_exchange::client::LiteralFirst::default(),
        );
        Ok(IdpClient { settings, agent })
    }

    /// The settings.
    pub fn settings(&self) -> &IdpSettings {
        &self.settings
    }

    /// [`IdentityProvider::authorize_url`] with the person and method already chosen (the
    /// provider then skips its own page asking for them).
    pub fn authorize_url_for(
        &self,
        state: &str,
        nonce: &str,
        redirect_uri: &str,
        login_hint: Option<&str>,
        method: Option<AuthMethod>,
    ) -> String {
        protocol::authorize_url(
            &self.settings.base_url,
            &self.settings.client_id,
            state,
            nonce,
            redirect_uri,
            login_hint,
            method,
        )
    }

    /// `POST /token`: the token answer's bytes when it is a `200`.
    fn post_token(&self, code: &str, redirect_uri: &str) -> Result<Vec<u8>, IdpError> {
        let url = format!("{}{TOKEN_PATH}", self.settings.base_url);
        let form = protocol::encode_pairs(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", &self.settings.client_id),
            ("client_secret", &self.settings.client_secret),
        ]);
        let timeout_ms = self.settings.request_timeout.as_millis();
        let transport = |e: ureq::Error| match e {
            ureq::Error::Timeout(_) => {
                IdpError::Unavailable(format!("no answer within {timeout_ms} ms"))
            }
            other => IdpError::Unavailable(format!("cannot reach the provider: {other}")),
        };
        let mut response = self
            .agent
            .post(&url)
            .content_type("application/x-www-form-urlencoded")
            .header("Accept", "application/json")
            .send(form.as_bytes())
            .map_err(transport)?;
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_vec()
            .map_err(transport)?;
        if status == 200 {
            return Ok(bytes);
        }
        let body = serde_json::from_slice::<ErrorBody>(&bytes).ok();
        let detail = body.as_ref().map_or_else(
            || "no error body".to_owned(),
            |b| {
                format!(
                    "{}: {}",
                    b.error.chars().take(64).collect::<String>(),
                    b.error_description.chars().take(300).collect::<String>()
                )
            },
        );
        let why = format!("the token endpoint answered HTTP {status} ({detail})");
        Err(match (status, body.as_ref().map(|b| b.error.as_str())) {
            (500.., _) => IdpError::Unavailable(why),
            (_, Some("invalid_grant")) => IdpError::Rejected(why),
            _ => IdpError::Invalid(why),
        })
    }

    /// Checks a token answer; `now` is unix seconds.
    fn identity(
        &self,
        bytes: &[u8],
        expected_nonce: &str,
        now: i64,
    ) -> Result<VerifiedIdentity, IdpError> {
        let invalid = |m: String| IdpError::Invalid(m);
        let answer: TokenResponse = serde_json::from_slice(bytes)
            .map_err(|e| invalid(format!("malformed token answer: {e}")))?;
        if !answer.token_type.eq_ignore_ascii_case("bearer") {
            return Err(invalid(format!(
                "malformed token answer: token_type {:?} is not Bearer",
                answer.token_type.chars().take(32).collect::<String>()
            )));
        }
        let claims = token::verify(&answer.id_token, self.settings.client_secret.as_bytes())
            .map_err(|e| invalid(e.to_string()))?;
        claims
            .check(
                &self.settings.issuer,
                &self.settings.client_id,
                expected_nonce,
                now,
            )
            .map_err(|e| invalid(e.to_string()))?;
        let id = IdCard::parse(&claims.sub).map_err(|e| {
            invalid(format!(
                "the ID token's sub is not a resident ID number: {e}"
            ))
        })?;
        let method = match claims.amr.as_slice() {
            [one] => AuthMethod::from_code(one),
            _ => None,
        }
        .ok_or_else(|| {
            invalid(format!(
                "the ID token's amr {:?} is not [\"face\"] or [\"eid\"]",
                claims.amr
            ))
        })?;
        let name = claims.name.trim();
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(invalid(
                "the ID token's name is empty, too long or has control characters".into(),
            ));
        }
        let authenticated_at = Timestamp::from_second(claims.auth_time)
            .map_err(|e| invalid(format!("the ID token's auth_time: {e}")))?;
        Ok(VerifiedIdentity {
            resident_id: id.as_str().to_owned(),
            name: name.to_owned(),
            method,
            issuer: claims.iss,
            authenticated_at,
        })
    }
}

impl IdentityProvider for IdpClient {
    fn authorize_url(&self, state: &str, nonce: &str, redirect_uri: &str) -> String {
        self.authorize_url_for(state, nonce, redirect_uri, None, None)
    }

    fn exchange(
        &self,
        code: &str,
        redirect_uri: &str,
        expected_nonce: &str,
    ) -> Result<VerifiedIdentity, IdpError> {
        if expected_nonce.is_empty() {
            return Err(IdpError::Invalid(
                "no nonce to check the ID token against".into(),
            ));
        }
        let out = self
            .post_token(code, redirect_uri)
            .and_then(|bytes| self.identity(&bytes, expected_nonce, Timestamp::now().as_second()));
        match &out {
            Ok(v) => tracing::info!(
                subject = %IdCard::parse(&v.resident_id).map(|i| i.masked()).unwrap_or_default(),
                method = %v.method,
                "identity provider: login verified"
            ),
            Err(e) => tracing::warn!(error = %e, "identity provider: login failed"),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::token::Claims;

    const NOW: i64 = 1_800_000_000;

    fn client() -> IdpClient {
        IdpClient::new(IdpSettings::new(
            "http://127.0.0.1:1/",
            "anju",
            "secret-123",
        ))
        .unwrap()
    }

    fn answer(claims: &Claims, secret: &str) -> Vec<u8> {
        serde_json::to_vec(&TokenResponse {
            access_token: "at".into(),
            token_type: "Bearer".into(),
            expires_in: 300,
            id_token: token::sign(claims, secret.as_bytes()),
        })
        .unwrap()
    }

    fn claims() -> Claims {
        Claims {
            iss: "http://127.0.0.1:1".into(),
            aud: "anju".into(),
            sub: "330802199001011232".into(),
            name: "王伟".into(),
            iat: NOW,
            exp: NOW + 300,
            auth_time: NOW,
            nonce: "n1".into(),
            amr: vec!["eid".into()],
        }
    }

    #[test]
    fn token_answers_are_checked() {
        let c = client();
        let v = c
            .identity(&answer(&claims(), "secret-123"), "n1", NOW)
            .unwrap();
        assert_eq!(v.resident_id, "330802199001011232");
        assert_eq!(v.method, AuthMethod::EId);
        assert_eq!(v.issuer, "http://127.0.0.1:1");
        assert_eq!(v.authenticated_at.as_second(), NOW);
        let invalid = |bytes: &[u8], nonce: &str, now: i64| {
            matches!(c.identity(bytes, nonce, now), Err(IdpError::Invalid(_)))
        };
        assert!(invalid(&answer(&claims(), "secret-123"), "n2", NOW));
        assert!(invalid(&answer(&claims(), "secret-123"), "n1", NOW + 3600));
        assert!(invalid(&answer(&claims(), "other-secret"), "n1", NOW));
        assert!(invalid(b"<html>", "n1", NOW));
        let mut bad = claims();
        bad.amr = vec!["password".into()];
        assert!(invalid(&answer(&bad, "secret-123"), "n1", NOW));
        let mut bad = claims();
        bad.sub = "12345".into();
        assert!(invalid(&answer(&bad, "secret-123"), "n1", NOW));
        let mut bad = claims();
        bad.aud = "someone-else".into();
        assert!(invalid(&answer(&bad, "secret-123"), "n1", NOW));
    }

    #[test]
    fn settings_are_validated_and_secrets_hidden() {
        let s = IdpSettings::new("ftp://x", "anju", "secret-123");
        assert!(IdpClient::new(s).is_err());
        let s = IdpSettings::new("http://x", "anju", "short");
        assert!(IdpClient::new(s).is_err());
        assert!(!format!("{:?}", client()).contains("secret-123"));
    }

    #[test]
    fn settings_are_read_from_toml() {
        let text = r#"
[idp]
base_url = "https://idp.example.gov.cn/"
client_id = "anju-3308"
secret_env = "ANJU_IDP_SECRET"
request_timeout_ms = 1500
"#;
        let s = IdpSettings::from_toml(text, |k| {
            (k == "ANJU_IDP_SECRET").then(|| "s3cret-from-env".to_owned())
        })
        .unwrap();
        assert_eq!(s.base_url, "https://idp.example.gov.cn");
        assert_eq!(s.issuer, "https://idp.example.gov.cn");
        assert_eq!(s.client_secret, "s3cret-from-env");
        assert_eq!(s.request_timeout, Duration::from_millis(1500));
        let e = IdpSettings::from_toml(text, |_| None).unwrap_err();
        assert_eq!(e.field, "secret_env");
        assert!(IdpSettings::from_toml("[idp]\nbase_url = 1", |_| None).is_err());
    }

    #[test]
    fn an_unreachable_provider_is_unavailable() {
        let c = client();
        let e = c.exchange("code", "http://c/cb", "n1").unwrap_err();
        assert!(matches!(e, IdpError::Unavailable(_)), "{e}");
    }
}
