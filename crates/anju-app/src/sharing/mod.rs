//! Data sharing (数据共享): looking up other departments' facts for an application,
//! logging every look-up, caching answers per application, and verifying the facts an
//! application needs.
//!
//! Rules (issue 4, DESIGN "every look-up … is logged"):
//! - A look-up is only ever made **for an open application**, about **a party to it**, for
//!   **a fact its kind needs**, under the kind's legal purpose. Anything else is refused
//!   before a department is asked.
//! - **Every look-up is logged before it is made** (a `pending` row: who asked, for which
//!   application and purpose, which department, when), in its own committed transaction,
//!   and completed afterwards with the outcome, the SM3 hash of the answer and when the
//!   department read it. A crash between the two leaves a `pending` row: the log never
//!   misses a look-up. Answers served from the application's cache are logged too
//!   (`cached`), since someone viewed the data again.
//! - Answers are **cached per application** (they are the evidence the decision rests on)
//!   and never used for another application. An unavailable answer is not cached, so the
//!   next verification asks again.
//! - No database transaction is held while a department is being asked.
//! - The real-estate writes ([`mortgage`]: registering and releasing a loan's mortgage)
//!   are logged the same way, one row per write.

pub mod mortgage;
pub mod ports;

use std::collections::{BTreeMap, BTreeSet};

use anju_domain::ids::IdCard;
use anju_domain::ledger::entry::sm3_hex;
use anju_domain::sharing::verify::{self, ApplicationKind, Check, Claims, Party, Role, Verdict};
use anju_domain::sharing::{Answer, FactKey, Query, Unavailable};
use anju_domain::stamp::Stamp;
use anju_store::sharing::{
    ApplicationRow, ConsentRow, FactRow, LookupOutcome, LookupRow, PartyRow,
};
use anju_store::{Store, StoreError};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

pub use mortgage::{register_mortgage, release_mortgage};
pub use ports::{Ask, BatchLookups, Departments, Fetched, Read};

use crate::AppError;

fn invalid(field: &'static str, value: &str, rule: &str) -> AppError {
    AppError::Invalid {
        field,
        value: value.to_owned(),
        rule: rule.to_owned(),
    }
}

/// A new application that will need other departments' facts.
#[derive(Debug, Clone)]
pub struct NewApplication {
    /// The application number (unique in the centre): 1–40 of `A-Z a-z 0-9 -`.
    pub application_no: String,
    /// What it is for.
    pub kind: ApplicationKind,
    /// The people it concerns: one applicant (for a death withdrawal, the deceased member
    /// and at least one heir), optionally a spouse or co-borrowers.
    pub parties: Vec<(String, Role)>,
    /// What the applicant states.
    pub claims: Claims,
    /// Parties other than the applicant who consented when the application was made (e.g.
    /// a spouse signing at the counter), with how (`counter-signature`, `e-signature`,
    /// `face-login`). The applicant consents by applying; a deceased member's data is
    /// looked up under the heirs' consent.
    pub consents: Vec<(String, String)>,
    /// Who opened it, where, through which channel.
    pub stamp: Stamp,
}

/// The city's 4-digit division prefix from a 15-digit centre code (`330800…` → `3308`).
pub fn city_prefix(centre: &str) -> &str {
    centre.get(..4).unwrap_or(centre)
}

/// Opens an application. Checks the number, every party's ID number, the roles the kind
/// needs, and that the main party has an account in the centre.
pub fn open_application(
    store: &dyn Store,
    centre: &str,
    new: &NewApplication,
    today: Date,
    now: Timestamp,
) -> Result<ApplicationRow, AppError> {
    let mut tx = store.begin()?;
    let row = open_application_in(tx.as_mut(), centre, new, today, now)?;
    tx.commit()?;
    Ok(row)
}

/// [`open_application`] inside the caller's transaction (e.g. with the withdrawal it is
/// for); nothing is written when it fails.
pub fn open_application_in(
    tx: &mut dyn anju_store::StoreTx,
    centre: &str,
    new: &NewApplication,
    today: Date,
    now: Timestamp,
) -> Result<ApplicationRow, AppError> {
    let no = new.application_no.trim();
    if no.is_empty() || no.len() > 40 || !no.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(invalid(
            "application_no",
            &new.application_no,
            "must be 1-40 characters of A-Z, a-z, 0-9 and -",
        ));
    }
    new.stamp
        .validate()
        .map_err(|e| invalid("stamp", "", &e.to_string()))?;
    let mut seen = BTreeSet::new();
    for (id, _) in &new.parties {
        IdCard::parse_on(id, today)
            .map_err(|e| invalid("parties.id_number", id, &e.to_string()))?;
        if !seen.insert(id.as_str()) {
            return Err(invalid(
                "parties.id_number",
                id,
                "each person may appear only once in an application",
            ));
        }
    }
    let main_role = if new.kind == ApplicationKind::WithdrawDeath {
        Role::Deceased
    } else {
        Role::Applicant
    };
    let mains: Vec<&String> = new
        .parties
        .iter()
        .filter(|(_, r)| *r == main_role)
        .map(|(id, _)| id)
        .collect();
    let [main] = mains.as_slice() else {
        return Err(invalid(
            "parties",
            &mains.len().to_string(),
            &format!(
                "a {} application names exactly one {}",
                new.kind,
                main_role.code()
            ),
        ));
    };
    if new.parties.iter().any(|(_, r)| *r == Role::Deceased) && main_role != Role::Deceased {
        return Err(invalid(
            "parties.role",
            "deceased",
            "only a death withdrawal names a deceased member",
        ));
    }
    let member = tx.member_by_id_number(centre, main)?;
    // An opening is for a person without an account; everything else for a member.
    let applicant = match (new.kind, member) {
        (ApplicationKind::OpenFlexible, None) => (*main).clone(),
        (ApplicationKind::OpenFlexible, Some(m)) => {
            return Err(invalid(
                "parties.id_number",
                main,
                &format!(
                    "already has personal account {}; one account per person",
                    m.account_no
                ),
            ));
        }
        (_, Some(m)) => m.id_number,
        (_, None) => {
            return Err(invalid(
                "parties.id_number",
                main,
                "the applicant has no account in this centre",
            ));
        }
    };
    let parties = party_names(tx, centre, &new.parties)?;
    verify::checks_for(new.kind, &parties, &new.claims, today, city_prefix(centre))
        .map_err(|e| invalid("claims", "", &e.to_string()))?;
    let claims =
        serde_json::to_string(&new.claims).map_err(|e| invalid("claims", "", &e.to_string()))?;
    let row = ApplicationRow {
        application_no: no.to_owned(),
        kind: new.kind.code().to_owned(),
        purpose: new.kind.purpose().code().to_owned(),
        applicant,
        claims,
        status: "open".to_owned(),
        opened_on: today,
        opened_at_us: now.as_microsecond(),
        stamp: new.stamp.clone(),
        closed_at_us: None,
    };
    let party_rows: Vec<PartyRow> = new
        .parties
        .iter()
        .map(|(id, role)| PartyRow {
            id_number: id.clone(),
            role: role.code().to_owned(),
        })
        .collect();
    tx.insert_application(centre, &row, &party_rows)
        .map_err(|e| match e {
            StoreError::Conflict { .. } => invalid(
                "application_no",
                no,
                "an application with this number exists",
            ),
            other => other.into(),
        })?;
    let mut consents: Vec<(&str, &str)> = Vec::new();
    if main_role == Role::Applicant {
        consents.push((main.as_str(), "applied"));
    }
    for (id, how) in &new.consents {
        if !new
            .parties
            .iter()
            .any(|(p, r)| p == id && *r != Role::Deceased)
        {
            return Err(invalid(
                "consents.id_number",
                id,
                "only a living party to the application can consent",
            ));
        }
        if main_role == Role::Applicant && id == *main {
            continue;
        }
        consents.push((id.as_str(), how.as_str()));
    }
    for (id, how) in consents {
        insert_consent(tx, centre, no, id, how, &new.stamp, now)?;
    }
    Ok(row)
}

fn insert_consent(
    tx: &mut dyn anju_store::StoreTx,
    centre: &str,
    application_no: &str,
    id_number: &str,
    how: &str,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<(), AppError> {
    let how = how.trim();
    if how.is_empty() || how.len() > 40 || how.chars().any(char::is_control) {
        return Err(invalid(
            "consents.how",
            how,
            "say how consent was given in 1-40 printable characters (e.g. e-signature)",
        ));
    }
    tx.insert_consent(
        centre,
        application_no,
        &ConsentRow {
            id_number: id_number.to_owned(),
            given_at_us: now.as_microsecond(),
            how: how.to_owned(),
            operator: stamp.operator.clone(),
            channel: stamp.channel.code().to_owned(),
            service_point: stamp.service_point.clone(),
        },
    )
    .map_err(|e| match e {
        StoreError::Conflict { .. } => invalid(
            "consents.id_number",
            id_number,
            "this person's consent is already recorded for the application",
        ),
        other => other.into(),
    })
}

/// Records a party's consent (授权) to look-ups of their data for an open application —
/// e.g. a spouse confirming in the app after the applicant applied. Until then no
/// department is asked about them and the checks that need their data are unavailable.
pub fn record_consent(
    store: &dyn Store,
    centre: &str,
    application_no: &str,
    id_number: &str,
    how: &str,
    stamp: &Stamp,
    now: Timestamp,
) -> Result<(), AppError> {
    stamp
        .validate()
        .map_err(|e| invalid("stamp", "", &e.to_string()))?;
    let mut tx = store.begin()?;
    lock_open(&mut *tx, centre, application_no)?;
    let party = tx
        .application_parties(centre, application_no)?
        .into_iter()
        .find(|p| p.id_number == id_number);
    match party {
        Some(p) if p.role != Role::Deceased.code() => {}
        _ => {
            return Err(invalid(
                "id_number",
                id_number,
                "only a living party to the application can consent",
            ));
        }
    }
    insert_consent(&mut *tx, centre, application_no, id_number, how, stamp, now)?;
    tx.commit()?;
    Ok(())
}

fn party_names(
    tx: &mut dyn anju_store::StoreTx,
    centre: &str,
    parties: &[(String, Role)],
) -> Result<Vec<Party>, AppError> {
    let mut out = Vec::with_capacity(parties.len());
    for (id, role) in parties {
        let name = tx.member_by_id_number(centre, id)?.map(|m| m.name);
        out.push(Party {
            id_number: id.clone(),
            role: *role,
            name,
        });
    }
    Ok(out)
}

/// An application as the verification sees it.
struct Loaded {
    row: ApplicationRow,
    kind: ApplicationKind,
    checks: Vec<Check>,
    /// People whose data may be looked up: those who consented, and a deceased member.
    consented: BTreeSet<String>,
}

/// Locks an application that must exist and be open.
fn lock_open(
    tx: &mut dyn anju_store::StoreTx,
    centre: &str,
    application_no: &str,
) -> Result<ApplicationRow, AppError> {
    match tx.lock_application(centre, application_no)? {
        None => Err(AppError::NotFound {
            what: format!("application {application_no}"),
        }),
        Some(r) if r.status != "open" => Err(invalid(
            "application_no",
            application_no,
            "the application is closed: no more look-ups or changes for it",
        )),
        Some(r) => Ok(r),
    }
}

fn load(
    tx: &mut dyn anju_store::StoreTx,
    centre: &str,
    application_no: &str,
    today: Date,
) -> Result<Loaded, AppError> {
    let row = lock_open(tx, centre, application_no)?;
    let kind = ApplicationKind::from_code(&row.kind).ok_or_else(|| StoreError::Corrupt {
        what: format!("application {application_no} kind {:?}", row.kind),
    })?;
    let claims: Claims = serde_json::from_str(&row.claims).map_err(|e| StoreError::Corrupt {
        what: format!("application {application_no} claims: {e}"),
    })?;
    let mut consented: BTreeSet<String> = tx
        .consents(centre, application_no)?
        .into_iter()
        .map(|c| c.id_number)
        .collect();
    let mut pairs = Vec::new();
    for p in tx.application_parties(centre, application_no)? {
        if p.role == Role::Deceased.code() {
            consented.insert(p.id_number.clone());
        }
        let role = Role::from_code(&p.role).ok_or_else(|| StoreError::Corrupt {
            what: format!("application {application_no} role {:?}", p.role),
        })?;
        pairs.push((p.id_number, role));
    }
    let parties = party_names(tx, centre, &pairs)?;
    let checks = verify::checks_for(kind, &parties, &claims, today, city_prefix(centre))
        .map_err(|e| invalid("claims", "", &e.to_string()))?;
    Ok(Loaded {
        row,
        kind,
        checks,
        consented,
    })
}

/// The result of verifying an application.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// The application.
    pub application_no: String,
    /// Its kind.
    pub kind: ApplicationKind,
    /// One verdict per check, in the kind's order.
    pub verdicts: Vec<Verdict>,
    /// Look-ups made of departments this time.
    pub asked: usize,
    /// Answers taken from the application's cache.
    pub cached: usize,
    /// The facts the verdicts were decided from (the rules compute amounts from them).
    #[serde(skip)]
    pub facts: verify::FactSet,
}

impl Verification {
    /// Whether every check is verified (the case may be approved automatically).
    pub fn all_verified(&self) -> bool {
        self.verdicts
            .iter()
            .all(|v| v.outcome == verify::Outcome::Verified)
    }

    /// Whether some fact is unavailable (the case goes to manual review).
    pub fn any_unavailable(&self) -> bool {
        self.verdicts
            .iter()
            .any(|v| v.outcome == verify::Outcome::Unavailable)
    }
}

/// A look-up about to be made, with its log row.
struct Pending {
    key: FactKey,
    seq: i64,
}

fn answer_hash(answer: &Answer) -> Result<(String, String), AppError> {
    let payload = serde_json::to_string(answer).map_err(|e| StoreError::Corrupt {
        what: format!("cannot encode an answer: {e}"),
    })?;
    Ok((sm3_hex(payload.as_bytes()), payload))
}

/// Where look-ups go: the store that logs and caches them, the departments, the centre.
#[derive(Debug, Clone, Copy)]
pub struct Sharing<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// The departments' adapters.
    pub departments: &'a Departments,
    /// The centre.
    pub centre: &'a str,
}

/// What [`gather`] brings back.
struct Gathered {
    facts: verify::FactSet,
    asked: usize,
    cached: usize,
}

/// Fetches the facts `keys` of one application: logs, asks (all at once — one batch
/// where the exchange takes batches — without a transaction open), completes the log and
/// caches the answers. `tx` holds the
/// application's lock and is committed with the log rows.
fn gather(
    ctx: &Sharing<'_>,
    app: &Loaded,
    keys: &BTreeSet<FactKey>,
    stamp: &Stamp,
    now: Timestamp,
    mut tx: Box<dyn anju_store::StoreTx + '_>,
) -> Result<Gathered, AppError> {
    let (store, departments, centre) = (ctx.store, ctx.departments, ctx.centre);
    let application_no = app.row.application_no.as_str();
    let purpose = app.kind.purpose();
    let mut facts = BTreeMap::new();
    // 1. Log every look-up (pending), and the cache hits, in one committed transaction.
    let cache: BTreeMap<FactKey, FactRow> = tx
        .application_facts(centre, application_no)?
        .into_iter()
        .filter_map(|r| {
            let dept = r.department.clone();
            let query = Query::from_codes(&dept, &r.query)?;
            let year = if r.param.is_empty() {
                None
            } else {
                r.param.parse().ok()
            };
            Some((
                FactKey {
                    query,
                    subject: r.subject_id.clone(),
                    year,
                },
                r,
            ))
        })
        .collect();
    let first = tx.max_lookup_seq(centre, application_no)? + 1;
    let mut log = Vec::new();
    let mut pending = Vec::new();
    let mut cached = 0;
    // No consent, no look-up: those facts are unavailable with the reason.
    let (keys, unconsented): (Vec<&FactKey>, Vec<&FactKey>) = keys
        .iter()
        .partition(|k| app.consented.contains(&k.subject));
    for key in unconsented {
        facts.insert(
            key.clone(),
            Err(Unavailable {
                department: key.query.department(),
                reason: "未取得本人授权 (no consent from this person yet)".to_owned(),
            }),
        );
    }
    for (seq, key) in (first..).zip(keys) {
        let hit = cache.get(key);
        log.push(LookupRow {
            application_no: application_no.to_owned(),
            seq,
            subject_id: key.subject.clone(),
            department: key.query.department().code().to_owned(),
            query: key.query.code().to_owned(),
            param: key.param(),
            purpose: purpose.code().to_owned(),
            requester: stamp.operator.clone(),
            channel: stamp.channel.code().to_owned(),
            service_point: stamp.service_point.clone(),
            asked_at_us: now.as_microsecond(),
            outcome: if hit.is_some() { "cached" } else { "pending" }.to_owned(),
            answer_hash: hit.map(|r| r.answer_hash.clone()).unwrap_or_default(),
            source: if hit.is_some() { "cache" } else { "" }.to_owned(),
            read_at_us: hit.map(|r| r.read_at_us),
            detail: String::new(),
        });
        match hit {
            Some(r) => {
                let answer: Answer =
                    serde_json::from_str(&r.payload).map_err(|e| StoreError::Corrupt {
                        what: format!("cached fact {key:?} of {application_no}: {e}"),
                    })?;
                facts.insert(key.clone(), Ok(answer));
                cached += 1;
            }
            None => pending.push(Pending {
                key: key.clone(),
                seq,
            }),
        }
    }
    tx.insert_lookups(centre, &log)?;
    tx.commit()?;
    if pending.is_empty() {
        return Ok(Gathered {
            facts,
            asked: 0,
            cached,
        });
    }
    // 2. Ask, all at once, with no transaction open.
    let ask = |p: &Pending| Ask {
        subject: p.key.subject.clone(),
        year: p.key.year,
        purpose,
        application_no: application_no.to_owned(),
        requester: stamp.operator.clone(),
        request_id: format!("{application_no}-{}", p.seq),
    };
    // One batch when the exchange takes batches (no thread per look-up); each answer or
    // failure is its own item's.
    let asks: Vec<(FactKey, Ask)> = pending.iter().map(|p| (p.key.clone(), ask(p))).collect();
    let results = departments.fetch_many(&asks);
    // 3. Complete the log and cache the answers.
    let mut outcomes = Vec::with_capacity(pending.len());
    let mut rows = Vec::new();
    for (p, r) in pending.iter().zip(results) {
        match r {
            Ok(read) => {
                let (hash, payload) = answer_hash(&read.answer)?;
                let found = read.answer.found();
                outcomes.push(LookupOutcome {
                    seq: p.seq,
                    outcome: if found { "answered" } else { "not_found" }.to_owned(),
                    answer_hash: hash.clone(),
                    source: read.source.clone(),
                    read_at_us: Some(read.read_at.as_microsecond()),
                    detail: String::new(),
                });
                rows.push(FactRow {
                    application_no: application_no.to_owned(),
                    subject_id: p.key.subject.clone(),
                    department: p.key.query.department().code().to_owned(),
                    query: p.key.query.code().to_owned(),
                    param: p.key.param(),
                    payload,
                    answer_hash: hash,
                    source: read.source,
                    read_at_us: read.read_at.as_microsecond(),
                });
                facts.insert(p.key.clone(), Ok(read.answer));
            }
            Err(u) => {
                outcomes.push(LookupOutcome {
                    seq: p.seq,
                    outcome: "unavailable".to_owned(),
                    answer_hash: String::new(),
                    source: String::new(),
                    read_at_us: None,
                    detail: u.reason.chars().take(500).collect(),
                });
                facts.insert(p.key.clone(), Err(u));
            }
        }
    }
    // Another verification of the same application may have cached some of these
    // meanwhile: the first answer stays the evidence; ours are only logged.
    let mut tx = store.begin()?;
    tx.lock_application(centre, application_no)?;
    let have: BTreeSet<(String, String, String, String)> = tx
        .application_facts(centre, application_no)?
        .into_iter()
        .map(|r| (r.subject_id, r.department, r.query, r.param))
        .collect();
    rows.retain(|r| {
        !have.contains(&(
            r.subject_id.clone(),
            r.department.clone(),
            r.query.clone(),
            r.param.clone(),
        ))
    });
    tx.complete_lookups(centre, application_no, &outcomes)?;
    tx.insert_facts(centre, &rows)?;
    tx.commit()?;
    Ok(Gathered {
        facts,
        asked: pending.len(),
        cached,
    })
}

/// Verifies an open application: fetches the facts its kind needs (from the cache or the
/// departments), evaluates every check, and returns verified / not verified / unavailable
/// per check with reasons. Used by the withdrawal and loan use cases.
pub fn verify_application(
    ctx: &Sharing<'_>,
    application_no: &str,
    stamp: &Stamp,
    today: Date,
    now: Timestamp,
) -> Result<Verification, AppError> {
    stamp
        .validate()
        .map_err(|e| invalid("stamp", "", &e.to_string()))?;
    verify_application_with(ctx, ctx.store.begin()?, application_no, stamp, today, now)
}

/// [`verify_application`] continuing the caller's uncommitted transaction (e.g. the one
/// that opened the application): the look-ups are logged in it and it is committed
/// before any department is asked.
pub fn verify_application_with(
    ctx: &Sharing<'_>,
    mut tx: Box<dyn anju_store::StoreTx + '_>,
    application_no: &str,
    stamp: &Stamp,
    today: Date,
    now: Timestamp,
) -> Result<Verification, AppError> {
    let loaded = load(&mut *tx, ctx.centre, application_no, today)?;
    let keys: BTreeSet<FactKey> = loaded.checks.iter().flat_map(Check::needs).collect();
    let Gathered {
        facts,
        asked,
        cached,
    } = gather(ctx, &loaded, &keys, stamp, now, tx)?;
    let verdicts = loaded
        .checks
        .iter()
        .map(|c| verify::evaluate(c, &facts))
        .collect();
    Ok(Verification {
        application_no: loaded.row.application_no,
        kind: loaded.kind,
        verdicts,
        asked,
        cached,
        facts,
    })
}

/// One fact looked up by staff reviewing an application. Refused unless the application is
/// open, `key.subject` is a party to it, and its kind needs that fact.
pub fn look_up(
    ctx: &Sharing<'_>,
    application_no: &str,
    key: &FactKey,
    stamp: &Stamp,
    today: Date,
    now: Timestamp,
) -> Result<Result<Answer, Unavailable>, AppError> {
    stamp
        .validate()
        .map_err(|e| invalid("stamp", "", &e.to_string()))?;
    let centre = ctx.centre;
    let mut tx = ctx.store.begin()?;
    let loaded = load(&mut *tx, centre, application_no, today)?;
    let needed: BTreeSet<FactKey> = loaded.checks.iter().flat_map(Check::needs).collect();
    if !needed.contains(key) {
        let parties = tx.application_parties(centre, application_no)?;
        let rule = if parties.iter().any(|p| p.id_number == key.subject) {
            format!(
                "a {} application does not need {} (look-ups are limited to the facts the application needs)",
                loaded.kind, key.query
            )
        } else {
            "the person is not a party to this application: look-ups outside an application are refused".to_owned()
        };
        return Err(invalid("subject_id", &key.subject, &rule));
    }
    if !loaded.consented.contains(&key.subject) {
        return Err(invalid(
            "subject_id",
            &key.subject,
            "the person has not consented to look-ups for this application (未取得本人授权)",
        ));
    }
    let one: BTreeSet<FactKey> = [key.clone()].into_iter().collect();
    let mut got = gather(ctx, &loaded, &one, stamp, now, tx)?;
    Ok(got.facts.remove(key).unwrap_or_else(|| {
        Err(Unavailable {
            department: key.query.department(),
            reason: "not fetched".to_owned(),
        })
    }))
}

/// Closes an application: no further look-ups for it. Its log and cached facts stay.
pub fn close_application(
    store: &dyn Store,
    centre: &str,
    application_no: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let mut tx = store.begin()?;
    lock_open(&mut *tx, centre, application_no)?;
    tx.close_application(centre, application_no, now.as_microsecond())?;
    tx.commit()?;
    Ok(())
}

/// [`close_application`] inside the caller's transaction; an application already closed
/// stays as it is.
pub fn close_application_in(
    tx: &mut dyn anju_store::StoreTx,
    centre: &str,
    application_no: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    match tx.lock_application(centre, application_no)? {
        Some(a) if a.status == "open" => {
            tx.close_application(centre, application_no, now.as_microsecond())?;
            Ok(())
        }
        Some(_) => Ok(()),
        None => Err(AppError::NotFound {
            what: format!("application {application_no}"),
        }),
    }
}

/// Every look-up of a person's data, oldest first: what a member sees under "who looked
/// at my data" (查询留痕).
pub fn lookups_of_person(
    store: &dyn Store,
    centre: &str,
    id_number: &str,
) -> Result<Vec<LookupRow>, AppError> {
    IdCard::parse(id_number).map_err(|e| invalid("id_number", id_number, &e.to_string()))?;
    let mut tx = store.begin_read()?;
    Ok(tx.lookups_of_subject(centre, id_number)?)
}

/// Every look-up made for an application, in order.
pub fn lookups_of_application(
    store: &dyn Store,
    centre: &str,
    application_no: &str,
) -> Result<Vec<LookupRow>, AppError> {
    let mut tx = store.begin_read()?;
    Ok(tx.lookups_of_application(centre, application_no)?)
}
