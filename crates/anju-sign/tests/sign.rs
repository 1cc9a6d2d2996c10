#![allow(clippy::unwrap_used)]
//! Signing and verification: the national test vector, round trips, the key store, and
//! every kind of tampering.

use anju_sign::{
    CaTrust, Document, DocumentKind, Issuer, KeyPair, LocalSigner, Party, Role, SignedDocument,
    Signer, SignerRef, sign_all, verify, verify_hex,
};
use jiff::Timestamp;

/// GM/T 0003.5-2012 (= GB/T 32918.5-2017) Annex A, the SM2 signature example on the
/// recommended curve: private key d, message "message digest", identifier
/// "1234567812345678", and the published (r, s).
const VECTOR_D: &str = "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8";
const VECTOR_P: &str = "0409F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020\
                        CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13";
const VECTOR_R: &str = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3";
const VECTOR_S: &str = "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA";

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn issuer() -> Issuer {
    Issuer {
        code: "330800".into(),
        name: "衢州市住房公积金中心".into(),
    }
}

fn contract() -> Document {
    Document {
        kind: DocumentKind::LoanContract,
        number: "JK-2026-000123".into(),
        title: "个人住房公积金借款合同".into(),
        issuer: issuer(),
        created_at: at("2026-11-27T09:00:00Z"),
        body: "借款金额：人民币伍拾万元整（500,000.00元）。借款期限：360个月。".into(),
        parties: vec![
            Party {
                role: Role::Borrower,
                name: "张三".into(),
                id_number_masked: "330802********1234".into(),
            },
            Party {
                role: Role::CoBorrower,
                name: "李四".into(),
                id_number_masked: "330802********5678".into(),
            },
        ],
    }
}

fn refs(doc: &Document) -> Vec<SignerRef> {
    vec![
        SignerRef::for_party(&doc.parties[0], "m-0001"),
        SignerRef::for_party(&doc.parties[1], "m-0002"),
    ]
}

fn signed(signer: &LocalSigner) -> SignedDocument {
    let doc = contract();
    let refs = refs(&doc);
    sign_all(doc, signer, &refs, at("2026-11-27T10:00:00Z")).unwrap()
}

fn seeded() -> LocalSigner {
    LocalSigner::in_memory(Some(b"test seed"), &issuer(), at("2026-01-01T00:00:00Z")).unwrap()
}

#[test]
fn national_test_vector_verifies() {
    let key = KeyPair::from_secret_hex(VECTOR_D).unwrap();
    assert_eq!(key.public_key_hex(), VECTOR_P.to_ascii_lowercase());
    let sig = format!("{VECTOR_R}{VECTOR_S}");
    assert_eq!(verify_hex(VECTOR_P, b"message digest", &sig), Ok(()));
    // The ZA pre-hash is really used: another message fails.
    assert!(verify_hex(VECTOR_P, b"message digesT", &sig).is_err());
}

#[test]
fn sign_then_verify_round_trip() {
    let key = KeyPair::derive(b"seed", "x");
    let sig = key.sign_hex(b"hello").unwrap();
    assert_eq!(sig.len(), 128);
    assert_eq!(verify_hex(&key.public_key_hex(), b"hello", &sig), Ok(()));
    assert!(format!("{key:?}").find(&key.secret_hex()).is_none());
}

#[test]
fn canonical_bytes_are_stable_and_sm3_is_hex() {
    let doc = contract();
    assert_eq!(doc.canonical_bytes(), contract().canonical_bytes());
    assert!(
        doc.canonical_bytes()
            .starts_with(b"\0\0\0\x15anju-sign/document/v1")
    );
    assert_eq!(doc.sm3_hex().len(), 64);
    let mut other = contract();
    other.number.push('1');
    assert_ne!(doc.sm3_hex(), other.sm3_hex());
}

#[test]
fn a_signed_contract_verifies_and_survives_json() {
    let signer = seeded();
    let signed = signed(&signer);
    assert_eq!(signed.signatures.len(), 3);
    let back = SignedDocument::from_json(&signed.to_json().unwrap()).unwrap();
    assert_eq!(back, signed);
    let report = verify(&back, None);
    assert!(report.is_valid(), "{report:?}");
    assert_eq!(report.ca_trust, CaTrust::NotPinned);
    assert_eq!(report.trust_note(), Some("self-contained: CA not pinned"));
    let pinned = verify(&back, Some(&signer.ca_public_key().unwrap()));
    assert!(pinned.is_valid());
    assert_eq!(pinned.ca_trust, CaTrust::Pinned);
}

#[test]
fn another_ca_is_refused_when_pinned() {
    let signed = signed(&seeded());
    let other = LocalSigner::in_memory(None, &issuer(), at("2026-01-01T00:00:00Z")).unwrap();
    let report = verify(&signed, Some(&other.ca_public_key().unwrap()));
    assert!(!report.is_valid());
    assert_eq!(report.ca_trust, CaTrust::Untrusted);
}

#[test]
fn one_changed_character_of_the_body_is_detected() {
    let mut signed = signed(&seeded());
    signed.document.body = signed.document.body.replacen('伍', "陆", 1);
    let report = verify(&signed, None);
    assert!(!report.is_valid());
    assert!(report.signatures.iter().all(|s| !s.valid));
    assert!(report.signatures[0].problems[0].contains("changed after this signature"));
}

#[test]
fn a_forged_document_hash_is_still_detected() {
    // The attacker also rewrites document_sm3 in every signature.
    let mut signed = signed(&seeded());
    signed.document.body.push('。');
    let sm3 = signed.document.sm3_hex();
    for s in &mut signed.signatures {
        s.document_sm3.clone_from(&sm3);
    }
    let report = verify(&signed, None);
    assert!(!report.is_valid());
    assert!(
        report.signatures[0]
            .problems
            .iter()
            .any(|p| p.contains("SM2 signature"))
    );
}

#[test]
fn a_swapped_certificate_is_detected() {
    let signer = seeded();
    let mut signed = signed(&signer);
    // The co-borrower's (valid, same CA) certificate under the borrower's signature.
    signed.signatures[0].certificate = signed.signatures[1].certificate.clone();
    let report = verify(&signed, None);
    assert!(!report.is_valid());
    assert!(!report.signatures[0].valid);
    assert!(report.problems.iter().any(|p| p.contains("张三")));
}

#[test]
fn a_certificate_from_another_ca_is_detected() {
    let mut signed = signed(&seeded());
    let doc = contract();
    let rogue =
        LocalSigner::in_memory(Some(b"rogue"), &issuer(), at("2026-01-01T00:00:00Z")).unwrap();
    let fake = sign_all(doc.clone(), &rogue, &refs(&doc), at("2026-11-27T10:00:00Z")).unwrap();
    signed.signatures[0] = fake.signatures[0].clone();
    let report = verify(&signed, None);
    assert!(!report.signatures[0].valid);
    assert!(report.signatures[0].problems[0].contains("not issued by the CA"));
}

#[test]
fn a_dropped_signature_is_detected() {
    let mut signed = signed(&seeded());
    signed.signatures.remove(1);
    let report = verify(&signed, None);
    assert!(!report.is_valid());
    assert!(report.signatures.iter().all(|s| s.valid));
    assert_eq!(report.problems.len(), 1);
    assert!(report.problems[0].contains("共同借款人 李四"));
}

#[test]
fn a_missing_seal_is_detected() {
    let mut signed = signed(&seeded());
    signed.signatures.retain(|s| s.role != Role::CentreSeal);
    let report = verify(&signed, None);
    assert!(report.problems.iter().any(|p| p.contains("中心印章")));
}

#[test]
fn sign_all_needs_every_party_and_only_parties() {
    let signer = seeded();
    let doc = contract();
    let only_one = [SignerRef::for_party(&doc.parties[0], "m-0001")];
    assert!(sign_all(doc.clone(), &signer, &only_one, at("2026-11-27T10:00:00Z")).is_err());
    let mut stranger = refs(&doc);
    stranger.push(SignerRef {
        key_id: "m-9".into(),
        role: Role::Guarantor,
        name: "王五".into(),
        id_number_masked: "330802********0000".into(),
    });
    assert!(sign_all(doc, &signer, &stranger, at("2026-11-27T10:00:00Z")).is_err());
}

#[test]
fn a_key_id_cannot_sign_as_someone_else() {
    let signer = seeded();
    let doc = contract();
    signed(&signer);
    let mut imposter = SignerRef::for_party(&doc.parties[1], "m-0001");
    imposter.role = Role::CoBorrower;
    let err = signer.sign(
        &imposter,
        &doc.canonical_bytes(),
        at("2026-11-27T11:00:00Z"),
    );
    assert!(err.is_err());
}

#[test]
fn the_key_store_file_is_private_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    let t0 = at("2026-01-01T00:00:00Z");
    let first = LocalSigner::open(&path, &issuer(), t0).unwrap();
    let signed = signed(&first);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = LocalSigner::open(&path, &issuer(), t0).unwrap();
    assert_eq!(
        again.ca_public_key().unwrap(),
        first.ca_public_key().unwrap()
    );
    let who = SignerRef::for_party(&contract().parties[0], "m-0001");
    assert_eq!(
        again.certificate(&who).unwrap(),
        signed.signatures[0].certificate
    );
    let wrong = Issuer {
        code: "1".into(),
        name: "别的中心".into(),
    };
    assert!(LocalSigner::open(&path, &wrong, t0).is_err());
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let secret = file["seal"]["secret_key"].as_str().unwrap();
    assert_eq!(secret.len(), 64);
    assert!(!format!("{again:?}").contains(secret));
}
