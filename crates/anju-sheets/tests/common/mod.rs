#![allow(clippy::unwrap_used, dead_code)]
//! Helpers shared by the integration tests.

use anju_domain::ids::IdCard;

/// A valid resident ID number (Quzhou, Kecheng district), distinct for each `n` < 3,650,000.
pub fn id(n: u32) -> String {
    let day = n % 28 + 1;
    let month = (n / 28) % 12 + 1;
    let year = 1960 + (n / 336) % 40;
    let seq = (n / 13_440) % 1000;
    IdCard::with_check_char(&format!("330802{year:04}{month:02}{day:02}{seq:03}"))
        .unwrap()
        .as_str()
        .to_owned()
}

/// A 14-digit personal account number.
pub fn account(n: u64) -> String {
    format!("{}", 33_080_000_000_000_u64 + n)
}

/// Raw string rows as `Vec<Vec<String>>`.
pub fn rows(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|s| (*s).to_owned()).collect())
        .collect()
}

/// A CSV file from lines joined with CRLF.
pub fn csv(lines: &[&str]) -> Vec<u8> {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n");
    s.into_bytes()
}
