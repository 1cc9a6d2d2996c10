//! The canonical byte writer shared by documents, certificates and signing statements.
//!
//! Every field is written as a 4-byte big-endian length followed by its bytes (text as
//! UTF-8); timestamps as 8-byte big-endian seconds since the Unix epoch plus 4-byte
//! big-endian nanoseconds; counts as 4-byte big-endian integers. Each form starts with a
//! versioned tag such as `anju-sign/document/v1`, so two kinds of bytes never coincide.
//! The encoding is independent of serde and JSON formatting: re-indenting a signed file
//! does not change what was signed.

use jiff::Timestamp;

/// Builds canonical bytes field by field.
#[derive(Debug, Default)]
pub(crate) struct Canon {
    bytes: Vec<u8>,
}

impl Canon {
    /// Starts a form with its versioned tag.
    pub(crate) fn new(tag: &str) -> Self {
        let mut c = Self::default();
        c.text(tag);
        c
    }

    /// A length-prefixed UTF-8 text field.
    pub(crate) fn text(&mut self, s: &str) -> &mut Self {
        self.count(s.len());
        self.bytes.extend_from_slice(s.as_bytes());
        self
    }

    /// A 4-byte big-endian count (lengths above `u32::MAX` saturate, which no
    /// document can reach: they are refused long before by memory).
    pub(crate) fn count(&mut self, n: usize) -> &mut Self {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        self.bytes.extend_from_slice(&n.to_be_bytes());
        self
    }

    /// A timestamp: seconds (i64) then nanoseconds (i32), both big-endian.
    pub(crate) fn time(&mut self, t: Timestamp) -> &mut Self {
        self.bytes.extend_from_slice(&t.as_second().to_be_bytes());
        self.bytes
            .extend_from_slice(&t.subsec_nanosecond().to_be_bytes());
        self
    }

    /// The bytes written so far.
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
    }
}

/// SM3 of `bytes` as lowercase hex.
pub(crate) fn sm3_hex(bytes: &[u8]) -> String {
    use sm3::Digest;
    hex::encode(sm3::Sm3::digest(bytes))
}
