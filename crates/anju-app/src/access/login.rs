//! Logins and sessions (issue 8 §2): members by phone + one-time SMS code or through the
//! identity provider (face / e-ID), unit clerks by credit code + ID number + password,
//! staff by password + TOTP. Every attempt is rate-limited, every outcome audited; a
//! session is a random bearer token of which only the SM3 hash is stored.
//!
//! What a refusal says never tells which of user and secret was wrong ("the phone number
//! or the code is wrong"), and no secret, code or full ID number reaches a log.

use anju_domain::access::{
    PointStatus, PointType, Role, ServicePoint, after_failure, is_locked, must_rotate,
    session_valid, verify_totp,
};
use anju_domain::codes::Channel;
use anju_domain::policy::Policy;
use anju_domain::stamp::Stamp;
use anju_store::access::{OtpChallengeRow, SessionRow};
use anju_store::{Store, StoreTx};
use argon2::password_hash::{PasswordHash, PasswordVerifier};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use sm3::{Digest, Sm3};
use subtle::ConstantTimeEq;

use super::audit::{self, AuditEvent, AuditOutcome};
use crate::AppError;
use crate::identity::{SmsGateway, VerifiedIdentity, mask_phone};

/// Who is signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// A member (缴存职工), by resident ID number.
    Member,
    /// A unit's clerk (单位经办人), by unit number and ID number.
    UnitClerk,
    /// Centre, station or bank staff, by staff ID.
    Staff,
}

impl SubjectKind {
    /// The store's code.
    pub const fn code(self) -> &'static str {
        match self {
            SubjectKind::Member => "member",
            SubjectKind::UnitClerk => "unit_clerk",
            SubjectKind::Staff => "staff",
        }
    }

    fn parse(code: &str) -> Option<SubjectKind> {
        [
            SubjectKind::Member,
            SubjectKind::UnitClerk,
            SubjectKind::Staff,
        ]
        .into_iter()
        .find(|k| k.code() == code)
    }
}

/// The signed-in party behind a request: who, in which role, at which service point,
/// through which channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// Member, unit clerk or staff.
    pub kind: SubjectKind,
    /// Resident ID number (member), `<unit_no>/<id_number>` (unit clerk) or staff ID.
    pub subject_id: String,
    /// The role the session acts in.
    pub role: Role,
    /// The service point the session works at.
    pub point: ServicePoint,
    /// The channel.
    pub channel: Channel,
    /// A unit clerk's unit.
    pub unit_no: Option<String>,
    /// The member's (or clerk's) resident ID number, if a person.
    pub id_number: Option<String>,
    /// The password must be changed before anything else (rotation due or reset).
    pub must_change_password: bool,
}

impl Principal {
    /// `member:<id>`, `unit:<unit>/<id>` or `staff:<id>` — the operator in stamps and the
    /// actor in the audit log.
    pub fn actor(&self) -> String {
        match self.kind {
            SubjectKind::Member => format!("member:{}", self.subject_id),
            SubjectKind::UnitClerk => format!("unit:{}", self.subject_id),
            SubjectKind::Staff => format!("staff:{}", self.subject_id),
        }
    }

    /// The stamp of a business act this principal does (for `on_behalf_of`, if any).
    pub fn stamp(&self, on_behalf_of: Option<String>) -> Stamp {
        Stamp {
            operator: self.actor(),
            channel: self.channel,
            service_point: self.point.code.clone(),
            on_behalf_of,
        }
    }

    /// An audit event by this principal.
    pub fn event(&self, action: &str, outcome: AuditOutcome, detail: String) -> AuditEvent {
        AuditEvent {
            actor: self.actor(),
            actor_role: self.role.code().to_owned(),
            service_point: self.point.code.clone(),
            channel: self.channel,
            action: action.to_owned(),
            business: None,
            subject_id: self.id_number.clone(),
            subject_unit: self.unit_no.clone(),
            object: None,
            outcome,
            detail,
        }
    }
}

/// A new session: the bearer token (shown once, never stored) and who it is.
#[derive(Debug, Clone, Serialize)]
pub struct Session {
    /// The bearer token (64 hex digits).
    pub token: String,
    /// When it ends at the latest.
    pub expires_at: Timestamp,
    /// Who signed in.
    pub principal: Principal,
    /// The device had not been seen for this person before (the member is told).
    pub new_device: bool,
}

/// A one-time code was (or would have been) sent.
#[derive(Debug, Clone, Serialize)]
pub struct CodeSent {
    /// The masked phone number.
    pub phone: String,
    /// The code is valid until.
    pub expires_at: Timestamp,
}

/// Where a login comes from: the service point, the channel and the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Service point code (`online` for the web and apps).
    pub point: String,
    /// Channel.
    pub channel: Channel,
    /// A device fingerprint the client sends (or the user agent).
    pub device: String,
}

/// The login use cases of one centre.
#[derive(Debug, Clone, Copy)]
pub struct Logins<'a> {
    /// The database.
    pub store: &'a dyn Store,
    /// The centre.
    pub centre: &'a str,
    /// The centre's policy (`[access]`).
    pub policy: &'a Policy,
    /// Where one-time codes and notices go.
    pub sms: &'a dyn SmsGateway,
}

fn invalid(field: &'static str, value: &str, rule: impl Into<String>) -> AppError {
    AppError::Invalid {
        field,
        value: value.to_owned(),
        rule: rule.into(),
    }
}

fn unauthenticated(reason: &str) -> AppError {
    AppError::Unauthenticated {
        reason: reason.to_owned(),
    }
}

/// Hex SM3 of the parts, each length-prefixed (codes and tokens are stored only so).
pub fn secret_hash(parts: &[&str]) -> String {
    let mut h = Sm3::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

/// `bytes` random bytes as hex (tokens, sign-in states and nonces).
pub fn random_hex(bytes: usize) -> Result<String, AppError> {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).map_err(|e| invalid("random", "", format!("no randomness: {e}")))?;
    Ok(hex::encode(b))
}

fn random_code() -> Result<String, AppError> {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).map_err(|e| invalid("random", "", format!("no randomness: {e}")))?;
    Ok(format!("{:06}", u64::from_be_bytes(b) % 1_000_000))
}

/// Normalises a mainland mobile number (`+86`, `0086`, spaces and dashes dropped): 11
/// digits starting with 1.
pub fn normalise_phone(phone: &str) -> Result<String, AppError> {
    crate::identity::ports::normalize_phone(phone).ok_or_else(|| {
        invalid(
            "phone",
            &mask_phone(phone),
            "must be a mainland mobile number: 11 digits starting with 1",
        )
    })
}

/// The service point as the domain sees it, from its registry row.
pub fn point_of(row: &anju_store::access::ServicePointRow) -> Result<ServicePoint, AppError> {
    let corrupt = |what: String| AppError::Store(anju_store::StoreError::Corrupt { what });
    let point_type = point_type_of_name(&row.point_type).ok_or_else(|| {
        corrupt(format!(
            "service point {}: type {}",
            row.code, row.point_type
        ))
    })?;
    let handles = row
        .businesses
        .split(',')
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(|b| {
            b.parse()
                .map_err(|_| corrupt(format!("service point {}: business {b}", row.code)))
        })
        .collect::<Result<_, _>>()?;
    Ok(ServicePoint {
        code: row.code.clone(),
        name: row.name.clone(),
        point_type,
        status: if row.status == "open" {
            PointStatus::Open
        } else {
            PointStatus::Closed
        },
        handles,
    })
}

/// The registry's name of a point type (`centre_hall`, …, `back_office`).
pub const fn point_type_name(t: PointType) -> &'static str {
    match t {
        PointType::CentreHall => "centre_hall",
        PointType::BankBranch => "bank_branch",
        PointType::TownBankBranch => "town_bank_branch",
        PointType::TownshipCentre => "township_centre",
        PointType::VillageStation => "village_station",
        PointType::SelfService => "self_service",
        PointType::Hotline => "hotline",
        PointType::Online => "online",
        PointType::BackOffice => "back_office",
    }
}

/// The point type of a registry name.
pub fn point_type_of_name(name: &str) -> Option<PointType> {
    PointType::ALL
        .iter()
        .copied()
        .find(|t| point_type_name(*t) == name)
}

/// The channel staff at a point of this type work through.
pub const fn staff_channel(t: PointType) -> Channel {
    match t {
        PointType::CentreHall | PointType::BackOffice => Channel::Counter,
        PointType::BankBranch | PointType::TownBankBranch => Channel::BankBranch,
        PointType::TownshipCentre => Channel::TownshipCentre,
        PointType::VillageStation => Channel::VillageStation,
        PointType::SelfService => Channel::SelfService,
        PointType::Hotline => Channel::Hotline,
        PointType::Online => Channel::Web,
    }
}

pub(crate) fn open_point(
    tx: &mut dyn StoreTx,
    centre: &str,
    code: &str,
) -> Result<ServicePoint, AppError> {
    let row = tx
        .service_point(centre, code)?
        .ok_or_else(|| invalid("point", code, "no such service point"))?;
    let point = point_of(&row)?;
    if point.status != PointStatus::Open {
        return Err(invalid("point", code, "the service point is closed"));
    }
    Ok(point)
}

fn anonymous(origin: &Origin, action: &str, outcome: AuditOutcome, detail: String) -> AuditEvent {
    AuditEvent {
        actor: "anonymous".to_owned(),
        actor_role: String::new(),
        service_point: origin.point.clone(),
        channel: origin.channel,
        action: action.to_owned(),
        business: None,
        subject_id: None,
        subject_unit: None,
        object: None,
        outcome,
        detail,
    }
}

impl Logins<'_> {
    fn rules(&self) -> &anju_domain::access::AccessRules {
        self.policy.access()
    }

    /// Refuses when `key` failed too often in the last minute (login and code requests).
    fn rate_limit(&self, tx: &mut dyn StoreTx, key: &str, now: Timestamp) -> Result<(), AppError> {
        let since = now - SignedDuration::from_mins(1);
        let counts = tx.count_login_attempts(self.centre, key, since.as_microsecond())?;
        let per_minute = i64::from(self.rules().login_attempts_per_minute);
        if counts.attempts >= per_minute {
            return Err(AppError::TooMany {
                reason: "too many sign-in attempts; wait a minute".to_owned(),
                retry_after_s: 60,
            });
        }
        Ok(())
    }

    /// Records a failed attempt and its audit row in their own transaction (the caller's
    /// is rolled back with its error), then returns `err`.
    fn fail(&self, key: &str, event: AuditEvent, err: AppError, now: Timestamp) -> AppError {
        let go = || -> Result<(), AppError> {
            let mut tx = self.store.begin()?;
            tx.insert_login_attempt(self.centre, key, now.as_microsecond(), false)?;
            audit::record_in(tx.as_mut(), self.centre, &event, now)?;
            tx.commit()?;
            Ok(())
        };
        if let Err(e) = go() {
            tracing::error!(error = %e, "could not record a failed sign-in");
        }
        err
    }

    /// Sends a one-time login code to a member's phone. The answer is the same whether
    /// or not the phone is bound to a member (the code is only sent when it is), so the
    /// endpoint does not tell who is a member.
    pub fn request_code(
        &self,
        phone: &str,
        origin: &Origin,
        now: Timestamp,
    ) -> Result<CodeSent, AppError> {
        let phone = normalise_phone(phone)?;
        let rules = self.rules().otp;
        let key = format!("code:{phone}");
        let mut tx = self.store.begin()?;
        open_point(tx.as_mut(), self.centre, &origin.point)?;
        self.rate_limit(tx.as_mut(), &key, now)?;
        let last = tx.open_otp(self.centre, &phone, "login", now.as_microsecond())?;
        // The day of the daily cap is the calendar day in China (UTC+8).
        let local_day = (now.as_second() + 8 * 3600).div_euclid(86_400);
        let day_start = Timestamp::from_second(local_day * 86_400 - 8 * 3600)
            .map_err(|e| invalid("now", &now.to_string(), e.to_string()))?;
        let sent_today = tx.count_otps_since(self.centre, &phone, day_start.as_microsecond())?;
        anju_domain::access::may_send(
            &rules,
            last.as_ref()
                .and_then(|o| Timestamp::from_microsecond(o.created_at_us).ok()),
            u32::try_from(sent_today).unwrap_or(u32::MAX),
            now,
        )
        .map_err(|e| AppError::TooMany {
            reason: e.to_string(),
            retry_after_s: rules.resend_interval.as_secs(),
        })?;
        let expires_at = now + rules.ttl;
        tx.insert_login_attempt(self.centre, &key, now.as_microsecond(), true)?;
        let bound = tx.phone_binding(self.centre, &phone)?;
        let code = random_code()?;
        if bound.is_some() {
            tx.insert_otp(
                self.centre,
                &OtpChallengeRow {
                    id: 0,
                    phone: phone.clone(),
                    purpose: "login".to_owned(),
                    code_hash: secret_hash(&[self.centre, &phone, &code]),
                    created_at_us: now.as_microsecond(),
                    expires_at_us: expires_at.as_microsecond(),
                    attempts: 0,
                    consumed_at_us: None,
                },
            )?;
        }
        let mut event = anonymous(
            origin,
            "login_code_requested",
            AuditOutcome::Ok,
            format!(
                "一次性验证码 → {}{}",
                mask_phone(&phone),
                if bound.is_some() {
                    ""
                } else {
                    "（未绑定，未发送）"
                }
            ),
        );
        event.subject_id = bound.as_ref().map(|b| b.id_number.clone());
        audit::record_in(tx.as_mut(), self.centre, &event, now)?;
        tx.commit()?;
        if bound.is_some() {
            let minutes = rules.ttl.as_secs() / 60;
            self.sms
                .send(
                    &phone,
                    &format!(
                        "【住房公积金】您的登录验证码为{code}，{minutes}分钟内有效。请勿告诉他人。"
                    ),
                )
                .map_err(|e| invalid("phone", &mask_phone(&phone), e.to_string()))?;
        }
        Ok(CodeSent {
            phone: mask_phone(&phone),
            expires_at,
        })
    }

    /// A member signs in with the code sent to their bound phone.
    pub fn login_with_code(
        &self,
        phone: &str,
        code: &str,
        origin: &Origin,
        now: Timestamp,
    ) -> Result<Session, AppError> {
        let phone = normalise_phone(phone)?;
        let key = format!("login:{phone}");
        let wrong = "the phone number or the code is wrong, or the code has expired";
        let mut tx = self.store.begin()?;
        self.rate_limit(tx.as_mut(), &key, now)?;
        let point = open_point(tx.as_mut(), self.centre, &origin.point)?;
        let failed = |detail: String| {
            anonymous(
                origin,
                "login_failed",
                AuditOutcome::Failed,
                format!("{} {detail}", mask_phone(&phone)),
            )
        };
        let Some(otp) = tx.open_otp(self.centre, &phone, "login", now.as_microsecond())? else {
            drop(tx);
            return Err(self.fail(
                &key,
                failed("无有效验证码".into()),
                unauthenticated(wrong),
                now,
            ));
        };
        let attempts = tx.record_otp_attempt(self.centre, otp.id)?;
        let max = i32::try_from(self.rules().otp.max_attempts).unwrap_or(i32::MAX);
        let given = secret_hash(&[self.centre, &phone, code.trim()]);
        let matches: bool = given.as_bytes().ct_eq(otp.code_hash.as_bytes()).into();
        if attempts > max || !matches {
            // The attempt count is kept (the code dies after max attempts).
            tx.insert_login_attempt(self.centre, &key, now.as_microsecond(), false)?;
            audit::record_in(
                tx.as_mut(),
                self.centre,
                &failed(format!("验证码错误（第{attempts}次）")),
                now,
            )?;
            tx.commit()?;
            return Err(unauthenticated(if attempts > max {
                "too many wrong codes: ask for a new one"
            } else {
                wrong
            }));
        }
        tx.consume_otp(self.centre, otp.id, now.as_microsecond())?;
        let binding = tx
            .phone_binding(self.centre, &phone)?
            .ok_or_else(|| unauthenticated(wrong))?;
        tx.insert_login_attempt(self.centre, &key, now.as_microsecond(), true)?;
        let session =
            self.open_member_session(tx.as_mut(), &binding.id_number, point, origin, "sms", now)?;
        tx.commit()?;
        Ok(session)
    }

    /// A member signs in with what the identity provider vouched for (face or e-ID).
    ///
    /// A person who holds no account yet may sign in this way too — the provider has
    /// verified who they are — to open a flexible-employment account by themselves
    /// (灵活就业人员线上开户); until then their session reaches no account (every view of
    /// one answers "not found") and the audit row says so.
    pub fn login_with_identity(
        &self,
        who: &VerifiedIdentity,
        origin: &Origin,
        now: Timestamp,
    ) -> Result<Session, AppError> {
        let mut tx = self.store.begin()?;
        let point = open_point(tx.as_mut(), self.centre, &origin.point)?;
        let method = who.method.code();
        let holder = tx
            .member_by_id_number(self.centre, &who.resident_id)?
            .is_some();
        let method = if holder {
            method.to_owned()
        } else {
            format!("{method}，尚未开户")
        };
        let session =
            self.open_person_session(tx.as_mut(), &who.resident_id, point, origin, &method, now)?;
        tx.commit()?;
        Ok(session)
    }

    fn open_member_session(
        &self,
        tx: &mut dyn StoreTx,
        id_number: &str,
        point: ServicePoint,
        origin: &Origin,
        method: &str,
        now: Timestamp,
    ) -> Result<Session, AppError> {
        if tx.member_by_id_number(self.centre, id_number)?.is_none() {
            return Err(unauthenticated(
                "no provident-fund account is held by this person in the centre",
            ));
        }
        self.open_person_session(tx, id_number, point, origin, method, now)
    }

    /// A session for a person (role member) whose identity is established, account or not.
    fn open_person_session(
        &self,
        tx: &mut dyn StoreTx,
        id_number: &str,
        point: ServicePoint,
        origin: &Origin,
        method: &str,
        now: Timestamp,
    ) -> Result<Session, AppError> {
        if !point.point_type.admits_channel(origin.channel) {
            return Err(invalid(
                "channel",
                origin.channel.code(),
                format!("not a channel of service point {}", point.code),
            ));
        }
        let principal = Principal {
            kind: SubjectKind::Member,
            subject_id: id_number.to_owned(),
            role: Role::Member,
            point,
            channel: origin.channel,
            unit_no: None,
            id_number: Some(id_number.to_owned()),
            must_change_password: false,
        };
        self.open_session(tx, principal, origin, method, now)
    }

    fn open_session(
        &self,
        tx: &mut dyn StoreTx,
        principal: Principal,
        origin: &Origin,
        method: &str,
        now: Timestamp,
    ) -> Result<Session, AppError> {
        let token = random_hex(32)?;
        let expires_at = now + self.rules().session.absolute;
        tx.insert_session(
            self.centre,
            &SessionRow {
                token_hash: secret_hash(&[&token]),
                subject_kind: principal.kind.code().to_owned(),
                subject_id: principal.subject_id.clone(),
                role: principal.role.code().to_owned(),
                service_point: principal.point.code.clone(),
                channel: principal.channel.code().to_owned(),
                device: origin.device.clone(),
                created_at_us: now.as_microsecond(),
                last_seen_at_us: now.as_microsecond(),
                expires_at_us: expires_at.as_microsecond(),
                revoked_at_us: None,
            },
        )?;
        let new_device = tx.remember_device(
            self.centre,
            principal.kind.code(),
            &principal.subject_id,
            &origin.device,
            now.as_microsecond(),
        )?;
        audit::record_in(
            tx,
            self.centre,
            &principal.event(
                "login",
                AuditOutcome::Ok,
                format!(
                    "登录（{method}）{}",
                    if new_device { "，新设备" } else { "" }
                ),
            ),
            now,
        )?;
        // The new-device notice goes to account holders (the phone bound to an account).
        if new_device
            && principal.kind == SubjectKind::Member
            && tx
                .member_by_id_number(self.centre, &principal.subject_id)?
                .is_some()
        {
            crate::notify::notify_new_device(
                tx,
                self.centre,
                &principal.subject_id,
                &origin.device,
                principal.channel,
                now,
            )?;
        }
        Ok(Session {
            token,
            expires_at,
            principal,
            new_device,
        })
    }

    /// A unit's clerk signs in online with the unit's credit code, their ID number and
    /// password.
    pub fn login_unit_clerk(
        &self,
        credit_code: &str,
        id_number: &str,
        password: &str,
        origin: &Origin,
        now: Timestamp,
    ) -> Result<Session, AppError> {
        let key = format!("clerk:{credit_code}/{id_number}");
        let wrong = "the credit code, ID number or password is wrong";
        let mut tx = self.store.begin()?;
        self.rate_limit(tx.as_mut(), &key, now)?;
        let point = open_point(tx.as_mut(), self.centre, &origin.point)?;
        let failed = |detail: &str| {
            let mut e = anonymous(
                origin,
                "login_failed",
                AuditOutcome::Failed,
                detail.to_owned(),
            );
            e.subject_unit = Some(credit_code.to_owned());
            e
        };
        let unit = tx.unit_by_credit_code(self.centre, credit_code)?;
        let clerk = match &unit {
            Some(u) => tx.unit_clerk(self.centre, &u.unit_no, id_number)?,
            None => None,
        };
        let (Some(unit), Some(clerk)) = (unit, clerk) else {
            drop(tx);
            return Err(self.fail(
                &key,
                failed("单位或经办人不存在"),
                unauthenticated(wrong),
                now,
            ));
        };
        if clerk.revoked_at_us.is_some() {
            drop(tx);
            return Err(self.fail(
                &key,
                failed("经办人授权已撤销"),
                unauthenticated(wrong),
                now,
            ));
        }
        let locked_until = clerk
            .locked_until_us
            .and_then(|u| Timestamp::from_microsecond(u).ok());
        if is_locked(locked_until, now) {
            drop(tx);
            return Err(self.fail(
                &key,
                failed("账户锁定中"),
                unauthenticated("locked after repeated failures; try again later"),
                now,
            ));
        }
        if !verify_password(password, &clerk.password_hash) {
            let lock = &self.rules().lockout;
            let state = after_failure(u32::try_from(clerk.failed_attempts).unwrap_or(0), now, lock);
            tx.record_unit_clerk_failure(
                self.centre,
                &unit.unit_no,
                id_number,
                i32::try_from(lock.threshold).unwrap_or(i32::MAX),
                state
                    .locked_until
                    .unwrap_or(now + lock.lock_for)
                    .as_microsecond(),
            )?;
            tx.insert_login_attempt(self.centre, &key, now.as_microsecond(), false)?;
            audit::record_in(tx.as_mut(), self.centre, &failed("口令错误"), now)?;
            tx.commit()?;
            return Err(unauthenticated(wrong));
        }
        tx.record_unit_clerk_success(self.centre, &unit.unit_no, id_number)?;
        tx.insert_login_attempt(self.centre, &key, now.as_microsecond(), true)?;
        let changed = Timestamp::from_microsecond(clerk.password_changed_at_us)
            .map_err(|e| invalid("password_changed_at", "", e.to_string()))?;
        let principal = Principal {
            kind: SubjectKind::UnitClerk,
            subject_id: format!("{}/{id_number}", unit.unit_no),
            role: Role::UnitClerk,
            point,
            channel: origin.channel,
            unit_no: Some(unit.unit_no.clone()),
            id_number: Some(id_number.to_owned()),
            must_change_password: must_rotate(changed, now, &self.rules().password),
        };
        let session = self.open_session(tx.as_mut(), principal, origin, "password", now)?;
        tx.commit()?;
        Ok(session)
    }

    /// Staff sign in at their own service point with password and TOTP code.
    pub fn login_staff(
        &self,
        staff_id: &str,
        password: &str,
        totp: &str,
        device: &str,
        now: Timestamp,
    ) -> Result<Session, AppError> {
        let key = format!("staff:{staff_id}");
        let wrong = "the staff ID, password or authenticator code is wrong";
        let mut tx = self.store.begin()?;
        self.rate_limit(tx.as_mut(), &key, now)?;
        let staff = tx.staff(self.centre, staff_id)?;
        let origin = Origin {
            point: staff
                .as_ref()
                .map_or_else(|| "unknown".to_owned(), |s| s.service_point.clone()),
            channel: Channel::Counter,
            device: device.to_owned(),
        };
        let failed = |detail: &str| {
            let mut e = anonymous(
                &origin,
                "login_failed",
                AuditOutcome::Failed,
                detail.to_owned(),
            );
            e.actor = format!("staff:{staff_id}");
            e
        };
        let Some(staff) = staff.filter(|s| s.status == "active") else {
            drop(tx);
            return Err(self.fail(
                &key,
                failed("工号不存在或已停用"),
                unauthenticated(wrong),
                now,
            ));
        };
        let locked_until = staff
            .locked_until_us
            .and_then(|u| Timestamp::from_microsecond(u).ok());
        if is_locked(locked_until, now) {
            drop(tx);
            return Err(self.fail(
                &key,
                failed("账户锁定中"),
                unauthenticated("locked after repeated failures; try again later"),
                now,
            ));
        }
        let secret = staff
            .totp_secret
            .as_deref()
            .map(anju_domain::access::base32_decode)
            .transpose()
            .map_err(|e| invalid("totp_secret", "", e.to_string()))?;
        let last_step = staff.totp_last_step.and_then(|s| u64::try_from(s).ok());
        let totp_ok = secret
            .as_deref()
            .map(|s| verify_totp(s, totp, now, last_step));
        let password_ok = verify_password(password, &staff.password_hash);
        let step = match (password_ok, totp_ok) {
            (true, Some(Ok(step))) => step,
            (_, totp) => {
                let lock = &self.rules().lockout;
                let state =
                    after_failure(u32::try_from(staff.failed_attempts).unwrap_or(0), now, lock);
                tx.record_staff_failure(
                    self.centre,
                    staff_id,
                    i32::try_from(lock.threshold).unwrap_or(i32::MAX),
                    state
                        .locked_until
                        .unwrap_or(now + lock.lock_for)
                        .as_microsecond(),
                )?;
                tx.insert_login_attempt(self.centre, &key, now.as_microsecond(), false)?;
                let why = match (password_ok, totp) {
                    (false, _) => "口令错误".to_owned(),
                    (true, None) => "未绑定动态口令".to_owned(),
                    (true, Some(Err(e))) => format!("动态口令无效：{e}"),
                    (true, Some(Ok(_))) => String::new(),
                };
                audit::record_in(tx.as_mut(), self.centre, &failed(&why), now)?;
                tx.commit()?;
                return Err(unauthenticated(wrong));
            }
        };
        if staff.role.is_empty() {
            // Created, but the role grant still waits for a manager (双人复核).
            drop(tx);
            return Err(self.fail(
                &key,
                failed("角色待审批"),
                unauthenticated("the account's role awaits a manager's confirmation"),
                now,
            ));
        }
        tx.record_staff_success(
            self.centre,
            staff_id,
            Some(i64::try_from(step).unwrap_or(i64::MAX)),
        )?;
        tx.insert_login_attempt(self.centre, &key, now.as_microsecond(), true)?;
        let role: Role = staff
            .role
            .parse()
            .map_err(|_| invalid("role", &staff.role, "unknown role"))?;
        let point = open_point(tx.as_mut(), self.centre, &staff.service_point)?;
        let changed = Timestamp::from_microsecond(staff.password_changed_at_us)
            .map_err(|e| invalid("password_changed_at", "", e.to_string()))?;
        let channel = staff_channel(point.point_type);
        let principal = Principal {
            kind: SubjectKind::Staff,
            subject_id: staff_id.to_owned(),
            role,
            point,
            channel,
            unit_no: None,
            id_number: None,
            must_change_password: must_rotate(changed, now, &self.rules().password),
        };
        let origin = Origin { channel, ..origin };
        let session = self.open_session(tx.as_mut(), principal, &origin, "password+totp", now)?;
        tx.commit()?;
        Ok(session)
    }

    /// Who a bearer token belongs to, if its session is still valid (idle and absolute
    /// timeouts from policy); the session's last use is moved on.
    pub fn authenticate(&self, token: &str, now: Timestamp) -> Result<Principal, AppError> {
        let expired = "the session has ended: sign in again";
        let hash = secret_hash(&[token.trim()]);
        let mut tx = self.store.begin()?;
        let Some(s) = tx.session(self.centre, &hash)? else {
            return Err(unauthenticated("no such session: sign in"));
        };
        let ts = |us: i64| Timestamp::from_microsecond(us).unwrap_or(Timestamp::UNIX_EPOCH);
        if s.revoked_at_us.is_some()
            || session_valid(
                ts(s.created_at_us),
                ts(s.last_seen_at_us),
                now,
                &self.rules().session,
            )
            .is_err()
        {
            return Err(unauthenticated(expired));
        }
        let kind = SubjectKind::parse(&s.subject_kind)
            .ok_or_else(|| invalid("subject_kind", &s.subject_kind, "unknown"))?;
        let role: Role = s
            .role
            .parse()
            .map_err(|_| invalid("role", &s.role, "unknown role"))?;
        let channel: Channel = s
            .channel
            .parse()
            .map_err(|_| invalid("channel", &s.channel, "unknown channel"))?;
        let point = open_point(tx.as_mut(), self.centre, &s.service_point)?;
        let (unit_no, id_number, must_change) = match kind {
            SubjectKind::Member => (None, Some(s.subject_id.clone()), false),
            SubjectKind::UnitClerk => {
                let (unit, id) = s
                    .subject_id
                    .split_once('/')
                    .ok_or_else(|| invalid("subject_id", &s.subject_id, "not <unit>/<id>"))?;
                let clerk = tx
                    .unit_clerk(self.centre, unit, id)?
                    .filter(|c| c.revoked_at_us.is_none())
                    .ok_or_else(|| unauthenticated("the clerk's authorisation was revoked"))?;
                let changed = ts(clerk.password_changed_at_us);
                (
                    Some(unit.to_owned()),
                    Some(id.to_owned()),
                    must_rotate(changed, now, &self.rules().password),
                )
            }
            SubjectKind::Staff => {
                let staff = tx
                    .staff(self.centre, &s.subject_id)?
                    .filter(|st| st.status == "active" && st.role == s.role)
                    .ok_or_else(|| unauthenticated(expired))?;
                let changed = ts(staff.password_changed_at_us);
                (
                    None,
                    None,
                    must_rotate(changed, now, &self.rules().password),
                )
            }
        };
        tx.touch_session(self.centre, &hash, now.as_microsecond())?;
        tx.commit()?;
        Ok(Principal {
            kind,
            subject_id: s.subject_id,
            role,
            point,
            channel,
            unit_no,
            id_number,
            must_change_password: must_change,
        })
    }

    /// Ends a session.
    pub fn logout(&self, token: &str, now: Timestamp) -> Result<(), AppError> {
        let principal = self.authenticate(token, now)?;
        let mut tx = self.store.begin()?;
        tx.revoke_session(
            self.centre,
            &secret_hash(&[token.trim()]),
            now.as_microsecond(),
        )?;
        audit::record_in(
            tx.as_mut(),
            self.centre,
            &principal.event("logout", AuditOutcome::Ok, "退出登录".to_owned()),
            now,
        )?;
        tx.commit()?;
        Ok(())
    }

    /// A unit clerk or staff member changes their password (required when rotation is
    /// due): the old one must be right, the new one must pass the policy and differ.
    pub fn change_password(
        &self,
        principal: &Principal,
        old: &str,
        new: &str,
        now: Timestamp,
    ) -> Result<(), AppError> {
        let rules = &self.rules().password;
        let user = match principal.kind {
            SubjectKind::Member => {
                return Err(invalid(
                    "password",
                    "",
                    "members sign in with codes or e-ID and have no password",
                ));
            }
            SubjectKind::UnitClerk => principal.id_number.clone().unwrap_or_default(),
            SubjectKind::Staff => principal.subject_id.clone(),
        };
        anju_domain::access::check_password(new, &user, rules)
            .map_err(|e| invalid("new_password", "", e.to_string()))?;
        if old == new {
            return Err(invalid("new_password", "", "must differ from the old one"));
        }
        let mut tx = self.store.begin()?;
        let stored = match principal.kind {
            SubjectKind::Staff => tx
                .staff(self.centre, &principal.subject_id)?
                .map(|s| s.password_hash),
            _ => tx
                .unit_clerk(
                    self.centre,
                    principal.unit_no.as_deref().unwrap_or_default(),
                    &user,
                )?
                .map(|c| c.password_hash),
        }
        .ok_or_else(|| unauthenticated("unknown user"))?;
        if !verify_password(old, &stored) {
            return Err(unauthenticated("the old password is wrong"));
        }
        let hash = hash_password(new)?;
        match principal.kind {
            SubjectKind::Staff => tx.set_staff_password(
                self.centre,
                &principal.subject_id,
                &hash,
                now.as_microsecond(),
            )?,
            _ => tx.set_unit_clerk_password(
                self.centre,
                principal.unit_no.as_deref().unwrap_or_default(),
                &user,
                &hash,
                now.as_microsecond(),
            )?,
        }
        audit::record_in(
            tx.as_mut(),
            self.centre,
            &principal.event("password_changed", AuditOutcome::Ok, "修改口令".to_owned()),
            now,
        )?;
        tx.commit()?;
        Ok(())
    }
}

/// An Argon2id PHC string of a password (random salt).
pub fn hash_password(password: &str) -> Result<String, AppError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| invalid("random", "", format!("no randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| invalid("salt", "", e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| invalid("password", "", e.to_string()))
}

/// Whether a password matches its stored PHC string (false for a malformed one).
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}
