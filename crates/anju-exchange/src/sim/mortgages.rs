//! The simulator's mortgage register (抵押登记簿): registrations and releases taken over
//! `POST /v1/real-estate/mortgages` and `…/mortgages/{registration_no}/release`.
//!
//! Kept in memory and appended, one JSON event a line, to a side file next to the
//! dataset ([`side_file`]: `<dataset>.mortgages.jsonl`), which is replayed at start so a
//! restart keeps them. Each event is written (and synced) before it is applied in
//! memory, so an answer is only ever given for what the file holds.
//!
//! Rules, as a registry applies them:
//! - a registration names a certificate in the dataset's properties, or — a
//!   pre-registration (预告登记) — a filed, not cancelled, purchase contract; its owners
//!   must be exactly the property's owners (the contract's buyers), in any order;
//! - it is idempotent by `(loan_no, property)`: while that loan's registration on that
//!   property is active, the same request answers it again;
//! - while one loan's registration is active on a property, another loan's is refused;
//! - a release names a registration number the register holds; a second release answers
//!   the first;
//! - the `properties` answer shows `mortgaged: true` for a property with an active
//!   registration and `false` once released (other properties as in the dataset).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anju_domain::sharing::{MortgageRegistration, MortgageRelease, MortgageRequest};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::dataset::Dataset;

/// The side file of the dataset at `dataset`: `<dataset>.mortgages.jsonl`.
pub fn side_file(dataset: &Path) -> PathBuf {
    let mut name: OsString = dataset.as_os_str().to_owned();
    name.push(".mortgages.jsonl");
    PathBuf::from(name)
}

/// One line of the side file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
enum Event {
    /// A registration made.
    Registered {
        /// The owners as registered.
        owners: Vec<String>,
        /// The registration.
        registration: MortgageRegistration,
    },
    /// A registration released.
    Released(MortgageRelease),
}

/// What the register knows of a property or contract number from the dataset.
#[derive(Debug, Clone)]
struct Collateral {
    /// Owners (buyers), sorted.
    owners: BTreeSet<String>,
    /// A filed purchase contract (pre-registration) rather than a certificate.
    contract: bool,
    /// The contract's filing was cancelled.
    cancelled: bool,
}

#[derive(Debug, Clone)]
struct Record {
    registration: MortgageRegistration,
    released: Option<MortgageRelease>,
}

/// Why a write is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteError {
    /// The registry refuses it (`409 conflict`), with the reason.
    Conflict(String),
    /// The side file cannot be written (`503`); nothing was registered.
    Io(String),
}

/// Why the side file cannot be loaded.
#[derive(Debug, thiserror::Error)]
#[error("mortgage register {path}: {message}")]
pub struct RegisterFileError {
    /// The side file.
    pub path: PathBuf,
    /// What is wrong (with the line number when a line is bad).
    pub message: String,
}

/// The register: the dataset's collateral, the registrations, the side file.
#[derive(Debug)]
pub struct MortgageRegister {
    collateral: BTreeMap<String, Collateral>,
    records: Vec<Record>,
    by_no: BTreeMap<String, usize>,
    file: Option<(PathBuf, File)>,
}

impl MortgageRegister {
    /// A register over `dataset` kept in memory only.
    pub fn in_memory(dataset: &Dataset) -> MortgageRegister {
        let mut collateral: BTreeMap<String, Collateral> = BTreeMap::new();
        for record in dataset.people.values() {
            for p in &record.properties {
                collateral
                    .entry(p.certificate_no.clone())
                    .or_insert_with(|| Collateral {
                        owners: p.owners.iter().cloned().collect(),
                        contract: false,
                        cancelled: false,
                    });
            }
            for c in &record.contracts {
                collateral
                    .entry(c.contract_no.clone())
                    .or_insert_with(|| Collateral {
                        owners: c.buyers.iter().cloned().collect(),
                        contract: true,
                        cancelled: c.cancelled,
                    });
            }
        }
        MortgageRegister {
            collateral,
            records: Vec::new(),
            by_no: BTreeMap::new(),
            file: None,
        }
    }

    /// A register over `dataset` that replays and appends to `path` (created if absent).
    pub fn open(dataset: &Dataset, path: &Path) -> Result<MortgageRegister, RegisterFileError> {
        let bad = |message: String| RegisterFileError {
            path: path.to_owned(),
            message,
        };
        let mut register = MortgageRegister::in_memory(dataset);
        if path.exists() {
            let f = File::open(path).map_err(|e| bad(format!("cannot read: {e}")))?;
            for (i, line) in BufReader::new(f).lines().enumerate() {
                let line = line.map_err(|e| bad(format!("cannot read: {e}")))?;
                if line.trim().is_empty() {
                    continue;
                }
                let event: Event =
                    serde_json::from_str(&line).map_err(|e| bad(format!("line {}: {e}", i + 1)))?;
                register.apply(event);
            }
        }
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| bad(format!("cannot open for appending: {e}")))?;
        register.file = Some((path.to_owned(), f));
        Ok(register)
    }

    /// Registrations held (active and released).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// `Some(true)` while a registration on `property` is active, `Some(false)` when every
    /// registration on it was released, `None` when none was ever made.
    pub fn mortgaged(&self, property: &str) -> Option<bool> {
        let mut seen = None;
        for r in self
            .records
            .iter()
            .filter(|r| r.registration.property == property)
        {
            if r.released.is_none() {
                return Some(true);
            }
            seen = Some(false);
        }
        seen
    }

    fn apply(&mut self, event: Event) {
        match event {
            Event::Registered { registration, .. } => {
                self.by_no
                    .insert(registration.registration_no.clone(), self.records.len());
                self.records.push(Record {
                    registration,
                    released: None,
                });
            }
            Event::Released(release) => {
                if let Some(&i) = self.by_no.get(&release.registration_no)
                    && let Some(r) = self.records.get_mut(i)
                {
                    r.released = Some(release);
                }
            }
        }
    }

    /// Writes `event` to the side file (if any), then applies it.
    fn record(&mut self, event: Event) -> Result<(), WriteError> {
        if let Some((path, file)) = &mut self.file {
            let mut line = serde_json::to_string(&event)
                .map_err(|e| WriteError::Io(format!("cannot encode the event: {e}")))?;
            line.push('\n');
            file.write_all(line.as_bytes())
                .and_then(|()| file.sync_data())
                .map_err(|e| {
                    WriteError::Io(format!(
                        "the mortgage register {} cannot be written: {e}",
                        path.display()
                    ))
                })?;
        }
        self.apply(event);
        Ok(())
    }

    /// Registers `req` on `today` (see the module doc for the rules).
    pub fn register(
        &mut self,
        req: &MortgageRequest,
        today: Date,
    ) -> Result<MortgageRegistration, WriteError> {
        let conflict = |m: String| Err(WriteError::Conflict(m));
        let active = self
            .records
            .iter()
            .find(|r| r.registration.property == req.property && r.released.is_none());
        if let Some(a) = active {
            if a.registration.loan_no == req.loan_no {
                return Ok(a.registration.clone());
            }
            return conflict(format!(
                "{} is already mortgaged for another loan ({}, registration {}); it must be released first",
                req.property, a.registration.loan_no, a.registration.registration_no
            ));
        }
        let Some(c) = self.collateral.get(&req.property) else {
            return conflict(format!(
                "no property certificate or filed purchase contract numbered {:?} in the register",
                req.property
            ));
        };
        match (req.pre_registration, c.contract) {
            (true, false) => {
                return conflict(format!(
                    "{} is a property certificate: register the mortgage, not a pre-registration",
                    req.property
                ));
            }
            (false, true) => {
                return conflict(format!(
                    "{} is a purchase contract: a home not yet registered takes a pre-registration (预告登记)",
                    req.property
                ));
            }
            _ => {}
        }
        if c.cancelled {
            return conflict(format!(
                "the filing of purchase contract {} was cancelled",
                req.property
            ));
        }
        let owners: BTreeSet<String> = req.owners.iter().cloned().collect();
        if owners != c.owners {
            let role = if c.contract {
                "the contract's buyers"
            } else {
                "the property's owners"
            };
            return conflict(format!(
                "the owners named ({}) are not {role} ({} people on record)",
                owners.len(),
                c.owners.len()
            ));
        }
        let registration = MortgageRegistration {
            registration_no: format!(
                "浙({})衢州市不动产证明第{:07}号",
                today.year(),
                self.records.len() + 1
            ),
            registered_on: today,
            property: req.property.clone(),
            loan_no: req.loan_no.clone(),
            pre_registration: req.pre_registration,
            mortgagees: req.mortgagees.clone(),
        };
        self.record(Event::Registered {
            owners: req.owners.clone(),
            registration: registration.clone(),
        })?;
        Ok(registration)
    }

    /// Releases `registration_no` on `today`; a second release answers the first.
    pub fn release(
        &mut self,
        registration_no: &str,
        today: Date,
    ) -> Result<MortgageRelease, WriteError> {
        let Some(r) = self
            .by_no
            .get(registration_no)
            .and_then(|&i| self.records.get(i))
        else {
            return Err(WriteError::Conflict(format!(
                "no mortgage registration numbered {registration_no:?}"
            )));
        };
        if let Some(done) = &r.released {
            return Ok(done.clone());
        }
        let release = MortgageRelease {
            registration_no: registration_no.to_owned(),
            released_on: today,
        };
        self.record(Event::Released(release.clone()))?;
        Ok(release)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::sim::dataset::PersonRecord;
    use anju_domain::money::Fen;
    use anju_domain::sharing::{Area, ContractKind, Mortgagee, Property, PurchaseContract};
    use jiff::Timestamp;
    use jiff::civil::date;

    const A: &str = "11010519491231002X";
    const B: &str = "330802199001011232";

    fn dataset() -> Dataset {
        let mut d = Dataset::empty(Timestamp::UNIX_EPOCH);
        d.people.insert(
            A.into(),
            PersonRecord {
                properties: vec![Property {
                    certificate_no: "CERT-1".into(),
                    address: "x".into(),
                    region_code: "330802".into(),
                    area: Area(9_000),
                    in_province: true,
                    registered_on: date(2020, 1, 1),
                    mortgaged: false,
                    owners: vec![A.into(), B.into()],
                }],
                contracts: vec![PurchaseContract {
                    contract_no: "HT-1".into(),
                    kind: ContractKind::New,
                    address: "y".into(),
                    region_code: "330802".into(),
                    area: Area(9_000),
                    price: Fen::new(100_000_000),
                    signed_on: date(2026, 1, 1),
                    filed_on: date(2026, 1, 2),
                    buyers: vec![A.into()],
                    seller_name: "s".into(),
                    seller_account: "1".into(),
                    seller_bank: "b".into(),
                    cancelled: false,
                }],
                ..PersonRecord::default()
            },
        );
        d
    }

    fn req(property: &str, loan: &str, owners: &[&str], pre: bool) -> MortgageRequest {
        MortgageRequest {
            application_no: "DK-1".into(),
            loan_no: loan.into(),
            property: property.into(),
            address: "x".into(),
            owners: owners.iter().map(|o| (*o).to_owned()).collect(),
            mortgagees: vec![Mortgagee {
                name: "c".into(),
                code: "330800000000001".into(),
                amount: Fen::new(1),
            }],
            term_end: date(2050, 1, 1),
            pre_registration: pre,
        }
    }

    #[test]
    fn registers_refuses_releases_and_replays() {
        let dir = tempfile::tempdir().unwrap();
        let path = side_file(&dir.path().join("d.json"));
        assert!(path.to_string_lossy().ends_with("d.json.mortgages.jsonl"));
        let ds = dataset();
        let today = date(2026, 11, 27);
        let mut r = MortgageRegister::open(&ds, &path).unwrap();
        let one = r
            .register(&req("CERT-1", "L1", &[B, A], false), today)
            .unwrap();
        assert_eq!(one.registration_no, "浙(2026)衢州市不动产证明第0000001号");
        assert_eq!(r.mortgaged("CERT-1"), Some(true));
        // Idempotent by (loan, property).
        assert_eq!(
            r.register(&req("CERT-1", "L1", &[A, B], false), today)
                .unwrap(),
            one
        );
        for (bad, why) in [
            (req("CERT-1", "L2", &[A, B], false), "already mortgaged"),
            (req("CERT-2", "L2", &[A], false), "no property"),
            (req("HT-1", "L2", &[A], false), "pre-registration"),
            (req("HT-1", "L2", &[A, B], true), "buyers"),
        ] {
            match r.register(&bad, today) {
                Err(WriteError::Conflict(m)) => assert!(m.contains(why), "{m}"),
                other => panic!("{other:?}"),
            }
        }
        let pre = r.register(&req("HT-1", "L2", &[A], true), today).unwrap();
        assert!(pre.pre_registration);
        let rel = r.release(&one.registration_no, today).unwrap();
        assert_eq!(
            r.release(&one.registration_no, date(2027, 1, 1)).unwrap(),
            rel
        );
        assert_eq!(r.mortgaged("CERT-1"), Some(false));
        assert!(matches!(
            r.release("nope", today),
            Err(WriteError::Conflict(_))
        ));
        drop(r);
        let r = MortgageRegister::open(&ds, &path).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r.mortgaged("CERT-1"), Some(false));
        assert_eq!(r.mortgaged("HT-1"), Some(true));
        assert_eq!(r.mortgaged("CERT-9"), None);
    }
}
