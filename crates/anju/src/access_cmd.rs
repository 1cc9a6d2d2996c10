//! `anju access …`: administration from the command line — service points, staff and
//! their roles, units' clerks, members' phones, the security audit log, and the generic
//! maker-checker queue (`approval`: pending, propose an unfreeze or a reversal, approve or
//! reject any pending change, policy changes included).
//!
//! Every command that changes something runs **as** a member of staff (`--as
//! staff:<id>`), whose role and service point are read from the staff table, so the CLI
//! obeys the same permission matrix and maker-checker rules as the web, and every act is
//! in the audit log under that person. `anju access bootstrap` creates the first accounts
//! on an empty staff table.

use std::path::PathBuf;

use anju_app::access::admin::{self, Actor, Bootstrap, NewClerk, NewPoint, NewStaff};
use anju_app::access::audit::{self, AuditEvent, AuditFilter, AuditOutcome, AuditRow};
use anju_domain::access::{Business, PointStatus, PointType, Role, ServicePoint, authorize};
use anju_domain::policy::Policy;
use anju_store::Store;
use clap::{Args, Subcommand};
use jiff::Timestamp;
use jiff::civil::Date;

/// Where: the database, centre and policy.
#[derive(Debug, Clone, Args)]
pub struct At {
    /// Database URL (sqlite://PATH or postgres://…).
    #[arg(long)]
    pub db: String,
    /// Centre (default: the only one in the database).
    #[arg(long)]
    pub centre: Option<String>,
    /// Centre policy file (TOML); the shipped Quzhou policy by default.
    #[arg(long)]
    pub policy: Option<PathBuf>,
}

/// Where, and as whom.
#[derive(Debug, Clone, Args)]
pub struct AtAs {
    #[command(flatten)]
    pub at: At,
    /// Who acts: `staff:<id>` (role and service point from the staff table).
    #[arg(long = "as", value_name = "staff:ID")]
    pub actor: String,
}

/// `anju access …`.
#[derive(Debug, Subcommand)]
pub enum AccessCmd {
    /// Create the back-office point, the three administrators (三员) and a manager on an
    /// empty staff table; prints their one-time passwords and TOTP enrolment URIs.
    Bootstrap {
        #[command(flatten)]
        at: At,
        /// The back-office point's code.
        #[arg(long, default_value = "backoffice")]
        point: String,
        /// Its name.
        #[arg(long, default_value = "中心内部办公网")]
        point_name: String,
        /// Its county.
        #[arg(long, default_value = "柯城区")]
        county: String,
        /// Its town.
        #[arg(long, default_value = "府山街道")]
        town: String,
        /// The system administrator's staff id.
        #[arg(long, default_value = "sysadmin")]
        system_admin: String,
        /// The security administrator's staff id.
        #[arg(long, default_value = "secadmin")]
        security_admin: String,
        /// The security audit administrator's staff id.
        #[arg(long, default_value = "auditadmin")]
        audit_admin: String,
        /// The centre manager's staff id.
        #[arg(long, default_value = "manager")]
        manager: String,
    },
    /// Service points (服务网点).
    #[command(subcommand)]
    Point(PointCmd),
    /// Staff (经办人员) and their roles.
    #[command(subcommand)]
    Staff(StaffCmd),
    /// Units' authorised clerks (单位经办人).
    #[command(subcommand)]
    Clerk(ClerkCmd),
    /// Members' sign-in phones.
    #[command(subcommand)]
    Phone(PhoneCmd),
    /// The security audit log (安全审计日志).
    #[command(subcommand)]
    AuditLog(AuditLogCmd),
    /// Changes waiting for a checker (双人复核): list, propose an unfreeze or a reversal,
    /// approve or reject any of them (role grants, policy changes too).
    #[command(subcommand)]
    Approval(ApprovalCmd),
}

/// `anju access approval …`.
#[derive(Debug, Subcommand)]
pub enum ApprovalCmd {
    /// Changes waiting for a checker, oldest first.
    Pending {
        #[command(flatten)]
        at: At,
        /// Only this business (its code, e.g. 16 unfreeze, 08 reversal, 26 policy change).
        #[arg(long)]
        business: Option<String>,
    },
    /// Propose unfreezing a frozen personal account (解冻; a counter clerk): done when an
    /// approver or the manager approves it.
    ProposeUnfreeze {
        #[command(flatten)]
        at: AtAs,
        /// Personal account number.
        #[arg(long)]
        account: String,
        /// Why (e.g. the court's release order).
        #[arg(long)]
        reason: String,
    },
    /// Propose reversing the entry that paid lines of a bill (冲正; a counter clerk): done
    /// when an approver or the manager approves it.
    ProposeReversal {
        #[command(flatten)]
        at: AtAs,
        /// Bill number.
        #[arg(long)]
        bill: String,
        /// The key of the entry that paid it.
        #[arg(long)]
        entry: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Approve a pending change (its checker: not the maker, in a checking role); the
    /// change takes effect with the approval.
    Approve {
        #[command(flatten)]
        at: AtAs,
        /// Approval number.
        #[arg(long)]
        approval: i64,
    },
    /// Reject a pending change (its checker), giving the reason.
    Reject {
        #[command(flatten)]
        at: AtAs,
        /// Approval number.
        #[arg(long)]
        approval: i64,
        /// Why.
        #[arg(long)]
        reason: String,
    },
}

/// `anju access point …`.
#[derive(Debug, Subcommand)]
pub enum PointCmd {
    /// Open a service point (system administrator).
    Open {
        #[command(flatten)]
        at: AtAs,
        /// Code (`hall-kecheng`).
        #[arg(long)]
        code: String,
        /// Name.
        #[arg(long)]
        name: String,
        /// Type: centre-hall, bank-branch, town-bank-branch, township-centre,
        /// village-station, self-service, hotline, online, back-office (or its code).
        #[arg(long = "type")]
        point_type: String,
        /// County.
        #[arg(long)]
        county: String,
        /// Town.
        #[arg(long)]
        town: String,
        /// Village (a village station).
        #[arg(long)]
        village: Option<String>,
        /// Operating bank code (a bank branch).
        #[arg(long)]
        bank: Option<String>,
        /// Business codes it handles, comma-separated, or `all` (every business possible
        /// at its type).
        #[arg(long, default_value = "all")]
        handles: String,
        /// Opening date (default: the centre's business date).
        #[arg(long)]
        opened_on: Option<Date>,
    },
    /// Close a service point (system administrator).
    Close {
        #[command(flatten)]
        at: AtAs,
        /// Code.
        #[arg(long)]
        code: String,
        /// Closing date (default: the centre's business date).
        #[arg(long)]
        on: Option<Date>,
    },
    /// Reopen a closed service point (system administrator).
    Reopen {
        #[command(flatten)]
        at: AtAs,
        /// Code.
        #[arg(long)]
        code: String,
    },
    /// List service points.
    List {
        #[command(flatten)]
        at: At,
        /// Only this type.
        #[arg(long = "type")]
        point_type: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `anju access staff …`.
#[derive(Debug, Subcommand)]
pub enum StaffCmd {
    /// Create a member of staff (security administrator); the role takes effect once a
    /// manager confirms it (`confirm-role`).
    Create {
        #[command(flatten)]
        at: AtAs,
        /// Staff id.
        #[arg(long)]
        id: String,
        /// Name.
        #[arg(long)]
        name: String,
        /// Role: its code (`03`) or name (`counter-clerk`, `approver`, …).
        #[arg(long)]
        role: String,
        /// Service point code.
        #[arg(long)]
        point: String,
        /// Initial password (default: a random one, printed once).
        #[arg(long)]
        password: Option<String>,
    },
    /// Issue a temporary password (security administrator); printed once.
    ResetPassword {
        #[command(flatten)]
        at: AtAs,
        /// Staff id.
        #[arg(long)]
        id: String,
    },
    /// Disable an account and end its sessions (security administrator).
    Disable {
        #[command(flatten)]
        at: AtAs,
        /// Staff id.
        #[arg(long)]
        id: String,
    },
    /// Move a member of staff to another service point (security administrator).
    Move {
        #[command(flatten)]
        at: AtAs,
        /// Staff id.
        #[arg(long)]
        id: String,
        /// The new service point.
        #[arg(long)]
        point: String,
    },
    /// List staff (no secrets).
    List {
        #[command(flatten)]
        at: At,
        /// Only this service point.
        #[arg(long)]
        point: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Propose a role for a member of staff (security administrator).
    ProposeRole {
        #[command(flatten)]
        at: AtAs,
        /// Staff id.
        #[arg(long)]
        id: String,
        /// Role (code or name).
        #[arg(long)]
        role: String,
    },
    /// Confirm a role grant (a manager, not its maker).
    ConfirmRole {
        #[command(flatten)]
        at: AtAs,
        /// The approval number printed by `create` or `propose-role`.
        #[arg(long)]
        approval: i64,
    },
    /// Reject a role grant or any pending change (its checker).
    Reject {
        #[command(flatten)]
        at: AtAs,
        /// Approval number.
        #[arg(long)]
        approval: i64,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Pending changes waiting for a checker.
    Pending {
        #[command(flatten)]
        at: At,
    },
}

/// `anju access clerk …`.
#[derive(Debug, Subcommand)]
pub enum ClerkCmd {
    /// Authorise a unit's clerk (counter clerk at the hall).
    Authorise {
        #[command(flatten)]
        at: AtAs,
        /// Unit account number.
        #[arg(long)]
        unit: String,
        /// The clerk's resident ID number.
        #[arg(long)]
        id_number: String,
        /// Name.
        #[arg(long)]
        name: String,
        /// Mobile phone.
        #[arg(long)]
        phone: String,
        /// Initial password (default: a random one, printed once).
        #[arg(long)]
        password: Option<String>,
    },
    /// Revoke a unit clerk's authorisation.
    Revoke {
        #[command(flatten)]
        at: AtAs,
        /// Unit account number.
        #[arg(long)]
        unit: String,
        /// The clerk's resident ID number.
        #[arg(long)]
        id_number: String,
    },
}

/// `anju access phone …`.
#[derive(Debug, Subcommand)]
pub enum PhoneCmd {
    /// Bind the phone a member signs in with (counter clerk).
    Bind {
        #[command(flatten)]
        at: AtAs,
        /// The member's resident ID number.
        #[arg(long)]
        id_number: String,
        /// Mobile phone.
        #[arg(long)]
        phone: String,
    },
}

/// `anju access audit-log …`.
#[derive(Debug, Subcommand)]
pub enum AuditLogCmd {
    /// Search the log, newest first (security audit administrator; the search is logged).
    Search {
        #[command(flatten)]
        at: AtAs,
        /// Exactly this actor (`staff:k001`).
        #[arg(long = "actor")]
        by_actor: Option<String>,
        /// Exactly this subject person (resident ID number).
        #[arg(long)]
        subject: Option<String>,
        /// Exactly this action.
        #[arg(long)]
        action: Option<String>,
        /// At or after this time (RFC 3339).
        #[arg(long)]
        from: Option<Timestamp>,
        /// Before this time (RFC 3339).
        #[arg(long)]
        to: Option<Timestamp>,
        /// Rows with a seq below this (the next page).
        #[arg(long)]
        before: Option<i64>,
        /// Rows per page.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Recompute the whole chain; exit 1 if broken.
    Verify {
        #[command(flatten)]
        at: At,
    },
    /// Who handled a member's business or saw their data (security audit administrator).
    Person {
        #[command(flatten)]
        at: AtAs,
        /// The member's resident ID number.
        #[arg(long)]
        id_number: String,
        /// Rows with a seq below this (the next page).
        #[arg(long)]
        before: Option<i64>,
        /// Rows per page.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

impl AccessCmd {
    fn at(&self) -> &At {
        match self {
            AccessCmd::Bootstrap { at, .. } => at,
            AccessCmd::Point(c) => match c {
                PointCmd::Open { at, .. }
                | PointCmd::Close { at, .. }
                | PointCmd::Reopen { at, .. } => &at.at,
                PointCmd::List { at, .. } => at,
            },
            AccessCmd::Staff(c) => match c {
                StaffCmd::Create { at, .. }
                | StaffCmd::ResetPassword { at, .. }
                | StaffCmd::Disable { at, .. }
                | StaffCmd::Move { at, .. }
                | StaffCmd::ProposeRole { at, .. }
                | StaffCmd::ConfirmRole { at, .. }
                | StaffCmd::Reject { at, .. } => &at.at,
                StaffCmd::List { at, .. } | StaffCmd::Pending { at } => at,
            },
            AccessCmd::Clerk(ClerkCmd::Authorise { at, .. } | ClerkCmd::Revoke { at, .. }) => {
                &at.at
            }
            AccessCmd::Phone(PhoneCmd::Bind { at, .. }) => &at.at,
            AccessCmd::AuditLog(c) => match c {
                AuditLogCmd::Search { at, .. } | AuditLogCmd::Person { at, .. } => &at.at,
                AuditLogCmd::Verify { at } => at,
            },
            AccessCmd::Approval(c) => match c {
                ApprovalCmd::Pending { at, .. } => at,
                ApprovalCmd::ProposeUnfreeze { at, .. }
                | ApprovalCmd::ProposeReversal { at, .. }
                | ApprovalCmd::Approve { at, .. }
                | ApprovalCmd::Reject { at, .. } => &at.at,
            },
        }
    }
}

/// A role from its code (`03`) or its English name with dashes (`counter-clerk`).
pub fn parse_role(text: &str) -> anyhow::Result<Role> {
    if let Ok(r) = Role::from_code(text) {
        return Ok(r);
    }
    let want = text.trim().to_lowercase().replace(['-', '_'], " ");
    let short = |r: Role| match r {
        Role::SystemAdmin => "system admin",
        Role::SecurityAdmin => "security admin",
        Role::AuditAdmin => "audit admin",
        Role::Manager => "manager",
        Role::StationClerk => "station clerk",
        Role::BankClerk => "bank clerk",
        Role::Auditor => "auditor",
        _ => "",
    };
    Role::ALL
        .iter()
        .copied()
        .find(|&r| r.label_en() == want || short(r) == want)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "unknown role {text:?}; use a code 01-12 or a name such as counter-clerk, approver, manager, system-admin"
            )
        })
}

/// A point type from its code, store name, or name with dashes (`village-station`).
pub fn parse_point_type(text: &str) -> anyhow::Result<PointType> {
    admin::parse_point_type(&text.trim().replace('-', "_"))
        .ok_or_else(|| anyhow::anyhow!("unknown service point type {text:?}"))
}

fn parse_handles(text: &str, t: PointType) -> anyhow::Result<Vec<Business>> {
    if text.trim() == "all" {
        return Ok(ServicePoint::possible_businesses(t));
    }
    text.split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| Business::from_code(c).map_err(anyhow::Error::from))
        .collect()
}

/// `--as staff:<id>` as the acting principal (role and point from the staff table).
pub fn actor(store: &dyn Store, centre: &str, who: &str) -> anyhow::Result<Actor> {
    let Some(id) = who.strip_prefix("staff:") else {
        anyhow::bail!("--as {who:?}: give staff:<id>");
    };
    Ok(admin::staff_actor(store, centre, id)?)
}

fn business_date(store: &dyn Store, centre: &str) -> anyhow::Result<Date> {
    Ok(store
        .begin_read()?
        .centre(centre)?
        .ok_or_else(|| anyhow::anyhow!("no centre {centre}"))?
        .business_date)
}

fn password_or_new(given: Option<String>, policy: &Policy) -> anyhow::Result<(String, bool)> {
    match given {
        Some(p) => Ok((p, false)),
        None => Ok((admin::generate_password(&policy.access().password)?, true)),
    }
}

/// The viewer may read the audit log: the matrix's `view audit log` at their point; the
/// view itself is logged.
fn audit_view(
    store: &dyn Store,
    centre: &str,
    a: &Actor,
    what: String,
    subject: Option<String>,
    now: Timestamp,
) -> anyhow::Result<()> {
    let allowed = authorize(a.role, Business::ViewAuditLog, a.point_type);
    let mut e = AuditEvent {
        actor: a.id.clone(),
        actor_role: a.role.code().to_owned(),
        service_point: a.point.clone(),
        channel: a.channel,
        action: "view_audit_log".to_owned(),
        business: Some(Business::ViewAuditLog),
        subject_id: subject,
        subject_unit: None,
        object: None,
        outcome: AuditOutcome::Ok,
        detail: what,
    };
    if let Err(d) = &allowed {
        e.outcome = AuditOutcome::Denied;
        e.detail = d.to_string();
    }
    audit::record(store, centre, &e, now)?;
    allowed.map_err(|d| anyhow::anyhow!("forbidden: {d}"))
}

fn print_rows(rows: &[AuditRow], json: bool) -> anyhow::Result<()> {
    for r in rows {
        if json {
            println!(
                "{}",
                serde_json::json!({
                    "seq": r.seq, "at_us": r.at_us, "actor": r.actor, "actor_role": r.actor_role,
                    "service_point": r.service_point, "channel": r.channel, "action": r.action,
                    "business": r.business, "subject_id": r.subject_id, "subject_unit": r.subject_unit,
                    "object": r.object, "outcome": r.outcome, "detail": r.detail,
                    "entry_hash": r.entry_hash,
                })
            );
        } else {
            let at = Timestamp::from_microsecond(r.at_us)
                .map(|t| t.to_string())
                .unwrap_or_default();
            println!(
                "{}\t{at}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                r.seq,
                r.actor,
                r.actor_role,
                r.service_point,
                r.channel,
                r.action,
                r.object.as_deref().unwrap_or("-"),
                r.outcome,
                r.detail
            );
        }
    }
    Ok(())
}

/// Runs `anju access …`; returns the exit code.
pub fn run(cmd: AccessCmd) -> anyhow::Result<u8> {
    let at = cmd.at().clone();
    let store = crate::db::open(&at.db)?;
    let store = store.as_ref();
    let centre = crate::only_centre(store, at.centre.clone())?;
    let policy = crate::policy_for(store, &centre, at.policy.as_ref())?;
    let pw = policy.access().password;
    let c = centre.as_str();
    let now = Timestamp::now();
    match cmd {
        AccessCmd::Bootstrap {
            point,
            point_name,
            county,
            town,
            system_admin,
            security_admin,
            audit_admin,
            manager,
            ..
        } => {
            let people = [
                (system_admin, "系统管理员", Role::SystemAdmin),
                (security_admin, "安全保密管理员", Role::SecurityAdmin),
                (audit_admin, "安全审计员", Role::AuditAdmin),
                (manager, "中心负责人", Role::Manager),
            ];
            let mut spec = Bootstrap {
                point: NewPoint {
                    code: point.clone(),
                    name: point_name,
                    point_type: PointType::BackOffice,
                    county,
                    town,
                    village: None,
                    bank_code: None,
                    handles: ServicePoint::possible_businesses(PointType::BackOffice),
                    opened_on: business_date(store, c)?,
                },
                people: Vec::new(),
            };
            let mut passwords = Vec::new();
            for (id, name, role) in &people {
                let mut p = admin::generate_password(&pw)?;
                while anju_domain::access::check_password(&p, id, &pw).is_err() {
                    p = admin::generate_password(&pw)?;
                }
                passwords.push(p.clone());
                spec.people.push(NewStaff {
                    staff_id: id.clone(),
                    name: (*name).to_owned(),
                    role: *role,
                    service_point: point.clone(),
                    initial_password: p,
                });
            }
            let created = admin::bootstrap(store, c, &pw, &spec, now)?;
            println!(
                "bootstrapped centre {c}: back-office point {point} and {} accounts",
                created.len()
            );
            println!(
                "hand each person their line once; the password must be changed at the first sign-in"
            );
            for ((p, role), (created, password)) in spec
                .people
                .iter()
                .map(|p| (p, p.role))
                .zip(created.iter().zip(&passwords))
            {
                println!(
                    "staff:{}\t{} ({})\tpassword {password}\ttotp {}",
                    p.staff_id,
                    role.label_en(),
                    role.code(),
                    created.otpauth_uri
                );
            }
            Ok(0)
        }
        AccessCmd::Point(cmd) => match cmd {
            PointCmd::Open {
                at,
                code,
                name,
                point_type,
                county,
                town,
                village,
                bank,
                handles,
                opened_on,
            } => {
                let a = actor(store, c, &at.actor)?;
                let t = parse_point_type(&point_type)?;
                let new = NewPoint {
                    code: code.clone(),
                    name,
                    point_type: t,
                    county,
                    town,
                    village,
                    bank_code: bank,
                    handles: parse_handles(&handles, t)?,
                    opened_on: match opened_on {
                        Some(d) => d,
                        None => business_date(store, c)?,
                    },
                };
                admin::open_point(store, c, &a, &new, now)?;
                println!("opened service point {code} ({})", t.label_en());
                Ok(0)
            }
            PointCmd::Close { at, code, on } => {
                let a = actor(store, c, &at.actor)?;
                let on = match on {
                    Some(d) => d,
                    None => business_date(store, c)?,
                };
                admin::close_point(store, c, &a, &code, on, now)?;
                println!("closed service point {code} on {on}");
                Ok(0)
            }
            PointCmd::Reopen { at, code } => {
                let a = actor(store, c, &at.actor)?;
                admin::reopen_point(store, c, &a, &code, now)?;
                println!("reopened service point {code}");
                Ok(0)
            }
            PointCmd::List {
                point_type, json, ..
            } => {
                let t = point_type.as_deref().map(parse_point_type).transpose()?;
                let points = admin::list_points(store, c, t, None)?;
                for p in &points {
                    if json {
                        println!("{}", serde_json::to_string(p)?);
                    } else {
                        let handles: Vec<&str> = p.point.handles.iter().map(|b| b.code()).collect();
                        println!(
                            "{}\t{}\t{}\t{}\t{}{}\t{}",
                            p.point.code,
                            admin::point_type_name(p.point.point_type),
                            if p.point.status == PointStatus::Open {
                                "open"
                            } else {
                                "closed"
                            },
                            p.point.name,
                            p.county,
                            p.town,
                            handles.join(",")
                        );
                    }
                }
                Ok(0)
            }
        },
        AccessCmd::Staff(cmd) => match cmd {
            StaffCmd::Create {
                at,
                id,
                name,
                role,
                point,
                password,
            } => {
                let a = actor(store, c, &at.actor)?;
                let (password, generated) = password_or_new(password, &policy)?;
                let new = NewStaff {
                    staff_id: id.clone(),
                    name,
                    role: parse_role(&role)?,
                    service_point: point,
                    initial_password: password.clone(),
                };
                let created = admin::create_staff(store, c, &pw, &a, &new, now)?;
                println!("created staff:{id}");
                if generated {
                    println!("temporary password (shown once): {password}");
                }
                println!("TOTP enrolment (shown once): {}", created.otpauth_uri);
                if let Some(n) = created.approval_id {
                    println!(
                        "role {} awaits a manager: anju access staff confirm-role --approval {n}",
                        new.role.code()
                    );
                }
                Ok(0)
            }
            StaffCmd::ResetPassword { at, id } => {
                let a = actor(store, c, &at.actor)?;
                let p = admin::reset_password(store, c, &pw, &a, &id, now)?;
                println!("temporary password for staff:{id} (shown once): {p}");
                Ok(0)
            }
            StaffCmd::Disable { at, id } => {
                let a = actor(store, c, &at.actor)?;
                admin::disable_staff(store, c, &a, &id, now)?;
                println!("disabled staff:{id}");
                Ok(0)
            }
            StaffCmd::Move { at, id, point } => {
                let a = actor(store, c, &at.actor)?;
                admin::move_staff(store, c, &a, &id, &point, now)?;
                println!("moved staff:{id} to {point}");
                Ok(0)
            }
            StaffCmd::List { point, json, .. } => {
                for s in admin::list_staff(store, c, point.as_deref())? {
                    if json {
                        println!("{}", serde_json::to_string(&s)?);
                    } else {
                        println!(
                            "{}\t{}\t{}\t{}\t{}",
                            s.staff_id,
                            s.name,
                            s.role.map_or("(awaiting checker)".to_owned(), |r| format!(
                                "{} {}",
                                r.code(),
                                r.label_en()
                            )),
                            s.service_point,
                            s.status
                        );
                    }
                }
                Ok(0)
            }
            StaffCmd::ProposeRole { at, id, role } => {
                let a = actor(store, c, &at.actor)?;
                let role = parse_role(&role)?;
                let n = admin::propose_role(store, c, &a, &id, role, now)?;
                println!(
                    "role {} for staff:{id} awaits a manager: anju access staff confirm-role --approval {n}",
                    role.code()
                );
                Ok(0)
            }
            StaffCmd::ConfirmRole { at, approval } => {
                let a = actor(store, c, &at.actor)?;
                admin::confirm_role(store, c, &a, approval, now)?;
                println!("approval {approval} confirmed");
                Ok(0)
            }
            StaffCmd::Reject {
                at,
                approval,
                reason,
            } => {
                let a = actor(store, c, &at.actor)?;
                admin::decide(store, c, &a, approval, false, Some(&reason), now)?;
                println!("approval {approval} rejected");
                Ok(0)
            }
            StaffCmd::Pending { .. } => {
                for p in admin::pending(store, c, None)? {
                    println!(
                        "{}\t{}\t{}\tby {}\t{}",
                        p.id, p.business, p.object, p.maker, p.payload
                    );
                }
                Ok(0)
            }
        },
        AccessCmd::Clerk(cmd) => match cmd {
            ClerkCmd::Authorise {
                at,
                unit,
                id_number,
                name,
                phone,
                password,
            } => {
                let a = actor(store, c, &at.actor)?;
                let (password, generated) = password_or_new(password, &policy)?;
                let new = NewClerk {
                    id_number,
                    name,
                    phone,
                    initial_password: password.clone(),
                };
                admin::authorise_clerk(store, c, &pw, &a, &unit, &new, now)?;
                println!("authorised a clerk of unit {unit}");
                if generated {
                    println!("temporary password (shown once): {password}");
                }
                Ok(0)
            }
            ClerkCmd::Revoke {
                at,
                unit,
                id_number,
            } => {
                let a = actor(store, c, &at.actor)?;
                admin::revoke_clerk(store, c, &a, &unit, &id_number, now)?;
                println!("revoked the clerk's authorisation for unit {unit}");
                Ok(0)
            }
        },
        AccessCmd::Phone(PhoneCmd::Bind {
            at,
            id_number,
            phone,
        }) => {
            let a = actor(store, c, &at.actor)?;
            admin::bind_phone(store, c, &a, &id_number, &phone, now)?;
            println!(
                "bound {} to {}",
                anju_domain::access::mask_phone(&phone),
                anju_domain::access::mask_resident_id(&id_number)
            );
            Ok(0)
        }
        AccessCmd::AuditLog(cmd) => match cmd {
            AuditLogCmd::Verify { .. } => {
                let r = audit::verify(store, c)?;
                println!(
                    "{} rows checked; head {}",
                    r.rows,
                    r.head_hash.as_deref().unwrap_or("(empty)")
                );
                for p in &r.problems {
                    println!("problem: {p}");
                }
                Ok(u8::from(!r.is_clean()))
            }
            AuditLogCmd::Search {
                at,
                by_actor: who,
                subject,
                action,
                from,
                to,
                before,
                limit,
                json,
            } => {
                let a = actor(store, c, &at.actor)?;
                let filter = AuditFilter {
                    actor: who,
                    subject_id: subject.clone(),
                    action,
                    from_us: from.map(|t| t.as_microsecond()),
                    to_us: to.map(|t| t.as_microsecond()),
                };
                let asked: Vec<String> = [
                    ("actor", filter.actor.clone()),
                    ("subject", filter.subject_id.clone()),
                    ("action", filter.action.clone()),
                    ("from", from.map(|t| t.to_string())),
                    ("to", to.map(|t| t.to_string())),
                ]
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
                .collect();
                let what = format!("search {}", asked.join(" "));
                audit_view(store, c, &a, what.trim_end().to_owned(), subject, now)?;
                print_rows(&audit::search(store, c, &filter, before, limit)?, json)?;
                Ok(0)
            }
            AuditLogCmd::Person {
                at,
                id_number,
                before,
                limit,
            } => {
                let a = actor(store, c, &at.actor)?;
                audit_view(
                    store,
                    c,
                    &a,
                    "person".to_owned(),
                    Some(id_number.clone()),
                    now,
                )?;
                print_rows(
                    &audit::of_person(store, c, &id_number, before, limit)?,
                    false,
                )?;
                Ok(0)
            }
        },
        AccessCmd::Approval(cmd) => run_approval(store, c, cmd, now),
    }
}

fn run_approval(
    store: &dyn Store,
    c: &str,
    cmd: ApprovalCmd,
    now: Timestamp,
) -> anyhow::Result<u8> {
    match cmd {
        ApprovalCmd::Pending { business, .. } => {
            let business = business
                .as_deref()
                .map(|code| {
                    Business::from_code(code.trim()).map_err(|_| {
                        anyhow::anyhow!(
                            "--business {code:?}: not a business code (two digits, e.g. 16 unfreeze, 08 reversal, 26 policy change)"
                        )
                    })
                })
                .transpose()?;
            for p in admin::pending(store, c, business)? {
                let label = Business::from_code(&p.business)
                    .map(|b| b.label_en())
                    .unwrap_or("?");
                // A policy change's payload is a whole policy file: show its hash only.
                let what = match serde_json::from_str::<anju_app::access::policy::PolicyChange>(
                    &p.payload,
                ) {
                    Ok(pc) if p.business == Business::PolicyChange.code() => {
                        format!("sm3 {} on version {}", pc.sm3, pc.base_version)
                    }
                    _ => p.payload.clone(),
                };
                let at = Timestamp::from_microsecond(p.made_at_us)
                    .map(|t| t.to_string())
                    .unwrap_or_default();
                println!(
                    "{}\t{} {label}\t{}\tby {} at {at}\t{what}",
                    p.id, p.business, p.object, p.maker
                );
            }
            Ok(0)
        }
        ApprovalCmd::ProposeUnfreeze {
            at,
            account,
            reason,
        } => {
            let a = actor(store, c, &at.actor)?;
            let n = admin::propose_unfreeze(store, c, &a, &account, &reason, now)?;
            println!(
                "unfreezing personal account {account} awaits an approver: anju access approval approve --approval {n}"
            );
            Ok(0)
        }
        ApprovalCmd::ProposeReversal {
            at,
            bill,
            entry,
            reason,
        } => {
            let a = actor(store, c, &at.actor)?;
            let n = admin::propose_reversal(store, c, &a, &bill, &entry, &reason, now)?;
            println!(
                "reversing entry {entry} of bill {bill} awaits an approver: anju access approval approve --approval {n}"
            );
            Ok(0)
        }
        ApprovalCmd::Approve { at, approval } => {
            let a = actor(store, c, &at.actor)?;
            admin::decide(store, c, &a, approval, true, None, now)?;
            println!("approval {approval} approved by {}", a.id);
            Ok(0)
        }
        ApprovalCmd::Reject {
            at,
            approval,
            reason,
        } => {
            let a = actor(store, c, &at.actor)?;
            admin::decide(store, c, &a, approval, false, Some(&reason), now)?;
            println!("approval {approval} rejected by {}", a.id);
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        #[derive(Debug, clap::Parser)]
        struct Cli {
            #[command(subcommand)]
            cmd: AccessCmd,
        }
        Cli::command().debug_assert();
    }

    #[test]
    fn roles_and_point_types_parse_by_code_and_name() {
        assert_eq!(parse_role("03").unwrap(), Role::CounterClerk);
        assert_eq!(parse_role("counter-clerk").unwrap(), Role::CounterClerk);
        assert_eq!(parse_role("system-admin").unwrap(), Role::SystemAdmin);
        assert_eq!(
            parse_role("security-audit-administrator").unwrap(),
            Role::AuditAdmin
        );
        assert!(parse_role("king").is_err());
        assert_eq!(
            parse_point_type("village-station").unwrap(),
            PointType::VillageStation
        );
        assert_eq!(parse_point_type("09").unwrap(), PointType::BackOffice);
        assert_eq!(
            parse_point_type("back_office").unwrap(),
            PointType::BackOffice
        );
        assert!(parse_point_type("moon").is_err());
    }
}
