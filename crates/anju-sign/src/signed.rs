//! A signed document (the file people keep), signing it, and verifying it.

use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::SignError;
use crate::cert::{CertRole, Certificate};
use crate::document::{Document, Role};
use crate::signer::{Signature, Signer, SignerRef, statement};

/// A document with its signatures and the CA certificate that vouches for them;
/// stored as pretty JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedDocument {
    /// Format marker, `anju-signed-document/v1`.
    pub format: String,
    /// The document.
    pub document: Document,
    /// The signatures, in signing order.
    pub signatures: Vec<Signature>,
    /// The CA's self-issued certificate.
    pub ca_certificate: Certificate,
}

/// The `format` value of this version.
pub const FORMAT_V1: &str = "anju-signed-document/v1";

impl SignedDocument {
    /// A document with no signatures yet, vouched for by `signer`'s CA.
    pub fn new(document: Document, signer: &dyn Signer) -> Result<Self, SignError> {
        Ok(Self {
            format: FORMAT_V1.to_owned(),
            document,
            signatures: Vec::new(),
            ca_certificate: signer.ca_certificate()?,
        })
    }

    /// Adds one signature by `who` at `at` (parties may sign at different times).
    pub fn add_signature(
        &mut self,
        signer: &dyn Signer,
        who: &SignerRef,
        at: Timestamp,
    ) -> Result<(), SignError> {
        let ok =
            who.role == Role::CentreSeal || self.document.parties.iter().any(|p| who.is_party(p));
        if !ok {
            return Err(SignError::NotAParty(format!(
                "{} ({})",
                who.name,
                who.role.label_zh()
            )));
        }
        let sig = signer.sign(who, &self.document.canonical_bytes(), at)?;
        self.signatures.push(sig);
        Ok(())
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> Result<String, SignError> {
        serde_json::to_string_pretty(self).map_err(|e| SignError::Format(e.to_string()))
    }

    /// Parses the JSON form.
    pub fn from_json(text: &str) -> Result<Self, SignError> {
        let doc: Self = serde_json::from_str(text).map_err(|e| SignError::Format(e.to_string()))?;
        if doc.format != FORMAT_V1 {
            return Err(SignError::Format(format!(
                "unknown format {:?}",
                doc.format
            )));
        }
        Ok(doc)
    }

    /// Writes the pretty JSON to `path`.
    pub fn write_to(&self, path: &Path) -> Result<(), SignError> {
        std::fs::write(path, self.to_json()?).map_err(|e| SignError::io(path, &e))
    }

    /// Reads a signed document from `path`.
    pub fn read_from(path: &Path) -> Result<Self, SignError> {
        let text = std::fs::read_to_string(path).map_err(|e| SignError::io(path, &e))?;
        Self::from_json(&text)
    }
}

/// Signs `document` once by each of `parties` (who must cover every listed party) and
/// then with the centre's seal, all at `at`.
pub fn sign_all(
    document: Document,
    signer: &dyn Signer,
    parties: &[SignerRef],
    at: Timestamp,
) -> Result<SignedDocument, SignError> {
    if let Some(p) = document
        .parties
        .iter()
        .find(|p| !parties.iter().any(|r| r.is_party(p)))
    {
        return Err(SignError::MissingSigner(format!(
            "{} ({})",
            p.name,
            p.role.label_zh()
        )));
    }
    let seal = SignerRef::centre_seal(&document.issuer);
    let mut signed = SignedDocument::new(document, signer)?;
    for who in parties {
        signed.add_signature(signer, who, at)?;
    }
    signed.add_signature(signer, &seal, at)?;
    Ok(signed)
}

/// How the CA was judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaTrust {
    /// The CA's key is the one the caller trusts.
    Pinned,
    /// No trusted key was given: the file is consistent with itself only.
    NotPinned,
    /// The CA's key is not the trusted one.
    Untrusted,
}

/// The verdict on one signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureCheck {
    /// In what capacity.
    pub role: Role,
    /// Who.
    pub signer_name: String,
    /// When.
    pub signed_at: Timestamp,
    /// Certificate serial.
    pub certificate_serial: String,
    /// Whether every check on it passed.
    pub valid: bool,
    /// What failed, in plain words (empty when valid).
    pub problems: Vec<String>,
}

/// The verdict on a signed document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// SM3 of the document as it is now, hex.
    pub document_sm3: String,
    /// The CA's name.
    pub ca_name: String,
    /// The CA's public key (SEC1 hex).
    pub ca_public_key: String,
    /// Whether the CA was pinned.
    pub ca_trust: CaTrust,
    /// One verdict per signature, in file order.
    pub signatures: Vec<SignatureCheck>,
    /// Problems with the whole: CA, missing signers (plain words).
    pub problems: Vec<String>,
}

impl Report {
    /// Whether the document verified: every signature valid, every party and the seal
    /// present, the CA sound and (if pinned) trusted.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty() && self.signatures.iter().all(|s| s.valid)
    }

    /// A note on trust, or `None` when the CA was pinned.
    pub fn trust_note(&self) -> Option<&'static str> {
        match self.ca_trust {
            CaTrust::Pinned => None,
            CaTrust::NotPinned => Some("self-contained: CA not pinned"),
            CaTrust::Untrusted => Some("the CA is not the trusted one"),
        }
    }
}

/// Verifies a signed document: recomputes the SM3, checks every signature (SM2 with the
/// certificate's key and the default identifier), every certificate's issuer, the CA
/// (against `trusted_ca_public_key` when given), and that every party and the centre's
/// seal have signed validly.
pub fn verify(signed: &SignedDocument, trusted_ca_public_key: Option<&str>) -> Report {
    let document_sm3 = signed.document.sm3_hex();
    let ca = &signed.ca_certificate;
    let mut problems = check_ca(ca);
    let ca_trust = match trusted_ca_public_key {
        None => CaTrust::NotPinned,
        Some(k) if k.trim().eq_ignore_ascii_case(&ca.public_key) => CaTrust::Pinned,
        Some(_) => {
            problems.push("the CA's public key is not the trusted one (--trust-ca)".into());
            CaTrust::Untrusted
        }
    };
    let signatures: Vec<SignatureCheck> = signed
        .signatures
        .iter()
        .map(|s| check_signature(s, &document_sm3, ca))
        .collect();
    problems.extend(missing_signers(signed, &signatures));
    Report {
        document_sm3,
        ca_name: ca.subject_name.clone(),
        ca_public_key: ca.public_key.clone(),
        ca_trust,
        signatures,
        problems,
    }
}

fn check_ca(ca: &Certificate) -> Vec<String> {
    let mut problems = Vec::new();
    if ca.role != CertRole::Ca {
        problems.push("the CA certificate is not a CA certificate".into());
    }
    if ca.issuer != ca.subject_name || ca.verify_issued_by(&ca.public_key).is_err() {
        problems.push("the CA certificate is not validly self-issued".into());
    }
    problems
}

fn check_signature(sig: &Signature, document_sm3: &str, ca: &Certificate) -> SignatureCheck {
    let cert = &sig.certificate;
    let mut problems = Vec::new();
    if !sig.document_sm3.eq_ignore_ascii_case(document_sm3) {
        problems.push("the document was changed after this signature (SM3 differs)".to_owned());
    }
    if cert.issuer != ca.subject_name || cert.verify_issued_by(&ca.public_key).is_err() {
        problems.push(format!(
            "certificate {} was not issued by the CA {}",
            cert.serial, ca.subject_name
        ));
    }
    let wanted = if sig.role == Role::CentreSeal {
        CertRole::CentreSeal
    } else {
        CertRole::Person
    };
    if cert.role != wanted {
        problems.push(format!(
            "certificate {} is not for a {}",
            cert.serial,
            sig.role.label_zh()
        ));
    }
    if cert.subject_name != sig.signer_name {
        problems.push(format!(
            "certificate {} names {}, not {}",
            cert.serial, cert.subject_name, sig.signer_name
        ));
    }
    if !cert.valid_at(sig.signed_at) {
        problems.push(format!(
            "certificate {} was not valid at {}",
            cert.serial, sig.signed_at
        ));
    }
    let message = statement(
        document_sm3,
        sig.role,
        &sig.signer_name,
        &cert.serial,
        sig.signed_at,
    );
    if let Err(e) = crate::keys::verify_hex(&cert.public_key, &message, &sig.signature_hex) {
        problems.push(format!("SM2 signature check failed: {e}"));
    }
    SignatureCheck {
        role: sig.role,
        signer_name: sig.signer_name.clone(),
        signed_at: sig.signed_at,
        certificate_serial: cert.serial.clone(),
        valid: problems.is_empty(),
        problems,
    }
}

fn missing_signers(signed: &SignedDocument, checks: &[SignatureCheck]) -> Vec<String> {
    let doc = &signed.document;
    let valid = |i: usize| checks.get(i).is_some_and(|c| c.valid);
    let mut problems = Vec::new();
    for party in &doc.parties {
        let signed_by = signed.signatures.iter().enumerate().any(|(i, s)| {
            valid(i)
                && s.role == party.role
                && s.signer_name == party.name
                && s.certificate.subject_id_masked == party.id_number_masked
        });
        if !signed_by {
            problems.push(format!(
                "{} {} ({}) has not validly signed",
                party.role.label_zh(),
                party.name,
                party.id_number_masked
            ));
        }
    }
    let sealed =
        signed.signatures.iter().enumerate().any(|(i, s)| {
            valid(i) && s.role == Role::CentreSeal && s.signer_name == doc.issuer.name
        });
    if !sealed {
        problems.push(format!(
            "the seal of {} (中心印章) is missing or invalid",
            doc.issuer.name
        ));
    }
    problems
}
