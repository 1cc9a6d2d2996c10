//! `anju check id-card|credit-code`: validate identifiers from the command line or a
//! stream, for clerks and for data migration scripts.

use std::io::{BufRead, Write};

use anju_domain::ids::{CreditCode, IdCard, IdError};

/// Which identifier to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Resident ID number (居民身份证号码, GB 11643-1999).
    IdCard,
    /// Unified Social Credit Code (统一社会信用代码, GB 32100-2015).
    CreditCode,
}

fn describe(kind: Kind, value: &str) -> Result<String, IdError> {
    match kind {
        Kind::IdCard => {
            let id = IdCard::parse(value)?;
            Ok(format!(
                "valid resident ID number {}\nregion code: {}\nbirth date: {}\nsex: {} ({})",
                id.as_str(),
                id.region_code(),
                id.birth_date(),
                id.sex().label_en(),
                id.sex().label_zh(),
            ))
        }
        Kind::CreditCode => {
            let c = CreditCode::parse(value)?;
            let (auth, auth_label) = c.authority();
            Ok(format!(
                "valid unified social credit code {}\nregistration authority: {auth} ({auth_label})\nentity type: {}\nregion code: {}\norganisation code: {}",
                c.as_str(),
                c.entity_type(),
                c.region_code(),
                c.organisation_code(),
            ))
        }
    }
}

/// One line of `--stdin` output for one input line.
pub fn verdict(kind: Kind, line: &str) -> String {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return "invalid: empty".to_owned();
    }
    match describe(kind, trimmed) {
        Ok(_) => "valid".to_owned(),
        Err(e) => format!("invalid: {e}"),
    }
}

/// Runs the command; returns the process exit code.
pub fn run(kind: Kind, value: Option<&str>, stdin: bool) -> anyhow::Result<i32> {
    let out = std::io::stdout();
    let mut out = out.lock();
    if stdin {
        let input = std::io::stdin();
        for line in input.lock().lines() {
            let line = line?;
            writeln!(out, "{}", verdict(kind, &line))?;
        }
        out.flush()?;
        return Ok(0);
    }
    let Some(value) = value else {
        anyhow::bail!("give a VALUE to check, or --stdin");
    };
    match describe(kind, value) {
        Ok(text) => {
            writeln!(out, "{text}")?;
            Ok(0)
        }
        Err(e) => {
            writeln!(out, "invalid: {e}")?;
            Ok(1)
        }
    }
}
