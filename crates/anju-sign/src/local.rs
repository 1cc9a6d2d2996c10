//! [`LocalSigner`]: the centre's own key store — its CA, its seal, and a server-held key
//! per person, created on first use (as a CA's cloud certificate is, once the person has
//! passed face verification).
//!
//! The store is one JSON file written with mode 0600 (atomically: a temporary file, then
//! a rename) or lives in memory only. Private keys never appear in `Debug` or logs.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::SignError;
use crate::canon::sm3_hex;
use crate::cert::{CertRequest, CertRole, Certificate, CertificateAuthority};
use crate::document::{Issuer, Role};
use crate::keys::KeyPair;
use crate::signer::{SEAL_KEY_ID, Signature, Signer, SignerRef, statement};

/// A key and its certificate.
#[derive(Clone)]
struct Held {
    key: KeyPair,
    certificate: Certificate,
}

/// How keys are made: from the OS random source, or derived from a seed (tests).
#[derive(Clone)]
enum KeySource {
    Random,
    Seeded(Vec<u8>),
}

impl KeySource {
    fn key(&self, label: &str) -> Result<KeyPair, SignError> {
        match self {
            Self::Random => KeyPair::generate(),
            Self::Seeded(seed) => Ok(KeyPair::derive(seed, label)),
        }
    }
}

struct State {
    ca: CertificateAuthority,
    seal: Held,
    people: BTreeMap<String, Held>,
    next_serial: u64,
}

/// The centre's own signer: a JSON key store on disk, or in memory.
pub struct LocalSigner {
    path: Option<PathBuf>,
    source: KeySource,
    state: Mutex<State>,
}

impl fmt::Debug for LocalSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSigner")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl LocalSigner {
    /// An in-memory signer for `issuer`: keys derived from `seed` (reproducible) or,
    /// without one, random. The CA and seal certificates are valid from `at`.
    pub fn in_memory(
        seed: Option<&[u8]>,
        issuer: &Issuer,
        at: Timestamp,
    ) -> Result<Self, SignError> {
        let source = seed.map_or(KeySource::Random, |s| KeySource::Seeded(s.to_vec()));
        let state = new_state(&source, issuer, at)?;
        Ok(Self {
            path: None,
            source,
            state: Mutex::new(state),
        })
    }

    /// Opens the key store at `path`, creating it (random keys, mode 0600) if absent.
    /// An existing store must belong to `issuer` (its seal names the centre).
    pub fn open(path: &Path, issuer: &Issuer, at: Timestamp) -> Result<Self, SignError> {
        let state = if path.exists() {
            let state = read_store(path)?;
            if state.seal.certificate.subject_name != issuer.name {
                return Err(SignError::KeyStore(format!(
                    "{} holds the seal of {}, not {}",
                    path.display(),
                    state.seal.certificate.subject_name,
                    issuer.name
                )));
            }
            state
        } else {
            let state = new_state(&KeySource::Random, issuer, at)?;
            write_store(path, &state)?;
            state
        };
        Ok(Self {
            path: Some(path.to_owned()),
            source: KeySource::Random,
            state: Mutex::new(state),
        })
    }

    /// The CA's public key (SEC1 hex), to pin with `anju verify-document --trust-ca`.
    pub fn ca_public_key(&self) -> Result<String, SignError> {
        Ok(self.lock()?.ca.certificate().public_key.clone())
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, SignError> {
        self.state
            .lock()
            .map_err(|_| SignError::KeyStore("the key store lock is poisoned".into()))
    }

    /// The key and certificate for `signer`, creating a person's on first use.
    fn held(
        &self,
        state: &mut State,
        signer: &SignerRef,
        at: Timestamp,
    ) -> Result<Held, SignError> {
        if signer.role == Role::CentreSeal {
            return seal_for(state, signer);
        }
        if let Some(held) = state.people.get(&signer.key_id) {
            check_identity(&held.certificate, signer)?;
            if held.certificate.valid_at(at) {
                return Ok(held.clone());
            }
        }
        self.enrol(state, signer, at)
    }

    /// Issues a (new or renewed) certificate for a person and saves the store.
    fn enrol(
        &self,
        state: &mut State,
        signer: &SignerRef,
        at: Timestamp,
    ) -> Result<Held, SignError> {
        let key = match state.people.get(&signer.key_id) {
            Some(held) => held.key.clone(),
            None => self.source.key(&format!("person:{}", signer.key_id))?,
        };
        let request = CertRequest {
            subject_name: signer.name.clone(),
            subject_id_masked: signer.id_number_masked.clone(),
            role: CertRole::Person,
            public_key: key.public_key_hex(),
        };
        state.next_serial = state.next_serial.saturating_add(1);
        let serial = format!("p-{:08x}", state.next_serial);
        let certificate = state.ca.issue(&request, &serial, at)?;
        let held = Held { key, certificate };
        state.people.insert(signer.key_id.clone(), held.clone());
        if let Some(path) = &self.path {
            write_store(path, state)?;
        }
        Ok(held)
    }
}

impl Signer for LocalSigner {
    fn sign(
        &self,
        signer: &SignerRef,
        document_bytes: &[u8],
        at: Timestamp,
    ) -> Result<Signature, SignError> {
        let mut state = self.lock()?;
        let held = self.held(&mut state, signer, at)?;
        let document_sm3 = sm3_hex(document_bytes);
        let message = statement(
            &document_sm3,
            signer.role,
            &signer.name,
            &held.certificate.serial,
            at,
        );
        Ok(Signature {
            role: signer.role,
            signer_name: signer.name.clone(),
            signature_hex: held.key.sign_hex(&message)?,
            certificate: held.certificate,
            signed_at: at,
            document_sm3,
        })
    }

    fn certificate(&self, signer: &SignerRef) -> Result<Certificate, SignError> {
        let state = self.lock()?;
        if signer.role == Role::CentreSeal {
            return seal_for(&state, signer).map(|h| h.certificate);
        }
        let held = state
            .people
            .get(&signer.key_id)
            .ok_or_else(|| SignError::UnknownSigner(signer.key_id.clone()))?;
        check_identity(&held.certificate, signer)?;
        Ok(held.certificate.clone())
    }

    fn ca_certificate(&self) -> Result<Certificate, SignError> {
        Ok(self.lock()?.ca.certificate().clone())
    }
}

fn seal_for(state: &State, signer: &SignerRef) -> Result<Held, SignError> {
    if signer.key_id != SEAL_KEY_ID {
        return Err(SignError::UnknownSigner(signer.key_id.clone()));
    }
    check_identity(&state.seal.certificate, signer)?;
    Ok(state.seal.clone())
}

fn check_identity(cert: &Certificate, signer: &SignerRef) -> Result<(), SignError> {
    if cert.subject_name == signer.name && cert.subject_id_masked == signer.id_number_masked {
        Ok(())
    } else {
        Err(SignError::IdentityMismatch(format!(
            "key {} belongs to {} ({}), not {} ({})",
            signer.key_id,
            cert.subject_name,
            cert.subject_id_masked,
            signer.name,
            signer.id_number_masked
        )))
    }
}

fn new_state(source: &KeySource, issuer: &Issuer, at: Timestamp) -> Result<State, SignError> {
    let ca_name = format!("{} 电子认证 CA", issuer.name);
    let ca = CertificateAuthority::new(source.key("ca")?, &ca_name, &issuer.code, at)?;
    let seal_key = source.key("seal")?;
    let request = CertRequest {
        subject_name: issuer.name.clone(),
        subject_id_masked: issuer.code.clone(),
        role: CertRole::CentreSeal,
        public_key: seal_key.public_key_hex(),
    };
    let certificate = ca.issue(&request, "seal-0001", at)?;
    Ok(State {
        ca,
        seal: Held {
            key: seal_key,
            certificate,
        },
        people: BTreeMap::new(),
        next_serial: 0,
    })
}

/// The key store file (version 1).
#[derive(Serialize, Deserialize)]
struct StoreFile {
    version: u32,
    ca: StoredKey,
    seal: StoredKey,
    signers: BTreeMap<String, StoredKey>,
    next_serial: u64,
}

#[derive(Serialize, Deserialize)]
struct StoredKey {
    secret_key: String,
    certificate: Certificate,
}

impl StoredKey {
    fn of(key: &KeyPair, certificate: &Certificate) -> Self {
        Self {
            secret_key: key.secret_hex(),
            certificate: certificate.clone(),
        }
    }

    fn held(self) -> Result<Held, SignError> {
        let key = KeyPair::from_secret_hex(&self.secret_key)?;
        if key.public_key_hex() != self.certificate.public_key.to_ascii_lowercase() {
            return Err(SignError::KeyStore(format!(
                "certificate {} does not match its stored key",
                self.certificate.serial
            )));
        }
        Ok(Held {
            key,
            certificate: self.certificate,
        })
    }
}

fn read_store(path: &Path) -> Result<State, SignError> {
    let text = std::fs::read_to_string(path).map_err(|e| SignError::io(path, &e))?;
    let file: StoreFile = serde_json::from_str(&text)
        .map_err(|e| SignError::KeyStore(format!("{}: {e}", path.display())))?;
    if file.version != 1 {
        return Err(SignError::KeyStore(format!(
            "{}: unknown version {}",
            path.display(),
            file.version
        )));
    }
    let ca = CertificateAuthority::from_parts(
        KeyPair::from_secret_hex(&file.ca.secret_key)?,
        file.ca.certificate,
    )?;
    let people = file
        .signers
        .into_iter()
        .map(|(id, k)| k.held().map(|h| (id, h)))
        .collect::<Result<_, _>>()?;
    Ok(State {
        ca,
        seal: file.seal.held()?,
        people,
        next_serial: file.next_serial,
    })
}

fn write_store(path: &Path, state: &State) -> Result<(), SignError> {
    let file = StoreFile {
        version: 1,
        ca: StoredKey::of(state.ca.key(), state.ca.certificate()),
        seal: StoredKey::of(&state.seal.key, &state.seal.certificate),
        signers: state
            .people
            .iter()
            .map(|(id, h)| (id.clone(), StoredKey::of(&h.key, &h.certificate)))
            .collect(),
        next_serial: state.next_serial,
    };
    let json = serde_json::to_string_pretty(&file)
        .map_err(|e| SignError::KeyStore(format!("cannot encode the key store: {e}")))?;
    let tmp = path.with_extension("tmp");
    write_private(&tmp, json.as_bytes())?;
    std::fs::rename(&tmp, path).map_err(|e| SignError::io(path, &e))
}

/// Writes `bytes` to a new file readable and writable by the owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), SignError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        // An older file keeps its mode on open; tighten it first.
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| SignError::io(path, &e))?;
        }
    }
    let mut f = options.open(path).map_err(|e| SignError::io(path, &e))?;
    f.write_all(bytes).map_err(|e| SignError::io(path, &e))?;
    f.sync_all().map_err(|e| SignError::io(path, &e))
}
