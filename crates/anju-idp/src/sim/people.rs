//! Who can log in at the simulated provider, and how.
//!
//! Its own file is
//!
//! ```json
//! {"people": [
//!   {"resident_id": "330802199001011232", "name": "王伟", "alive": true,
//!    "face_ok": true, "eid": true}
//! ]}
//! ```
//!
//! (`alive`, `face_ok` and `eid` default to `true`). The exchange simulator's dataset
//! (`anju exchange-sim --generate`) is accepted as well, so the demo's members can log in:
//! everyone with a 公安 identity record, alive unless the identity says otherwise or a
//! death is registered, passing the face check and holding an e-ID (override with
//! `--face-fail` and `--no-eid`). Without a file the simulator serves [`People::sample`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anju_app::identity::AuthMethod;
use anju_domain::ids::IdCard;
use serde::{Deserialize, Serialize};

/// One person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// Resident ID number.
    pub resident_id: String,
    /// Name on the ID.
    pub name: String,
    /// Alive (a deceased person cannot log in).
    #[serde(default = "yes")]
    pub alive: bool,
    /// Passes the face check.
    #[serde(default = "yes")]
    pub face_ok: bool,
    /// Holds an e-ID.
    #[serde(default = "yes")]
    pub eid: bool,
}

fn yes() -> bool {
    true
}

/// Why a person may not log in: the `error_description` of the `access_denied` redirect.
pub fn refusal(person: Option<&Person>, method: AuthMethod) -> Option<&'static str> {
    match person {
        None => Some("no such person at the identity provider"),
        Some(p) if !p.alive => Some("the person is registered as deceased"),
        Some(p) if method == AuthMethod::Face && !p.face_ok => {
            Some("face check failed: the face does not match the resident ID photo")
        }
        Some(p) if method == AuthMethod::EId && !p.eid => {
            Some("the person has no electronic resident ID (e-ID)")
        }
        Some(_) => None,
    }
}

/// Everyone, by resident ID number.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct People {
    /// By resident ID number.
    pub by_id: BTreeMap<String, Person>,
}

/// Why a people file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PeopleError {
    /// Cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not a people file nor an exchange dataset.
    #[error("not a people file nor an exchange-sim dataset: {0}")]
    Format(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PeopleFile {
    people: Vec<Person>,
}

impl People {
    /// The built-in sample: 王伟 and 李芳 log in either way; 张强 fails the face check;
    /// 陈静 is deceased; 刘洋 has no e-ID.
    pub fn sample() -> People {
        let p = |id: &str, name: &str, alive, face_ok, eid| Person {
            resident_id: id.to_owned(),
            name: name.to_owned(),
            alive,
            face_ok,
            eid,
        };
        People::from_list(vec![
            p("330802199001011232", "王伟", true, true, true),
            p("330802199103151244", "李芳", true, true, true),
            p("330802198506120034", "张强", true, false, true),
            p("330802197003040046", "陈静", false, true, true),
            p("33080219951120005X", "刘洋", true, true, false),
        ])
    }

    fn from_list(list: Vec<Person>) -> People {
        People {
            by_id: list
                .into_iter()
                .map(|p| (p.resident_id.clone(), p))
                .collect(),
        }
    }

    /// Reads a people file or an exchange dataset.
    pub fn from_json(text: &str) -> Result<People, PeopleError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| PeopleError::Format(e.to_string()))?;
        if value.get("people").is_some_and(serde_json::Value::is_array) {
            let file: PeopleFile =
                serde_json::from_value(value).map_err(|e| PeopleError::Format(e.to_string()))?;
            let mut people = People::default();
            for (i, mut p) in file.people.into_iter().enumerate() {
                let id = IdCard::parse(&p.resident_id)
                    .map_err(|e| PeopleError::Format(format!("people[{i}].resident_id: {e}")))?;
                p.resident_id = id.as_str().to_owned();
                if p.name.trim().is_empty() || p.name.chars().count() > 64 {
                    return Err(PeopleError::Format(format!(
                        "people[{i}].name: 1-64 characters"
                    )));
                }
                if people.by_id.insert(p.resident_id.clone(), p).is_some() {
                    return Err(PeopleError::Format(format!(
                        "people[{i}].resident_id: {} appears twice",
                        id.masked()
                    )));
                }
            }
            return Ok(people);
        }
        let dataset = anju_exchange::sim::dataset::Dataset::from_json(text)
            .map_err(|e| PeopleError::Format(e.to_string()))?;
        Ok(People::from_list(
            dataset
                .people
                .into_iter()
                .filter_map(|(id, rec)| {
                    let identity = rec.identity?;
                    Some(Person {
                        resident_id: id,
                        name: identity.name,
                        alive: identity.alive && rec.death.is_none(),
                        face_ok: true,
                        eid: true,
                    })
                })
                .collect(),
        ))
    }

    /// Reads `path` ([`People::from_json`]).
    pub fn load(path: &Path) -> Result<People, PeopleError> {
        let text = std::fs::read_to_string(path).map_err(|source| PeopleError::Io {
            path: path.to_owned(),
            source,
        })?;
        People::from_json(&text)
    }

    /// The person with this ID number (any case of the check character).
    pub fn get(&self, resident_id: &str) -> Option<&Person> {
        let id = IdCard::parse(resident_id).ok()?;
        self.by_id.get(id.as_str())
    }

    /// Marks these people as failing the face check (IDs not known are ignored; their
    /// count is returned).
    pub fn fail_face(&mut self, ids: &[String]) -> usize {
        self.update(ids, |p| p.face_ok = false)
    }

    /// Marks these people as holding no e-ID.
    pub fn without_eid(&mut self, ids: &[String]) -> usize {
        self.update(ids, |p| p.eid = false)
    }

    fn update(&mut self, ids: &[String], f: impl Fn(&mut Person)) -> usize {
        let mut missing = 0;
        for id in ids {
            let key = IdCard::parse(id)
                .map(|i| i.as_str().to_owned())
                .unwrap_or_default();
            match self.by_id.get_mut(&key) {
                Some(p) => f(p),
                None => missing += 1,
            }
        }
        missing
    }

    /// The file of these people.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&serde_json::json!({
            "people": self.by_id.values().collect::<Vec<_>>()
        }))
        .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn sample_ids_are_valid_and_refusals_follow_the_flags() {
        let s = People::sample();
        assert_eq!(s.by_id.len(), 5);
        for id in s.by_id.keys() {
            IdCard::parse(id).unwrap();
        }
        let back = People::from_json(&s.to_json()).unwrap();
        assert_eq!(back, s);
        assert_eq!(refusal(s.get("330802199001011232"), AuthMethod::Face), None);
        assert!(
            refusal(s.get("330802198506120034"), AuthMethod::Face)
                .unwrap()
                .contains("face")
        );
        assert_eq!(refusal(s.get("330802198506120034"), AuthMethod::EId), None);
        assert!(
            refusal(s.get("330802197003040046"), AuthMethod::EId)
                .unwrap()
                .contains("deceased")
        );
        assert!(
            refusal(s.get("33080219951120005x"), AuthMethod::EId)
                .unwrap()
                .contains("e-ID")
        );
        assert!(
            refusal(s.get("330803198811205671"), AuthMethod::Face)
                .unwrap()
                .contains("no such")
        );
    }

    #[test]
    fn exchange_datasets_are_accepted() {
        use anju_domain::codes::Sex;
        use anju_domain::sharing::{DeathRecord, Identity};
        use anju_exchange::sim::dataset::{Dataset, PersonRecord};
        let mut d = Dataset::empty(jiff::Timestamp::UNIX_EPOCH);
        let ident = |id: &str, name: &str| Identity {
            id_number: id.into(),
            name: name.into(),
            sex: Sex::Male,
            birth_date: jiff::civil::date(1990, 1, 1),
            alive: true,
        };
        d.people.insert(
            "330802199001011232".into(),
            PersonRecord {
                identity: Some(ident("330802199001011232", "王伟")),
                ..PersonRecord::default()
            },
        );
        d.people.insert(
            "330802198506120034".into(),
            PersonRecord {
                identity: Some(ident("330802198506120034", "张强")),
                death: Some(DeathRecord {
                    died_on: jiff::civil::date(2026, 1, 2),
                    certificate_no: "D1".into(),
                }),
                ..PersonRecord::default()
            },
        );
        d.people
            .insert("330802199103151244".into(), PersonRecord::default());
        let mut people = People::from_json(&d.to_json()).unwrap();
        assert_eq!(people.by_id.len(), 2, "no identity record, no login");
        assert!(!people.get("330802198506120034").unwrap().alive);
        let p = people.get("330802199001011232").unwrap();
        assert!(p.alive && p.face_ok && p.eid);
        assert_eq!(p.name, "王伟");
        assert_eq!(
            people.fail_face(&["330802199001011232".into(), "x".into()]),
            1
        );
        assert!(!people.get("330802199001011232").unwrap().face_ok);
        assert!(
            People::from_json("{\"people\":[{\"resident_id\":\"1\",\"name\":\"x\"}]}").is_err()
        );
        assert!(People::from_json("[]").is_err());
    }
}
