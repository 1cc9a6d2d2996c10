//! Mortgage registration (抵押登记) at the real-estate registry (不动产登记中心): the one
//! kind of **write** the centre makes to another department. A loan's collateral is
//! registered when the loan is granted — for a home still being built, a pre-registration
//! (预告登记) on the filed purchase contract — and released (注销抵押登记) when the loan is
//! paid off.
//!
//! Both acts are idempotent at the registry: a registration by `(loan_no, property)` (the
//! same request again answers the registration already made) and a release by the
//! registration number (a second release answers the first).

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::ids::IdCard;
use crate::money::Fen;

/// Longest accepted text field (numbers, names, codes), in characters.
pub const MAX_TEXT_CHARS: usize = 128;
/// Longest accepted address, in characters.
pub const MAX_ADDRESS_CHARS: usize = 200;

/// One lender (抵押权人) of a mortgage: the centre, or the bank of a combination loan's
/// commercial part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mortgagee {
    /// The lender's name, e.g. `衢州市住房公积金管理中心`.
    pub name: String,
    /// The centre code or the bank code.
    pub code: String,
    /// The secured amount (被担保主债权数额).
    pub amount: Fen,
}

/// A request to register a mortgage on one collateral.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MortgageRequest {
    /// The loan application (业务编号) the registration serves.
    pub application_no: String,
    /// The loan contract number; with `property` the registry's idempotency key.
    pub loan_no: String,
    /// The certificate number (不动产权证号), or for a new home still being built the filed
    /// purchase contract number (网签备案号).
    pub property: String,
    /// The property's address.
    pub address: String,
    /// Every owner's (or buyer's) resident ID number (抵押人).
    pub owners: Vec<String>,
    /// The lenders: one, or two for a combination loan (one collateral, two lenders).
    pub mortgagees: Vec<Mortgagee>,
    /// The last day of the secured debt (债务履行期限届满日).
    pub term_end: Date,
    /// A pre-registration (预告登记) on a filed purchase contract rather than a
    /// registration on a certificate.
    pub pre_registration: bool,
}

/// The registry's answer to a [`MortgageRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MortgageRegistration {
    /// 不动产登记证明号, e.g. `浙(2026)衢州市不动产证明第0012345号`.
    pub registration_no: String,
    /// The day it was registered.
    pub registered_on: Date,
    /// The certificate or contract number registered on.
    pub property: String,
    /// The loan it secures.
    pub loan_no: String,
    /// Whether it is a pre-registration (预告登记).
    pub pre_registration: bool,
    /// The lenders as registered.
    pub mortgagees: Vec<Mortgagee>,
}

/// The registry's answer to a release (注销抵押登记).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MortgageRelease {
    /// The registration released.
    pub registration_no: String,
    /// The day it was released.
    pub released_on: Date,
}

/// A text field that is present, trimmed, short and printable; the error names the field.
fn text(field: &str, value: &str, max: usize) -> Result<(), (String, String)> {
    if value.trim().is_empty() {
        return Err((field.to_owned(), "must not be empty".to_owned()));
    }
    if value.trim() != value {
        return Err((
            field.to_owned(),
            "must not start or end with spaces".to_owned(),
        ));
    }
    if value.chars().count() > max {
        return Err((field.to_owned(), format!("at most {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err((
            field.to_owned(),
            "must not contain control characters".to_owned(),
        ));
    }
    Ok(())
}

/// Checks a registration number (non-empty, at most [`MAX_TEXT_CHARS`] printable
/// characters); the error is the reason.
pub fn check_registration_no(registration_no: &str) -> Result<(), String> {
    text("registration_no", registration_no, MAX_TEXT_CHARS).map_err(|(_, m)| m)
}

impl MortgageRequest {
    /// Checks every field; the error is `(field, what is wrong)`, e.g.
    /// `("owners[1]", "not a valid resident ID number: …")`.
    pub fn check(&self) -> Result<(), (String, String)> {
        text("application_no", &self.application_no, MAX_TEXT_CHARS)?;
        text("loan_no", &self.loan_no, MAX_TEXT_CHARS)?;
        text("property", &self.property, MAX_TEXT_CHARS)?;
        text("address", &self.address, MAX_ADDRESS_CHARS)?;
        if self.owners.is_empty() {
            return Err(("owners".to_owned(), "name at least one owner".to_owned()));
        }
        for (i, owner) in self.owners.iter().enumerate() {
            let field = format!("owners[{i}]");
            let id = IdCard::parse(owner).map_err(|e| {
                (
                    field.clone(),
                    format!("not a valid resident ID number: {e}"),
                )
            })?;
            if id.as_str() != owner {
                return Err((
                    field,
                    "write the ID number in its normal form (18 characters, upper-case X)"
                        .to_owned(),
                ));
            }
            if self.owners[..i].contains(owner) {
                return Err((field, "each owner may appear only once".to_owned()));
            }
        }
        if !(1..=2).contains(&self.mortgagees.len()) {
            return Err((
                "mortgagees".to_owned(),
                "one lender, or two for a combination loan".to_owned(),
            ));
        }
        for (i, m) in self.mortgagees.iter().enumerate() {
            text(&format!("mortgagees[{i}].name"), &m.name, MAX_TEXT_CHARS)?;
            text(&format!("mortgagees[{i}].code"), &m.code, MAX_TEXT_CHARS)?;
            if !m.amount.is_positive() {
                return Err((
                    format!("mortgagees[{i}].amount"),
                    "the secured amount must be positive".to_owned(),
                ));
            }
            if self.mortgagees[..i].iter().any(|o| o.code == m.code) {
                return Err((
                    format!("mortgagees[{i}].code"),
                    "each lender may appear only once".to_owned(),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use jiff::civil::date;

    fn request() -> MortgageRequest {
        MortgageRequest {
            application_no: "DK-20261127-000001".into(),
            loan_no: "L330800000001".into(),
            property: "浙(2024)衢州市不动产权第0001234号".into(),
            address: "浙江省衢州市柯城区荷花新村3幢1单元201室".into(),
            owners: vec!["11010519491231002X".into()],
            mortgagees: vec![Mortgagee {
                name: "衢州市住房公积金管理中心".into(),
                code: "330800000000001".into(),
                amount: Fen::new(60_000_000),
            }],
            term_end: date(2056, 11, 27),
            pre_registration: false,
        }
    }

    #[test]
    fn requests_are_checked_field_by_field() {
        assert_eq!(request().check(), Ok(()));
        let mut r = request();
        r.owners.push("123".into());
        assert_eq!(r.check().unwrap_err().0, "owners[1]");
        let mut r = request();
        r.owners.push(r.owners[0].clone());
        assert_eq!(r.check().unwrap_err().0, "owners[1]");
        let mut r = request();
        r.mortgagees[0].amount = Fen::ZERO;
        assert_eq!(r.check().unwrap_err().0, "mortgagees[0].amount");
        let mut r = request();
        r.mortgagees.clear();
        assert_eq!(r.check().unwrap_err().0, "mortgagees");
        let mut r = request();
        r.property = " ".into();
        assert_eq!(r.check().unwrap_err().0, "property");
        assert!(check_registration_no("浙(2026)衢州市不动产证明第0012345号").is_ok());
        assert!(check_registration_no("").is_err());
    }

    #[test]
    fn money_is_a_yuan_string() {
        let json = serde_json::to_string(&request()).unwrap();
        assert!(json.contains(r#""amount":"600000.00""#), "{json}");
        let back: MortgageRequest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, request());
    }
}
