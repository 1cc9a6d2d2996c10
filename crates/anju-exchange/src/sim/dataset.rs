//! The simulator's dataset: what every department knows about each person.
//!
//! ```json
//! {
//!   "generated_at": "2026-11-26T16:00:00Z",
//!   "seed": 1,
//!   "people": {
//!     "330802199001011234": {
//!       "identity": {"id_number": "330802199001011234", "name": "王伟", "sex": "1",
//!                    "birth_date": "1990-01-01", "alive": true},
//!       "household": {...}, "marriage": {...}, "death": {...},
//!       "properties": [...], "contracts": [...], "leases": [...],
//!       "employment": {...}, "income": [{"year": 2025, ...}, ...],
//!       "credit": {"loans": [...], "overdue_count_24m": 0},
//!       "renewal": [...], "medical": [{"year": 2026, ...}],
//!       "invoices": [{"invoice_no": "26332000000000000001", "category": "renovation", ...}]
//!     }
//!   }
//! }
//! ```
//!
//! Every field of a person is optional and defaults to "no record"; the objects are the
//! domain's typed facts ([`anju_domain::sharing`]), so money is a yuan decimal string and
//! an area a m² decimal string. `income` and `medical` hold every year; the server answers
//! with the asked year's entries only. `invoices` are the e-invoices (全电发票) issued to
//! the person as buyer, voided ones included; a household record may carry its
//! `cancelled` date and reason (e.g. `emigration`).
//!
//! A person nobody knows, or a field left out, answers "no record" (`found: false`):
//! no identity, no household, marital status `10` (unmarried) without a spouse, no death,
//! empty lists, a credit report without loans.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anju_domain::codes::MaritalStatus;
use anju_domain::ids::IdCard;
use anju_domain::sharing::{
    Answer, CreditReport, DeathRecord, Employment, Household, Identity, Invoice, Lease, Marriage,
    MedicalExpense, Property, PurchaseContract, Query, RenewalShare, YearIncome,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The whole dataset file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dataset {
    /// When the dataset was generated (or written).
    pub generated_at: Timestamp,
    /// The generator's seed (informational).
    pub seed: u64,
    /// Everyone the departments know, by resident ID number.
    pub people: BTreeMap<String, PersonRecord>,
}

/// What the departments know about one person. Every field defaults to "no record".
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersonRecord {
    /// 公安 identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    /// 公安 household registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub household: Option<Household>,
    /// 民政 marriage registration (none: unmarried).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marriage: Option<Marriage>,
    /// 民政 death registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub death: Option<DeathRecord>,
    /// 不动产 properties owned.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
    /// 网签 purchase contracts as buyer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contracts: Vec<PurchaseContract>,
    /// 租赁备案 leases as tenant.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub leases: Vec<Lease>,
    /// 人社 employment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employment: Option<Employment>,
    /// 税务 income, every year on record.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub income: Vec<YearIncome>,
    /// 征信 credit report (none: no loans).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit: Option<CreditReport>,
    /// 住建 renewal shares.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub renewal: Vec<RenewalShare>,
    /// 医保 medical expenses, every year on record.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub medical: Vec<MedicalExpense>,
    /// 税务 e-invoices issued to the person as buyer (voided ones included).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invoices: Vec<Invoice>,
}

/// Why a dataset cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatasetError {
    /// The file cannot be read or written.
    #[error("cannot {action} dataset {path}: {source}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a dataset at all.
    #[error("the dataset is not valid: {0}")]
    Format(String),
    /// One person's record is wrong.
    #[error("person {person}: {field}: {message}")]
    Person {
        /// The person's key (masked when it is a valid ID number).
        person: String,
        /// The field, e.g. `marriage.spouse_id` or `properties[0].owners[1]`.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// The file as read, before each person is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDataset {
    generated_at: Timestamp,
    #[serde(default)]
    seed: u64,
    people: BTreeMap<String, serde_json::Value>,
}

/// How a key appears in messages: masked when it is a valid ID number.
fn label(key: &str) -> String {
    match IdCard::parse(key) {
        Ok(id) => id.masked(),
        Err(_) => format!("{key:?}"),
    }
}

impl Dataset {
    /// An empty dataset: every query answers "no record".
    pub fn empty(generated_at: Timestamp) -> Dataset {
        Dataset {
            generated_at,
            seed: 0,
            people: BTreeMap::new(),
        }
    }

    /// Parses and validates a dataset.
    pub fn from_json(text: &str) -> Result<Dataset, DatasetError> {
        let raw: RawDataset =
            serde_json::from_str(text).map_err(|e| DatasetError::Format(e.to_string()))?;
        let mut people = BTreeMap::new();
        for (key, value) in raw.people {
            let record = PersonRecord::deserialize(value).map_err(|e| DatasetError::Person {
                person: label(&key),
                field: "record".to_owned(),
                message: e.to_string(),
            })?;
            people.insert(key, record);
        }
        let dataset = Dataset {
            generated_at: raw.generated_at,
            seed: raw.seed,
            people,
        };
        dataset.validate()?;
        Ok(dataset)
    }

    /// Reads, parses and validates a dataset file.
    pub fn load(path: &Path) -> Result<Dataset, DatasetError> {
        let text = std::fs::read_to_string(path).map_err(|source| DatasetError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })?;
        Dataset::from_json(&text)
    }

    /// The dataset as pretty JSON with a final newline (byte-identical for equal datasets).
    pub fn to_json(&self) -> String {
        // Serialising plain data to a String cannot fail.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Writes the dataset file.
    pub fn save(&self, path: &Path) -> Result<(), DatasetError> {
        std::fs::write(path, self.to_json()).map_err(|source| DatasetError::Io {
            action: "write",
            path: path.to_owned(),
            source,
        })
    }

    /// Checks every key and every resident ID number in the records: each must be a valid
    /// ID number, the key in its normalised form, and the identity's number the key.
    pub fn validate(&self) -> Result<(), DatasetError> {
        for (key, record) in &self.people {
            let bad = |field: String, message: String| DatasetError::Person {
                person: label(key),
                field,
                message,
            };
            let id = IdCard::parse(key).map_err(|e| {
                bad(
                    "key".to_owned(),
                    format!("not a valid resident ID number: {e}"),
                )
            })?;
            if id.as_str() != key {
                return Err(bad(
                    "key".to_owned(),
                    "write the ID number in its normal form (18 characters, upper-case X)"
                        .to_owned(),
                ));
            }
            record.validate(key).map_err(|(f, m)| bad(f, m))?;
        }
        Ok(())
    }

    /// The answer to `query` about `subject` (the year filters income and medical
    /// expenses). Unknown people answer "no record".
    pub fn answer(&self, query: Query, subject: &str, year: Option<i16>) -> Answer {
        match self.people.get(subject) {
            Some(r) => r.answer(query, year),
            None => PersonRecord::default().answer(query, year),
        }
    }

    /// Number of facts held: one per identity, household, marriage, death, employment and
    /// credit report present, plus one per property, contract, lease, income year, loan,
    /// renewal share, medical year and invoice.
    pub fn fact_count(&self) -> usize {
        self.people.values().map(PersonRecord::fact_count).sum()
    }
}

impl PersonRecord {
    /// The answer to `query` from this record.
    pub fn answer(&self, query: Query, year: Option<i16>) -> Answer {
        let in_year = |y: i16| year.is_none_or(|want| want == y);
        match query {
            Query::Identity => Answer::Identity(self.identity.clone()),
            Query::Household => Answer::Household(self.household.clone()),
            Query::Marriage => Answer::Marriage(self.marriage.clone().unwrap_or(Marriage {
                status: MaritalStatus::Unmarried,
                spouse_id: None,
                spouse_name: None,
                since: None,
            })),
            Query::Death => Answer::Death(self.death.clone()),
            Query::Properties => Answer::Properties(self.properties.clone()),
            Query::Contracts => Answer::Contracts(self.contracts.clone()),
            Query::Leases => Answer::Leases(self.leases.clone()),
            Query::Employment => Answer::Employment(self.employment.clone()),
            Query::Income => Answer::Income(
                self.income
                    .iter()
                    .filter(|i| in_year(i.year))
                    .cloned()
                    .collect(),
            ),
            Query::Credit => Answer::Credit(self.credit.clone().unwrap_or(CreditReport {
                loans: Vec::new(),
                overdue_count_24m: 0,
            })),
            Query::Renewal => Answer::Renewal(self.renewal.clone()),
            Query::Medical => Answer::Medical(
                self.medical
                    .iter()
                    .filter(|m| in_year(m.year))
                    .cloned()
                    .collect(),
            ),
            Query::Invoices => Answer::Invoices(self.invoices.clone()),
        }
    }

    /// Number of facts held (see [`Dataset::fact_count`]).
    pub fn fact_count(&self) -> usize {
        usize::from(self.identity.is_some())
            + usize::from(self.household.is_some())
            + usize::from(self.marriage.is_some())
            + usize::from(self.death.is_some())
            + usize::from(self.employment.is_some())
            + self.credit.as_ref().map_or(0, |c| 1 + c.loans.len())
            + self.properties.len()
            + self.contracts.len()
            + self.leases.len()
            + self.income.len()
            + self.renewal.len()
            + self.medical.len()
            + self.invoices.len()
    }

    /// Checks the record of the person keyed `key`; the error names the field.
    fn validate(&self, key: &str) -> Result<(), (String, String)> {
        let id_ok = |field: String, value: &str| -> Result<(), (String, String)> {
            IdCard::parse(value).map(|_| ()).map_err(|e| {
                (
                    field,
                    format!("{:?} is not a valid resident ID number: {e}", label(value)),
                )
            })
        };
        if let Some(i) = &self.identity {
            id_ok("identity.id_number".to_owned(), &i.id_number)?;
            if i.id_number != key {
                return Err((
                    "identity.id_number".to_owned(),
                    format!(
                        "is {}, not the record's key",
                        IdCard::parse(&i.id_number).map_or_else(|_| "?".to_owned(), |i| i.masked())
                    ),
                ));
            }
        }
        if let Some(h) = &self.household {
            if !is_region_code(&h.region_code) {
                return Err((
                    "household.region_code".to_owned(),
                    format!("{:?} is not a 6-digit division code", h.region_code),
                ));
            }
            if let Some(c) = &h.cancelled
                && c.on < h.since
            {
                return Err((
                    "household.cancelled.on".to_owned(),
                    format!("{} is before the registration ({})", c.on, h.since),
                ));
            }
        }
        if let Some(m) = &self.marriage
            && let Some(s) = &m.spouse_id
        {
            id_ok("marriage.spouse_id".to_owned(), s)?;
            if s == key {
                return Err((
                    "marriage.spouse_id".to_owned(),
                    "a person cannot be their own spouse".to_owned(),
                ));
            }
        }
        let lists: [(&str, Vec<&Vec<String>>); 4] = [
            (
                "properties",
                self.properties.iter().map(|p| &p.owners).collect(),
            ),
            (
                "contracts",
                self.contracts.iter().map(|c| &c.buyers).collect(),
            ),
            ("leases", self.leases.iter().map(|l| &l.tenants).collect()),
            ("renewal", self.renewal.iter().map(|r| &r.owners).collect()),
        ];
        let member = |name: &str| match name {
            "properties" | "renewal" => "owners",
            "contracts" => "buyers",
            _ => "tenants",
        };
        for (name, people) in lists {
            for (i, ids) in people.into_iter().enumerate() {
                for (j, id) in ids.iter().enumerate() {
                    id_ok(format!("{name}[{i}].{}[{j}]", member(name)), id)?;
                }
            }
        }
        for (i, inv) in self.invoices.iter().enumerate() {
            let field = |f: &str| format!("invoices[{i}].{f}");
            if !(inv.invoice_no.len() == 20 && inv.invoice_no.bytes().all(|b| b.is_ascii_digit())) {
                return Err((
                    field("invoice_no"),
                    format!("{:?} is not a 20-digit invoice number", inv.invoice_no),
                ));
            }
            if !inv.amount.is_positive() {
                return Err((
                    field("amount"),
                    format!("{} is not a positive amount", inv.amount),
                ));
            }
            if !is_region_code(&inv.region_code) {
                return Err((
                    field("region_code"),
                    format!("{:?} is not a 6-digit division code", inv.region_code),
                ));
            }
            id_ok(field("buyer_id"), &inv.buyer_id)?;
            if inv.buyer_id != key {
                return Err((
                    field("buyer_id"),
                    format!(
                        "is {}, not the record's key",
                        IdCard::parse(&inv.buyer_id)
                            .map_or_else(|_| "?".to_owned(), |i| i.masked())
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Whether `code` is a 6-digit division code.
fn is_region_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use anju_domain::codes::Sex;
    use anju_domain::money::Fen;
    use anju_domain::sharing::{CancelReason, HouseholdCancellation, InvoiceCategory};
    use jiff::civil::date;

    const ID: &str = "11010519491231002X";

    fn person() -> PersonRecord {
        PersonRecord {
            identity: Some(Identity {
                id_number: ID.into(),
                name: "王芳".into(),
                sex: Sex::Female,
                birth_date: date(1949, 12, 31),
                alive: true,
            }),
            income: vec![
                YearIncome {
                    year: 2024,
                    wage_income: Fen::new(9_000_000),
                    tax_paid: Fen::new(50_000),
                    employer_name: "甲".into(),
                },
                YearIncome {
                    year: 2025,
                    wage_income: Fen::new(9_600_000),
                    tax_paid: Fen::new(60_000),
                    employer_name: "甲".into(),
                },
            ],
            ..PersonRecord::default()
        }
    }

    fn invoice(category: InvoiceCategory, yuan: i64) -> Invoice {
        Invoice {
            invoice_no: "26332000000000012345".into(),
            category,
            issued_on: date(2026, 4, 18),
            amount: Fen::new(yuan * 100),
            buyer_id: ID.into(),
            seller_name: "衢州家和装饰工程有限公司".into(),
            address: "浙江省衢州市柯城区荷花新村3幢1单元201室".into(),
            region_code: "330802".into(),
            voided: false,
        }
    }

    /// `person()` with invoices and a household cancelled on emigration.
    fn emigrant() -> PersonRecord {
        PersonRecord {
            household: Some(Household {
                region_code: "330802".into(),
                region_name: "浙江省衢州市柯城区".into(),
                since: date(1949, 12, 31),
                cancelled: Some(HouseholdCancellation {
                    on: date(2026, 3, 2),
                    reason: CancelReason::Emigration,
                }),
            }),
            invoices: vec![
                invoice(InvoiceCategory::Renovation, 86_500),
                Invoice {
                    invoice_no: "26332000000000012346".into(),
                    voided: true,
                    ..invoice(InvoiceCategory::PropertyFee, 2_400)
                },
            ],
            ..person()
        }
    }

    fn dataset(record: PersonRecord) -> Dataset {
        let mut d = Dataset::empty(Timestamp::UNIX_EPOCH);
        d.people.insert(ID.into(), record);
        d
    }

    #[test]
    fn round_trips_and_answers() {
        let d = dataset(person());
        let back = Dataset::from_json(&d.to_json()).unwrap();
        assert_eq!(back, d);
        assert_eq!(d.fact_count(), 3);
        match d.answer(Query::Income, ID, Some(2025)) {
            Answer::Income(v) => assert_eq!(v.len(), 1),
            other => panic!("{other:?}"),
        }
        assert!(!d.answer(Query::Income, ID, Some(2023)).found());
        assert!(d.answer(Query::Identity, ID, None).found());
        let nobody = "110105194912310037";
        assert!(!d.answer(Query::Identity, nobody, None).found());
        match d.answer(Query::Marriage, nobody, None) {
            Answer::Marriage(m) => {
                assert_eq!(m.status, MaritalStatus::Unmarried);
                assert!(m.spouse_id.is_none());
            }
            other => panic!("{other:?}"),
        }
        match d.answer(Query::Credit, nobody, None) {
            Answer::Credit(c) => assert!(c.loans.is_empty()),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            d.answer(Query::Invoices, ID, None),
            Answer::Invoices(vec![])
        );
        assert!(!d.answer(Query::Invoices, nobody, None).found());
    }

    #[test]
    fn invoices_and_a_cancelled_household_round_trip_and_answer() {
        let d = dataset(emigrant());
        let json = d.to_json();
        assert!(json.contains(r#""category": "property-fee""#), "{json}");
        assert!(json.contains(r#""reason": "emigration""#), "{json}");
        let back = Dataset::from_json(&json).unwrap();
        assert_eq!(back, d);
        // identity + household + 2 incomes + 2 invoices.
        assert_eq!(d.fact_count(), 6);
        match d.answer(Query::Invoices, ID, Some(2020)) {
            Answer::Invoices(v) => {
                assert_eq!(v.len(), 2, "invoices ignore the year");
                assert_eq!(v[0].category, InvoiceCategory::Renovation);
                assert_eq!(v[0].amount, Fen::new(8_650_000));
                assert!(v[1].voided);
            }
            other => panic!("{other:?}"),
        }
        match d.answer(Query::Household, ID, None) {
            Answer::Household(Some(h)) => {
                let c = h.cancelled.unwrap();
                assert_eq!(c.reason, CancelReason::Emigration);
                assert_eq!(c.on, date(2026, 3, 2));
            }
            other => panic!("{other:?}"),
        }
        // A household without a cancellation writes no `cancelled` key.
        let mut p = emigrant();
        p.household.as_mut().unwrap().cancelled = None;
        assert!(!dataset(p).to_json().contains("cancelled"));
    }

    #[test]
    fn invoice_fields_are_validated() {
        let check = |change: &dyn Fn(&mut Invoice), field: &str| {
            let mut p = emigrant();
            change(&mut p.invoices[1]);
            let e = Dataset::from_json(&dataset(p).to_json())
                .unwrap_err()
                .to_string();
            assert!(e.contains(field), "{field}: {e}");
            assert!(e.contains("1101**********002X"), "{e}");
        };
        check(
            &|i| i.invoice_no = "2633200000000001234".into(),
            "invoices[1].invoice_no",
        );
        check(
            &|i| i.invoice_no = "2633200000000001234A".into(),
            "invoices[1].invoice_no",
        );
        check(&|i| i.amount = Fen::ZERO, "invoices[1].amount");
        check(&|i| i.amount = Fen::new(-100), "invoices[1].amount");
        check(
            &|i| i.region_code = "3308".into(),
            "invoices[1].region_code",
        );
        check(&|i| i.buyer_id = "123".into(), "invoices[1].buyer_id");
        check(
            &|i| i.buyer_id = "110105194912310037".into(),
            "invoices[1].buyer_id",
        );

        let text = dataset(emigrant())
            .to_json()
            .replace("\"renovation\"", "\"painting\"");
        let e = Dataset::from_json(&text).unwrap_err().to_string();
        assert!(e.contains("painting"), "{e}");

        let mut p = emigrant();
        p.household.as_mut().unwrap().cancelled.as_mut().unwrap().on = date(1940, 1, 1);
        let e = Dataset::from_json(&dataset(p).to_json())
            .unwrap_err()
            .to_string();
        assert!(e.contains("household.cancelled.on"), "{e}");
    }

    #[test]
    fn validation_names_the_person_and_field() {
        let mut p = person();
        p.identity.as_mut().unwrap().id_number = "110105194912310037".into();
        let e = Dataset::from_json(&dataset(p).to_json())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("1101**********002X") && e.contains("identity.id_number"),
            "{e}"
        );
        assert!(!e.contains(ID), "{e}");

        let mut p = person();
        p.marriage = Some(Marriage {
            status: MaritalStatus::Married,
            spouse_id: Some("123".into()),
            spouse_name: None,
            since: None,
        });
        let e = Dataset::from_json(&dataset(p).to_json())
            .unwrap_err()
            .to_string();
        assert!(e.contains("marriage.spouse_id"), "{e}");

        let text = dataset(person())
            .to_json()
            .replace(ID, "110105194912310021");
        let e = Dataset::from_json(&text).unwrap_err().to_string();
        assert!(e.contains("key") && e.contains("check"), "{e}");

        let text = dataset(person())
            .to_json()
            .replace("\"income\"", "\"incme\"");
        let e = Dataset::from_json(&text).unwrap_err().to_string();
        assert!(
            e.contains("incme") && e.contains("1101**********002X"),
            "{e}"
        );

        let e = Dataset::from_json("{").unwrap_err().to_string();
        assert!(e.contains("not valid"), "{e}");
    }
}
