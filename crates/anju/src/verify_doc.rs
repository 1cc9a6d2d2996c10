//! `anju verify-document FILE`: checks a signed contract or authorisation (SM3 of the
//! document, each SM2 signature and certificate, the CA, every party and the centre's
//! seal) and exits non-zero when anything fails.

use std::path::PathBuf;

use anju_sign::{Report, SignedDocument, verify};

/// How to print the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Lines for people.
    Text,
    /// One JSON object (the report).
    Json,
}

/// Arguments of `anju verify-document`.
#[derive(Debug, clap::Args)]
pub struct VerifyDocumentArgs {
    /// The signed document (JSON, as written by the signing use cases).
    pub file: PathBuf,
    /// The CA public key to trust (uncompressed SEC1 hex); without it the file is only
    /// checked against the CA certificate it carries.
    #[arg(long, value_name = "HEX")]
    pub trust_ca: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs the command: 0 when the document verifies, 1 when it does not.
pub fn run(args: &VerifyDocumentArgs) -> anyhow::Result<u8> {
    let signed = SignedDocument::read_from(&args.file)?;
    let report = verify(&signed, args.trust_ca.as_deref());
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => print_text(&signed, &report),
    }
    if report.is_valid() {
        Ok(0)
    } else {
        eprintln!(
            "anju: {} does NOT verify: {}",
            args.file.display(),
            first_problem(&report)
        );
        Ok(1)
    }
}

fn print_text(signed: &SignedDocument, report: &Report) {
    let doc = &signed.document;
    println!(
        "document  {} {} ({})",
        doc.kind.label_zh(),
        doc.number,
        doc.title
    );
    println!("issuer    {} ({})", doc.issuer.name, doc.issuer.code);
    println!("SM3       {}", report.document_sm3);
    println!("CA        {} {}", report.ca_name, report.ca_public_key);
    if let Some(note) = report.trust_note() {
        println!("trust     {note}");
    }
    for s in &report.signatures {
        let verdict = if s.valid { "valid" } else { "INVALID" };
        println!(
            "signature {} {} at {} (cert {}): {verdict}",
            s.role.label_zh(),
            s.signer_name,
            s.signed_at,
            s.certificate_serial
        );
        for p in &s.problems {
            println!("          - {p}");
        }
    }
    for p in &report.problems {
        println!("problem   {p}");
    }
    let verdict = if report.is_valid() {
        "VALID"
    } else {
        "NOT VALID"
    };
    println!("result    {verdict}");
}

fn first_problem(report: &Report) -> String {
    report
        .signatures
        .iter()
        .flat_map(|s| s.problems.iter())
        .chain(report.problems.iter())
        .next()
        .cloned()
        .unwrap_or_else(|| "unknown problem".to_owned())
}
