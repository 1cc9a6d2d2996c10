//! A tiny self-contained certificate and the centre's own certificate authority.
//!
//! **Why not X.509:** a signed document must be checkable by anyone with this crate and
//! nothing else, the fields needed are few, and an ASN.1/X.509 stack is a large
//! dependency with its own parsing risks. The certificate is a fixed list of fields with
//! canonical bytes (tag `anju-sign/certificate/v1`) signed by the CA's SM2 key. A CA's
//! X.509 certificate (e.g. from a licensed 电子认证服务机构) can be carried later by a
//! [`crate::Signer`] implementation that maps it onto these fields.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::SignError;
use crate::canon::Canon;
use crate::keys::{KeyPair, VerifyError, verify_hex};

/// What a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CertRole {
    /// A natural person (a borrower, guarantor …).
    Person,
    /// The centre's electronic seal (电子印章).
    CentreSeal,
    /// A certificate authority (self-issued).
    Ca,
}

impl CertRole {
    /// The stable code written in canonical bytes.
    pub fn code(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::CentreSeal => "centre-seal",
            Self::Ca => "ca",
        }
    }
}

/// A certificate binding a name to an SM2 public key, signed by a CA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// Serial number (hex), unique per CA.
    pub serial: String,
    /// Whose key: a person's name, the centre's name, or the CA's name.
    pub subject_name: String,
    /// The subject's ID number masked, or the centre code for a seal or CA.
    pub subject_id_masked: String,
    /// What it is for.
    pub role: CertRole,
    /// SM2 public key, uncompressed SEC1 hex.
    pub public_key: String,
    /// The issuing CA's name.
    pub issuer: String,
    /// Valid from.
    pub not_before: Timestamp,
    /// Valid until.
    pub not_after: Timestamp,
    /// SM2 signature (`r ‖ s` hex) by the CA's key over [`Certificate::canonical_bytes`].
    pub issuer_signature: String,
}

impl Certificate {
    /// Every field but `issuer_signature`, canonically encoded.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        Canon::new("anju-sign/certificate/v1")
            .text(&self.serial)
            .text(&self.subject_name)
            .text(&self.subject_id_masked)
            .text(self.role.code())
            .text(&self.public_key.to_ascii_lowercase())
            .text(&self.issuer)
            .time(self.not_before)
            .time(self.not_after)
            .finish()
    }

    /// Checks the issuer's signature with the issuer's public key (SEC1 hex).
    pub fn verify_issued_by(&self, issuer_public_key: &str) -> Result<(), VerifyError> {
        verify_hex(
            issuer_public_key,
            &self.canonical_bytes(),
            &self.issuer_signature,
        )
    }

    /// Whether `at` lies within the validity period.
    pub fn valid_at(&self, at: Timestamp) -> bool {
        self.not_before <= at && at <= self.not_after
    }
}

/// What a CA is asked to certify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRequest {
    /// Whose key.
    pub subject_name: String,
    /// Masked ID number, or the centre code.
    pub subject_id_masked: String,
    /// What for.
    pub role: CertRole,
    /// The public key (SEC1 hex).
    pub public_key: String,
}

/// How long certificates the centre's CA issues are valid: 5 × 365 days.
pub const CERT_VALIDITY: SignedDuration = SignedDuration::from_hours(5 * 365 * 24);

/// The centre's own certificate authority. `Debug` never shows the key.
#[derive(Debug, Clone)]
pub struct CertificateAuthority {
    key: KeyPair,
    certificate: Certificate,
}

impl CertificateAuthority {
    /// A CA with `key`, self-issuing its certificate valid from `at`.
    pub fn new(key: KeyPair, name: &str, code: &str, at: Timestamp) -> Result<Self, SignError> {
        let request = CertRequest {
            subject_name: name.to_owned(),
            subject_id_masked: code.to_owned(),
            role: CertRole::Ca,
            public_key: key.public_key_hex(),
        };
        let certificate = issue_with(&key, name, &request, "ca-0001", at)?;
        Ok(Self { key, certificate })
    }

    /// A CA from a stored key and its stored certificate, which must match.
    pub fn from_parts(key: KeyPair, certificate: Certificate) -> Result<Self, SignError> {
        if certificate.public_key.to_ascii_lowercase() != key.public_key_hex() {
            return Err(SignError::BadKey(
                "the CA certificate is not for this key".into(),
            ));
        }
        Ok(Self { key, certificate })
    }

    /// The CA's self-issued certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The CA's key (for the key store).
    pub fn key(&self) -> &KeyPair {
        &self.key
    }

    /// Issues a certificate valid for [`CERT_VALIDITY`] from `at`.
    pub fn issue(
        &self,
        request: &CertRequest,
        serial: &str,
        at: Timestamp,
    ) -> Result<Certificate, SignError> {
        issue_with(
            &self.key,
            &self.certificate.subject_name,
            request,
            serial,
            at,
        )
    }
}

fn issue_with(
    key: &KeyPair,
    issuer: &str,
    request: &CertRequest,
    serial: &str,
    at: Timestamp,
) -> Result<Certificate, SignError> {
    let not_after = at
        .checked_add(CERT_VALIDITY)
        .map_err(|e| SignError::Backend(format!("validity period: {e}")))?;
    let mut cert = Certificate {
        serial: serial.to_owned(),
        subject_name: request.subject_name.clone(),
        subject_id_masked: request.subject_id_masked.clone(),
        role: request.role,
        public_key: request.public_key.to_ascii_lowercase(),
        issuer: issuer.to_owned(),
        not_before: at,
        not_after,
        issuer_signature: String::new(),
    };
    cert.issuer_signature = key.sign_hex(&cert.canonical_bytes())?;
    Ok(cert)
}
