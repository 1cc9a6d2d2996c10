//! An encoder for PostgreSQL's binary `COPY … FROM STDIN (FORMAT binary)` stream.
//!
//! Written by hand rather than through `postgres::binary_copy::BinaryCopyInWriter` so that
//! a row costs no dynamic dispatch and no per-row round through the client's runtime, and
//! so that `DATE` columns can be sent in their binary form (days since 2000-01-01) even
//! though `postgres-types` has no conversion for jiff 1.x. The stream is: a fixed header,
//! then per row a 16-bit field count and each field as a 32-bit length (−1 for NULL)
//! followed by its bytes, then a −1 trailer.

use jiff::civil::Date;

/// The signature, flags and header-extension length that open every binary COPY stream.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// PostgreSQL's epoch for `DATE` values.
const PG_EPOCH: Date = jiff::civil::date(2000, 1, 1);

/// Seconds in a civil day (civil dates have no time zone, so every day is 24 hours).
const SECS_PER_DAY: i64 = 86_400;

/// Days from 2000-01-01 to `d`, as a binary `DATE`.
pub fn pg_days(d: Date) -> i32 {
    let days = d.duration_since(PG_EPOCH).as_secs() / SECS_PER_DAY;
    // jiff dates span years −9999..=9999, about ±4.4 million days: always in range.
    i32::try_from(days).unwrap_or(if days < 0 { i32::MIN } else { i32::MAX })
}

/// A buffer of binary COPY rows.
#[derive(Debug)]
pub struct CopyRows {
    buf: Vec<u8>,
    too_long: Option<usize>,
}

impl CopyRows {
    /// A new stream, header written.
    pub fn new(capacity: usize) -> CopyRows {
        let mut buf = Vec::with_capacity(capacity.max(HEADER.len()));
        buf.extend_from_slice(HEADER);
        CopyRows {
            buf,
            too_long: None,
        }
    }

    /// Bytes buffered.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// The buffered bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Empties the buffer (after its bytes were sent).
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// Appends the trailer. Fails with the length of a field that does not fit a binary
    /// COPY field (2 GiB), which no Anju value comes near.
    pub fn finish(&mut self) -> Result<(), usize> {
        if let Some(n) = self.too_long {
            return Err(n);
        }
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
        Ok(())
    }

    /// Starts a row of `fields` fields.
    pub fn row(&mut self, fields: i16) {
        self.buf.extend_from_slice(&fields.to_be_bytes());
    }

    fn field(&mut self, bytes: &[u8]) {
        match i32::try_from(bytes.len()) {
            Ok(n) => {
                self.buf.extend_from_slice(&n.to_be_bytes());
                self.buf.extend_from_slice(bytes);
            }
            Err(_) => {
                self.too_long = Some(bytes.len());
                self.null();
            }
        }
    }

    /// A NULL field.
    pub fn null(&mut self) {
        self.buf.extend_from_slice(&(-1i32).to_be_bytes());
    }

    /// A `TEXT` field.
    pub fn text(&mut self, s: &str) {
        self.field(s.as_bytes());
    }

    /// A nullable `TEXT` field.
    pub fn opt_text(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    /// A `BIGINT` field.
    pub fn bigint(&mut self, v: i64) {
        self.field(&v.to_be_bytes());
    }

    /// A nullable `BIGINT` field.
    pub fn opt_bigint(&mut self, v: Option<i64>) {
        match v {
            Some(v) => self.bigint(v),
            None => self.null(),
        }
    }

    /// An `INTEGER` field.
    pub fn integer(&mut self, v: i32) {
        self.field(&v.to_be_bytes());
    }

    /// A `BOOLEAN` field.
    pub fn boolean(&mut self, v: bool) {
        self.field(&[u8::from(v)]);
    }

    /// A `DATE` field.
    pub fn date(&mut self, d: Date) {
        self.field(&pg_days(d).to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_count_days_from_2000() {
        assert_eq!(pg_days(jiff::civil::date(2000, 1, 1)), 0);
        assert_eq!(pg_days(jiff::civil::date(2000, 1, 2)), 1);
        assert_eq!(pg_days(jiff::civil::date(1999, 12, 31)), -1);
        // 26 years including 7 leap days (2000, 04, 08, 12, 16, 20, 24).
        assert_eq!(pg_days(jiff::civil::date(2026, 1, 1)), 26 * 365 + 7);
    }

    #[test]
    fn encodes_rows() {
        let mut c = CopyRows::new(0);
        c.row(3);
        c.text("ab");
        c.null();
        c.boolean(true);
        c.finish().unwrap();
        let mut want = HEADER.to_vec();
        want.extend_from_slice(&[
            0, 3, 0, 0, 0, 2, b'a', b'b', 255, 255, 255, 255, 0, 0, 0, 1, 1,
        ]);
        want.extend_from_slice(&[255, 255]);
        assert_eq!(c.bytes(), &want[..]);
    }
}
