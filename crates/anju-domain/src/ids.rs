//! Identifier validation: the resident ID number (居民身份证号码, GB 11643-1999) and the
//! unified social credit code (统一社会信用代码, GB 32100-2015).
//!
//! Both types can only be built by parsing, so holding an [`IdCard`] or a [`CreditCode`]
//! proves the text passed every check below. Parsing trims surrounding whitespace
//! (including a trailing CR from a Windows file) and normalises lower case to upper case.
//!
//! **Personal data.** A resident ID number is personal information (个人信息保护法). Error
//! messages therefore name the offending *part* (a character, the birth-date digits, the
//! province code) and never echo the whole number, and `{:?}` of an [`IdCard`] prints the
//! masked form. `Display` and [`IdCard::as_str`] give the full number for deliberate use.
//!
//! Positions in messages count from 1, as the standards do.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::codes::Sex;

/// Which identifier an [`IdError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    /// 居民身份证号码 (GB 11643-1999).
    IdCard,
    /// 统一社会信用代码 (GB 32100-2015).
    CreditCode,
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdKind::IdCard => "resident ID number",
            IdKind::CreditCode => "unified social credit code",
        })
    }
}

/// Why a resident ID number or a unified social credit code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// Nothing but whitespace was given.
    #[error("{kind} is empty")]
    Empty {
        /// The identifier being parsed.
        kind: IdKind,
    },
    /// The text (after trimming) does not have 18 characters.
    #[error("{kind} has {len} characters but must have exactly 18")]
    WrongLength {
        /// The identifier being parsed.
        kind: IdKind,
        /// The number of characters found.
        len: usize,
    },
    /// A first-generation 15-digit resident ID number (一代身份证号码).
    #[error(
        "resident ID number has 15 digits: first-generation 15-digit numbers are not \
         accepted; the holder's number must be upgraded to the 18-digit form (GB 11643-1999)"
    )]
    FirstGeneration,
    /// A character that is not allowed at its position.
    #[error("{kind}: character {ch:?} at position {pos} is not allowed: {rule}")]
    BadChar {
        /// The identifier being parsed.
        kind: IdKind,
        /// 1-based position of the character.
        pos: usize,
        /// The character as given.
        ch: char,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// The first two digits of the region code are not a province-level division.
    #[error(
        "{kind}: region code begins with {code:?}, which is not a province-level \
         administrative division code (GB/T 2260)"
    )]
    UnknownProvince {
        /// The identifier being parsed.
        kind: IdKind,
        /// The two-digit province part as given.
        code: String,
    },
    /// Positions 7–14 of a resident ID number are not an acceptable birth date.
    #[error("resident ID number: birth date {text} (positions 7-14) is {reason}")]
    BadBirthDate {
        /// The eight digits YYYYMMDD.
        text: String,
        /// What is wrong with them.
        reason: &'static str,
    },
    /// The birth date lies after the business date the number was checked against.
    #[error("resident ID number: birth date {birth} is after the business date {on}")]
    BornInFuture {
        /// The birth date in the number.
        birth: Date,
        /// The business date (营业日) used for the check.
        on: Date,
    },
    /// The check character (校验码, position 18) does not match the other 17.
    #[error("{kind}: check character is {found} but should be {expected}")]
    BadCheckChar {
        /// The identifier being parsed.
        kind: IdKind,
        /// The check character computed from positions 1–17.
        expected: char,
        /// The check character given.
        found: char,
    },
    /// Position 1 of a credit code is not a registration authority (登记管理部门) code.
    #[error(
        "unified social credit code: registration authority code {ch:?} (position 1) is \
         not a known authority (GB 32100-2015 allows 1-9, A, N and Y)"
    )]
    UnknownAuthority {
        /// The character at position 1.
        ch: char,
    },
    /// Position 2 of a credit code is not an entity type (机构类别) of its authority.
    #[error(
        "unified social credit code: entity type {ch:?} (position 2) is not valid for \
         registration authority {authority} ({label}); allowed: {allowed}"
    )]
    BadEntityType {
        /// The registration authority code (position 1).
        authority: char,
        /// The authority's name.
        label: &'static str,
        /// The character at position 2.
        ch: char,
        /// The entity types the authority allows, e.g. `"1, 2, 3"`.
        allowed: &'static str,
    },
    /// The organisation code (组织机构代码, positions 9–17) fails its own GB 11714 check.
    #[error(
        "unified social credit code: organisation code {code} (positions 9-17) fails its \
         GB 11714 check: check character is {found} but should be {expected}"
    )]
    BadOrganisationCode {
        /// The nine-character organisation code.
        code: String,
        /// The GB 11714 check character computed from its first eight characters.
        expected: char,
        /// The ninth character given.
        found: char,
    },
}

/// Province-level division codes: the first two digits of a GB/T 2260 code. 71 is
/// Taiwan, 81 Hong Kong and 82 Macao, as GB 11643 allows.
const PROVINCE_CODES: [&str; 34] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82",
];

/// True when `code` is a province-level division code (see [`PROVINCE_CODES`]).
fn is_province_code(code: &str) -> bool {
    PROVINCE_CODES.contains(&code)
}

/// The value of an ASCII digit byte.
fn digit(b: u8) -> u32 {
    u32::from(b.wrapping_sub(b'0'))
}

// ---------------------------------------------------------------------------------------
// 居民身份证号码
// ---------------------------------------------------------------------------------------

/// ISO 7064 MOD 11-2 weights for positions 1–17 (2^(17−i) mod 11).
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check characters indexed by Σ(dᵢ·Wᵢ) mod 11.
const ID_CHECK_CHARS: &[u8; 11] = b"10X98765432";
/// The earliest birth date accepted.
const EARLIEST_BIRTH: Date = Date::constant(1900, 1, 1);

/// A validated 18-character resident ID number (居民身份证号码, GB 11643-1999).
///
/// Layout: positions 1–6 administrative division (行政区划代码, checked to province level
/// only, because county codes change over time and old numbers keep their old code),
/// 7–14 birth date YYYYMMDD, 15–17 sequence number (顺序码; odd for men, even for women),
/// 18 check character (校验码, ISO 7064 MOD 11-2, `X` for 10).
///
/// `parse` cannot check that the birth date is not in the future, because the domain has
/// no clock: use [`IdCard::parse_on`] or [`IdCard::ensure_born_by`] with the business date.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdCard {
    /// The normalised 18 ASCII characters (upper-case `X`).
    text: String,
    /// The birth date from positions 7–14, decoded once at parse time.
    birth: Date,
}

impl IdCard {
    /// Parses and validates a resident ID number.
    ///
    /// Accepts surrounding whitespace and a lower-case `x`; refuses 15-digit
    /// first-generation numbers, bad characters, unknown provinces, impossible or pre-1900
    /// birth dates and a wrong check character.
    pub fn parse(text: &str) -> Result<IdCard, IdError> {
        const KIND: IdKind = IdKind::IdCard;
        let t = text.trim();
        if t.is_empty() {
            return Err(IdError::Empty { kind: KIND });
        }
        let len = t.chars().count();
        if len == 15 && t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdError::FirstGeneration);
        }
        if len != 18 {
            return Err(IdError::WrongLength { kind: KIND, len });
        }
        let mut norm = String::with_capacity(18);
        for (i, ch) in t.chars().enumerate() {
            let pos = i + 1;
            match ch {
                '0'..='9' => norm.push(ch),
                'X' | 'x' if pos == 18 => norm.push('X'),
                _ => {
                    let rule = if pos == 18 {
                        "the check character (position 18) must be a digit or X"
                    } else {
                        "positions 1-17 must be digits 0-9"
                    };
                    return Err(IdError::BadChar {
                        kind: KIND,
                        pos,
                        ch,
                        rule,
                    });
                }
            }
        }
        let province = &norm[..2];
        if !is_province_code(province) {
            return Err(IdError::UnknownProvince {
                kind: KIND,
                code: province.to_owned(),
            });
        }
        let birth = parse_birth_date(&norm[6..14])?;
        let bytes = norm.as_bytes();
        let expected = id_check_char(&bytes[..17]);
        let found = char::from(bytes[17]);
        if expected != found {
            return Err(IdError::BadCheckChar {
                kind: KIND,
                expected,
                found,
            });
        }
        Ok(IdCard { text: norm, birth })
    }

    /// Parses like [`IdCard::parse`] and also refuses a birth date after `business_date`.
    pub fn parse_on(text: &str, business_date: Date) -> Result<IdCard, IdError> {
        let id = IdCard::parse(text)?;
        id.ensure_born_by(business_date)?;
        Ok(id)
    }

    /// Errors with [`IdError::BornInFuture`] when the birth date is after `business_date`.
    pub fn ensure_born_by(&self, business_date: Date) -> Result<(), IdError> {
        if self.birth > business_date {
            Err(IdError::BornInFuture {
                birth: self.birth,
                on: business_date,
            })
        } else {
            Ok(())
        }
    }

    /// Completes the first 17 digits with their check character and parses the result;
    /// test kits and data generators use this to build valid numbers. When `first17` is
    /// not 17 digits, the error is the one [`IdCard::parse`] gives for the completed text.
    pub fn with_check_char(first17: &str) -> Result<IdCard, IdError> {
        let body = first17.trim();
        let check = if body.len() == 17 && body.bytes().all(|b| b.is_ascii_digit()) {
            id_check_char(body.as_bytes())
        } else {
            '0'
        };
        IdCard::parse(&format!("{body}{check}"))
    }

    /// The full normalised number (upper-case `X`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The six-digit administrative division code (positions 1–6).
    pub fn region_code(&self) -> &str {
        &self.text[..6]
    }

    /// The two-digit province code (positions 1–2), e.g. `"33"` for Zhejiang.
    pub fn province_code(&self) -> &str {
        &self.text[..2]
    }

    /// The birth date (出生日期, positions 7–14).
    pub fn birth_date(&self) -> Date {
        self.birth
    }

    /// The holder's sex (性别): odd 17th digit is male, even is female.
    pub fn sex(&self) -> Sex {
        if digit(self.text.as_bytes()[16]) % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// The masked form for screens, receipts and logs: first 4 and last 4 characters kept,
    /// e.g. `3308**********123X`.
    pub fn masked(&self) -> String {
        format!("{}**********{}", &self.text[..4], &self.text[14..])
    }
}

/// The check character for 17 ASCII digits: `"10X98765432"[Σ(dᵢ·Wᵢ) mod 11]`.
fn id_check_char(first17: &[u8]) -> char {
    let sum: u32 = first17
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(&b, w)| digit(b) * w)
        .sum();
    char::from(ID_CHECK_CHARS[(sum % 11) as usize])
}

/// Decodes YYYYMMDD (eight ASCII digits) into a real date on or after 1900-01-01.
fn parse_birth_date(text: &str) -> Result<Date, IdError> {
    let bad = |reason| IdError::BadBirthDate {
        text: text.to_owned(),
        reason,
    };
    let num = |range: std::ops::Range<usize>| {
        text.as_bytes()[range]
            .iter()
            .fold(0_i32, |acc, &b| acc * 10 + digit(b) as i32)
    };
    let (year, month, day) = (num(0..4), num(4..6), num(6..8));
    let date = match (i16::try_from(year), i8::try_from(month), i8::try_from(day)) {
        (Ok(y), Ok(m), Ok(d)) => Date::new(y, m, d).map_err(|_| bad("not a real calendar date"))?,
        _ => return Err(bad("not a real calendar date")),
    };
    if date < EARLIEST_BIRTH {
        return Err(bad("before 1900-01-01"));
    }
    Ok(date)
}

/// The full number; mask it with [`IdCard::masked`] before showing it to anyone else.
impl fmt::Display for IdCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Masked, so that `{:?}` in logs and panic messages never leaks a full number.
impl fmt::Debug for IdCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdCard").field(&self.masked()).finish()
    }
}

impl FromStr for IdCard {
    type Err = IdError;
    fn from_str(s: &str) -> Result<IdCard, IdError> {
        IdCard::parse(s)
    }
}

impl AsRef<str> for IdCard {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

/// Serialised as the full 18-character string.
impl Serialize for IdCard {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// Deserialising validates exactly as [`IdCard::parse`] does.
impl<'de> Deserialize<'de> for IdCard {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<IdCard, D::Error> {
        let text = String::deserialize(d)?;
        IdCard::parse(&text).map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------
// 统一社会信用代码
// ---------------------------------------------------------------------------------------

/// The GB 32100 character set; a character's index is its value (0–30).
const CREDIT_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// GB 32100 weights for positions 1–17 (3^(i−1) mod 31).
const CREDIT_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
/// GB 11714 weights for the first eight characters of an organisation code.
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// A registration authority (登记管理部门, position 1) and its entity types (机构类别,
/// position 2).
#[derive(Debug)]
struct Authority {
    code: u8,
    label: &'static str,
    /// Known entity types and their names.
    types: &'static [(u8, &'static str)],
    /// When true, any digit 1–9 is accepted as the entity type (see [`CreditCode`]).
    lenient: bool,
    /// The allowed types as text, for error messages.
    allowed: &'static str,
}

/// GB 32100-2015 附录 A (registration authorities and entity types).
const AUTHORITIES: &[Authority] = &[
    Authority {
        code: b'1',
        label: "机构编制",
        types: &[
            (b'1', "机关"),
            (b'2', "事业单位"),
            (b'3', "中央编办直接管理机构编制的群众团体"),
            (b'9', "其他"),
        ],
        lenient: false,
        allowed: "1, 2, 3, 9",
    },
    Authority {
        code: b'2',
        label: "外交",
        types: &[(b'1', "外国常驻新闻机构"), (b'9', "其他")],
        lenient: true,
        allowed: "1-9",
    },
    Authority {
        code: b'3',
        label: "司法行政",
        types: &[
            (b'1', "律师执业机构"),
            (b'2', "公证处"),
            (b'3', "基层法律服务所"),
            (b'4', "司法鉴定机构"),
            (b'5', "仲裁委员会"),
            (b'9', "其他"),
        ],
        lenient: true,
        allowed: "1-9",
    },
    Authority {
        code: b'4',
        label: "文化",
        types: &[(b'1', "外国在华文化中心"), (b'9', "其他")],
        lenient: true,
        allowed: "1-9",
    },
    Authority {
        code: b'5',
        label: "民政",
        types: &[
            (b'1', "社会团体"),
            (b'2', "民办非企业单位"),
            (b'3', "基金会"),
            (b'9', "其他"),
        ],
        lenient: false,
        allowed: "1, 2, 3, 9",
    },
    Authority {
        code: b'6',
        label: "旅游",
        types: &[
            (b'1', "外国旅游部门常驻代表机构"),
            (b'2', "港澳台地区旅游部门常驻内地（大陆）代表机构"),
            (b'9', "其他"),
        ],
        lenient: true,
        allowed: "1-9",
    },
    Authority {
        code: b'7',
        label: "宗教",
        types: &[(b'1', "宗教活动场所"), (b'2', "宗教院校"), (b'9', "其他")],
        lenient: true,
        allowed: "1-9",
    },
    Authority {
        code: b'8',
        label: "工会",
        types: &[(b'1', "基层工会"), (b'9', "其他")],
        lenient: true,
        allowed: "1-9",
    },
    Authority {
        code: b'9',
        label: "市场监管（工商）",
        types: &[
            (b'1', "企业"),
            (b'2', "个体工商户"),
            (b'3', "农民专业合作社"),
        ],
        lenient: false,
        allowed: "1, 2, 3",
    },
    Authority {
        code: b'A',
        label: "中央军委改革和编制办公室",
        types: &[(b'1', "军队事业单位"), (b'9', "其他")],
        lenient: true,
        allowed: "1-9",
    },
    Authority {
        code: b'N',
        label: "农业",
        types: &[
            (b'1', "组级集体经济组织"),
            (b'2', "村级集体经济组织"),
            (b'3', "乡镇级集体经济组织"),
            (b'9', "其他"),
        ],
        lenient: true,
        allowed: "1-9",
    },
    Authority {
        code: b'Y',
        label: "其他",
        types: &[(b'1', "其他")],
        lenient: false,
        allowed: "1",
    },
];

/// Label for an entity type accepted leniently but not named in [`AUTHORITIES`].
const UNLISTED_ENTITY_TYPE: &str = "未列明的机构类别";

fn find_authority(code: u8) -> Option<&'static Authority> {
    AUTHORITIES.iter().find(|a| a.code == code)
}

/// The value (0–30) of a credit-code character, or `None` outside the character set.
fn credit_value(b: u8) -> Option<u32> {
    CREDIT_CHARSET
        .iter()
        .position(|&c| c == b)
        .and_then(|i| u32::try_from(i).ok())
}

/// The GB 32100 check character for 17 characters already known to be in the set.
fn credit_check_char(first17: &[u8]) -> char {
    let sum: u32 = first17
        .iter()
        .zip(CREDIT_WEIGHTS)
        .map(|(&b, w)| credit_value(b).unwrap_or(0) * w)
        .sum();
    let value = (31 - sum % 31) % 31;
    char::from(CREDIT_CHARSET[value as usize])
}

/// The GB 11714 value of an organisation-code character: 0–9, then A–Z as 10–35.
fn org_value(b: u8) -> u32 {
    match b {
        b'0'..=b'9' => digit(b),
        b'A'..=b'Z' => u32::from(b - b'A') + 10,
        _ => 0,
    }
}

/// The GB 11714 check character for the first eight characters of an organisation code:
/// C9 = 11 − (Σ mod 11), with 10 written `X` and 11 written `0`.
fn org_check_char(first8: &[u8]) -> char {
    let sum: u32 = first8
        .iter()
        .zip(ORG_WEIGHTS)
        .map(|(&b, w)| org_value(b) * w)
        .sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        // 1..=9
        n => char::from(b'0' + n as u8),
    }
}

/// A validated unified social credit code (统一社会信用代码, GB 32100-2015), the
/// identifier of every contributing unit (缴存单位).
///
/// Layout: position 1 registration authority (登记管理部门代码), 2 entity type (机构类别代码),
/// 3–8 administrative division (登记管理机关行政区划码, checked to province level, or `10`/`00`
/// for national-level registrations), 9–17 organisation code (主体标识码/组织机构代码),
/// 18 check character (校验码).
///
/// **Entity types.** For authorities 1 (机构编制), 5 (民政), 9 (市场监管) and Y (其他) only
/// the types of GB 32100-2015 附录 A are accepted. For the other authorities the standard's
/// type list has been extended over time, so any digit 1–9 is accepted; unknown ones are
/// labelled "未列明的机构类别".
///
/// **Organisation code.** Positions 9–17 must pass the GB 11714 check, except for
/// 个体工商户 (authority 9, type 2): individual businesses were never issued GB 11714 codes,
/// and the codes assigned to them in the credit-code migration do not all carry a valid
/// GB 11714 check character.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CreditCode(String);

impl CreditCode {
    /// Parses and validates a unified social credit code. Surrounding whitespace is
    /// trimmed and lower-case letters are normalised to upper case.
    pub fn parse(text: &str) -> Result<CreditCode, IdError> {
        const KIND: IdKind = IdKind::CreditCode;
        let t = text.trim();
        if t.is_empty() {
            return Err(IdError::Empty { kind: KIND });
        }
        let len = t.chars().count();
        if len != 18 {
            return Err(IdError::WrongLength { kind: KIND, len });
        }
        let mut norm = String::with_capacity(18);
        for (i, ch) in t.chars().enumerate() {
            let up = ch.to_ascii_uppercase();
            let in_set = u8::try_from(up).ok().and_then(credit_value).is_some();
            if !in_set {
                return Err(IdError::BadChar {
                    kind: KIND,
                    pos: i + 1,
                    ch,
                    rule: "only digits 0-9 and upper-case letters other than I, O, S, V and Z are used",
                });
            }
            norm.push(up);
        }
        let b = norm.as_bytes();

        let authority = find_authority(b[0]).ok_or(IdError::UnknownAuthority {
            ch: char::from(b[0]),
        })?;
        let type_known = authority.types.iter().any(|&(t, _)| t == b[1]);
        let type_lenient = authority.lenient && (b'1'..=b'9').contains(&b[1]);
        if !type_known && !type_lenient {
            return Err(IdError::BadEntityType {
                authority: char::from(authority.code),
                label: authority.label,
                ch: char::from(b[1]),
                allowed: authority.allowed,
            });
        }

        for (i, &c) in b.iter().enumerate().take(8).skip(2) {
            if !c.is_ascii_digit() {
                return Err(IdError::BadChar {
                    kind: KIND,
                    pos: i + 1,
                    ch: char::from(c),
                    rule: "positions 3-8 (administrative division code) must be digits",
                });
            }
        }
        let province = &norm[2..4];
        if !(is_province_code(province) || province == "10" || province == "00") {
            return Err(IdError::UnknownProvince {
                kind: KIND,
                code: province.to_owned(),
            });
        }

        let is_individual_business = b[0] == b'9' && b[1] == b'2';
        if !is_individual_business {
            let expected = org_check_char(&b[8..16]);
            let found = char::from(b[16]);
            if expected != found {
                return Err(IdError::BadOrganisationCode {
                    code: norm[8..17].to_owned(),
                    expected,
                    found,
                });
            }
        }

        let expected = credit_check_char(&b[..17]);
        let found = char::from(b[17]);
        if expected != found {
            return Err(IdError::BadCheckChar {
                kind: KIND,
                expected,
                found,
            });
        }
        Ok(CreditCode(norm))
    }

    /// Completes the first 17 characters with their GB 32100 check character and parses
    /// the result (the organisation-code check must already hold); for test kits. When
    /// `first17` is not 17 valid characters, the error is the one [`CreditCode::parse`]
    /// gives for the completed text.
    pub fn with_check_char(first17: &str) -> Result<CreditCode, IdError> {
        let body = first17.trim().to_ascii_uppercase();
        let check = if body.len() == 17 && body.bytes().all(|b| credit_value(b).is_some()) {
            credit_check_char(body.as_bytes())
        } else {
            '0'
        };
        CreditCode::parse(&format!("{body}{check}"))
    }

    /// Builds a valid code from its parts — registration authority and entity type
    /// (`"91"`), six-digit region, and the first eight characters of the organisation
    /// code — computing both check characters; for data generators such as the demo.
    pub fn from_parts(
        authority_type: &str,
        region: &str,
        org8: &str,
    ) -> Result<CreditCode, IdError> {
        let org8 = org8.trim().to_ascii_uppercase();
        let org_check = if org8.len() == 8 && org8.bytes().all(|b| b.is_ascii_alphanumeric()) {
            org_check_char(org8.as_bytes())
        } else {
            '0'
        };
        CreditCode::with_check_char(&format!("{authority_type}{region}{org8}{org_check}"))
    }

    /// The full normalised code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The registration authority (登记管理部门): its code and name, e.g. `('9', "市场监管（工商）")`.
    pub fn authority(&self) -> (char, &'static str) {
        let code = self.0.as_bytes()[0];
        let label = find_authority(code).map_or("", |a| a.label);
        (char::from(code), label)
    }

    /// The name of the entity type (机构类别), e.g. `"企业"` or `"个体工商户"`.
    pub fn entity_type(&self) -> &'static str {
        let b = self.0.as_bytes();
        find_authority(b[0])
            .and_then(|a| a.types.iter().find(|&&(t, _)| t == b[1]))
            .map_or(UNLISTED_ENTITY_TYPE, |&(_, label)| label)
    }

    /// The six-digit administrative division code of the registering office (positions 3–8).
    pub fn region_code(&self) -> &str {
        &self.0[2..8]
    }

    /// The nine-character organisation code (组织机构代码, positions 9–17).
    pub fn organisation_code(&self) -> &str {
        &self.0[8..17]
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CreditCode {
    type Err = IdError;
    fn from_str(s: &str) -> Result<CreditCode, IdError> {
        CreditCode::parse(s)
    }
}

impl AsRef<str> for CreditCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Serialised as the 18-character string.
impl Serialize for CreditCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Deserialising validates exactly as [`CreditCode::parse`] does.
impl<'de> Deserialize<'de> for CreditCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<CreditCode, D::Error> {
        let text = String::deserialize(d)?;
        CreditCode::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    /// Independent check-character helper for tests, written in the ISO 7064 form
    /// (12 − S mod 11) mod 11 rather than the table lookup the implementation uses.
    fn id_with_check(first17: &str) -> String {
        assert_eq!(first17.len(), 17);
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let s: u32 = first17
            .chars()
            .zip(weights)
            .map(|(c, w)| c.to_digit(10).unwrap() * w)
            .sum();
        let v = (12 - s % 11) % 11;
        let c = if v == 10 {
            'X'
        } else {
            char::from_digit(v, 10).unwrap()
        };
        format!("{first17}{c}")
    }

    /// Independent credit-code helper: fills in the GB 11714 and GB 32100 check characters
    /// for an 8-character organisation-code body.
    fn credit_with_checks(prefix8: &str, org8: &str) -> String {
        const SET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
        let ov = |c: char| c.to_digit(36).unwrap();
        let os: u32 = org8
            .chars()
            .zip([3, 7, 9, 10, 5, 8, 4, 2])
            .map(|(c, w)| ov(c) * w)
            .sum();
        let c9 = match 11 - os % 11 {
            10 => 'X',
            11 => '0',
            n => char::from_digit(n, 10).unwrap(),
        };
        let first17 = format!("{prefix8}{org8}{c9}");
        let mut s = 0;
        let mut w = 1;
        for c in first17.chars() {
            s += SET.find(c).unwrap() as u32 * w;
            w = w * 3 % 31;
        }
        let c18 = SET.as_bytes()[((31 - s % 31) % 31) as usize] as char;
        format!("{first17}{c18}")
    }

    #[test]
    fn classic_sample_id_is_valid() {
        // Hand check: Σ dᵢWᵢ over 11010519491231002 = 167; 167 mod 11 = 2 → "10X98765432"[2] = X.
        let id = IdCard::parse("11010519491231002X").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.region_code(), "110105");
        assert_eq!(id.province_code(), "11");
        assert_eq!(id.birth_date(), date(1949, 12, 31));
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.masked(), "1101**********002X");
        assert_eq!(id.to_string(), "11010519491231002X");
    }

    #[test]
    fn hand_computed_quzhou_id_is_valid() {
        // 33080219900101123: 3·7+3·9+0·10+8·5+0·8+2·4+1·2+9·1+9·6+0·3+0·7+1·9+0·10+1·5+1·8+2·4+3·2
        // = 197; 197 mod 11 = 10 → "10X98765432"[10] = 2.
        let id = IdCard::parse("330802199001011232").unwrap();
        assert_eq!(id.sex(), Sex::Male);
        assert_eq!(id.birth_date(), date(1990, 1, 1));
        assert_eq!(id.region_code(), "330802");
        assert_eq!(id.masked(), "3308**********1232");
        assert_eq!(id_with_check("33080219900101123"), "330802199001011232");
        assert_eq!(id_with_check("11010519491231002"), "11010519491231002X");
    }

    #[test]
    fn id_input_is_normalised() {
        let id = IdCard::parse("  11010519491231002x\r\n").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(
            IdCard::parse("\t330802199001011232 ").unwrap().as_str(),
            "330802199001011232"
        );
    }

    #[test]
    fn id_errors_say_what_is_wrong() {
        let err = |t: &str| IdCard::parse(t).unwrap_err();
        assert_eq!(
            err("  "),
            IdError::Empty {
                kind: IdKind::IdCard
            }
        );
        assert_eq!(err("330802900101123"), IdError::FirstGeneration);
        assert!(
            err("330802900101123")
                .to_string()
                .contains("first-generation 15-digit")
        );
        assert!(
            err("330802900101123")
                .to_string()
                .contains("upgraded to the 18-digit")
        );
        assert_eq!(
            err("3308021990010112"),
            IdError::WrongLength {
                kind: IdKind::IdCard,
                len: 16
            }
        );
        // 15 characters but not all digits: a plain length error, not "first generation".
        assert_eq!(
            err("33080290010112X"),
            IdError::WrongLength {
                kind: IdKind::IdCard,
                len: 15
            }
        );
        assert_eq!(
            err("3308021990O101123X"),
            IdError::BadChar {
                kind: IdKind::IdCard,
                pos: 11,
                ch: 'O',
                rule: "positions 1-17 must be digits 0-9"
            }
        );
        // An X anywhere but position 18 is refused.
        assert!(matches!(
            err("3308021990010112X2"),
            IdError::BadChar {
                pos: 17,
                ch: 'X',
                ..
            }
        ));
        assert!(matches!(
            err("33080219900101123Y"),
            IdError::BadChar {
                pos: 18,
                ch: 'Y',
                ..
            }
        ));
        // Full-width digits are not silently accepted.
        assert!(matches!(
            err("３30802199001011232"),
            IdError::BadChar {
                pos: 1,
                ch: '３',
                ..
            }
        ));
        let e = err(&id_with_check("99080219900101123"));
        assert_eq!(
            e,
            IdError::UnknownProvince {
                kind: IdKind::IdCard,
                code: "99".into()
            }
        );
        assert!(e.to_string().contains("\"99\""));
        let e = err(&id_with_check("33080219900230123"));
        assert_eq!(
            e,
            IdError::BadBirthDate {
                text: "19900230".into(),
                reason: "not a real calendar date"
            }
        );
        assert_eq!(
            e.to_string(),
            "resident ID number: birth date 19900230 (positions 7-14) is not a real calendar date"
        );
        assert!(matches!(
            err(&id_with_check("33080218991231123")),
            IdError::BadBirthDate {
                reason: "before 1900-01-01",
                ..
            }
        ));
        assert!(matches!(
            err(&id_with_check("33080219901301123")),
            IdError::BadBirthDate { .. }
        ));
        let e = err("110105194912310025");
        assert_eq!(
            e,
            IdError::BadCheckChar {
                kind: IdKind::IdCard,
                expected: 'X',
                found: '5'
            }
        );
        assert_eq!(
            e.to_string(),
            "resident ID number: check character is 5 but should be X"
        );
    }

    #[test]
    fn id_errors_never_echo_the_whole_number() {
        let bad = [
            "330802199001011233",
            "990802199001011232",
            "330802199002301232",
        ];
        for t in bad {
            let msg = IdCard::parse(t).unwrap_err().to_string();
            assert!(!msg.contains(t), "{msg}");
            assert!(!msg.contains(&t[..17]), "{msg}");
        }
        let id = IdCard::parse("330802199001011232").unwrap();
        assert_eq!(format!("{id:?}"), "IdCard(\"3308**********1232\")");
    }

    #[test]
    fn leap_days_and_edges() {
        assert_eq!(
            IdCard::parse(&id_with_check("33080220000229123"))
                .unwrap()
                .birth_date(),
            date(2000, 2, 29)
        );
        assert!(IdCard::parse(&id_with_check("33080219000229123")).is_err());
        assert_eq!(
            IdCard::parse(&id_with_check("33080219000101123"))
                .unwrap()
                .birth_date(),
            date(1900, 1, 1)
        );
        // 71 (Taiwan), 81 (Hong Kong) and 82 (Macao) are province-level codes; 83 and 10
        // are not.
        assert!(IdCard::parse(&id_with_check("81000019900101123")).is_ok());
        assert!(IdCard::parse(&id_with_check("82000019900101123")).is_ok());
        assert!(IdCard::parse(&id_with_check("71000019900101123")).is_ok());
        assert!(IdCard::parse(&id_with_check("83000019900101123")).is_err());
        assert!(IdCard::parse(&id_with_check("10000019900101123")).is_err());
    }

    #[test]
    fn future_birth_dates_need_the_business_date() {
        let t = id_with_check("33080220300101123");
        let id = IdCard::parse(&t).unwrap(); // no clock: parse alone accepts it
        assert_eq!(
            IdCard::parse_on(&t, date(2026, 5, 1)).unwrap_err(),
            IdError::BornInFuture {
                birth: date(2030, 1, 1),
                on: date(2026, 5, 1)
            }
        );
        assert!(id.ensure_born_by(date(2030, 1, 1)).is_ok());
        assert!(IdCard::parse_on("11010519491231002X", date(2026, 5, 1)).is_ok());
    }

    #[test]
    fn with_check_char_builds_valid_numbers() {
        assert_eq!(
            IdCard::with_check_char("11010519491231002")
                .unwrap()
                .as_str(),
            "11010519491231002X"
        );
        assert!(IdCard::with_check_char("1101051949123100").is_err());
        assert!(IdCard::with_check_char("1101051949123100A").is_err());
    }

    #[test]
    fn id_serde_is_a_validated_string() {
        let id = IdCard::parse("11010519491231002X").unwrap();
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"11010519491231002X\""
        );
        let back: IdCard = serde_json::from_str("\"11010519491231002x\"").unwrap();
        assert_eq!(back, id);
        let e = serde_json::from_str::<IdCard>("\"110105194912310025\"").unwrap_err();
        assert!(
            e.to_string()
                .contains("check character is 5 but should be X")
        );
    }

    #[test]
    fn sex_codes_follow_gb_t_2261_1() {
        let male = IdCard::parse("330802199001011232").unwrap().sex();
        let female = IdCard::parse("11010519491231002X").unwrap().sex();
        assert_eq!((male.code(), male.label_zh()), ("1", "男"));
        assert_eq!((female.code(), female.label_zh()), ("2", "女"));
    }

    // ---- credit codes ----

    #[test]
    fn hand_computed_credit_code_is_valid() {
        // Organisation code MA28F0Q1 + check: GB 11714 values M=22 A=10 2 8 F=15 0 Q=26 1,
        // Σ·(3,7,9,10,5,8,4,2) = 66+70+18+80+75+0+104+2 = 415; 415 mod 11 = 8; 11−8 = 3.
        // Credit code 91330802MA28F0Q13 (GB 32100 values M=21 A=10 F=15 Q=24):
        // 9·1+1·3+3·9+3·27+0·19+8·26+0·16+2·17+21·20+10·29+2·25+8·13+15·8+0·24+24·10+1·30+3·28
        // = 1700; 1700 mod 31 = 26; 31−26 = 5 → check character 5.
        let c = CreditCode::parse("91330802MA28F0Q135").unwrap();
        assert_eq!(c.as_str(), "91330802MA28F0Q135");
        assert_eq!(c.authority(), ('9', "市场监管（工商）"));
        assert_eq!(c.entity_type(), "企业");
        assert_eq!(c.region_code(), "330802");
        assert_eq!(c.organisation_code(), "MA28F0Q13");
        assert_eq!(
            credit_with_checks("91330802", "MA28F0Q1"),
            "91330802MA28F0Q135"
        );
    }

    #[test]
    fn real_world_credit_codes_are_valid() {
        // Codes of large enterprises as published in the national enterprise credit
        // information publicity system; each passes both the GB 11714 and GB 32100 checks.
        for code in [
            "91440300708461136T",
            "914403001922038216",
            "91330100716105852F",
            "91110108551385082Q",
        ] {
            let c = CreditCode::parse(code).unwrap();
            assert_eq!(c.entity_type(), "企业");
        }
    }

    #[test]
    fn credit_code_input_is_normalised() {
        let c = CreditCode::parse(" 91330802ma28f0q135\r\n").unwrap();
        assert_eq!(c.as_str(), "91330802MA28F0Q135");
    }

    #[test]
    fn credit_code_errors_say_what_is_wrong() {
        let err = |t: &str| CreditCode::parse(t).unwrap_err();
        assert_eq!(
            err(""),
            IdError::Empty {
                kind: IdKind::CreditCode
            }
        );
        assert_eq!(
            err("91330802MA28F0Q13"),
            IdError::WrongLength {
                kind: IdKind::CreditCode,
                len: 17
            }
        );
        for (pos, bad) in [(9, 'I'), (10, 'O'), (11, 'S'), (12, 'V'), (13, 'Z')] {
            let mut t: Vec<char> = "91330802MA28F0Q135".chars().collect();
            t[pos - 1] = bad;
            let text: String = t.into_iter().collect();
            let e = err(&text);
            assert!(
                matches!(e, IdError::BadChar { pos: p, ch, .. } if p == pos && ch == bad),
                "{e}"
            );
            assert!(
                e.to_string()
                    .contains(&format!("{bad:?} at position {pos}"))
            );
        }
        let e = err(&credit_with_checks("B1330802", "MA28F0Q1"));
        assert_eq!(e, IdError::UnknownAuthority { ch: 'B' });
        let e = err(&credit_with_checks("94330802", "MA28F0Q1"));
        assert!(
            matches!(
                e,
                IdError::BadEntityType {
                    authority: '9',
                    ch: '4',
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("allowed: 1, 2, 3"));
        assert!(matches!(
            err(&credit_with_checks("Y2330802", "MA28F0Q1")),
            IdError::BadEntityType {
                authority: 'Y',
                ch: '2',
                ..
            }
        ));
        assert!(matches!(
            err(&credit_with_checks("5A330802", "MA28F0Q1")),
            IdError::BadEntityType {
                authority: '5',
                ch: 'A',
                ..
            }
        ));
        assert!(matches!(
            err(&credit_with_checks("9133A802", "MA28F0Q1")),
            IdError::BadChar {
                pos: 5,
                ch: 'A',
                ..
            }
        ));
        assert_eq!(
            err(&credit_with_checks("91990802", "MA28F0Q1")),
            IdError::UnknownProvince {
                kind: IdKind::CreditCode,
                code: "99".into()
            }
        );
        // Break the organisation-code check (position 17) and recompute position 18.
        let good = credit_with_checks("91330802", "MA28F0Q1");
        let broken = CreditCode::with_check_char(&format!("{}4", &good[..16])).unwrap_err();
        assert_eq!(
            broken,
            IdError::BadOrganisationCode {
                code: "MA28F0Q14".into(),
                expected: '3',
                found: '4'
            }
        );
        let e = err("91330802MA28F0Q13A");
        assert_eq!(
            e,
            IdError::BadCheckChar {
                kind: IdKind::CreditCode,
                expected: '5',
                found: 'A'
            }
        );
        assert_eq!(
            e.to_string(),
            "unified social credit code: check character is A but should be 5"
        );
    }

    #[test]
    fn entity_types_per_authority() {
        let cases = [
            ("11330800", "机关"),
            ("12100000", "事业单位"),
            ("51330800", "社会团体"),
            ("52330800", "民办非企业单位"),
            ("53100000", "基金会"),
            ("93330800", "农民专业合作社"),
            ("Y1330800", "其他"),
            ("81330800", "基层工会"),
            ("N2330800", "村级集体经济组织"),
            // Lenient authority, unlisted type: accepted and labelled as unlisted.
            ("84330800", UNLISTED_ENTITY_TYPE),
            ("00000000", ""),
        ];
        for (prefix, label) in cases {
            let code = credit_with_checks(prefix, "MA28F0Q1");
            match CreditCode::parse(&code) {
                Ok(c) => assert_eq!(c.entity_type(), label, "{code}"),
                Err(e) => assert_eq!(label, "", "{code}: {e}"),
            }
        }
        let c = CreditCode::parse(&credit_with_checks("N2330800", "MA28F0Q1")).unwrap();
        assert_eq!(c.authority(), ('N', "农业"));
    }

    #[test]
    fn individual_businesses_skip_the_gb_11714_check() {
        // 个体工商户 (9-2): position 17 does not have to be a GB 11714 check character.
        let mut body = credit_with_checks("92330802", "MA28F0Q1")[..16].to_owned();
        body.push('4'); // the GB 11714 check would be 3
        let c = CreditCode::with_check_char(&body).unwrap();
        assert_eq!(c.entity_type(), "个体工商户");
        assert_eq!(c.organisation_code(), "MA28F0Q14");
        // The same organisation code under an enterprise (9-1) is refused.
        let body = format!("91{}", &body[2..]);
        assert!(matches!(
            CreditCode::with_check_char(&body),
            Err(IdError::BadOrganisationCode { .. })
        ));
    }

    #[test]
    fn credit_code_serde_is_a_validated_string() {
        let c = CreditCode::parse("91330802MA28F0Q135").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"91330802MA28F0Q135\"");
        assert_eq!(
            serde_json::from_str::<CreditCode>("\"91330802ma28f0q135\"").unwrap(),
            c
        );
        assert!(serde_json::from_str::<CreditCode>("\"91330802MA28F0Q136\"").is_err());
    }

    fn arb_id() -> impl Strategy<Value = String> {
        (
            proptest::sample::select(PROVINCE_CODES.to_vec()),
            0_u32..10_000,
            1900_i16..2026,
            1_i8..=12,
            1_i8..=28,
            0_u32..1000,
        )
            .prop_map(|(p, r, y, m, d, seq)| {
                id_with_check(&format!("{p}{r:04}{y:04}{m:02}{d:02}{seq:03}"))
            })
    }

    fn arb_credit() -> impl Strategy<Value = String> {
        let set: Vec<char> = "0123456789ABCDEFGHJKLMNPQRTUWXY".chars().collect();
        let prefixes = ["11", "12", "51", "52", "91", "93", "Y1", "31", "N1"];
        (
            proptest::sample::select(prefixes.to_vec()),
            proptest::sample::select(vec!["33", "11", "44", "10", "00", "65"]),
            0_u32..10_000,
            proptest::collection::vec(proptest::sample::select(set), 8),
        )
            .prop_map(|(pre, prov, r, org)| {
                let org: String = org.into_iter().collect();
                credit_with_checks(&format!("{pre}{prov}{r:04}"), &org)
            })
    }

    proptest! {
        #[test]
        fn generated_ids_parse_and_round_trip(t in arb_id()) {
            let id = IdCard::parse(&t).unwrap();
            prop_assert_eq!(id.as_str(), t.as_str());
            prop_assert_eq!(IdCard::parse(&format!("{id}")).unwrap(), id.clone());
            prop_assert_eq!(IdCard::with_check_char(&t[..17]).unwrap(), id.clone());
            let odd = t.as_bytes()[16] % 2 == 1;
            prop_assert_eq!(id.sex() == Sex::Male, odd);
            prop_assert_eq!(id.masked().len(), 18);
            prop_assert_eq!(&id.masked()[14..], &t[14..]);
        }

        #[test]
        fn any_single_changed_digit_is_detected(
            t in arb_id(),
            pos in 0_usize..18,
            delta in 1_u8..10,
        ) {
            let mut bytes = t.clone().into_bytes();
            let old = bytes[pos];
            bytes[pos] = if old == b'X' {
                b'0' + (delta % 10)
            } else {
                b'0' + (old - b'0' + delta) % 10
            };
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert_ne!(&changed, &t);
            prop_assert!(IdCard::parse(&changed).is_err(), "{} accepted", changed);
        }

        #[test]
        fn generated_credit_codes_parse(t in arb_credit()) {
            let c = CreditCode::parse(&t).unwrap();
            prop_assert_eq!(c.as_str(), t.as_str());
            prop_assert_eq!(CreditCode::with_check_char(&t[..17]).unwrap(), c);
        }

        #[test]
        fn any_single_changed_credit_char_is_detected(
            t in arb_credit(),
            pos in 0_usize..18,
            delta in 1_usize..31,
        ) {
            const SET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
            let mut bytes = t.clone().into_bytes();
            let old = SET.iter().position(|&c| c == bytes[pos]).unwrap();
            bytes[pos] = SET[(old + delta) % 31];
            let changed = String::from_utf8(bytes).unwrap();
            // GB 32100's weights are all non-zero mod 31 (prime), so any single substitution
            // changes the weighted sum and is caught.
            prop_assert!(CreditCode::parse(&changed).is_err(), "{} accepted", changed);
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,24}") {
            let _ = IdCard::parse(&s);
            let _ = CreditCode::parse(&s);
        }
    }

    #[test]
    fn credit_codes_can_be_built_from_parts() {
        let c = CreditCode::from_parts("91", "330802", "MA28F0Q1").unwrap();
        assert_eq!(c.as_str(), "91330802MA28F0Q135");
        assert!(CreditCode::from_parts("91", "330802", "MA28F0Q").is_err());
        assert!(
            CreditCode::from_parts("91", "330802", "MA28F0QI").is_err(),
            "I is not allowed"
        );
    }
}
