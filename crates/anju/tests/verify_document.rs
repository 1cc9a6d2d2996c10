#![allow(clippy::unwrap_used)]
//! `anju verify-document`: a signed contract verifies; a tampered one fails with a
//! message naming the problem.

use std::path::Path;
use std::process::{Command, Output};

use anju_sign::{
    Document, DocumentKind, Issuer, LocalSigner, Party, Role, SignedDocument, SignerRef, sign_all,
};
use jiff::Timestamp;

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn signed_contract() -> (SignedDocument, String) {
    let issuer = Issuer {
        code: "330800".into(),
        name: "衢州市住房公积金中心".into(),
    };
    let doc = Document {
        kind: DocumentKind::LoanContract,
        number: "JK-2026-000123".into(),
        title: "个人住房公积金借款合同".into(),
        issuer: issuer.clone(),
        created_at: at("2026-11-27T09:00:00Z"),
        body: "借款金额：人民币伍拾万元整。借款期限：360个月。".into(),
        parties: vec![Party {
            role: Role::Borrower,
            name: "张三".into(),
            id_number_masked: "330802********1234".into(),
        }],
    };
    let signer = LocalSigner::in_memory(None, &issuer, at("2026-01-01T00:00:00Z")).unwrap();
    let refs = [SignerRef::for_party(&doc.parties[0], "m-0001")];
    let signed = sign_all(doc, &signer, &refs, at("2026-11-27T10:00:00Z")).unwrap();
    (signed, signer.ca_public_key().unwrap())
}

fn anju(args: &[&str], file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_anju"))
        .arg("verify-document")
        .arg(file)
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_signed_contract_verifies_and_a_tampered_one_fails() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("JK-2026-000123.signed.json");
    let (signed, ca_key) = signed_contract();
    signed.write_to(&file).unwrap();

    let ok = anju(&[], &file);
    let out = text(&ok.stdout);
    assert!(ok.status.success(), "{out}\n{}", text(&ok.stderr));
    assert!(out.contains(&signed.document.sm3_hex()), "{out}");
    assert!(out.contains("借款人 张三"), "{out}");
    assert!(out.contains("self-contained: CA not pinned"), "{out}");
    assert!(out.contains("result    VALID"), "{out}");

    let pinned = anju(&["--trust-ca", &ca_key, "--format", "json"], &file);
    assert!(pinned.status.success(), "{}", text(&pinned.stderr));
    let report: serde_json::Value = serde_json::from_slice(&pinned.stdout).unwrap();
    assert_eq!(report["ca_trust"], "pinned");

    // One character of the body changed in the file itself.
    let tampered = std::fs::read_to_string(&file)
        .unwrap()
        .replacen("伍拾", "陆拾", 1);
    std::fs::write(&file, tampered).unwrap();
    let bad = anju(&[], &file);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stdout).contains("INVALID"));
    let err = text(&bad.stderr);
    assert!(err.contains("does NOT verify"), "{err}");
    assert!(err.contains("changed after this signature"), "{err}");
}

#[test]
fn an_unreadable_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nope.json");
    std::fs::write(&file, "{}").unwrap();
    let out = anju(&[], &file);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not a signed document"),
        "{}",
        text(&out.stderr)
    );
}
