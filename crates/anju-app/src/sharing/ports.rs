//! The data-sharing ports: one trait per department, each method one question about one
//! person, answered with a typed fact, its source and the time it was read — or
//! [`Unavailable`] with the reason (timeout, exchange down, garbage). The application owns
//! these traits; `anju-exchange` implements them over HTTP.

use std::fmt;
use std::sync::Arc;

use anju_domain::sharing::{
    Answer, CreditReport, DeathRecord, Department, Employment, FactKey, FactRead, Household,
    Identity, Invoice, Lease, Marriage, MedicalExpense, MortgageRegistration, MortgageRelease,
    MortgageRequest, Property, PurchaseContract, Purpose, Query, RenewalShare, Unavailable,
    YearIncome,
};
use jiff::Timestamp;

/// Who asks, why, and for which application: travels with every question (and into the
/// department's own log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    /// Whose data: resident ID number.
    pub subject: String,
    /// Year, for income and medical expenses.
    pub year: Option<i16>,
    /// Legal purpose.
    pub purpose: Purpose,
    /// The application number.
    pub application_no: String,
    /// The operator who asked (`staff:…`, `member:…`, `system:…`).
    pub requester: String,
    /// A request id unique to this look-up (the access-log row), echoed by the exchange.
    pub request_id: String,
}

/// A typed fact with where and when it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read<T> {
    /// The fact.
    pub value: T,
    /// Who answered.
    pub source: String,
    /// When the department read it.
    pub read_at: Timestamp,
}

/// What a port returns.
pub type Fetched<T> = Result<Read<T>, Unavailable>;

/// 公安: identity and household registration.
pub trait PublicSecurity: Send + Sync + fmt::Debug {
    /// Name, sex, birth date, alive; `None` if no such person.
    fn identity(&self, ask: &Ask) -> Fetched<Option<Identity>>;
    /// Household registration; `None` if none.
    fn household(&self, ask: &Ask) -> Fetched<Option<Household>>;
}

/// 民政: marriage and death registration.
pub trait CivilAffairs: Send + Sync + fmt::Debug {
    /// Marital status and current spouse.
    fn marriage(&self, ask: &Ask) -> Fetched<Marriage>;
    /// Death registration; `None` if none.
    fn death(&self, ask: &Ask) -> Fetched<Option<DeathRecord>>;
}

/// 不动产登记: reads the register, and takes the lenders' mortgage registrations and
/// releases (the one department the centre writes to).
///
/// The two writes are **idempotent at the registry**, so an adapter may retry them like a
/// look-up: `register_mortgage` by `(loan_no, property)` — the same loan on the same
/// property again answers the registration already made — and `release_mortgage` by the
/// registration number — a second release answers the first. A refusal (another loan's
/// mortgage is active on the property, the owners are not the property's owners or the
/// contract's buyers, an unknown registration number) is an [`Unavailable`] whose reason
/// says so. The `ask` carries the purpose, application, requester and request id as for a
/// read; its `subject` is the borrower and its `year` is `None`.
pub trait RealEstate: Send + Sync + fmt::Debug {
    /// Properties registered to the person.
    fn properties(&self, ask: &Ask) -> Fetched<Vec<Property>>;
    /// Registers a mortgage (抵押登记), or for a new home still being built a
    /// pre-registration (预告登记) on its filed purchase contract.
    fn register_mortgage(
        &self,
        ask: &Ask,
        req: &MortgageRequest,
    ) -> Result<MortgageRegistration, Unavailable>;
    /// Releases a registered mortgage (注销抵押登记) once the loan is paid off.
    fn release_mortgage(
        &self,
        ask: &Ask,
        registration_no: &str,
    ) -> Result<MortgageRelease, Unavailable>;
}

/// 网签备案.
pub trait HousingFiling: Send + Sync + fmt::Debug {
    /// Purchase contracts listing the person as buyer.
    fn contracts(&self, ask: &Ask) -> Fetched<Vec<PurchaseContract>>;
}

/// 租赁备案.
pub trait RentalFiling: Send + Sync + fmt::Debug {
    /// Leases listing the person as tenant.
    fn leases(&self, ask: &Ask) -> Fetched<Vec<Lease>>;
}

/// 人力社保.
pub trait SocialSecurity: Send + Sync + fmt::Debug {
    /// Employment, contributions, retirement, disability; `None` if never insured.
    fn employment(&self, ask: &Ask) -> Fetched<Option<Employment>>;
}

/// 税务.
pub trait Tax: Send + Sync + fmt::Debug {
    /// Income of `ask.year`.
    fn income(&self, ask: &Ask) -> Fetched<Vec<YearIncome>>;
    /// E-invoices (全电发票) issued to the person as buyer, voided ones included.
    fn invoices(&self, ask: &Ask) -> Fetched<Vec<Invoice>>;
}

/// 征信.
pub trait Credit: Send + Sync + fmt::Debug {
    /// The credit report.
    fn credit(&self, ask: &Ask) -> Fetched<CreditReport>;
}

/// 住建 城市更新.
pub trait UrbanRenewal: Send + Sync + fmt::Debug {
    /// The person's household shares in renovation and lift projects.
    fn renewal(&self, ask: &Ask) -> Fetched<Vec<RenewalShare>>;
}

/// 医保.
pub trait MedicalInsurance: Send + Sync + fmt::Debug {
    /// Medical expenses of `ask.year`.
    fn medical(&self, ask: &Ask) -> Fetched<Vec<MedicalExpense>>;
}

/// Several questions in one round trip: an exchange that takes a batch answers a case's
/// look-ups together, each item on its own (a department failing spoils only its items).
pub trait BatchLookups: Send + Sync + fmt::Debug {
    /// One result per item of `items`, in order; `None` if this adapter cannot batch (the
    /// questions are then asked one by one).
    fn fetch_many(&self, items: &[(FactKey, Ask)]) -> Option<Vec<Result<FactRead, Unavailable>>> {
        let _ = items;
        None
    }
}

/// One adapter per department. Each may be a different system (they usually sit behind
/// one provincial exchange, so one client often serves them all: [`Departments::all`]).
#[derive(Debug, Clone)]
pub struct Departments {
    /// 公安.
    pub public_security: Arc<dyn PublicSecurity>,
    /// 民政.
    pub civil_affairs: Arc<dyn CivilAffairs>,
    /// 不动产登记.
    pub real_estate: Arc<dyn RealEstate>,
    /// 网签备案.
    pub housing_filing: Arc<dyn HousingFiling>,
    /// 租赁备案.
    pub rental_filing: Arc<dyn RentalFiling>,
    /// 人力社保.
    pub social_security: Arc<dyn SocialSecurity>,
    /// 税务.
    pub tax: Arc<dyn Tax>,
    /// 征信.
    pub credit: Arc<dyn Credit>,
    /// 住建.
    pub urban_renewal: Arc<dyn UrbanRenewal>,
    /// 医保.
    pub medical_insurance: Arc<dyn MedicalInsurance>,
    /// The adapter that may answer several questions at once ([`Departments::all`] sets
    /// it). It is used only for the departments it is also the adapter of (compared by
    /// identity), so replacing one department's adapter later is still honoured.
    pub batch: Option<Arc<dyn BatchLookups>>,
}

/// Something that answers for every department.
pub trait AllDepartments:
    PublicSecurity
    + CivilAffairs
    + RealEstate
    + HousingFiling
    + RentalFiling
    + SocialSecurity
    + Tax
    + Credit
    + UrbanRenewal
    + MedicalInsurance
    + BatchLookups
    + 'static
{
}

impl<T> AllDepartments for T where
    T: PublicSecurity
        + CivilAffairs
        + RealEstate
        + HousingFiling
        + RentalFiling
        + SocialSecurity
        + Tax
        + Credit
        + UrbanRenewal
        + MedicalInsurance
        + BatchLookups
        + 'static
{
}

fn wrap<T>(
    key: &FactKey,
    r: Fetched<T>,
    f: impl FnOnce(T) -> Answer,
) -> Result<FactRead, Unavailable> {
    r.map(|read| FactRead {
        key: key.clone(),
        answer: f(read.value),
        source: read.source,
        read_at: read.read_at,
    })
}

impl Departments {
    /// Every department through one adapter.
    pub fn all<T: AllDepartments>(adapter: Arc<T>) -> Departments {
        Departments {
            public_security: adapter.clone(),
            civil_affairs: adapter.clone(),
            real_estate: adapter.clone(),
            housing_filing: adapter.clone(),
            rental_filing: adapter.clone(),
            social_security: adapter.clone(),
            tax: adapter.clone(),
            credit: adapter.clone(),
            urban_renewal: adapter.clone(),
            medical_insurance: adapter.clone(),
            batch: Some(adapter),
        }
    }

    /// The adapter answering `department`'s questions, as a bare pointer (for identity).
    fn adapter_of(&self, department: Department) -> *const () {
        match department {
            Department::PublicSecurity => Arc::as_ptr(&self.public_security).cast(),
            Department::CivilAffairs => Arc::as_ptr(&self.civil_affairs).cast(),
            Department::RealEstate => Arc::as_ptr(&self.real_estate).cast(),
            Department::HousingFiling => Arc::as_ptr(&self.housing_filing).cast(),
            Department::RentalFiling => Arc::as_ptr(&self.rental_filing).cast(),
            Department::SocialSecurity => Arc::as_ptr(&self.social_security).cast(),
            Department::Tax => Arc::as_ptr(&self.tax).cast(),
            Department::Credit => Arc::as_ptr(&self.credit).cast(),
            Department::UrbanRenewal => Arc::as_ptr(&self.urban_renewal).cast(),
            Department::MedicalInsurance => Arc::as_ptr(&self.medical_insurance).cast(),
        }
    }

    /// Asks every question of `items`: those whose department's adapter is the batch
    /// adapter in one batch, the others one by one (in parallel when there are several).
    /// One result per item, in order.
    pub fn fetch_many(&self, items: &[(FactKey, Ask)]) -> Vec<Result<FactRead, Unavailable>> {
        let mut out: Vec<Option<Result<FactRead, Unavailable>>> =
            items.iter().map(|_| None).collect();
        let mut single: Vec<usize> = (0..items.len()).collect();
        if let Some(batch) = &self.batch {
            let me: *const () = Arc::as_ptr(batch).cast();
            let (batched, rest): (Vec<usize>, Vec<usize>) = single
                .into_iter()
                .partition(|&i| self.adapter_of(items[i].0.query.department()) == me);
            single = rest;
            if !batched.is_empty() {
                let asked: Vec<(FactKey, Ask)> =
                    batched.iter().map(|&i| items[i].clone()).collect();
                match batch.fetch_many(&asked) {
                    Some(answers) if answers.len() == batched.len() => {
                        for (i, a) in batched.into_iter().zip(answers) {
                            out[i] = Some(a);
                        }
                    }
                    _ => single.extend(batched),
                }
            }
        }
        let fetch = |i: usize| self.fetch(&items[i].0, &items[i].1);
        match single.as_slice() {
            [] => {}
            [i] => out[*i] = Some(fetch(*i)),
            many => {
                let got: Vec<(usize, Result<FactRead, Unavailable>)> = std::thread::scope(|s| {
                    let handles: Vec<_> = many
                        .iter()
                        .map(|&i| (i, s.spawn(move || fetch(i))))
                        .collect();
                    handles
                        .into_iter()
                        .map(|(i, h)| {
                            (
                                i,
                                h.join().unwrap_or_else(|_| {
                                    Err(Unavailable {
                                        department: items[i].0.query.department(),
                                        reason: "the adapter panicked".to_owned(),
                                    })
                                }),
                            )
                        })
                        .collect()
                });
                for (i, r) in got {
                    out[i] = Some(r);
                }
            }
        }
        items
            .iter()
            .zip(out)
            .map(|((key, _), r)| {
                r.unwrap_or_else(|| {
                    Err(Unavailable {
                        department: key.query.department(),
                        reason: "not asked".to_owned(),
                    })
                })
            })
            .collect()
    }

    /// Asks the department that answers `key.query`.
    pub fn fetch(&self, key: &FactKey, ask: &Ask) -> Result<FactRead, Unavailable> {
        match key.query {
            Query::Identity => wrap(key, self.public_security.identity(ask), Answer::Identity),
            Query::Household => wrap(key, self.public_security.household(ask), Answer::Household),
            Query::Marriage => wrap(key, self.civil_affairs.marriage(ask), Answer::Marriage),
            Query::Death => wrap(key, self.civil_affairs.death(ask), Answer::Death),
            Query::Properties => wrap(key, self.real_estate.properties(ask), Answer::Properties),
            Query::Contracts => wrap(key, self.housing_filing.contracts(ask), Answer::Contracts),
            Query::Leases => wrap(key, self.rental_filing.leases(ask), Answer::Leases),
            Query::Employment => wrap(
                key,
                self.social_security.employment(ask),
                Answer::Employment,
            ),
            Query::Income => wrap(key, self.tax.income(ask), Answer::Income),
            Query::Invoices => wrap(key, self.tax.invoices(ask), Answer::Invoices),
            Query::Credit => wrap(key, self.credit.credit(ask), Answer::Credit),
            Query::Renewal => wrap(key, self.urban_renewal.renewal(ask), Answer::Renewal),
            Query::Medical => wrap(key, self.medical_insurance.medical(ask), Answer::Medical),
        }
    }
}

/// Every department unavailable with one reason: a centre run without a data exchange,
/// or a department that is down. Every look-up is still logged before it is "made", and
/// every check that needs a fact is 无法核验 — never a pass.
#[derive(Debug, Clone)]
pub struct NoExchange {
    /// Why nothing can be asked.
    pub reason: String,
}

impl NoExchange {
    fn down<T>(&self, department: anju_domain::sharing::Department) -> Result<T, Unavailable> {
        Err(Unavailable {
            department,
            reason: self.reason.clone(),
        })
    }
}

impl PublicSecurity for NoExchange {
    fn identity(&self, _: &Ask) -> Fetched<Option<Identity>> {
        self.down(Query::Identity.department())
    }
    fn household(&self, _: &Ask) -> Fetched<Option<Household>> {
        self.down(Query::Household.department())
    }
}
impl CivilAffairs for NoExchange {
    fn marriage(&self, _: &Ask) -> Fetched<Marriage> {
        self.down(Query::Marriage.department())
    }
    fn death(&self, _: &Ask) -> Fetched<Option<DeathRecord>> {
        self.down(Query::Death.department())
    }
}
impl RealEstate for NoExchange {
    fn properties(&self, _: &Ask) -> Fetched<Vec<Property>> {
        self.down(Query::Properties.department())
    }
    fn register_mortgage(
        &self,
        _: &Ask,
        _: &MortgageRequest,
    ) -> Result<MortgageRegistration, Unavailable> {
        self.down(Query::Properties.department())
    }
    fn release_mortgage(&self, _: &Ask, _: &str) -> Result<MortgageRelease, Unavailable> {
        self.down(Query::Properties.department())
    }
}
impl HousingFiling for NoExchange {
    fn contracts(&self, _: &Ask) -> Fetched<Vec<PurchaseContract>> {
        self.down(Query::Contracts.department())
    }
}
impl RentalFiling for NoExchange {
    fn leases(&self, _: &Ask) -> Fetched<Vec<Lease>> {
        self.down(Query::Leases.department())
    }
}
impl SocialSecurity for NoExchange {
    fn employment(&self, _: &Ask) -> Fetched<Option<Employment>> {
        self.down(Query::Employment.department())
    }
}
impl Tax for NoExchange {
    fn income(&self, _: &Ask) -> Fetched<Vec<YearIncome>> {
        self.down(Query::Income.department())
    }
    fn invoices(&self, _: &Ask) -> Fetched<Vec<Invoice>> {
        self.down(Query::Invoices.department())
    }
}
impl Credit for NoExchange {
    fn credit(&self, _: &Ask) -> Fetched<CreditReport> {
        self.down(Query::Credit.department())
    }
}
impl UrbanRenewal for NoExchange {
    fn renewal(&self, _: &Ask) -> Fetched<Vec<RenewalShare>> {
        self.down(Query::Renewal.department())
    }
}
impl BatchLookups for NoExchange {}
impl MedicalInsurance for NoExchange {
    fn medical(&self, _: &Ask) -> Fetched<Vec<MedicalExpense>> {
        self.down(Query::Medical.department())
    }
}

impl Departments {
    /// Every department answering "unavailable" with `reason` ([`NoExchange`]).
    pub fn unavailable(reason: &str) -> Departments {
        Departments::all(Arc::new(NoExchange {
            reason: reason.to_owned(),
        }))
    }
}
