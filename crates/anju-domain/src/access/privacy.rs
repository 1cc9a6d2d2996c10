//! Personal data on screen and on paper (个人信息保护): which role sees which field in
//! full, and the masks used otherwise.
//!
//! | Field | Member (own) | Counter | Bank | Approver, manager | Accountant | Station | Unit clerk | Auditor | Administrators |
//! |---|---|---|---|---|---|---|---|---|---|
//! | resident ID | full | full | full | full | masked | masked | masked | masked | masked |
//! | phone | full | full | full | masked | masked | masked | masked | masked | masked |
//! | bank card | full | full | full | full | full | masked | masked | masked | masked |
//! | name | full | full | full | full | full | full | full | full | masked |
//! | address | full | full | masked | full | masked | masked | masked | masked | masked |
//!
//! Counter and bank clerks check the person in front of them against the document and
//! pay to the card, so they see those in full. Approvers match the application's papers.
//! A station clerk, a unit clerk and an auditor work with the name and the masked
//! numbers; the three administrators see no personal data at all. The member always
//! sees their own data (whose data it is, is the use case's check).

use super::codes::Role;

/// A personal field that may be masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// Resident ID number (身份证号).
    ResidentId,
    /// Mobile or other phone number (手机号).
    Phone,
    /// Bank card or account number (银行卡号).
    CardNo,
    /// Personal name (姓名).
    Name,
    /// Home address (住址).
    Address,
}

impl Field {
    /// Every field.
    pub const ALL: &'static [Field] = &[
        Field::ResidentId,
        Field::Phone,
        Field::CardNo,
        Field::Name,
        Field::Address,
    ];
}

/// Whether `role` sees `field` in full (otherwise masked). See the table above.
pub const fn reveals(role: Role, field: Field) -> bool {
    match role {
        Role::Member | Role::CounterClerk => true,
        Role::BankClerk => !matches!(field, Field::Address),
        Role::Approver | Role::Manager => !matches!(field, Field::Phone),
        Role::Accountant => matches!(field, Field::CardNo | Field::Name),
        Role::StationClerk | Role::UnitClerk | Role::Auditor => matches!(field, Field::Name),
        Role::SystemAdmin | Role::SecurityAdmin | Role::AuditAdmin => false,
    }
}

/// Keeps the first `head` and last `tail` characters and stars the rest; a text too short
/// to keep both with at least one star is starred whole.
fn keep(text: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    if n <= head + tail {
        return "*".repeat(n);
    }
    let mut out: String = chars[..head].iter().collect();
    out.push_str(&"*".repeat(n - head - tail));
    out.extend(&chars[n - tail..]);
    out
}

/// `330802199001011234` → `330802********1234`: the region code and the last four kept.
pub fn mask_resident_id(id: &str) -> String {
    keep(id.trim(), 6, 4)
}

/// `13800001234` → `138****1234`.
pub fn mask_phone(phone: &str) -> String {
    keep(phone.trim(), 3, 4)
}

/// `6222021234567890123` → `***************0123`: the last four kept.
pub fn mask_card(card: &str) -> String {
    keep(card.trim(), 0, 4)
}

/// `张三` → `张*`, `欧阳娜娜` → `欧***`: the first character kept.
pub fn mask_name(name: &str) -> String {
    let name = name.trim();
    let mut chars = name.chars();
    match chars.next() {
        Some(first) if name.chars().count() > 1 => {
            let mut out = String::from(first);
            out.push_str(&"*".repeat(chars.count()));
            out
        }
        Some(_) => "*".to_owned(),
        None => String::new(),
    }
}

/// `浙江省衢州市柯城区荷花街道…` → `浙江省衢州市****`: the first six characters (province and
/// city) kept, the rest replaced by four stars so the length is not shown.
pub fn mask_address(address: &str) -> String {
    let address = address.trim();
    let head: String = address.chars().take(6).collect();
    if head.chars().count() == address.chars().count() {
        return "*".repeat(head.chars().count().min(4));
    }
    format!("{head}****")
}

/// The mask of `field`.
pub fn mask(field: Field, text: &str) -> String {
    match field {
        Field::ResidentId => mask_resident_id(text),
        Field::Phone => mask_phone(text),
        Field::CardNo => mask_card(text),
        Field::Name => mask_name(text),
        Field::Address => mask_address(text),
    }
}

/// `text` as `role` may see it: in full or masked.
pub fn show(role: Role, field: Field, text: &str) -> String {
    if reveals(role, field) {
        text.to_owned()
    } else {
        mask(field, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_resident_id("330802199001011234"), "330802********1234");
        assert_eq!(mask_resident_id("33080219900101123X"), "330802********123X");
        assert_eq!(mask_resident_id("330802900101123"), "330802*****1123");
        assert_eq!(mask_resident_id("1234567890"), "**********");
        assert_eq!(mask_phone("13800001234"), "138****1234");
        assert_eq!(mask_phone("0570-3012345"), "057*****2345");
        assert_eq!(mask_phone("1234567"), "*******");
        assert_eq!(mask_card("6222021234567890123"), "***************0123");
        assert_eq!(mask_card("1234"), "****");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name("王"), "*");
        assert_eq!(mask_name(""), "");
        assert_eq!(
            mask_address("浙江省衢州市柯城区荷花街道100号"),
            "浙江省衢州市****"
        );
        assert_eq!(mask_address("衢州"), "**");
        assert_eq!(mask(Field::Phone, " 13800001234 "), "138****1234");
    }

    #[test]
    fn who_sees_what() {
        let id = "330802199001011234";
        assert_eq!(show(Role::CounterClerk, Field::ResidentId, id), id);
        assert_eq!(show(Role::Member, Field::ResidentId, id), id);
        assert_eq!(
            show(Role::StationClerk, Field::ResidentId, id),
            "330802********1234"
        );
        assert_eq!(
            show(Role::Auditor, Field::ResidentId, id),
            "330802********1234"
        );
        assert_eq!(show(Role::Auditor, Field::Name, "张三"), "张三");
        assert_eq!(show(Role::SystemAdmin, Field::Name, "张三"), "张*");
        // The table of the module documentation, row by row (fields) and column by
        // column (roles, in code order): F full, m masked.
        let expected: &[(Field, &str)] = &[
            (Field::ResidentId, "FmFmFFmFmmmm"),
            (Field::Phone, "FmFmFmmmmmmm"),
            (Field::CardNo, "FmFmFFmFFmmm"),
            (Field::Name, "FFFFFFFFFmmm"),
            (Field::Address, "FmFmmFmFmmmm"),
        ];
        for &(field, row) in expected {
            for (&role, cell) in Role::ALL.iter().zip(row.chars()) {
                assert_eq!(reveals(role, field), cell == 'F', "{role} {field:?}");
            }
        }
        // Administrators see nothing in full.
        for &f in Field::ALL {
            for r in [Role::SystemAdmin, Role::SecurityAdmin, Role::AuditAdmin] {
                assert!(!reveals(r, f));
            }
        }
    }
}
