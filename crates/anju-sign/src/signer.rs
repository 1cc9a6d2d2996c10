//! The signing port ([`Signer`]) and what it produces ([`Signature`]).
//!
//! A signer signs a *statement* rather than the raw document: the document's SM3, the
//! role, the signer's name, the certificate serial and the signing time (canonical
//! bytes, tag `anju-sign/signature/v1`, see [`statement`]). SM2 then hashes
//! `ZA ‖ statement` with SM3. So the signature covers the document (through its SM3)
//! and cannot be moved to another role, person, certificate or time.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::SignError;
use crate::canon::Canon;
use crate::cert::Certificate;
use crate::document::{Issuer, Party, Role};

/// Who is to sign: a key id in the signer's key store plus the identity expected on the
/// certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerRef {
    /// Stable key id in the key store (e.g. the member's account number, or a CA's user
    /// id); never an unmasked ID number.
    pub key_id: String,
    /// In what capacity.
    pub role: Role,
    /// The name on the certificate.
    pub name: String,
    /// The masked ID number (or the centre code for the seal).
    pub id_number_masked: String,
}

/// The key id of the centre's seal in every key store.
pub const SEAL_KEY_ID: &str = "centre-seal";

impl SignerRef {
    /// The signer for one of a document's parties, with its key id.
    pub fn for_party(party: &Party, key_id: &str) -> Self {
        Self {
            key_id: key_id.to_owned(),
            role: party.role,
            name: party.name.clone(),
            id_number_masked: party.id_number_masked.clone(),
        }
    }

    /// The centre's seal.
    pub fn centre_seal(issuer: &Issuer) -> Self {
        Self {
            key_id: SEAL_KEY_ID.to_owned(),
            role: Role::CentreSeal,
            name: issuer.name.clone(),
            id_number_masked: issuer.code.clone(),
        }
    }

    /// Whether this signer is `party`.
    pub fn is_party(&self, party: &Party) -> bool {
        self.role == party.role
            && self.name == party.name
            && self.id_number_masked == party.id_number_masked
    }
}

/// One signature on a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// In what capacity.
    pub role: Role,
    /// The signer's name (the certificate subject).
    pub signer_name: String,
    /// The signer's certificate.
    pub certificate: Certificate,
    /// When it was signed.
    pub signed_at: Timestamp,
    /// SM3 of the document's canonical bytes at signing, hex.
    pub document_sm3: String,
    /// SM2 signature (`r ‖ s`, hex) over [`statement`].
    pub signature_hex: String,
}

/// The bytes a signer signs: tag, document SM3 (lowercase hex), role code, signer name,
/// certificate serial, signing time.
pub fn statement(
    document_sm3: &str,
    role: Role,
    signer_name: &str,
    cert_serial: &str,
    signed_at: Timestamp,
) -> Vec<u8> {
    Canon::new("anju-sign/signature/v1")
        .text(&document_sm3.to_ascii_lowercase())
        .text(role.code())
        .text(signer_name)
        .text(cert_serial)
        .time(signed_at)
        .finish()
}

/// The signing port: the centre's own [`crate::LocalSigner`], or a licensed CA's cloud
/// signing service (云签) that holds each person's key and unlocks it after face
/// verification.
pub trait Signer: Send + Sync + std::fmt::Debug {
    /// Signs a document's canonical bytes as `signer` at time `at`.
    fn sign(
        &self,
        signer: &SignerRef,
        document_bytes: &[u8],
        at: Timestamp,
    ) -> Result<Signature, SignError>;

    /// The signer's current certificate.
    fn certificate(&self, signer: &SignerRef) -> Result<Certificate, SignError>;

    /// The certificate of the CA that issued the signers' certificates.
    fn ca_certificate(&self) -> Result<Certificate, SignError>;
}
