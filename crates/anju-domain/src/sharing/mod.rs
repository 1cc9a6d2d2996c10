//! Data sharing (数据共享): the facts Anju reads from other departments through the
//! provincial data exchange instead of asking members for paper proofs (零跑腿).
//!
//! This module is pure: it names the departments and their queries, types every answer,
//! and (in [`verify`]) decides from the answers whether an application's facts hold. The
//! ports that fetch answers live in `anju_app::sharing`; the HTTP client and the
//! simulator in `anju-exchange`.

pub mod mortgage;
pub mod verify;

use std::fmt;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::codes::{MaritalStatus, Sex};
use crate::money::Fen;

pub use mortgage::{
    MortgageRegistration, MortgageRelease, MortgageRequest, Mortgagee, check_registration_no,
};

/// A department whose data the centre may read (for a stated purpose, within an
/// application).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Department {
    /// 公安: identity and household registration.
    PublicSecurity,
    /// 民政: marriage and death registration.
    CivilAffairs,
    /// 不动产登记: real estate registry.
    RealEstate,
    /// 网签备案: housing transaction filing (purchase contracts).
    HousingFiling,
    /// 租赁备案: rental filing (leases).
    RentalFiling,
    /// 人力社保: employment, contributions, retirement, disability.
    SocialSecurity,
    /// 税务: income by year, e-invoices (全电发票).
    Tax,
    /// 征信 (人民银行征信中心): outstanding loans and overdue records.
    Credit,
    /// 住建 (城市更新): old-community renovation and lift-installation projects.
    UrbanRenewal,
    /// 医保: serious-illness expenses.
    MedicalInsurance,
}

impl Department {
    /// Every department.
    pub const ALL: [Department; 10] = [
        Department::PublicSecurity,
        Department::CivilAffairs,
        Department::RealEstate,
        Department::HousingFiling,
        Department::RentalFiling,
        Department::SocialSecurity,
        Department::Tax,
        Department::Credit,
        Department::UrbanRenewal,
        Department::MedicalInsurance,
    ];

    /// The path segment and stored code, e.g. `civil-affairs`.
    pub const fn code(self) -> &'static str {
        match self {
            Department::PublicSecurity => "public-security",
            Department::CivilAffairs => "civil-affairs",
            Department::RealEstate => "real-estate",
            Department::HousingFiling => "housing-filing",
            Department::RentalFiling => "rental-filing",
            Department::SocialSecurity => "social-security",
            Department::Tax => "tax",
            Department::Credit => "credit",
            Department::UrbanRenewal => "urban-renewal",
            Department::MedicalInsurance => "medical-insurance",
        }
    }

    /// The Chinese name.
    pub const fn name_zh(self) -> &'static str {
        match self {
            Department::PublicSecurity => "公安",
            Department::CivilAffairs => "民政",
            Department::RealEstate => "不动产登记",
            Department::HousingFiling => "网签备案",
            Department::RentalFiling => "租赁备案",
            Department::SocialSecurity => "人力社保",
            Department::Tax => "税务",
            Department::Credit => "征信",
            Department::UrbanRenewal => "住建城市更新",
            Department::MedicalInsurance => "医保",
        }
    }

    /// The English name.
    pub const fn name_en(self) -> &'static str {
        match self {
            Department::PublicSecurity => "public security",
            Department::CivilAffairs => "civil affairs",
            Department::RealEstate => "real estate registry",
            Department::HousingFiling => "housing transaction filing",
            Department::RentalFiling => "rental filing",
            Department::SocialSecurity => "social security",
            Department::Tax => "tax",
            Department::Credit => "credit reference",
            Department::UrbanRenewal => "urban renewal",
            Department::MedicalInsurance => "medical insurance",
        }
    }

    /// The department with this code.
    pub fn from_code(code: &str) -> Option<Department> {
        Department::ALL.into_iter().find(|d| d.code() == code)
    }
}

impl fmt::Display for Department {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One kind of question asked of a department about one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Query {
    /// Public security: name, ID, sex, birth date, alive.
    Identity,
    /// Public security: household registration (户籍).
    Household,
    /// Civil affairs: marital status and spouse.
    Marriage,
    /// Civil affairs: death registration.
    Death,
    /// Real estate registry: properties owned.
    Properties,
    /// Housing transaction filing: purchase contracts where the person is a buyer.
    Contracts,
    /// Rental filing: leases where the person is a tenant.
    Leases,
    /// Social security: employment, contributions, retirement, disability.
    Employment,
    /// Tax: income of one year (the year is the query's parameter).
    Income,
    /// Credit reference: outstanding loans and overdue records.
    Credit,
    /// Urban renewal: the person's household shares in renovation / lift projects.
    Renewal,
    /// Medical insurance: serious-illness expenses.
    Medical,
    /// Tax: e-invoices (全电发票) issued to the person as buyer — building, repairing or
    /// renovating a home, property fees.
    Invoices,
}

impl Query {
    /// Every query.
    pub const ALL: [Query; 13] = [
        Query::Identity,
        Query::Household,
        Query::Marriage,
        Query::Death,
        Query::Properties,
        Query::Contracts,
        Query::Leases,
        Query::Employment,
        Query::Income,
        Query::Credit,
        Query::Renewal,
        Query::Medical,
        Query::Invoices,
    ];

    /// The department that answers it.
    pub const fn department(self) -> Department {
        match self {
            Query::Identity | Query::Household => Department::PublicSecurity,
            Query::Marriage | Query::Death => Department::CivilAffairs,
            Query::Properties => Department::RealEstate,
            Query::Contracts => Department::HousingFiling,
            Query::Leases => Department::RentalFiling,
            Query::Employment => Department::SocialSecurity,
            Query::Income | Query::Invoices => Department::Tax,
            Query::Credit => Department::Credit,
            Query::Renewal => Department::UrbanRenewal,
            Query::Medical => Department::MedicalInsurance,
        }
    }

    /// The path segment and stored code, e.g. `marriage`.
    pub const fn code(self) -> &'static str {
        match self {
            Query::Identity => "identity",
            Query::Household => "household",
            Query::Marriage => "marriage",
            Query::Death => "death",
            Query::Properties => "properties",
            Query::Contracts => "contracts",
            Query::Leases => "leases",
            Query::Employment => "employment",
            Query::Income => "income",
            Query::Credit => "credit",
            Query::Renewal => "renewal",
            Query::Medical => "medical",
            Query::Invoices => "invoices",
        }
    }

    /// The Chinese name of the fact.
    pub const fn name_zh(self) -> &'static str {
        match self {
            Query::Identity => "身份信息",
            Query::Household => "户籍信息",
            Query::Marriage => "婚姻登记信息",
            Query::Death => "死亡登记信息",
            Query::Properties => "不动产权属信息",
            Query::Contracts => "商品房网签备案信息",
            Query::Leases => "房屋租赁备案信息",
            Query::Employment => "社保参保信息",
            Query::Income => "个人所得税纳税信息",
            Query::Credit => "个人征信信息",
            Query::Renewal => "老旧小区改造及加装电梯信息",
            Query::Medical => "大病医疗费用信息",
            Query::Invoices => "电子发票信息",
        }
    }

    /// The exchange path, e.g. `/v1/civil-affairs/marriage`.
    pub fn path(self) -> String {
        format!("/v1/{}/{}", self.department().code(), self.code())
    }

    /// The query at `department`/`code`.
    pub fn from_codes(department: &str, code: &str) -> Option<Query> {
        Query::ALL
            .into_iter()
            .find(|q| q.code() == code && q.department().code() == department)
    }

    /// Whether the query takes a year parameter (tax income, medical expenses).
    pub const fn takes_year(self) -> bool {
        matches!(self, Query::Income | Query::Medical)
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.department().code(), self.code())
    }
}

/// A floor area in hundredths of a square metre (`"89.50"` in JSON), so no float is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Area(pub i64);

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", a / 100, a % 100)
    }
}

impl Area {
    /// Parses `"89.5"` / `"89.50"` / `"90"`.
    pub fn parse(text: &str) -> Option<Area> {
        let (whole, frac) = match text.split_once('.') {
            Some((w, f)) => (w, f),
            None => (text, ""),
        };
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 2
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let w: i64 = whole.parse().ok()?;
        let f: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().ok()? * 10,
            _ => frac.parse().ok()?,
        };
        w.checked_mul(100)?.checked_add(f).map(Area)
    }
}

impl Serialize for Area {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Area {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Area, D::Error> {
        let text = String::deserialize(d)?;
        Area::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("area {text:?} is not NNN.NN m²")))
    }
}

/// 公安 identity record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Resident ID number.
    pub id_number: String,
    /// Name on the ID.
    pub name: String,
    /// Sex.
    pub sex: Sex,
    /// Birth date.
    pub birth_date: Date,
    /// Whether the person is alive according to the population register.
    pub alive: bool,
}

/// 公安 household registration (户籍). A cancelled registration (销户) is still answered:
/// a person who settled abroad keeps their last record with `cancelled` set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Household {
    /// 6-digit administrative division code of the registration (e.g. `330802`).
    pub region_code: String,
    /// Place name.
    pub region_name: String,
    /// Registered there since.
    pub since: Date,
    /// When and why the registration was cancelled (户口注销); `None` while it stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<HouseholdCancellation>,
}

/// 公安 cancellation of a household registration (户口注销).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdCancellation {
    /// Date of the cancellation.
    pub on: Date,
    /// Why.
    pub reason: CancelReason,
}

/// Why a household registration was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CancelReason {
    /// Settled abroad (出境定居).
    Emigration,
    /// Died (死亡).
    Death,
    /// Moved away; the registration moved elsewhere (迁出).
    MovedAway,
    /// Any other reason (其他).
    Other,
}

impl CancelReason {
    /// Every reason.
    pub const ALL: [CancelReason; 4] = [
        CancelReason::Emigration,
        CancelReason::Death,
        CancelReason::MovedAway,
        CancelReason::Other,
    ];

    /// The stored (JSON) code, e.g. `moved-away`.
    pub const fn code(self) -> &'static str {
        match self {
            CancelReason::Emigration => "emigration",
            CancelReason::Death => "death",
            CancelReason::MovedAway => "moved-away",
            CancelReason::Other => "other",
        }
    }

    /// The Chinese label.
    pub const fn label_zh(self) -> &'static str {
        match self {
            CancelReason::Emigration => "出境定居",
            CancelReason::Death => "死亡",
            CancelReason::MovedAway => "迁出",
            CancelReason::Other => "其他",
        }
    }

    /// The reason with this code.
    pub fn from_code(code: &str) -> Option<CancelReason> {
        CancelReason::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// 民政 marriage registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marriage {
    /// Marital status (GB/T 2261.2); `10` when civil affairs has no marriage on record.
    pub status: MaritalStatus,
    /// The current spouse's resident ID number.
    pub spouse_id: Option<String>,
    /// The current spouse's name.
    pub spouse_name: Option<String>,
    /// Date of the last registration (marriage, divorce).
    pub since: Option<Date>,
}

/// 民政 death registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeathRecord {
    /// Date of death.
    pub died_on: Date,
    /// Registration (certificate) number.
    pub certificate_no: String,
}

/// 不动产 a property registered to the person (alone or jointly).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Property {
    /// Certificate number (不动产权证号).
    pub certificate_no: String,
    /// Address.
    pub address: String,
    /// 6-digit division code where the property is.
    pub region_code: String,
    /// Floor area.
    pub area: Area,
    /// Whether it is in the centre's province.
    pub in_province: bool,
    /// Registration date.
    pub registered_on: Date,
    /// Whether a mortgage is registered on it.
    pub mortgaged: bool,
    /// Every owner's resident ID number.
    pub owners: Vec<String>,
}

/// 网签 kind of purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContractKind {
    /// New home from a developer (商品房).
    New,
    /// Second-hand home (存量房).
    SecondHand,
}

/// 网签备案 a filed purchase contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseContract {
    /// Filing number (备案号).
    pub contract_no: String,
    /// New or second-hand.
    pub kind: ContractKind,
    /// Address of the home.
    pub address: String,
    /// 6-digit division code of the home.
    pub region_code: String,
    /// Floor area.
    pub area: Area,
    /// Total price.
    pub price: Fen,
    /// Date signed.
    pub signed_on: Date,
    /// Date filed.
    pub filed_on: Date,
    /// Every buyer's resident ID number.
    pub buyers: Vec<String>,
    /// Seller (developer or person).
    pub seller_name: String,
    /// Seller's bank account for the price (监管账户 for new homes).
    pub seller_account: String,
    /// Seller's bank.
    pub seller_bank: String,
    /// Whether the filing was cancelled (撤销备案).
    pub cancelled: bool,
}

/// 租赁备案 a filed lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Filing number.
    pub lease_no: String,
    /// Address.
    pub address: String,
    /// 6-digit division code.
    pub region_code: String,
    /// Monthly rent.
    pub monthly_rent: Fen,
    /// First day.
    pub starts_on: Date,
    /// Last day.
    pub ends_on: Date,
    /// Every tenant's resident ID number.
    pub tenants: Vec<String>,
}

/// 人社 employment and social insurance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employment {
    /// Whether the person is insured now.
    pub insured: bool,
    /// Current employer's unified social credit code.
    pub employer_credit_code: Option<String>,
    /// Current employer's name.
    pub employer_name: Option<String>,
    /// Months of continuous contribution up to `last_paid_month`.
    pub continuous_months: u32,
    /// Last month paid, `YYYY-MM`.
    pub last_paid_month: Option<String>,
    /// Date of retirement (办理退休), if retired.
    pub retired_on: Option<Date>,
    /// Disability rating (伤残等级, 1 most severe … 10), if any.
    pub disability_grade: Option<u8>,
    /// Whether the labour capacity appraisal found complete loss of work capacity
    /// (完全丧失劳动能力).
    pub work_capacity_lost: bool,
    /// Where the person is insured (参保地): the 6-digit division code of the social
    /// security office that collects the contributions — an employer's, or the person's
    /// own as a flexible worker. Absent in older answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insured_region: Option<String>,
}

/// 税务 income of one year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearIncome {
    /// Tax year.
    pub year: i16,
    /// Wage and salary income (工资薪金所得).
    pub wage_income: Fen,
    /// Tax paid.
    pub tax_paid: Fen,
    /// Withholding employer's name.
    pub employer_name: String,
}

/// 征信 kind of loan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoanKind {
    /// Commercial home mortgage (个人住房商业贷款).
    CommercialHousing,
    /// Housing provident fund loan (个人住房公积金贷款).
    ProvidentFundHousing,
    /// Car loan.
    Car,
    /// Consumer loan.
    Consumer,
    /// Business loan.
    Business,
    /// Credit card (贷记卡).
    CreditCard,
}

impl LoanKind {
    /// Whether it is a home loan (commercial or provident fund).
    pub const fn is_housing(self) -> bool {
        matches!(
            self,
            LoanKind::CommercialHousing | LoanKind::ProvidentFundHousing
        )
    }
}

/// 征信 one loan or card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditLoan {
    /// Lender.
    pub lender: String,
    /// Kind.
    pub kind: LoanKind,
    /// Amount granted.
    pub principal: Fen,
    /// Outstanding.
    pub balance: Fen,
    /// Monthly payment due.
    pub monthly_payment: Fen,
    /// Opened.
    pub opened_on: Date,
    /// Months overdue now (0 = current).
    pub overdue_months: u32,
    /// Address of the home it financed (home loans).
    pub property_address: Option<String>,
}

/// 征信 the credit report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditReport {
    /// Loans and cards, open or closed within the report window.
    pub loans: Vec<CreditLoan>,
    /// Overdue months counted in the last 24 months (近24个月逾期次数).
    pub overdue_count_24m: u32,
}

/// 住建 project kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RenewalKind {
    /// 老旧小区改造.
    OldCommunity,
    /// 既有住宅加装电梯.
    LiftInstallation,
}

/// 住建 a household's share in a renewal project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewalShare {
    /// Project number.
    pub project_no: String,
    /// Project name.
    pub project_name: String,
    /// Kind.
    pub kind: RenewalKind,
    /// The household's address.
    pub address: String,
    /// The household's share of the cost.
    pub share: Fen,
    /// Project approval (filing) date.
    pub approved_on: Date,
    /// Completion date, if completed.
    pub completed_on: Option<Date>,
    /// Owners of the household's home.
    pub owners: Vec<String>,
}

/// 医保 one year of medical expenses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MedicalExpense {
    /// Year.
    pub year: i16,
    /// Whether the expenses are for a listed serious illness (重大疾病).
    pub serious_illness: bool,
    /// Diagnosis category (plain text).
    pub diagnosis: String,
    /// Total expenses.
    pub total: Fen,
    /// Paid by the person after insurance (个人自付).
    pub self_paid: Fen,
}

/// 税务 what an invoice is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InvoiceCategory {
    /// Building a home (建房).
    Construction,
    /// Major repair of a home (大修).
    Repair,
    /// Renovation / fitting out a home (装修).
    Renovation,
    /// Property management fee (物业费).
    PropertyFee,
}

impl InvoiceCategory {
    /// Every category.
    pub const ALL: [InvoiceCategory; 4] = [
        InvoiceCategory::Construction,
        InvoiceCategory::Repair,
        InvoiceCategory::Renovation,
        InvoiceCategory::PropertyFee,
    ];

    /// The stored (JSON) code, e.g. `property-fee`.
    pub const fn code(self) -> &'static str {
        match self {
            InvoiceCategory::Construction => "construction",
            InvoiceCategory::Repair => "repair",
            InvoiceCategory::Renovation => "renovation",
            InvoiceCategory::PropertyFee => "property-fee",
        }
    }

    /// The Chinese label.
    pub const fn label_zh(self) -> &'static str {
        match self {
            InvoiceCategory::Construction => "建房",
            InvoiceCategory::Repair => "大修",
            InvoiceCategory::Renovation => "装修",
            InvoiceCategory::PropertyFee => "物业费",
        }
    }

    /// The category with this code.
    pub fn from_code(code: &str) -> Option<InvoiceCategory> {
        InvoiceCategory::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// 税务 an e-invoice (全电发票) issued to the person as buyer (购买方).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    /// The 20-digit invoice number (全电发票号码).
    pub invoice_no: String,
    /// What it is for.
    pub category: InvoiceCategory,
    /// Date issued (开票日期).
    pub issued_on: Date,
    /// Total including tax (价税合计).
    pub amount: Fen,
    /// The buyer's resident ID number (购买方).
    pub buyer_id: String,
    /// The seller's name (销售方).
    pub seller_name: String,
    /// Address of the home the work or service was for.
    pub address: String,
    /// 6-digit division code of that home.
    pub region_code: String,
    /// Whether the invoice was voided or reversed by a red-letter invoice (作废 / 红冲).
    pub voided: bool,
}

/// A department's answer to one query, typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "query", content = "data", rename_all = "kebab-case")]
pub enum Answer {
    /// `None`: no such person in the register.
    Identity(Option<Identity>),
    /// `None`: no household registration.
    Household(Option<Household>),
    /// Marital status (always answered).
    Marriage(Marriage),
    /// `None`: no death registered.
    Death(Option<DeathRecord>),
    /// Properties owned (possibly none).
    Properties(Vec<Property>),
    /// Purchase contracts as buyer (possibly none).
    Contracts(Vec<PurchaseContract>),
    /// Leases as tenant (possibly none).
    Leases(Vec<Lease>),
    /// `None`: never insured.
    Employment(Option<Employment>),
    /// Income of the asked year (empty: no tax record).
    Income(Vec<YearIncome>),
    /// Credit report.
    Credit(CreditReport),
    /// Renewal shares.
    Renewal(Vec<RenewalShare>),
    /// Medical expenses of the asked year.
    Medical(Vec<MedicalExpense>),
    /// E-invoices issued to the person as buyer (possibly none), voided ones included.
    Invoices(Vec<Invoice>),
}

impl Answer {
    /// The query this answers.
    pub const fn query(&self) -> Query {
        match self {
            Answer::Identity(_) => Query::Identity,
            Answer::Household(_) => Query::Household,
            Answer::Marriage(_) => Query::Marriage,
            Answer::Death(_) => Query::Death,
            Answer::Properties(_) => Query::Properties,
            Answer::Contracts(_) => Query::Contracts,
            Answer::Leases(_) => Query::Leases,
            Answer::Employment(_) => Query::Employment,
            Answer::Income(_) => Query::Income,
            Answer::Credit(_) => Query::Credit,
            Answer::Renewal(_) => Query::Renewal,
            Answer::Medical(_) => Query::Medical,
            Answer::Invoices(_) => Query::Invoices,
        }
    }

    /// Whether the department found a record (a list answer is "found" when not empty).
    pub fn found(&self) -> bool {
        match self {
            Answer::Identity(v) => v.is_some(),
            Answer::Household(v) => v.is_some(),
            Answer::Marriage(_) | Answer::Credit(_) => true,
            Answer::Death(v) => v.is_some(),
            Answer::Properties(v) => !v.is_empty(),
            Answer::Contracts(v) => !v.is_empty(),
            Answer::Leases(v) => !v.is_empty(),
            Answer::Employment(v) => v.is_some(),
            Answer::Income(v) => !v.is_empty(),
            Answer::Renewal(v) => !v.is_empty(),
            Answer::Medical(v) => !v.is_empty(),
            Answer::Invoices(v) => !v.is_empty(),
        }
    }
}

/// What is asked: a query about a person, with its parameter (a year, for income and
/// medical expenses).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FactKey {
    /// The question.
    pub query: Query,
    /// Whose data: resident ID number.
    pub subject: String,
    /// The year for [`Query::takes_year`] queries.
    pub year: Option<i16>,
}

impl FactKey {
    /// A key without a parameter.
    pub fn new(query: Query, subject: &str) -> FactKey {
        FactKey {
            query,
            subject: subject.to_owned(),
            year: None,
        }
    }

    /// The parameter as stored: the year, or empty.
    pub fn param(&self) -> String {
        self.year.map(|y| y.to_string()).unwrap_or_default()
    }
}

/// An answer with where and when it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactRead {
    /// What was asked.
    pub key: FactKey,
    /// The answer.
    pub answer: Answer,
    /// Who answered (the exchange and department, e.g. `https://dx.zj.gov.cn/civil-affairs`).
    pub source: String,
    /// When the department read its register.
    pub read_at: Timestamp,
}

/// Why a fact could not be had. The application then goes to manual review; it never
/// passes silently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unavailable {
    /// The department asked.
    pub department: Department,
    /// Plain reason, e.g. `timed out after 800 ms (3 attempts)`.
    pub reason: String,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}) unavailable: {}",
            self.department.name_zh(),
            self.department,
            self.reason
        )
    }
}

/// Legal purpose of a look-up (查询事由), with its legal basis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    /// Review of a withdrawal application (提取审核).
    Withdrawal,
    /// Review of a loan application (贷款审批).
    Loan,
    /// Opening an account for a flexible-employment contributor (灵活就业人员开户核验).
    AccountOpening,
}

impl Purpose {
    /// Stored code.
    pub const fn code(self) -> &'static str {
        match self {
            Purpose::Withdrawal => "withdrawal",
            Purpose::Loan => "loan",
            Purpose::AccountOpening => "account-opening",
        }
    }

    /// The purpose and its legal basis, in Chinese.
    pub const fn basis_zh(self) -> &'static str {
        match self {
            Purpose::Withdrawal => "提取审核（《住房公积金管理条例》第二十四条、第二十五条）",
            Purpose::Loan => "贷款审批（《住房公积金管理条例》第二十六条）",
            Purpose::AccountOpening => {
                "灵活就业人员开户核验（《住房公积金管理条例》第十三条、国务院令第844号）"
            }
        }
    }

    /// The purpose with this code.
    pub fn from_code(code: &str) -> Option<Purpose> {
        [Purpose::Withdrawal, Purpose::Loan, Purpose::AccountOpening]
            .into_iter()
            .find(|p| p.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_paths_round_trip() {
        for q in Query::ALL {
            let path = q.path();
            let mut parts = path.trim_start_matches("/v1/").split('/');
            let (d, c) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            assert_eq!(Query::from_codes(d, c), Some(q), "{path}");
        }
        assert_eq!(Query::Marriage.path(), "/v1/civil-affairs/marriage");
        assert_eq!(Query::from_codes("tax", "marriage"), None);
    }

    #[test]
    fn every_department_answers_something() {
        for d in Department::ALL {
            assert!(Query::ALL.iter().any(|q| q.department() == d), "{d}");
            assert_eq!(Department::from_code(d.code()), Some(d));
        }
    }

    #[test]
    fn area_is_exact_decimal() {
        assert_eq!(Area::parse("89.5"), Some(Area(8950)));
        assert_eq!(Area::parse("120"), Some(Area(12000)));
        assert_eq!(Area::parse("0.07"), Some(Area(7)));
        assert_eq!(Area::parse("1.234"), None);
        assert_eq!(Area::parse("-3"), None);
        assert_eq!(Area::parse(".5"), None);
        assert_eq!(Area(8950).to_string(), "89.50");
    }

    #[test]
    fn answers_serialise_with_query_tag_and_no_floats() {
        let a = Answer::Contracts(vec![PurchaseContract {
            contract_no: "QZ2026-0001".into(),
            kind: ContractKind::SecondHand,
            address: "衢州市柯城区荷花街道1幢101".into(),
            region_code: "330802".into(),
            area: Area(8950),
            price: Fen::new(123_456_700),
            signed_on: jiff::civil::date(2026, 10, 1),
            filed_on: jiff::civil::date(2026, 10, 3),
            buyers: vec!["330802199001011234".into()],
            seller_name: "张三".into(),
            seller_account: "6222000000000001".into(),
            seller_bank: "ICBC".into(),
            cancelled: false,
        }]);
        let json = serde_json::to_string(&a).unwrap_or_default();
        assert!(
            json.starts_with(r#"{"query":"contracts","data":[{"#),
            "{json}"
        );
        assert!(json.contains(r#""price":"1234567.00""#), "{json}");
        assert!(json.contains(r#""area":"89.50""#), "{json}");
        let back: Answer = serde_json::from_str(&json).unwrap_or(Answer::Leases(vec![]));
        assert_eq!(back, a);
        assert!(a.found());
        assert!(!Answer::Properties(vec![]).found());
    }

    #[test]
    fn invoices_are_a_tax_query_without_a_year() {
        assert_eq!(Query::Invoices.department(), Department::Tax);
        assert_eq!(Query::Invoices.path(), "/v1/tax/invoices");
        assert_eq!(Query::from_codes("tax", "invoices"), Some(Query::Invoices));
        assert_eq!(Query::Invoices.name_zh(), "电子发票信息");
        assert!(!Query::Invoices.takes_year());
        assert!(Query::ALL.contains(&Query::Invoices));
        for c in InvoiceCategory::ALL {
            assert_eq!(InvoiceCategory::from_code(c.code()), Some(c));
            let json = serde_json::to_string(&c).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", c.code()));
        }
        assert_eq!(InvoiceCategory::PropertyFee.code(), "property-fee");
        assert_eq!(InvoiceCategory::PropertyFee.label_zh(), "物业费");
        assert_eq!(InvoiceCategory::Renovation.label_zh(), "装修");

        let a = Answer::Invoices(vec![Invoice {
            invoice_no: "26332000000012345678".into(),
            category: InvoiceCategory::Renovation,
            issued_on: jiff::civil::date(2026, 5, 8),
            amount: Fen::new(8_650_000),
            buyer_id: "330802199001011232".into(),
            seller_name: "衢州家和装饰工程有限公司".into(),
            address: "浙江省衢州市柯城区荷花新村3幢1单元201室".into(),
            region_code: "330802".into(),
            voided: false,
        }]);
        let json = serde_json::to_string(&a).unwrap_or_default();
        assert!(
            json.starts_with(r#"{"query":"invoices","data":[{"#),
            "{json}"
        );
        assert!(json.contains(r#""category":"renovation""#), "{json}");
        assert!(json.contains(r#""amount":"86500.00""#), "{json}");
        let back: Answer = serde_json::from_str(&json).unwrap_or(Answer::Invoices(vec![]));
        assert_eq!(back, a);
        assert_eq!(a.query(), Query::Invoices);
        assert!(a.found());
        assert!(!Answer::Invoices(vec![]).found());
    }

    #[test]
    fn household_cancellation_is_optional_in_json() {
        let h = Household {
            region_code: "330802".into(),
            region_name: "浙江省衢州市柯城区".into(),
            since: jiff::civil::date(1990, 1, 1),
            cancelled: None,
        };
        let json = serde_json::to_string(&h).unwrap_or_default();
        assert!(!json.contains("cancelled"), "{json}");
        let old = r#"{"region_code":"330802","region_name":"x","since":"1990-01-01"}"#;
        let parsed: Option<Household> = serde_json::from_str(old).ok();
        assert_eq!(parsed.and_then(|h| h.cancelled), None);

        let gone = Household {
            cancelled: Some(HouseholdCancellation {
                on: jiff::civil::date(2026, 3, 2),
                reason: CancelReason::Emigration,
            }),
            ..h
        };
        let json = serde_json::to_string(&gone).unwrap_or_default();
        assert!(
            json.contains(r#""cancelled":{"on":"2026-03-02","reason":"emigration"}"#),
            "{json}"
        );
        let back: Option<Household> = serde_json::from_str(&json).ok();
        assert_eq!(back, Some(gone));
        for r in CancelReason::ALL {
            assert_eq!(CancelReason::from_code(r.code()), Some(r));
            let json = serde_json::to_string(&r).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", r.code()));
        }
        assert_eq!(CancelReason::MovedAway.code(), "moved-away");
        assert_eq!(CancelReason::Emigration.label_zh(), "出境定居");
    }
}
