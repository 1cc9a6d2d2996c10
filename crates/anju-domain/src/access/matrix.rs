//! The permission matrix (权限矩阵): which role may do which business at which type of
//! service point, a service point's own list, and the second person of maker-checker.
//!
//! # The matrix
//!
//! The final decision for a business act is
//! **role × business × point type** ([`authorize`]) **∩ the point's own list ∩ the point
//! is open** ([`ServicePoint::authorize`], [`point_allows`]). Each cell lists the point
//! types where the role may *do* (make) the business:
//!
//! `H` centre hall (中心服务大厅) · `B` commissioned bank branch (受托银行网点) ·
//! `T` town bank branch (乡镇银行网点) · `C` township service centre (乡镇便民服务中心) ·
//! `V` village service station (村级服务驿站) · `S` self-service terminal (自助终端) ·
//! `P` 12329 hotline · `O` online (线上) · `I` centre back office (中心内部办公) · `·` never.
//! ✓ marks a business that needs a checker ([`Business::needs_checker`]).
//!
//! | Business | Member | Unit clerk | Counter | Station | Bank | Approver | Auditor | Manager | Account. | Sys adm | Sec adm | Aud adm |
//! |---|---|---|---|---|---|---|---|---|---|---|---|---|
//! | view own account | SPO | · | · | · | · | · | · | · | · | · | · | · |
//! | view member account | · | O | HT | CV | BT | HI | I | HI | · | · | · | · |
//! | view unit account | · | O | HT | · | · | HI | I | HI | I | · | · | · |
//! | statement print | SO | O | HT | CV | BT | · | · | · | · | · | · | · |
//! | member open account | O | O | HT | · | · | · | · | · | · | · | · | · |
//! | member change | · | O | HT | C | · | · | · | · | · | · | · | · |
//! | freeze | · | · | H | · | · | · | · | · | · | · | · | · |
//! | unfreeze ✓ | · | · | H | · | · | · | · | · | · | · | · | · |
//! | unit register | · | O | HT | · | · | · | · | · | · | · | · | · |
//! | unit change | · | O | HT | · | · | · | · | · | · | · | · | · |
//! | remittance | · | O | HT | · | BT | · | · | · | · | · | · | · |
//! | back-payment | · | O | HT | · | · | · | · | · | · | · | · | · |
//! | base adjustment | · | O | HT | · | · | · | · | · | · | · | · | · |
//! | flexible contribution | O | · | HT | CV | · | · | · | · | · | · | · | · |
//! | withdrawal apply | SO | · | HT | CV | · | · | · | · | · | · | · | · |
//! | withdrawal review ✓ | · | · | · | · | · | HI | · | HI | · | · | · | · |
//! | loan apply | O | · | HT | C | BT | · | · | · | · | · | · | · |
//! | loan review ✓ | · | · | · | · | · | HI | · | HI | · | · | · | · |
//! | loan sign | O | · | HT | · | BT | · | · | · | · | · | · | · |
//! | loan disburse | · | · | · | · | BT | · | · | · | · | · | · | · |
//! | loan prepay | SO | · | HT | · | BT | · | · | · | · | · | · | · |
//! | reversal ✓ | · | · | HT | · | · | · | · | · | · | · | · | · |
//! | transfer | O | · | HT | · | · | · | · | · | · | · | · | · |
//! | day close | · | · | · | · | · | · | · | · | · | I | · | · |
//! | reports | · | · | · | · | · | · | I | I | I | · | · | · |
//! | policy change ✓ | · | · | · | · | · | · | · | I | · | · | · | · |
//! | manage service points | · | · | · | · | · | · | · | · | · | I | · | · |
//! | manage staff ✓ | · | · | · | · | · | · | · | · | · | · | I | · |
//! | view audit log | · | · | · | · | · | · | · | · | · | · | · | I |
//! | reconcile | · | · | · | · | · | · | · | · | I | · | · | · |
//!
//! Checkers ([`checker_roles`], always a different person from the maker): reversal,
//! unfreeze, withdrawal review and loan review — approver or manager; policy change and
//! staff/role grants — manager.
//!
//! Principles behind the cells:
//!
//! * **Members** act for themselves online and at self-service terminals; by phone they
//!   may only look at their account. At a counter (hall, bank, station) the clerk acts
//!   for them and the [`Stamp`](crate::stamp::Stamp) records the member as beneficiary.
//! * **Unit clerks** do their unit's business online (网上单位业务); at the hall a counter
//!   clerk acts for them.
//! * **Counter clerks** accept every counter business at the hall and at the town bank
//!   branches where the centre keeps a window, but approve nothing. Judicial freezes
//!   and unfreezes are done at the hall only. They enter reversals and unfreezes as
//!   makers; an approver or the manager checks.
//! * **Station clerks** accept: queries, certificates, withdrawal applications on a
//!   member's behalf and flexible contributions; township centres also take member
//!   changes and loan applications. Never an approval, a reversal, or a loan step past
//!   the application.
//! * **Bank clerks** handle what the commissioned bank does for the centre (REG Art. 12):
//!   remittance at the counter, loan acceptance, signing, disbursement and prepayment.
//! * **Approvers** and the **manager** review withdrawals and loans and check reversals
//!   and unfreezes (see [`checker_roles`]). The manager also makes policy changes (a
//!   second manager checks) and reads reports.
//! * **Auditors** (稽核) read ledgers and reports in the back office and change nothing.
//!   **Accountants** reconcile with the banks and read reports.
//! * **The three separated administrators (三员分立)** work only in the back office and
//!   only at their own duty: the system administrator runs service points and day close,
//!   the security administrator manages staff and roles, the security audit
//!   administrator reads the security audit log. None does another's work or any
//!   business, and none sees members' personal data.

use serde::{Deserialize, Serialize};

use super::codes::{Business, PointStatus, PointType, Role};

use std::fmt;

use PointType::{
    BackOffice as I, BankBranch as B, CentreHall as H, Online as O, SelfService as S,
    TownBankBranch as T, TownshipCentre as C, VillageStation as V,
};

/// Why a business act or a check was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DenyRule {
    /// The role is one of the three separated administrators and the business is not
    /// their own duty.
    AdminSeparation,
    /// The role does not do this business at any service point.
    NotThisRole,
    /// The role does this business, but only at the listed point types.
    NotAtThisPoint {
        /// Where the role may do it.
        allowed: &'static [PointType],
    },
    /// The service point is closed.
    PointClosed,
    /// The service point's own list does not include the business.
    NotHandledHere,
    /// The business has no checker step.
    NoCheckStep,
    /// Maker and checker are the same person.
    SamePerson,
    /// The maker or the checker is not identified (an empty id).
    Unidentified,
    /// The checker's role may not check this business; the listed roles may.
    CheckerRole {
        /// The roles that may check it.
        allowed: &'static [Role],
    },
}

impl fmt::Display for DenyRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenyRule::AdminSeparation => f.write_str(
                "an administrator does only their own duty and no business (三员分立: separation of the three administrators)",
            ),
            DenyRule::NotThisRole => f.write_str("the role does not handle this business anywhere"),
            DenyRule::NotAtThisPoint { allowed } => {
                f.write_str("the role handles this business only at: ")?;
                list(f, allowed.iter().map(|p| p.label_en()))
            }
            DenyRule::PointClosed => f.write_str("the service point is closed"),
            DenyRule::NotHandledHere => {
                f.write_str("the service point's registry entry does not list this business")
            }
            DenyRule::NoCheckStep => f.write_str("this business has no checker step"),
            DenyRule::SamePerson => f.write_str(
                "the checker must be a different person from the maker (双人复核: maker-checker)",
            ),
            DenyRule::Unidentified => f.write_str("maker and checker must both be identified"),
            DenyRule::CheckerRole { allowed } => {
                f.write_str("only these roles may check it: ")?;
                list(f, allowed.iter().map(|r| r.label_en()))
            }
        }
    }
}

fn list<'a>(f: &mut fmt::Formatter<'_>, items: impl Iterator<Item = &'a str>) -> fmt::Result {
    for (i, item) in items.enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        f.write_str(item)?;
    }
    Ok(())
}

/// A refused business act (or check): who, what, where, and the rule broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct Denied {
    /// The role acting (for a check, the checker's role).
    pub role: Role,
    /// The business.
    pub business: Business,
    /// Where, as a point type; `None` for a maker-checker refusal.
    pub point: Option<PointType>,
    /// The code of the service point, when a registry entry refused.
    pub point_code: Option<String>,
    /// The rule broken.
    pub rule: DenyRule,
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Denied {
            role,
            business,
            point,
            point_code,
            rule,
        } = self;
        write!(f, "{} ({}) may not ", role.label_en(), role.label_zh())?;
        match point {
            Some(point) => {
                write!(
                    f,
                    "do {} ({}) at a {} ({})",
                    business.label_en(),
                    business.label_zh(),
                    point.label_en(),
                    point.label_zh()
                )?;
                if let Some(code) = point_code {
                    write!(f, " {code}")?;
                }
            }
            None => write!(f, "check {} ({})", business.label_en(), business.label_zh())?,
        }
        write!(f, ": {rule}")
    }
}

/// The point types where `role` may do `business`; empty when never.
///
/// This is the matrix of the module documentation, cell by cell.
pub const fn allowed_points(role: Role, business: Business) -> &'static [PointType] {
    use Business as Bz;
    match role {
        Role::Member => match business {
            Bz::ViewOwnAccount => &[S, PointType::Hotline, O],
            Bz::StatementPrint | Bz::WithdrawalApply | Bz::LoanPrepay => &[S, O],
            // A person opens only their own flexible-employment account online.
            Bz::LoanApply
            | Bz::LoanSign
            | Bz::FlexibleContribution
            | Bz::Transfer
            | Bz::MemberOpenAccount => &[O],
            _ => &[],
        },
        Role::UnitClerk => match business {
            Bz::ViewMemberAccount
            | Bz::ViewUnitAccount
            | Bz::StatementPrint
            | Bz::MemberOpenAccount
            | Bz::MemberChange
            | Bz::UnitRegister
            | Bz::UnitChange
            | Bz::Remittance
            | Bz::BackPayment
            | Bz::BaseAdjustment => &[O],
            _ => &[],
        },
        Role::CounterClerk => match business {
            Bz::Freeze | Bz::Unfreeze => &[H],
            Bz::ViewMemberAccount
            | Bz::ViewUnitAccount
            | Bz::StatementPrint
            | Bz::MemberOpenAccount
            | Bz::MemberChange
            | Bz::UnitRegister
            | Bz::UnitChange
            | Bz::Remittance
            | Bz::BackPayment
            | Bz::BaseAdjustment
            | Bz::FlexibleContribution
            | Bz::WithdrawalApply
            | Bz::LoanApply
            | Bz::LoanSign
            | Bz::LoanPrepay
            | Bz::Transfer
            | Bz::Reversal => &[H, T],
            _ => &[],
        },
        Role::StationClerk => match business {
            Bz::ViewMemberAccount
            | Bz::StatementPrint
            | Bz::WithdrawalApply
            | Bz::FlexibleContribution => &[C, V],
            Bz::MemberChange | Bz::LoanApply => &[C],
            _ => &[],
        },
        Role::BankClerk => match business {
            Bz::ViewMemberAccount
            | Bz::StatementPrint
            | Bz::Remittance
            | Bz::LoanApply
            | Bz::LoanSign
            | Bz::LoanDisburse
            | Bz::LoanPrepay => &[B, T],
            _ => &[],
        },
        Role::Approver => match business {
            Bz::ViewMemberAccount | Bz::ViewUnitAccount | Bz::WithdrawalReview | Bz::LoanReview => {
                &[H, I]
            }
            _ => &[],
        },
        Role::Auditor => match business {
            Bz::ViewMemberAccount | Bz::ViewUnitAccount | Bz::Reports => &[I],
            _ => &[],
        },
        Role::Manager => match business {
            Bz::ViewMemberAccount | Bz::ViewUnitAccount | Bz::WithdrawalReview | Bz::LoanReview => {
                &[H, I]
            }
            Bz::Reports | Bz::PolicyChange => &[I],
            _ => &[],
        },
        Role::Accountant => match business {
            Bz::ViewUnitAccount | Bz::Reports | Bz::Reconcile => &[I],
            _ => &[],
        },
        Role::SystemAdmin => match business {
            Bz::ManageServicePoints | Bz::DayClose => &[I],
            _ => &[],
        },
        Role::SecurityAdmin => match business {
            Bz::ManageStaff => &[I],
            _ => &[],
        },
        Role::AuditAdmin => match business {
            Bz::ViewAuditLog => &[I],
            _ => &[],
        },
    }
}

/// May `role` do `business` at a service point of type `point`? The matrix of the module
/// documentation; a service point's own list and status are checked by
/// [`ServicePoint::authorize`].
pub fn authorize(role: Role, business: Business, point: PointType) -> Result<(), Denied> {
    let allowed = allowed_points(role, business);
    if allowed.contains(&point) {
        return Ok(());
    }
    let rule = if allowed.is_empty() {
        if role.is_admin() {
            DenyRule::AdminSeparation
        } else {
            DenyRule::NotThisRole
        }
    } else {
        DenyRule::NotAtThisPoint { allowed }
    };
    Err(Denied {
        role,
        business,
        point: Some(point),
        point_code: None,
        rule,
    })
}

/// The roles that may check (confirm) `business` as the second person; empty for a
/// business without a checker step.
pub const fn checker_roles(business: Business) -> &'static [Role] {
    match business {
        Business::Reversal
        | Business::Unfreeze
        | Business::WithdrawalReview
        | Business::LoanReview => &[Role::Approver, Role::Manager],
        Business::PolicyChange | Business::ManageStaff => &[Role::Manager],
        _ => &[],
    }
}

/// Maker-checker (双人复核): may the person `checker_id`, holding `checker_role`, check
/// the `business` made by `maker_id`? The checker must be someone else and hold a role in
/// [`checker_roles`]. Ids are compared exactly (`staff:0012`), as the
/// [`Stamp`](crate::stamp::Stamp) records them.
///
/// For a withdrawal or loan review the maker is the clerk who accepted the application
/// and the checker is the reviewer.
pub fn check_checker(
    maker_id: &str,
    checker_id: &str,
    checker_role: Role,
    business: Business,
) -> Result<(), Denied> {
    let deny = |rule| {
        Err(Denied {
            role: checker_role,
            business,
            point: None,
            point_code: None,
            rule,
        })
    };
    let allowed = checker_roles(business);
    if !business.needs_checker() || allowed.is_empty() {
        return deny(DenyRule::NoCheckStep);
    }
    if maker_id.trim().is_empty() || checker_id.trim().is_empty() {
        return deny(DenyRule::Unidentified);
    }
    if maker_id == checker_id {
        return deny(DenyRule::SamePerson);
    }
    if !allowed.contains(&checker_role) {
        return deny(DenyRule::CheckerRole { allowed });
    }
    Ok(())
}

/// A service point's registry entry (服务网点): its type, whether it is open, and the
/// business types it handles, which narrow what the matrix allows at its type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicePoint {
    /// The point's code, as recorded in the [`Stamp`](crate::stamp::Stamp)'s
    /// `service_point` (e.g. `hall-kecheng`, `station-longyou-01`).
    pub code: String,
    /// Its name (`柯城区服务大厅`).
    pub name: String,
    /// Its type.
    pub point_type: PointType,
    /// Open or closed.
    pub status: PointStatus,
    /// The business types it handles.
    pub handles: Vec<Business>,
}

/// Why a service point's registry entry is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServicePointError {
    /// The code is empty or not printable.
    #[error("service point code {0:?} must be 1 to 64 printable characters without spaces")]
    BadCode(String),
    /// The name is empty.
    #[error("service point {0}: the name must not be empty")]
    EmptyName(String),
    /// A business is listed twice.
    #[error("service point {code}: {business} is listed twice")]
    Duplicate {
        /// The point.
        code: String,
        /// The repeated business.
        business: Business,
    },
    /// A listed business is done by no role at this point type.
    #[error("service point {code}: no role may do {business} at a {point_type}")]
    Impossible {
        /// The point.
        code: String,
        /// The business.
        business: Business,
        /// The point's type.
        point_type: PointType,
    },
}

impl ServicePoint {
    /// Every business some role may do at a point of type `point_type`, in code order:
    /// the widest list a registry entry of that type may carry.
    pub fn possible_businesses(point_type: PointType) -> Vec<Business> {
        Business::ALL
            .iter()
            .copied()
            .filter(|&b| {
                Role::ALL
                    .iter()
                    .any(|&r| allowed_points(r, b).contains(&point_type))
            })
            .collect()
    }

    /// Checks the entry: a code, a name, no business twice, and only businesses that
    /// some role may do at this point type.
    pub fn validate(&self) -> Result<(), ServicePointError> {
        let code_ok = !self.code.is_empty()
            && self.code.chars().count() <= 64
            && self
                .code
                .chars()
                .all(|c| !c.is_control() && !c.is_whitespace());
        if !code_ok {
            return Err(ServicePointError::BadCode(self.code.clone()));
        }
        if self.name.trim().is_empty() {
            return Err(ServicePointError::EmptyName(self.code.clone()));
        }
        for (i, &business) in self.handles.iter().enumerate() {
            if self.handles[..i].contains(&business) {
                return Err(ServicePointError::Duplicate {
                    code: self.code.clone(),
                    business,
                });
            }
            if !Role::ALL
                .iter()
                .any(|&r| allowed_points(r, business).contains(&self.point_type))
            {
                return Err(ServicePointError::Impossible {
                    code: self.code.clone(),
                    business,
                    point_type: self.point_type,
                });
            }
        }
        Ok(())
    }

    /// The final decision: the matrix for this point's type ([`authorize`]), then the
    /// point must be open and list the business.
    pub fn authorize(&self, role: Role, business: Business) -> Result<(), Denied> {
        authorize(role, business, self.point_type).map_err(|mut d| {
            d.point_code = Some(self.code.clone());
            d
        })?;
        let deny = |rule| Denied {
            role,
            business,
            point: Some(self.point_type),
            point_code: Some(self.code.clone()),
            rule,
        };
        if self.status != PointStatus::Open {
            return Err(deny(DenyRule::PointClosed));
        }
        if !self.handles.contains(&business) {
            return Err(deny(DenyRule::NotHandledHere));
        }
        Ok(())
    }
}

/// The final decision for `role` doing `business` at `point`: see
/// [`ServicePoint::authorize`].
pub fn point_allows(point: &ServicePoint, role: Role, business: Business) -> Result<(), Denied> {
    point.authorize(role, business)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    /// The expected matrix, written out by hand from the centre's point of view and
    /// independent of `allowed_points`: per role code, `business-code:point-letters`.
    /// Letters: H hall, B bank branch, T town bank branch, C township centre,
    /// V village station, S self-service, P hotline, O online, I back office.
    const EXPECTED: &[(&str, &str)] = &[
        ("01", "01:SPO 04:SO 05:O 14:O 15:SO 17:O 19:O 21:SO 23:O"),
        ("02", "02:O 03:O 04:O 05:O 06:O 09:O 10:O 11:O 12:O 13:O"),
        (
            "03",
            "02:HT 03:HT 04:HT 05:HT 06:HT 07:H 08:H 09:HT 10:HT 11:HT 12:HT 13:HT 14:HT \
             15:HT 17:HT 19:HT 21:HT 22:HT 23:HT",
        ),
        ("04", "02:CV 04:CV 06:C 14:CV 15:CV 17:C"),
        ("05", "02:BT 04:BT 11:BT 17:BT 19:BT 20:BT 21:BT"),
        ("06", "02:HI 03:HI 16:HI 18:HI"),
        ("07", "02:I 03:I 25:I"),
        ("08", "02:HI 03:HI 16:HI 18:HI 25:I 26:I"),
        ("09", "03:I 25:I 30:I"),
        ("10", "24:I 27:I"),
        ("11", "28:I"),
        ("12", "29:I"),
    ];

    fn letter(p: PointType) -> char {
        match p {
            PointType::CentreHall => 'H',
            PointType::BankBranch => 'B',
            PointType::TownBankBranch => 'T',
            PointType::TownshipCentre => 'C',
            PointType::VillageStation => 'V',
            PointType::SelfService => 'S',
            PointType::Hotline => 'P',
            PointType::Online => 'O',
            PointType::BackOffice => 'I',
        }
    }

    /// (role code, business code) → set of point letters, from [`EXPECTED`].
    fn expected() -> BTreeMap<(String, String), BTreeSet<char>> {
        let mut map = BTreeMap::new();
        for (role, cells) in EXPECTED {
            for cell in cells.split_whitespace() {
                let (business, points) = cell.split_once(':').unwrap();
                let previous = map.insert(
                    (role.to_string(), business.to_string()),
                    points.chars().collect::<BTreeSet<char>>(),
                );
                assert!(previous.is_none(), "{role} {business} twice");
            }
        }
        map
    }

    #[test]
    fn the_whole_matrix_matches_the_written_expectation() {
        let want = expected();
        assert_eq!(want.len(), 71, "cells in the expectation");
        let mut allowed_cells = 0;
        let mut checked = 0;
        for &role in Role::ALL {
            for &business in Business::ALL {
                let key = (role.code().to_owned(), business.code().to_owned());
                let points = want.get(&key).cloned().unwrap_or_default();
                if !points.is_empty() {
                    allowed_cells += 1;
                }
                for &point in PointType::ALL {
                    checked += 1;
                    let got = authorize(role, business, point);
                    let expect = points.contains(&letter(point));
                    assert_eq!(
                        got.is_ok(),
                        expect,
                        "{role} / {business} / {point}: got {got:?}"
                    );
                    if let Err(d) = got {
                        assert_eq!((d.role, d.business, d.point), (role, business, Some(point)));
                        match d.rule {
                            DenyRule::NotAtThisPoint { allowed } => {
                                assert!(!points.is_empty());
                                let got: BTreeSet<char> =
                                    allowed.iter().map(|&p| letter(p)).collect();
                                assert_eq!(got, points, "{role} / {business}");
                            }
                            DenyRule::AdminSeparation => {
                                assert!(points.is_empty() && role.is_admin());
                            }
                            DenyRule::NotThisRole => {
                                assert!(points.is_empty() && !role.is_admin());
                            }
                            other => panic!("unexpected rule {other:?}"),
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 12 * 30 * 9);
        assert_eq!(allowed_cells, want.len());
    }

    /// The table in the module documentation is what a centre reads: it must say what
    /// the code does.
    #[test]
    fn the_documented_table_matches_the_code() {
        let source = include_str!("matrix.rs");
        let rows: Vec<Vec<&str>> = source
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .filter(|l| l.starts_with("//! | ") && !l.starts_with("//! | Business"))
            .map(|l| {
                l.trim_start_matches("//! |")
                    .trim_end_matches('|')
                    .split('|')
                    .map(str::trim)
                    .collect()
            })
            .collect();
        assert_eq!(rows.len(), Business::ALL.len());
        for (row, &business) in rows.iter().zip(Business::ALL) {
            let label = row[0].trim_end_matches(" ✓");
            assert_eq!(row[0].ends_with('✓'), business.needs_checker(), "{label}");
            assert_eq!(row.len(), 1 + Role::ALL.len(), "{label}");
            for (cell, &role) in row[1..].iter().zip(Role::ALL) {
                let got: String = allowed_points(role, business)
                    .iter()
                    .map(|&p| letter(p))
                    .collect();
                let want = if *cell == "·" { "" } else { cell };
                let mut want_sorted: Vec<char> = want.chars().collect();
                let mut got_sorted: Vec<char> = got.chars().collect();
                want_sorted.sort_unstable();
                got_sorted.sort_unstable();
                assert_eq!(got_sorted, want_sorted, "{label} / {role}");
            }
        }
    }

    #[test]
    fn every_business_is_done_by_someone_somewhere() {
        for &business in Business::ALL {
            assert!(
                Role::ALL
                    .iter()
                    .any(|&r| !allowed_points(r, business).is_empty()),
                "{business}"
            );
        }
    }

    #[test]
    fn the_three_administrators_are_separated() {
        let duties = [
            (
                Role::SystemAdmin,
                vec![Business::DayClose, Business::ManageServicePoints],
            ),
            (Role::SecurityAdmin, vec![Business::ManageStaff]),
            (Role::AuditAdmin, vec![Business::ViewAuditLog]),
        ];
        let all_duties: Vec<Business> = duties.iter().flat_map(|(_, d)| d.clone()).collect();
        for (admin, own) in &duties {
            for &business in Business::ALL {
                for &point in PointType::ALL {
                    let result = authorize(*admin, business, point);
                    let mine = own.contains(&business) && point == PointType::BackOffice;
                    assert_eq!(result.is_ok(), mine, "{admin} {business} {point}");
                    if !own.contains(&business) {
                        let d = result.unwrap_err();
                        assert_eq!(d.rule, DenyRule::AdminSeparation);
                        assert!(d.to_string().contains("三员分立"), "{d}");
                    }
                }
            }
            // No administrator checks anything either.
            for &business in Business::ALL {
                assert!(check_checker("staff:1", "staff:2", *admin, business).is_err());
            }
        }
        // Nobody else does an administrator's duty.
        for &role in Role::ALL.iter().filter(|r| !r.is_admin()) {
            for &business in &all_duties {
                assert!(
                    allowed_points(role, business).is_empty(),
                    "{role} {business}"
                );
            }
        }
    }

    #[test]
    fn front_line_roles_never_approve_or_check() {
        let front = [
            Role::Member,
            Role::UnitClerk,
            Role::CounterClerk,
            Role::StationClerk,
            Role::BankClerk,
        ];
        for role in front {
            for business in [Business::WithdrawalReview, Business::LoanReview] {
                assert!(allowed_points(role, business).is_empty(), "{role}");
            }
            for &business in Business::ALL {
                assert!(check_checker("a", "b", role, business).is_err());
            }
        }
        // Stations: no loan step past the application, no reversal.
        for business in [
            Business::LoanSign,
            Business::LoanDisburse,
            Business::LoanPrepay,
            Business::Reversal,
            Business::Freeze,
            Business::Unfreeze,
        ] {
            assert!(allowed_points(Role::StationClerk, business).is_empty());
        }
        // The auditor changes nothing.
        for &business in Business::ALL {
            if !allowed_points(Role::Auditor, business).is_empty() {
                assert!(business.is_read_only(), "{business}");
            }
        }
    }

    #[test]
    fn denial_messages_name_role_business_point_and_rule() {
        let d = authorize(
            Role::StationClerk,
            Business::LoanApply,
            PointType::VillageStation,
        )
        .unwrap_err();
        assert_eq!(
            d.to_string(),
            "service station clerk (驿站/便民中心经办员) may not do loan application (贷款申请) \
             at a village service station (村级服务驿站): the role handles this business only \
             at: township service centre"
        );
        let d = authorize(Role::Member, Business::Reversal, PointType::Online).unwrap_err();
        assert_eq!(d.rule, DenyRule::NotThisRole);
        assert!(d.to_string().ends_with("anywhere"), "{d}");
        let d = authorize(Role::Member, Business::WithdrawalApply, PointType::Hotline).unwrap_err();
        assert!(
            d.to_string().ends_with(
                "only at: self-service terminal, online (web, app, Zheliban, mini-program)"
            ),
            "{d}"
        );
    }

    #[test]
    fn maker_checker() {
        use Business as Bz;
        // A reversal entered by one clerk is confirmed by an approver or the manager.
        assert_eq!(
            check_checker("staff:0012", "staff:0031", Role::Approver, Bz::Reversal),
            Ok(())
        );
        assert_eq!(
            check_checker("staff:0012", "staff:0007", Role::Manager, Bz::Unfreeze),
            Ok(())
        );
        // Not by the same person, whatever the role.
        let d =
            check_checker("staff:0012", "staff:0012", Role::Approver, Bz::Reversal).unwrap_err();
        assert_eq!(d.rule, DenyRule::SamePerson);
        assert_eq!(d.point, None);
        assert!(
            d.to_string().contains("may not check reversal (冲正)"),
            "{d}"
        );
        // Not by another counter clerk.
        let d = check_checker("staff:0012", "staff:0013", Role::CounterClerk, Bz::Reversal)
            .unwrap_err();
        assert!(matches!(d.rule, DenyRule::CheckerRole { .. }));
        assert!(d.to_string().ends_with("approver, centre manager"), "{d}");
        // A policy change: a second manager; an approver may not.
        assert!(check_checker("staff:1", "staff:2", Role::Manager, Bz::PolicyChange).is_ok());
        assert!(check_checker("staff:1", "staff:2", Role::Approver, Bz::PolicyChange).is_err());
        // Role grants by the security administrator are confirmed by the manager, not by
        // another administrator.
        assert!(check_checker("staff:9", "staff:2", Role::Manager, Bz::ManageStaff).is_ok());
        for admin in [Role::SecurityAdmin, Role::SystemAdmin, Role::AuditAdmin] {
            assert!(check_checker("staff:9", "staff:8", admin, Bz::ManageStaff).is_err());
        }
        // Reviews: the reviewer is not the accepting clerk.
        assert!(
            check_checker(
                "staff:0012",
                "staff:0031",
                Role::Approver,
                Bz::WithdrawalReview
            )
            .is_ok()
        );
        assert_eq!(
            check_checker("staff:0031", "staff:0031", Role::Approver, Bz::LoanReview)
                .unwrap_err()
                .rule,
            DenyRule::SamePerson
        );
        // Businesses without a checker step, and unidentified people, are refused.
        assert_eq!(
            check_checker("a", "b", Role::Manager, Bz::Remittance)
                .unwrap_err()
                .rule,
            DenyRule::NoCheckStep
        );
        assert_eq!(
            check_checker("", "b", Role::Manager, Bz::Reversal)
                .unwrap_err()
                .rule,
            DenyRule::Unidentified
        );
        assert_eq!(
            check_checker("a", " ", Role::Manager, Bz::Reversal)
                .unwrap_err()
                .rule,
            DenyRule::Unidentified
        );
        // Every business that needs a checker has checker roles, and only those.
        for &b in Business::ALL {
            assert_eq!(b.needs_checker(), !checker_roles(b).is_empty(), "{b}");
        }
    }

    fn station() -> ServicePoint {
        ServicePoint {
            code: "station-longyou-01".into(),
            name: "龙游县小南海镇丰收驿站".into(),
            point_type: PointType::VillageStation,
            status: PointStatus::Open,
            handles: vec![Business::ViewMemberAccount, Business::StatementPrint],
        }
    }

    #[test]
    fn a_service_point_narrows_the_matrix() {
        let p = station();
        assert_eq!(p.validate(), Ok(()));
        assert_eq!(
            p.authorize(Role::StationClerk, Business::StatementPrint),
            Ok(())
        );
        assert_eq!(
            point_allows(&p, Role::StationClerk, Business::ViewMemberAccount),
            Ok(())
        );
        // The matrix allows it at village stations, but this one does not list it.
        let d = p
            .authorize(Role::StationClerk, Business::WithdrawalApply)
            .unwrap_err();
        assert_eq!(d.rule, DenyRule::NotHandledHere);
        assert!(d.to_string().contains("station-longyou-01"), "{d}");
        // The matrix refuses before the list is looked at.
        let d = p
            .authorize(Role::CounterClerk, Business::StatementPrint)
            .unwrap_err();
        assert!(matches!(d.rule, DenyRule::NotAtThisPoint { .. }));
        assert_eq!(d.point_code.as_deref(), Some("station-longyou-01"));
        // A closed point takes nothing.
        let closed = ServicePoint {
            status: PointStatus::Closed,
            ..station()
        };
        assert_eq!(
            closed
                .authorize(Role::StationClerk, Business::StatementPrint)
                .unwrap_err()
                .rule,
            DenyRule::PointClosed
        );
    }

    #[test]
    fn service_point_entries_are_validated() {
        let mut p = station();
        p.handles.push(Business::LoanReview);
        assert_eq!(
            p.validate(),
            Err(ServicePointError::Impossible {
                code: p.code.clone(),
                business: Business::LoanReview,
                point_type: PointType::VillageStation
            })
        );
        let mut p = station();
        p.handles.push(Business::StatementPrint);
        assert!(matches!(
            p.validate(),
            Err(ServicePointError::Duplicate { .. })
        ));
        let p = ServicePoint {
            code: "a b".into(),
            ..station()
        };
        assert!(matches!(p.validate(), Err(ServicePointError::BadCode(_))));
        let p = ServicePoint {
            name: " ".into(),
            ..station()
        };
        assert!(matches!(p.validate(), Err(ServicePointError::EmptyName(_))));
        assert_eq!(
            ServicePoint::possible_businesses(PointType::VillageStation),
            [
                Business::ViewMemberAccount,
                Business::StatementPrint,
                Business::FlexibleContribution,
                Business::WithdrawalApply
            ]
        );
        assert_eq!(
            ServicePoint::possible_businesses(PointType::Hotline),
            [Business::ViewOwnAccount]
        );
        // A full entry of each type validates.
        for &t in PointType::ALL {
            let p = ServicePoint {
                code: format!("p-{}", t.code()),
                name: t.label_zh().into(),
                point_type: t,
                status: PointStatus::Open,
                handles: ServicePoint::possible_businesses(t),
            };
            assert_eq!(p.validate(), Ok(()), "{t}");
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(serde_json::from_str::<ServicePoint>(&json).unwrap(), p);
        }
    }
}
