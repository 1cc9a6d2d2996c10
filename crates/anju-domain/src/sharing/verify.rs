//! Which facts an application needs, and whether they hold.
//!
//! An application of a given [`ApplicationKind`] names its parties and [`Claims`] (the
//! contract it buys with, the lease it rents under …). [`checks_for`] turns that into
//! [`Check`]s; each check says which [`FactKey`]s it needs; [`evaluate`] decides each check
//! from the answers, giving **verified**, **not verified** or **unavailable**, always
//! with a reason in Chinese and English. Policy judgements (amount limits, frequency) are
//! the withdrawal and loan rules' business; these checks only establish facts.

use std::collections::BTreeMap;
use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::{
    Answer, CancelReason, ContractKind, FactKey, InvoiceCategory, Purpose, Query, Unavailable,
};
use crate::codes::MaritalStatus;
use crate::policy::FlexibleResidence;

/// What an application is for. The code is stored with the application (and is its JSON
/// form, e.g. `"withdrawal.purchase"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApplicationKind {
    /// 购房提取: buying a home.
    WithdrawPurchase,
    /// 偿还住房贷款提取: repaying a home loan.
    WithdrawLoanRepayment,
    /// 租房提取: paying rent.
    WithdrawRent,
    /// 老旧小区改造/加装电梯提取.
    WithdrawRenewal,
    /// 退休提取.
    WithdrawRetirement,
    /// 完全丧失劳动能力提取.
    WithdrawDisability,
    /// 户口迁出本市提取.
    WithdrawMovedOut,
    /// 死亡提取 (by heirs).
    WithdrawDeath,
    /// 大病提取.
    WithdrawIllness,
    /// 建造、翻建、大修自住住房提取.
    WithdrawBuildRepair,
    /// 自住住房装修提取 (2026 amendment).
    WithdrawRenovation,
    /// 物业费提取 (2026 amendment).
    WithdrawPropertyFee,
    /// 出境定居提取.
    WithdrawEmigration,
    /// 离职封存满期提取.
    WithdrawLeftJob,
    /// 其他提取 (decided by staff).
    WithdrawOther,
    /// 公积金贷款 / 组合贷款.
    Loan,
    /// 灵活就业人员开户: a self-employed person opens an account; the residence rule of
    /// the policy (`Claims::flexible_residence`) is verified.
    OpenFlexible,
}

impl ApplicationKind {
    /// Every kind.
    pub const ALL: [ApplicationKind; 17] = [
        ApplicationKind::WithdrawPurchase,
        ApplicationKind::WithdrawLoanRepayment,
        ApplicationKind::WithdrawRent,
        ApplicationKind::WithdrawRenewal,
        ApplicationKind::WithdrawRetirement,
        ApplicationKind::WithdrawDisability,
        ApplicationKind::WithdrawMovedOut,
        ApplicationKind::WithdrawDeath,
        ApplicationKind::WithdrawIllness,
        ApplicationKind::WithdrawBuildRepair,
        ApplicationKind::WithdrawRenovation,
        ApplicationKind::WithdrawPropertyFee,
        ApplicationKind::WithdrawEmigration,
        ApplicationKind::WithdrawLeftJob,
        ApplicationKind::WithdrawOther,
        ApplicationKind::Loan,
        ApplicationKind::OpenFlexible,
    ];

    /// Stored code, e.g. `withdrawal.purchase`.
    pub const fn code(self) -> &'static str {
        match self {
            ApplicationKind::WithdrawPurchase => "withdrawal.purchase",
            ApplicationKind::WithdrawLoanRepayment => "withdrawal.loan-repayment",
            ApplicationKind::WithdrawRent => "withdrawal.rent",
            ApplicationKind::WithdrawRenewal => "withdrawal.renewal",
            ApplicationKind::WithdrawRetirement => "withdrawal.retirement",
            ApplicationKind::WithdrawDisability => "withdrawal.disability",
            ApplicationKind::WithdrawMovedOut => "withdrawal.moved-out",
            ApplicationKind::WithdrawDeath => "withdrawal.death",
            ApplicationKind::WithdrawIllness => "withdrawal.illness",
            ApplicationKind::WithdrawBuildRepair => "withdrawal.build-repair",
            ApplicationKind::WithdrawRenovation => "withdrawal.renovation",
            ApplicationKind::WithdrawPropertyFee => "withdrawal.property-fee",
            ApplicationKind::WithdrawEmigration => "withdrawal.emigration",
            ApplicationKind::WithdrawLeftJob => "withdrawal.left-job",
            ApplicationKind::WithdrawOther => "withdrawal.other",
            ApplicationKind::Loan => "loan",
            ApplicationKind::OpenFlexible => "opening.flexible",
        }
    }

    /// Chinese name.
    pub const fn name_zh(self) -> &'static str {
        match self {
            ApplicationKind::WithdrawPurchase => "购房提取",
            ApplicationKind::WithdrawLoanRepayment => "偿还住房贷款提取",
            ApplicationKind::WithdrawRent => "租房提取",
            ApplicationKind::WithdrawRenewal => "老旧小区改造及加装电梯提取",
            ApplicationKind::WithdrawRetirement => "退休提取",
            ApplicationKind::WithdrawDisability => "完全丧失劳动能力提取",
            ApplicationKind::WithdrawMovedOut => "户口迁出本市提取",
            ApplicationKind::WithdrawDeath => "死亡提取",
            ApplicationKind::WithdrawIllness => "大病提取",
            ApplicationKind::WithdrawBuildRepair => "建造翻建大修自住住房提取",
            ApplicationKind::WithdrawRenovation => "自住住房装修提取",
            ApplicationKind::WithdrawPropertyFee => "物业费提取",
            ApplicationKind::WithdrawEmigration => "出境定居提取",
            ApplicationKind::WithdrawLeftJob => "离职封存提取",
            ApplicationKind::WithdrawOther => "其他提取",
            ApplicationKind::Loan => "住房公积金贷款",
            ApplicationKind::OpenFlexible => "灵活就业人员开户",
        }
    }

    /// The kind with this code.
    pub fn from_code(code: &str) -> Option<ApplicationKind> {
        ApplicationKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The legal purpose under which its look-ups are made.
    pub const fn purpose(self) -> Purpose {
        match self {
            ApplicationKind::Loan => Purpose::Loan,
            ApplicationKind::OpenFlexible => Purpose::AccountOpening,
            _ => Purpose::Withdrawal,
        }
    }
}

impl Serialize for ApplicationKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for ApplicationKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ApplicationKind, D::Error> {
        let text = String::deserialize(d)?;
        ApplicationKind::from_code(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown application kind {text:?}")))
    }
}

impl fmt::Display for ApplicationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A person's part in an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The member who applies.
    Applicant,
    /// The applicant's spouse (withdrawing for the same home, or co-borrowing).
    Spouse,
    /// Another co-borrower.
    CoBorrower,
    /// An heir of a deceased member.
    Heir,
    /// The deceased member whose balance heirs withdraw.
    Deceased,
}

impl Role {
    /// Stored code.
    pub const fn code(self) -> &'static str {
        match self {
            Role::Applicant => "applicant",
            Role::Spouse => "spouse",
            Role::CoBorrower => "co_borrower",
            Role::Heir => "heir",
            Role::Deceased => "deceased",
        }
    }

    /// The role with this code.
    pub fn from_code(code: &str) -> Option<Role> {
        [
            Role::Applicant,
            Role::Spouse,
            Role::CoBorrower,
            Role::Heir,
            Role::Deceased,
        ]
        .into_iter()
        .find(|r| r.code() == code)
    }
}

/// A person named in an application, with the name the centre holds for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    /// Resident ID number.
    pub id_number: String,
    /// Role.
    pub role: Role,
    /// The name the centre holds (its member register), checked against public security.
    pub name: Option<String>,
}

/// What the applicant states, to be verified.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Claims {
    /// The purchase contract's filing number (purchase withdrawal, loan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_no: Option<String>,
    /// The lease's filing number (rent withdrawal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_no: Option<String>,
    /// The renewal project's number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_no: Option<String>,
    /// The year of income or medical expenses looked at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<i16>,
    /// The e-invoice claimed (building, repair, renovation, property fees); any of the
    /// applicant's invoices of the ground's kind when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_no: Option<String>,
    /// The spouse who bought the home, when the applicant is not on the purchase contract
    /// (a spouse may withdraw for the same home); must also be named as the spouse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spouse_buyer: Option<String>,
    /// The residence rule a flexible-employment opening is verified against: the
    /// policy's `flexible_residence` when the person applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flexible_residence: Option<FlexibleResidence>,
}

/// One fact to establish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "check", rename_all = "kebab-case")]
pub enum Check {
    /// The person exists, is alive, and (if the centre holds a name) the name matches.
    Identity {
        /// Whose.
        subject: String,
        /// Name the centre holds.
        name: Option<String>,
    },
    /// `subject` is currently married to `spouse`.
    Spouse {
        /// Whose.
        subject: String,
        /// The claimed spouse.
        spouse: String,
    },
    /// The marital status (informational: verified whenever civil affairs answers).
    MaritalStatus {
        /// Whose.
        subject: String,
    },
    /// A filed, not cancelled purchase contract lists `buyer`; if `contract_no` is given, it
    /// is that one.
    PurchaseContract {
        /// The buyer.
        buyer: String,
        /// The filing number claimed.
        contract_no: Option<String>,
    },
    /// The contract's home is registered to the buyer (second-hand), or for a new home it
    /// is registered or still a filed pre-sale (期房).
    PropertyOfContract {
        /// The buyer.
        buyer: String,
        /// The filing number claimed.
        contract_no: Option<String>,
    },
    /// Homes the person owns (informational; loans count them for first / second home).
    HomesOwned {
        /// Whose.
        subject: String,
    },
    /// A filed lease covering `on` lists the tenant.
    Lease {
        /// The tenant.
        tenant: String,
        /// The lease claimed.
        lease_no: Option<String>,
        /// The day it must cover.
        on: Date,
    },
    /// The person owns no home in the city whose division codes start with
    /// `city_prefix` (e.g. `3308` for Quzhou).
    NoHomeInCity {
        /// Whose.
        subject: String,
        /// 4-digit city prefix of division codes.
        city_prefix: String,
    },
    /// The person has an outstanding home loan (commercial or provident fund).
    HomeLoan {
        /// Whose.
        subject: String,
    },
    /// No loan or card is overdue now.
    NoCurrentOverdue {
        /// Whose.
        subject: String,
    },
    /// No outstanding provident-fund home loan.
    NoProvidentFundLoan {
        /// Whose.
        subject: String,
    },
    /// A household share in a renewal project (that one, if `project_no` is given).
    RenewalShare {
        /// An owner.
        subject: String,
        /// The project claimed.
        project_no: Option<String>,
    },
    /// Retired on or before `on`.
    Retired {
        /// Whose.
        subject: String,
        /// The day.
        on: Date,
    },
    /// Complete loss of work capacity appraised.
    WorkCapacityLost {
        /// Whose.
        subject: String,
    },
    /// Household registration outside the city.
    MovedOut {
        /// Whose.
        subject: String,
        /// 4-digit city prefix.
        city_prefix: String,
    },
    /// A death is registered.
    Deceased {
        /// Whose.
        subject: String,
    },
    /// Serious-illness expenses in `year`.
    SeriousIllness {
        /// Whose.
        subject: String,
        /// Year.
        year: i16,
    },
    /// Insured with social security now.
    Insured {
        /// Whose.
        subject: String,
    },
    /// Wage income on record for `year`.
    Income {
        /// Whose.
        subject: String,
        /// Tax year.
        year: i16,
    },
    /// A valid (not voided) e-invoice of one of `categories`, bought by the subject, for
    /// the address of a home the subject owns (that invoice, if `invoice_no` is given).
    HousingInvoice {
        /// The buyer and owner.
        subject: String,
        /// Kinds of work or service accepted.
        categories: Vec<InvoiceCategory>,
        /// The invoice claimed.
        invoice_no: Option<String>,
    },
    /// The household registration was cancelled for settling abroad (出境定居).
    Emigrated {
        /// Whose.
        subject: String,
    },
    /// Not insured through an employer now (the employment has ended).
    NotEmployed {
        /// Whose.
        subject: String,
    },
    /// The loans on record (informational: verified whenever credit reference answers;
    /// a purchase withdrawal deducts the loans on the home from its price).
    LoansOnRecord {
        /// Whose.
        subject: String,
    },
    /// Resident in the city for a flexible-employment opening: household registration
    /// (户籍, not cancelled) in the city, or — when `social_security` — insured with the
    /// city's social security (参保地 in the city). Either one verifies it; it is
    /// unavailable only when neither verifies and a needed answer is missing.
    Residence {
        /// Whose.
        subject: String,
        /// 4-digit city prefix of division codes.
        city_prefix: String,
        /// Whether contributing to the city's social security also counts.
        social_security: bool,
    },
}

impl Check {
    /// Stable code (the `check` tag).
    pub const fn code(&self) -> &'static str {
        match self {
            Check::Identity { .. } => "identity",
            Check::Spouse { .. } => "spouse",
            Check::MaritalStatus { .. } => "marital-status",
            Check::PurchaseContract { .. } => "purchase-contract",
            Check::PropertyOfContract { .. } => "property-of-contract",
            Check::HomesOwned { .. } => "homes-owned",
            Check::Lease { .. } => "lease",
            Check::NoHomeInCity { .. } => "no-home-in-city",
            Check::HomeLoan { .. } => "home-loan",
            Check::NoCurrentOverdue { .. } => "no-current-overdue",
            Check::NoProvidentFundLoan { .. } => "no-provident-fund-loan",
            Check::RenewalShare { .. } => "renewal-share",
            Check::Retired { .. } => "retired",
            Check::WorkCapacityLost { .. } => "work-capacity-lost",
            Check::MovedOut { .. } => "moved-out",
            Check::Deceased { .. } => "deceased",
            Check::SeriousIllness { .. } => "serious-illness",
            Check::Insured { .. } => "insured",
            Check::Income { .. } => "income",
            Check::HousingInvoice { .. } => "housing-invoice",
            Check::Emigrated { .. } => "emigrated",
            Check::NotEmployed { .. } => "not-employed",
            Check::LoansOnRecord { .. } => "loans-on-record",
            Check::Residence { .. } => "residence",
        }
    }

    /// Whose facts it reads.
    pub fn subject(&self) -> &str {
        match self {
            Check::Identity { subject, .. }
            | Check::Spouse { subject, .. }
            | Check::MaritalStatus { subject }
            | Check::HomesOwned { subject }
            | Check::NoHomeInCity { subject, .. }
            | Check::HomeLoan { subject }
            | Check::NoCurrentOverdue { subject }
            | Check::NoProvidentFundLoan { subject }
            | Check::RenewalShare { subject, .. }
            | Check::Retired { subject, .. }
            | Check::WorkCapacityLost { subject }
            | Check::MovedOut { subject, .. }
            | Check::Deceased { subject }
            | Check::SeriousIllness { subject, .. }
            | Check::Insured { subject }
            | Check::Income { subject, .. }
            | Check::HousingInvoice { subject, .. }
            | Check::Emigrated { subject }
            | Check::NotEmployed { subject }
            | Check::LoansOnRecord { subject }
            | Check::Residence { subject, .. } => subject,
            Check::PurchaseContract { buyer, .. } | Check::PropertyOfContract { buyer, .. } => {
                buyer
            }
            Check::Lease { tenant, .. } => tenant,
        }
    }

    /// The facts it needs.
    pub fn needs(&self) -> Vec<FactKey> {
        let s = self.subject();
        let one = |q| vec![FactKey::new(q, s)];
        match self {
            Check::Identity { .. } => one(Query::Identity),
            Check::Spouse { .. } | Check::MaritalStatus { .. } => one(Query::Marriage),
            Check::PurchaseContract { .. } => one(Query::Contracts),
            Check::PropertyOfContract { .. } => {
                vec![
                    FactKey::new(Query::Contracts, s),
                    FactKey::new(Query::Properties, s),
                ]
            }
            Check::HomesOwned { .. } | Check::NoHomeInCity { .. } => one(Query::Properties),
            Check::Lease { .. } => one(Query::Leases),
            Check::HomeLoan { .. }
            | Check::LoansOnRecord { .. }
            | Check::NoCurrentOverdue { .. }
            | Check::NoProvidentFundLoan { .. } => one(Query::Credit),
            Check::RenewalShare { .. } => one(Query::Renewal),
            Check::Retired { .. }
            | Check::WorkCapacityLost { .. }
            | Check::Insured { .. }
            | Check::NotEmployed { .. } => one(Query::Employment),
            Check::MovedOut { .. } | Check::Emigrated { .. } => one(Query::Household),
            Check::Residence {
                social_security, ..
            } => {
                let mut keys = vec![FactKey::new(Query::Household, s)];
                if *social_security {
                    keys.push(FactKey::new(Query::Employment, s));
                }
                keys
            }
            Check::HousingInvoice { .. } => vec![
                FactKey::new(Query::Invoices, s),
                FactKey::new(Query::Properties, s),
            ],
            Check::Deceased { .. } => one(Query::Death),
            Check::SeriousIllness { year, .. } => vec![FactKey {
                query: Query::Medical,
                subject: s.to_owned(),
                year: Some(*year),
            }],
            Check::Income { year, .. } => vec![FactKey {
                query: Query::Income,
                subject: s.to_owned(),
                year: Some(*year),
            }],
        }
    }
}

/// The result of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The facts confirm it.
    Verified,
    /// The facts contradict it.
    NotVerified,
    /// A department did not answer usably: a person must look (manual review).
    Unavailable,
}

impl Outcome {
    /// Chinese label.
    pub const fn label_zh(self) -> &'static str {
        match self {
            Outcome::Verified => "核验通过",
            Outcome::NotVerified => "核验不通过",
            Outcome::Unavailable => "无法核验",
        }
    }
}

/// A decided check with its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The check.
    pub check: Check,
    /// The outcome.
    pub outcome: Outcome,
    /// Why, in Chinese.
    pub reason_zh: String,
    /// Why, in English.
    pub reason_en: String,
}

/// The answers at hand for one application: each needed key answered or unavailable.
pub type FactSet = BTreeMap<FactKey, Result<Answer, Unavailable>>;

/// Why the checks of an application cannot even be listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimError {
    /// A party the kind needs is missing.
    #[error("a {kind} application needs a party with role {role}")]
    MissingParty {
        /// Application kind code.
        kind: &'static str,
        /// Role code.
        role: &'static str,
    },
    /// A claim the kind needs is missing.
    #[error("a {kind} application needs the claim {claim}")]
    MissingClaim {
        /// Application kind code.
        kind: &'static str,
        /// Claim field.
        claim: &'static str,
    },
}

/// The checks an application of `kind` needs. `today` is the business date; `city_prefix`
/// the 4-digit division prefix of the centre's city (e.g. `3308`).
pub fn checks_for(
    kind: ApplicationKind,
    parties: &[Party],
    claims: &Claims,
    today: Date,
    city_prefix: &str,
) -> Result<Vec<Check>, ClaimError> {
    let find = |role: Role| parties.iter().find(|p| p.role == role);
    let identity = |p: &Party| Check::Identity {
        subject: p.id_number.clone(),
        name: p.name.clone(),
    };
    let deceased_kind = kind == ApplicationKind::WithdrawDeath;
    let main = if deceased_kind {
        find(Role::Deceased).ok_or(ClaimError::MissingParty {
            kind: kind.code(),
            role: Role::Deceased.code(),
        })?
    } else {
        find(Role::Applicant).ok_or(ClaimError::MissingParty {
            kind: kind.code(),
            role: Role::Applicant.code(),
        })?
    };
    let s = main.id_number.clone();
    let city = city_prefix.to_owned();
    let mut out = Vec::new();
    if !deceased_kind {
        out.push(identity(main));
    }
    // A spouse or co-borrower named in the application is checked too.
    for p in parties
        .iter()
        .filter(|p| matches!(p.role, Role::Spouse | Role::CoBorrower))
    {
        out.push(identity(p));
        if p.role == Role::Spouse {
            out.push(Check::Spouse {
                subject: s.clone(),
                spouse: p.id_number.clone(),
            });
        }
    }
    let year = |claim: &'static str| {
        claims.year.ok_or(ClaimError::MissingClaim {
            kind: kind.code(),
            claim,
        })
    };
    match kind {
        ApplicationKind::WithdrawPurchase => {
            // The home is the applicant's, or their spouse's (named as the spouse).
            let buyer = match &claims.spouse_buyer {
                Some(b) if find(Role::Spouse).is_some_and(|p| &p.id_number == b) => b.clone(),
                Some(_) => {
                    return Err(ClaimError::MissingParty {
                        kind: kind.code(),
                        role: Role::Spouse.code(),
                    });
                }
                None => s,
            };
            out.push(Check::PurchaseContract {
                buyer: buyer.clone(),
                contract_no: claims.contract_no.clone(),
            });
            out.push(Check::PropertyOfContract {
                buyer: buyer.clone(),
                contract_no: claims.contract_no.clone(),
            });
            out.push(Check::LoansOnRecord { subject: buyer });
        }
        ApplicationKind::WithdrawLoanRepayment => {
            out.push(Check::HomeLoan { subject: s });
        }
        ApplicationKind::WithdrawRent => {
            out.push(Check::Lease {
                tenant: s.clone(),
                lease_no: claims.lease_no.clone(),
                on: today,
            });
            out.push(Check::NoHomeInCity {
                subject: s.clone(),
                city_prefix: city,
            });
            // Before the 2026 amendment rent must exceed a share of the wage income: the
            // withdrawal rule then names the year whose income counts.
            if let Some(year) = claims.year {
                out.push(Check::Income { subject: s, year });
            }
        }
        ApplicationKind::WithdrawBuildRepair => out.push(Check::HousingInvoice {
            subject: s,
            categories: vec![InvoiceCategory::Construction, InvoiceCategory::Repair],
            invoice_no: claims.invoice_no.clone(),
        }),
        ApplicationKind::WithdrawRenovation => out.push(Check::HousingInvoice {
            subject: s,
            categories: vec![InvoiceCategory::Renovation],
            invoice_no: claims.invoice_no.clone(),
        }),
        ApplicationKind::WithdrawPropertyFee => out.push(Check::HousingInvoice {
            subject: s,
            categories: vec![InvoiceCategory::PropertyFee],
            invoice_no: claims.invoice_no.clone(),
        }),
        ApplicationKind::WithdrawEmigration => out.push(Check::Emigrated { subject: s }),
        ApplicationKind::WithdrawLeftJob => out.push(Check::NotEmployed { subject: s }),
        // Staff decide "other" grounds; only the identity is checked.
        ApplicationKind::WithdrawOther => {}
        ApplicationKind::WithdrawRenewal => {
            out.push(Check::RenewalShare {
                subject: s,
                project_no: claims.project_no.clone(),
            });
        }
        ApplicationKind::WithdrawRetirement => out.push(Check::Retired {
            subject: s,
            on: today,
        }),
        ApplicationKind::WithdrawDisability => {
            out.push(Check::WorkCapacityLost { subject: s.clone() });
            out.push(Check::NotEmployed { subject: s });
        }
        ApplicationKind::WithdrawMovedOut => out.push(Check::MovedOut {
            subject: s,
            city_prefix: city,
        }),
        ApplicationKind::OpenFlexible => match claims.flexible_residence {
            None => {
                return Err(ClaimError::MissingClaim {
                    kind: kind.code(),
                    claim: "flexible_residence",
                });
            }
            Some(FlexibleResidence::Any) => {}
            Some(rule) => out.push(Check::Residence {
                subject: s,
                city_prefix: city,
                social_security: rule == FlexibleResidence::HouseholdOrSocialSecurity,
            }),
        },
        ApplicationKind::WithdrawDeath => {
            out.push(Check::Deceased { subject: s });
            let heirs: Vec<&Party> = parties.iter().filter(|p| p.role == Role::Heir).collect();
            if heirs.is_empty() {
                return Err(ClaimError::MissingParty {
                    kind: kind.code(),
                    role: Role::Heir.code(),
                });
            }
            out.extend(heirs.into_iter().map(identity));
        }
        ApplicationKind::WithdrawIllness => out.push(Check::SeriousIllness {
            subject: s,
            year: year("year")?,
        }),
        ApplicationKind::Loan => {
            let y = year("year")?;
            out.push(Check::MaritalStatus { subject: s.clone() });
            out.push(Check::PurchaseContract {
                buyer: s.clone(),
                contract_no: claims.contract_no.clone(),
            });
            out.push(Check::HomesOwned { subject: s.clone() });
            out.push(Check::NoCurrentOverdue { subject: s.clone() });
            out.push(Check::NoProvidentFundLoan { subject: s.clone() });
            out.push(Check::Insured { subject: s.clone() });
            out.push(Check::Income {
                subject: s,
                year: y,
            });
            for p in parties.iter().filter(|p| p.role == Role::Spouse) {
                out.push(Check::NoProvidentFundLoan {
                    subject: p.id_number.clone(),
                });
                out.push(Check::HomesOwned {
                    subject: p.id_number.clone(),
                });
            }
        }
    }
    Ok(out)
}

fn verdict(check: &Check, outcome: Outcome, zh: String, en: String) -> Verdict {
    Verdict {
        check: check.clone(),
        outcome,
        reason_zh: zh,
        reason_en: en,
    }
}

fn yes(check: &Check, zh: String, en: String) -> Verdict {
    verdict(check, Outcome::Verified, zh, en)
}

fn no(check: &Check, zh: String, en: String) -> Verdict {
    verdict(check, Outcome::NotVerified, zh, en)
}

/// Decides `check` from `facts`. A missing key or an unavailable department gives
/// [`Outcome::Unavailable`] with the department's reason; a wrongly typed answer (a bug
/// upstream) also gives `Unavailable`, never a pass.
pub fn evaluate(check: &Check, facts: &FactSet) -> Verdict {
    if let Check::Residence {
        city_prefix,
        social_security,
        ..
    } = check
    {
        return residence(check, city_prefix, *social_security, facts);
    }
    let mut answers = Vec::new();
    for key in check.needs() {
        match facts.get(&key) {
            Some(Ok(a)) if a.query() == key.query => answers.push(a),
            Some(Ok(a)) => {
                return verdict(
                    check,
                    Outcome::Unavailable,
                    format!(
                        "{}返回了错误类型的数据（{}）",
                        key.query.name_zh(),
                        a.query()
                    ),
                    format!("{} answered with the wrong kind ({})", key.query, a.query()),
                );
            }
            Some(Err(u)) => {
                return verdict(
                    check,
                    Outcome::Unavailable,
                    format!("{}暂时无法获取：{}", key.query.name_zh(), u.reason),
                    format!("{}: {u}", key.query),
                );
            }
            None => {
                return verdict(
                    check,
                    Outcome::Unavailable,
                    format!("未查询{}", key.query.name_zh()),
                    format!("{} was not looked up", key.query),
                );
            }
        }
    }
    decide(check, &answers)
}

/// [`Check::Residence`]: either fact verifies it on its own, so one department being
/// down does not hide the other's answer; unavailable only when nothing verified and an
/// answer is missing.
fn residence(check: &Check, city: &str, social_security: bool, facts: &FactSet) -> Verdict {
    let mut zh: Vec<String> = Vec::new();
    let mut en: Vec<String> = Vec::new();
    let mut missing = false;
    let mut keys = check.needs().into_iter();
    // Household registration.
    if let Some(key) = keys.next() {
        match facts.get(&key) {
            Some(Ok(Answer::Household(h))) => match h {
                Some(h) if h.cancelled.is_none() && h.region_code.starts_with(city) => {
                    return yes(
                        check,
                        format!("户籍在本市（{}）", h.region_name),
                        format!(
                            "household registration in the city ({}, {})",
                            h.region_name, h.region_code
                        ),
                    );
                }
                Some(h) if h.cancelled.is_some() => {
                    zh.push(format!("户籍已注销（{}）", h.region_name));
                    en.push(format!(
                        "household registration cancelled ({})",
                        h.region_code
                    ));
                }
                Some(h) => {
                    zh.push(format!("户籍不在本市（{}）", h.region_name));
                    en.push(format!(
                        "household registration outside the city ({}, {})",
                        h.region_name, h.region_code
                    ));
                }
                None => {
                    zh.push("公安无户籍登记".into());
                    en.push("no household registration on record".into());
                }
            },
            Some(Ok(a)) => {
                missing = true;
                zh.push(format!("户籍登记返回了错误类型的数据（{}）", a.query()));
                en.push(format!(
                    "household registration: wrong kind of answer ({})",
                    a.query()
                ));
            }
            Some(Err(u)) => {
                missing = true;
                zh.push(format!("户籍登记暂时无法获取：{}", u.reason));
                en.push(format!("household registration: {u}"));
            }
            None => {
                missing = true;
                zh.push("未查询户籍登记".into());
                en.push("household registration was not looked up".into());
            }
        }
    }
    // The city's social security.
    if social_security && let Some(key) = keys.next() {
        match facts.get(&key) {
            Some(Ok(Answer::Employment(e))) => {
                let region = e.as_ref().filter(|e| e.insured).and_then(|e| {
                    e.insured_region.clone().or_else(|| {
                        e.employer_credit_code
                            .as_deref()
                            .and_then(|c| c.get(2..8))
                            .map(str::to_owned)
                    })
                });
                match region {
                    Some(r) if r.starts_with(city) => {
                        return yes(
                            check,
                            format!("在本市参加社会保险（参保地{r}）"),
                            format!("insured with the city's social security ({r})"),
                        );
                    }
                    Some(r) => {
                        zh.push(format!("参保地不在本市（{r}）"));
                        en.push(format!("insured outside the city ({r})"));
                    }
                    None => {
                        zh.push("当前未在本市参加社会保险".into());
                        en.push("not insured with social security in the city now".into());
                    }
                }
            }
            Some(Ok(a)) => {
                missing = true;
                zh.push(format!("社保参保信息返回了错误类型的数据（{}）", a.query()));
                en.push(format!(
                    "social security: wrong kind of answer ({})",
                    a.query()
                ));
            }
            Some(Err(u)) => {
                missing = true;
                zh.push(format!("社保参保信息暂时无法获取：{}", u.reason));
                en.push(format!("social security: {u}"));
            }
            None => {
                missing = true;
                zh.push("未查询社保参保信息".into());
                en.push("social security was not looked up".into());
            }
        }
    }
    let outcome = if missing {
        Outcome::Unavailable
    } else {
        Outcome::NotVerified
    };
    verdict(check, outcome, zh.join("；"), en.join("; "))
}

fn find_contract<'a>(
    contracts: &'a [super::PurchaseContract],
    buyer: &str,
    no: Option<&String>,
) -> Result<&'a super::PurchaseContract, (String, String)> {
    let mine: Vec<_> = contracts
        .iter()
        .filter(|c| c.buyers.iter().any(|b| b == buyer))
        .collect();
    let wanted = match no {
        Some(n) => mine.iter().find(|c| &c.contract_no == n).copied(),
        None => mine
            .iter()
            .filter(|c| !c.cancelled)
            .max_by_key(|c| c.filed_on)
            .copied(),
    };
    match wanted {
        Some(c) if c.cancelled => Err((
            format!("网签备案{}已撤销", c.contract_no),
            format!("purchase contract {} was cancelled", c.contract_no),
        )),
        Some(c) => Ok(c),
        None => Err(match no {
            Some(n) => (
                format!("未找到申请人为买受人的网签备案{n}"),
                format!("no filed purchase contract {n} lists the applicant as buyer"),
            ),
            None => (
                "未找到申请人为买受人的网签备案".to_owned(),
                "no filed purchase contract lists the applicant as buyer".to_owned(),
            ),
        }),
    }
}

fn decide(check: &Check, answers: &[&Answer]) -> Verdict {
    match (check, answers) {
        (Check::Identity { name, .. }, [Answer::Identity(id)]) => match id {
            None => no(
                check,
                "公安人口库无此身份证号".into(),
                "public security has no person with this ID number".into(),
            ),
            Some(p) if !p.alive => no(
                check,
                format!("{}已注销户籍（死亡）", p.name),
                format!("{} is registered as deceased", p.name),
            ),
            Some(p) => match name {
                Some(n) if n != &p.name => no(
                    check,
                    format!("姓名不符：中心登记为{n}，公安登记为{}", p.name),
                    format!(
                        "name differs: the centre holds {n}, public security {}",
                        p.name
                    ),
                ),
                _ => yes(
                    check,
                    format!("身份核验一致（{}）", p.name),
                    format!("identity confirmed ({})", p.name),
                ),
            },
        },
        (Check::Spouse { spouse, .. }, [Answer::Marriage(m)]) => {
            if matches!(
                m.status,
                MaritalStatus::Married
                    | MaritalStatus::FirstMarriage
                    | MaritalStatus::Remarried
                    | MaritalStatus::MarriageRestored
            ) && m.spouse_id.as_deref() == Some(spouse.as_str())
            {
                yes(
                    check,
                    format!(
                        "婚姻登记显示配偶为{}",
                        m.spouse_name.as_deref().unwrap_or("")
                    ),
                    "civil affairs records the claimed spouse".into(),
                )
            } else {
                no(
                    check,
                    format!("婚姻登记（{}）未显示申报的配偶", m.status.label_zh()),
                    format!(
                        "civil affairs ({}) does not record the claimed spouse",
                        m.status.label_en()
                    ),
                )
            }
        }
        (Check::MaritalStatus { .. }, [Answer::Marriage(m)]) => yes(
            check,
            format!("婚姻状况：{}", m.status.label_zh()),
            format!("marital status: {}", m.status.label_en()),
        ),
        (
            Check::PurchaseContract {
                buyer, contract_no, ..
            },
            [Answer::Contracts(cs)],
        ) => match find_contract(cs, buyer, contract_no.as_ref()) {
            Ok(c) => yes(
                check,
                format!(
                    "网签备案{}：{}，总价{}元，{}备案",
                    c.contract_no, c.address, c.price, c.filed_on
                ),
                format!(
                    "contract {} filed {} for {}, price {} yuan",
                    c.contract_no, c.filed_on, c.address, c.price
                ),
            ),
            Err((zh, en)) => no(check, zh, en),
        },
        (
            Check::PropertyOfContract {
                buyer, contract_no, ..
            },
            [Answer::Contracts(cs), Answer::Properties(ps)],
        ) => match find_contract(cs, buyer, contract_no.as_ref()) {
            Err((zh, en)) => no(check, zh, en),
            Ok(c) => {
                let registered = ps
                    .iter()
                    .find(|p| p.address == c.address && p.owners.iter().any(|o| o == buyer));
                match (registered, c.kind) {
                    (Some(p), _) => yes(
                        check,
                        format!("不动产权证{}登记在申请人名下", p.certificate_no),
                        format!(
                            "the home is registered to the applicant (certificate {})",
                            p.certificate_no
                        ),
                    ),
                    (None, ContractKind::New) => yes(
                        check,
                        "新建商品房（期房）尚未办理不动产登记，以网签备案为准".into(),
                        "new home not yet registered (pre-sale); the filed contract stands".into(),
                    ),
                    (None, ContractKind::SecondHand) => no(
                        check,
                        format!("存量房{}未登记在申请人名下", c.address),
                        format!(
                            "the second-hand home at {} is not registered to the applicant",
                            c.address
                        ),
                    ),
                }
            }
        },
        (Check::HomesOwned { .. }, [Answer::Properties(ps)]) => yes(
            check,
            format!("名下不动产{}套", ps.len()),
            format!("{} home(s) registered", ps.len()),
        ),
        (Check::Lease { lease_no, on, .. }, [Answer::Leases(ls)]) => {
            let found = ls.iter().find(|l| {
                lease_no.as_ref().is_none_or(|n| &l.lease_no == n)
                    && l.starts_on <= *on
                    && *on <= l.ends_on
            });
            match found {
                Some(l) => yes(
                    check,
                    format!(
                        "租赁备案{}：月租金{}元，{}至{}",
                        l.lease_no, l.monthly_rent, l.starts_on, l.ends_on
                    ),
                    format!(
                        "lease {} from {} to {}, rent {} yuan a month",
                        l.lease_no, l.starts_on, l.ends_on, l.monthly_rent
                    ),
                ),
                None => no(
                    check,
                    format!("{on}无有效的租赁备案"),
                    format!("no filed lease covers {on}"),
                ),
            }
        }
        (Check::NoHomeInCity { city_prefix, .. }, [Answer::Properties(ps)]) => {
            match ps.iter().find(|p| p.region_code.starts_with(city_prefix)) {
                Some(p) => no(
                    check,
                    format!("本市有自有住房：{}", p.address),
                    format!("owns a home in the city: {}", p.address),
                ),
                None => yes(
                    check,
                    "本市无自有住房".into(),
                    "owns no home in the city".into(),
                ),
            }
        }
        (Check::HomeLoan { .. }, [Answer::Credit(r)]) => {
            match r
                .loans
                .iter()
                .find(|l| l.kind.is_housing() && l.balance.fen() > 0)
            {
                Some(l) => yes(
                    check,
                    format!("{}住房贷款余额{}元", l.lender, l.balance),
                    format!(
                        "home loan at {} with {} yuan outstanding",
                        l.lender, l.balance
                    ),
                ),
                None => no(
                    check,
                    "征信无未结清的住房贷款".into(),
                    "the credit report shows no outstanding home loan".into(),
                ),
            }
        }
        (Check::NoCurrentOverdue { .. }, [Answer::Credit(r)]) => {
            match r.loans.iter().find(|l| l.overdue_months > 0) {
                Some(l) => no(
                    check,
                    format!("{}贷款当前逾期{}个月", l.lender, l.overdue_months),
                    format!(
                        "loan at {} is {} month(s) overdue",
                        l.lender, l.overdue_months
                    ),
                ),
                None => yes(
                    check,
                    format!("当前无逾期，近24个月逾期{}次", r.overdue_count_24m),
                    format!(
                        "nothing overdue now; {} overdue month(s) in 24 months",
                        r.overdue_count_24m
                    ),
                ),
            }
        }
        (Check::NoProvidentFundLoan { .. }, [Answer::Credit(r)]) => {
            match r
                .loans
                .iter()
                .find(|l| l.kind == super::LoanKind::ProvidentFundHousing && l.balance.fen() > 0)
            {
                Some(l) => no(
                    check,
                    format!("有未结清的住房公积金贷款（{}）", l.lender),
                    format!("has an outstanding provident-fund loan ({})", l.lender),
                ),
                None => yes(
                    check,
                    "无未结清的住房公积金贷款".into(),
                    "no outstanding provident-fund loan".into(),
                ),
            }
        }
        (Check::RenewalShare { project_no, .. }, [Answer::Renewal(rs)]) => {
            match rs
                .iter()
                .find(|r| project_no.as_ref().is_none_or(|n| &r.project_no == n))
            {
                Some(r) => yes(
                    check,
                    format!("{}：分摊{}元", r.project_name, r.share),
                    format!("{}: household share {} yuan", r.project_no, r.share),
                ),
                None => no(
                    check,
                    "未找到申请人家庭的改造或加装电梯分摊记录".into(),
                    "no renewal project share found for the applicant".into(),
                ),
            }
        }
        (Check::Retired { on, .. }, [Answer::Employment(e)]) => {
            match e.as_ref().and_then(|e| e.retired_on) {
                Some(d) if d <= *on => {
                    yes(check, format!("{d}办理退休"), format!("retired on {d}"))
                }
                Some(d) => no(
                    check,
                    format!("退休日期{d}尚未到"),
                    format!("retirement date {d} is still to come"),
                ),
                None => no(
                    check,
                    "社保无退休记录".into(),
                    "social security has no retirement on record".into(),
                ),
            }
        }
        (Check::WorkCapacityLost { .. }, [Answer::Employment(e)]) => {
            match e.as_ref().filter(|e| e.work_capacity_lost) {
                Some(e) => yes(
                    check,
                    format!(
                        "劳动能力鉴定为完全丧失劳动能力（伤残{}级）",
                        e.disability_grade
                            .map(|g| g.to_string())
                            .unwrap_or_default()
                    ),
                    "appraised as completely unable to work".into(),
                ),
                None => no(
                    check,
                    "无完全丧失劳动能力的鉴定结论".into(),
                    "no appraisal of complete loss of work capacity".into(),
                ),
            }
        }
        (Check::MovedOut { city_prefix, .. }, [Answer::Household(h)]) => match h {
            Some(h) if !h.region_code.starts_with(city_prefix) => yes(
                check,
                format!("户籍已迁至{}（{}）", h.region_name, h.since),
                format!("household moved to {} on {}", h.region_name, h.since),
            ),
            Some(h) => no(
                check,
                format!("户籍仍在本市（{}）", h.region_name),
                format!(
                    "household is still registered in the city ({})",
                    h.region_name
                ),
            ),
            None => no(
                check,
                "无户籍登记".into(),
                "no household registration".into(),
            ),
        },
        (Check::Deceased { .. }, [Answer::Death(d)]) => match d {
            Some(d) => yes(
                check,
                format!("{}死亡登记（{}）", d.died_on, d.certificate_no),
                format!("death registered on {} ({})", d.died_on, d.certificate_no),
            ),
            None => no(
                check,
                "民政无死亡登记".into(),
                "civil affairs has no death registered".into(),
            ),
        },
        (Check::SeriousIllness { year, .. }, [Answer::Medical(ms)]) => {
            match ms.iter().find(|m| m.year == *year && m.serious_illness) {
                Some(m) => yes(
                    check,
                    format!("{year}年{}，个人自付{}元", m.diagnosis, m.self_paid),
                    format!(
                        "{year}: serious illness, {} yuan paid by the person",
                        m.self_paid
                    ),
                ),
                None => no(
                    check,
                    format!("{year}年无重大疾病医疗费用记录"),
                    format!("no serious-illness expenses in {year}"),
                ),
            }
        }
        (Check::Insured { .. }, [Answer::Employment(e)]) => {
            match e.as_ref().filter(|e| e.insured) {
                Some(e) => yes(
                    check,
                    format!(
                        "在{}参保，连续缴费{}个月",
                        e.employer_name.as_deref().unwrap_or("—"),
                        e.continuous_months
                    ),
                    format!("insured, {} continuous month(s)", e.continuous_months),
                ),
                None => no(
                    check,
                    "当前未参加社会保险".into(),
                    "not insured with social security now".into(),
                ),
            }
        }
        (
            Check::HousingInvoice {
                subject,
                categories,
                invoice_no,
            },
            [Answer::Invoices(invoices), Answer::Properties(ps)],
        ) => {
            let owned = |address: &str| {
                ps.iter()
                    .any(|p| p.address == address && p.owners.iter().any(|o| o == subject))
            };
            let kinds: Vec<&str> = categories.iter().map(|c| c.label_zh()).collect();
            let kinds = kinds.join("/");
            let found = invoices.iter().find(|i| {
                !i.voided
                    && categories.contains(&i.category)
                    && i.buyer_id == *subject
                    && invoice_no.as_ref().is_none_or(|n| &i.invoice_no == n)
                    && owned(&i.address)
            });
            match found {
                Some(i) => yes(
                    check,
                    format!(
                        "{}发票{}：{}元，{}，{}",
                        i.category.label_zh(),
                        i.invoice_no,
                        i.amount,
                        i.issued_on,
                        i.address
                    ),
                    format!(
                        "{} invoice {} of {} yuan on {} for {}, a home the applicant owns",
                        i.category.code(),
                        i.invoice_no,
                        i.amount,
                        i.issued_on,
                        i.address
                    ),
                ),
                None => match invoice_no {
                    Some(n) => no(
                        check,
                        format!("未找到本人自有住房的有效{kinds}发票{n}"),
                        format!("no valid invoice {n} of this kind for a home the applicant owns"),
                    ),
                    None => no(
                        check,
                        format!("无本人自有住房的有效{kinds}发票"),
                        "no valid invoice of this kind for a home the applicant owns".into(),
                    ),
                },
            }
        }
        (Check::Emigrated { .. }, [Answer::Household(h)]) => {
            match h.as_ref().and_then(|h| h.cancelled.as_ref()) {
                Some(c) if c.reason == CancelReason::Emigration => yes(
                    check,
                    format!("{}因出境定居注销户口", c.on),
                    format!(
                        "household registration cancelled on {} for emigration",
                        c.on
                    ),
                ),
                _ => no(
                    check,
                    "公安无出境定居注销户口记录".into(),
                    "public security has no cancellation of the household for emigration".into(),
                ),
            }
        }
        (Check::LoansOnRecord { .. }, [Answer::Credit(r)]) => {
            let housing: Vec<_> = r.loans.iter().filter(|l| l.kind.is_housing()).collect();
            yes(
                check,
                format!("征信有住房贷款{}笔", housing.len()),
                format!("{} home loan(s) on the credit record", housing.len()),
            )
        }
        (Check::NotEmployed { .. }, [Answer::Employment(e)]) => {
            match e
                .as_ref()
                .filter(|e| e.insured && e.employer_credit_code.is_some())
            {
                Some(e) => no(
                    check,
                    format!(
                        "仍在{}参保就业",
                        e.employer_name.as_deref().unwrap_or("用人单位")
                    ),
                    format!(
                        "still employed and insured by {}",
                        e.employer_name.as_deref().unwrap_or("an employer")
                    ),
                ),
                None => yes(
                    check,
                    "社保无在职参保记录".into(),
                    "no current employment on social-security record".into(),
                ),
            }
        }
        (Check::Income { year, .. }, [Answer::Income(is)]) => {
            match is.iter().find(|i| i.year == *year) {
                Some(i) => yes(
                    check,
                    format!("{year}年工资薪金所得{}元", i.wage_income),
                    format!("{year} wage income {} yuan", i.wage_income),
                ),
                None => no(
                    check,
                    format!("{year}年无纳税记录"),
                    format!("no tax record for {year}"),
                ),
            }
        }
        _ => verdict(
            check,
            Outcome::Unavailable,
            "核验所需数据不完整".into(),
            "the answers needed are incomplete".into(),
        ),
    }
}

#[cfg(test)]
mod tests;
