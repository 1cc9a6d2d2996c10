//! Contract e-signing with the Chinese national algorithms (电子签章): documents (loan
//! contract 借款合同, mortgage contract 抵押合同, authorisations 授权书, payoff
//! certificate 贷款结清证明), SM2 signatures (GB/T 32918.2) over SM3 hashes, the centre's
//! own certificate authority, the signing port [`Signer`] (the centre's [`LocalSigner`],
//! or a licensed CA's cloud signing service), and [`verify`].
//!
//! # Flow
//! A use case builds a [`Document`], calls [`sign_all`] with a [`Signer`] and one
//! [`SignerRef`] per party (the centre's seal is added last), and stores
//! [`SignedDocument::to_json`]. Anyone holding the file runs [`verify`] (or
//! `anju verify-document FILE`).
//!
//! # Canonical bytes
//! Documents, certificates and signing statements are hashed and signed in a canonical
//! byte form that does not depend on JSON layout: a versioned tag, then each field as a
//! 4-byte big-endian length and its UTF-8 bytes; timestamps as 8-byte big-endian Unix
//! seconds and 4-byte big-endian nanoseconds; lists as a 4-byte count then the items.
//! The field order of each form is given on [`Document::canonical_bytes`],
//! [`Certificate::canonical_bytes`] and [`statement`].
//!
//! # Algorithms
//! SM3 (GB/T 32905) for document hashes; SM2 (GB/T 32918.2) for signatures with the
//! `ZA` pre-hash over the default distinguishing identifier `1234567812345678`
//! (GM/T 0009), via RustCrypto's `sm2` crate. Signatures are `r ‖ s` in hex; public
//! keys uncompressed SEC1 in hex.

mod canon;
mod cert;
mod document;
mod keys;
mod local;
mod signed;
mod signer;

use std::path::Path;

pub use cert::{CERT_VALIDITY, CertRequest, CertRole, Certificate, CertificateAuthority};
pub use document::{Document, DocumentKind, Issuer, Party, Role};
pub use keys::{DEFAULT_DISTID, KeyPair, VerifyError, verify_hex};
pub use local::LocalSigner;
pub use signed::{CaTrust, FORMAT_V1, Report, SignatureCheck, SignedDocument, sign_all, verify};
pub use signer::{SEAL_KEY_ID, Signature, Signer, SignerRef, statement};

/// Why signing (or reading a signed document) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The random source failed.
    #[error("random source failed: {0}")]
    Random(String),
    /// A key is malformed or does not match its certificate.
    #[error("bad key: {0}")]
    BadKey(String),
    /// The key store is unreadable or inconsistent.
    #[error("key store: {0}")]
    KeyStore(String),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A signed-document file is not valid JSON of the expected format.
    #[error("not a signed document: {0}")]
    Format(String),
    /// The key id is unknown to the signer.
    #[error("unknown signer {0}")]
    UnknownSigner(String),
    /// The key id belongs to someone else.
    #[error("identity mismatch: {0}")]
    IdentityMismatch(String),
    /// Someone who is not a party of the document was asked to sign it.
    #[error("{0} is not a party of this document")]
    NotAParty(String),
    /// A party of the document has no signer.
    #[error("no signer given for {0}")]
    MissingSigner(String),
    /// The signing backend (or a CA's service) failed.
    #[error("signing failed: {0}")]
    Backend(String),
}

impl SignError {
    fn io(path: &Path, e: &std::io::Error) -> Self {
        Self::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }
}
