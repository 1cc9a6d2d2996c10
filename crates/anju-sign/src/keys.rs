//! SM2 keys and signatures (GB/T 32918.2) with the default distinguishing identifier.
//!
//! Signing computes `e = SM3(ZA ‖ M)` where `ZA = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖
//! yA)` over the signer's distinguishing identifier; the nonce is derived from the key
//! and `e` (RFC 6979 with SM3), so signing needs no random source. Signatures are
//! written as 128 hex digits, `r ‖ s`; public keys as uncompressed SEC1 (`04 ‖ x ‖ y`).

use std::fmt;

use sm2::dsa::signature::{Signer as _, Verifier as _};
use sm2::dsa::{Signature as Sm2Signature, SigningKey, VerifyingKey};

use crate::SignError;

/// The default distinguishing identifier of GM/T 0009-2012 (`1234567812345678`), used
/// for every signer.
pub const DEFAULT_DISTID: &str = "1234567812345678";

/// An SM2 private key. `Debug` never shows it.
#[derive(Clone)]
pub struct KeyPair {
    key: SigningKey,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("public_key", &self.public_key_hex())
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self, SignError> {
        loop {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| SignError::Random(e.to_string()))?;
            // Out-of-range scalars (0 or ≥ n, probability ≈ 2⁻³²) are drawn again.
            if let Ok(k) = Self::from_secret_bytes(&bytes) {
                return Ok(k);
            }
        }
    }

    /// A key derived from a seed and a label (SM3 of both, counter on the rare
    /// out-of-range value) — for tests and reproducible demos only.
    pub fn derive(seed: &[u8], label: &str) -> Self {
        let mut counter = 0u32;
        loop {
            use sm3::Digest;
            let mut h = sm3::Sm3::new();
            h.update(seed);
            h.update(label.as_bytes());
            h.update(counter.to_be_bytes());
            if let Ok(k) = Self::from_secret_bytes(&h.finalize()) {
                return k;
            }
            counter = counter.wrapping_add(1);
        }
    }

    /// A key from its 32 secret bytes.
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<Self, SignError> {
        let key = SigningKey::from_slice(DEFAULT_DISTID, bytes)
            .map_err(|_| SignError::BadKey("secret key out of range".into()))?;
        Ok(Self { key })
    }

    /// A key from 64 hex digits.
    pub fn from_secret_hex(hex_key: &str) -> Result<Self, SignError> {
        let bytes = hex::decode(hex_key.trim())
            .map_err(|_| SignError::BadKey("secret key is not hex".into()))?;
        Self::from_secret_bytes(&bytes)
    }

    /// The secret key as 64 hex digits — for the key store only; never log it.
    pub fn secret_hex(&self) -> String {
        hex::encode(self.key.to_bytes())
    }

    /// The public key, uncompressed SEC1, as hex (130 digits, starting `04`).
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key.verifying_key().to_sec1_bytes())
    }

    /// Signs `message` (SM2 with ZA over [`DEFAULT_DISTID`]); `r ‖ s` as hex.
    pub fn sign_hex(&self, message: &[u8]) -> Result<String, SignError> {
        let sig: Sm2Signature = self
            .key
            .try_sign(message)
            .map_err(|e| SignError::Backend(format!("SM2 signing failed: {e}")))?;
        Ok(hex::encode(sig.to_bytes()))
    }
}

/// Why a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The public key is not hex or not a point on the SM2 curve.
    #[error("the public key is not a valid SM2 point")]
    BadPublicKey,
    /// The signature is not 128 hex digits or r or s is out of range.
    #[error("the signature is malformed")]
    BadSignature,
    /// The signature does not match the message and key.
    #[error("the signature does not match")]
    Mismatch,
}

/// Verifies an SM2 signature (`r ‖ s` hex) over `message` with a public key (SEC1 hex)
/// and the default distinguishing identifier.
pub fn verify_hex(
    public_key_hex: &str,
    message: &[u8],
    signature_hex: &str,
) -> Result<(), VerifyError> {
    let pk = hex::decode(public_key_hex.trim()).map_err(|_| VerifyError::BadPublicKey)?;
    let vk = VerifyingKey::from_sec1_bytes(DEFAULT_DISTID, &pk)
        .map_err(|_| VerifyError::BadPublicKey)?;
    let sig = hex::decode(signature_hex.trim()).map_err(|_| VerifyError::BadSignature)?;
    let sig = Sm2Signature::from_slice(&sig).map_err(|_| VerifyError::BadSignature)?;
    vk.verify(message, &sig).map_err(|_| VerifyError::Mismatch)
}
