-- Anju schema 9: access (issue 8) — service points (服务网点), who may sign in (staff,
-- unit clerks, members by phone), their sessions and devices, the rate-limit log, the
-- hash-chained audit log, members' notifications, and maker-checker approvals (双人复核).
-- Column-for-column equal on SQLite and PostgreSQL.
--
-- Tables numbered by `id` take it from the database (SQLite's AUTOINCREMENT rowid,
-- PostgreSQL's BIGINT identity; both 64-bit, never reused); their rows still carry and are
-- read by `centre_code`.

-- A place or channel business is done through: a hall, a commissioned bank's branch, a
-- township or village station, a self-service terminal, the hotline, online. `businesses`
-- lists the business codes it may handle, comma-separated (the application checks them).
CREATE TABLE service_points (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    code            TEXT     NOT NULL,
    name            TEXT     NOT NULL,
    point_type      TEXT     NOT NULL
        CHECK (point_type IN ('centre_hall', 'bank_branch', 'town_bank_branch',
                              'township_centre', 'village_station', 'self_service', 'hotline',
                              'online', 'back_office')),
    county          TEXT     NOT NULL,
    town            TEXT     NOT NULL,
    village         TEXT,
    bank_code       TEXT,
    businesses      TEXT     NOT NULL,
    status          TEXT     NOT NULL CHECK (status IN ('open', 'closed')),
    opened_on       DATE     NOT NULL,
    closed_on       DATE,
    PRIMARY KEY (centre_code, code),
    CHECK ((status = 'open' AND closed_on IS NULL)
           OR (status = 'closed' AND closed_on IS NOT NULL))
);
CREATE INDEX service_points_type ON service_points (centre_code, point_type);

-- The centre's and the banks' staff (经办人员), each bound to one service point.
-- `password_hash` is an Argon2 PHC string; `totp_secret` is set once enrolled and
-- `totp_last_step` is the last time step accepted (a code is never accepted twice).
CREATE TABLE staff (
    centre_code           TEXT     NOT NULL REFERENCES centres (centre_code),
    staff_id              TEXT     NOT NULL,
    name                  TEXT     NOT NULL,
    role                  TEXT     NOT NULL,
    service_point         TEXT     NOT NULL,
    password_hash         TEXT     NOT NULL,
    password_changed_at_us BIGINT  NOT NULL,
    totp_secret           TEXT,
    totp_last_step        BIGINT   CHECK (totp_last_step >= 0),
    failed_attempts       INTEGER  NOT NULL CHECK (failed_attempts >= 0),
    locked_until_us       BIGINT,
    status                TEXT     NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at_us         BIGINT   NOT NULL,
    PRIMARY KEY (centre_code, staff_id),
    FOREIGN KEY (centre_code, service_point) REFERENCES service_points (centre_code, code)
);
CREATE INDEX staff_service_point ON staff (centre_code, service_point);

-- A unit's authorised clerks (单位经办人), who sign in to the unit's online hall.
-- A revoked clerk may be authorised again (the same row, new authorisation time).
CREATE TABLE unit_clerks (
    centre_code           TEXT     NOT NULL REFERENCES centres (centre_code),
    unit_no               TEXT     NOT NULL,
    id_number             TEXT     NOT NULL,
    name                  TEXT     NOT NULL,
    phone                 TEXT     NOT NULL,
    password_hash         TEXT     NOT NULL,
    password_changed_at_us BIGINT  NOT NULL,
    failed_attempts       INTEGER  NOT NULL CHECK (failed_attempts >= 0),
    locked_until_us       BIGINT,
    authorised_at_us      BIGINT   NOT NULL,
    revoked_at_us         BIGINT,
    PRIMARY KEY (centre_code, unit_no, id_number)
);
CREATE INDEX unit_clerks_person ON unit_clerks (centre_code, id_number);

-- The mobile phone a member signs in with: one phone per person, one person per phone.
CREATE TABLE member_phones (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    id_number       TEXT     NOT NULL,
    phone           TEXT     NOT NULL,
    bound_at_us     BIGINT   NOT NULL,
    bound_by        TEXT     NOT NULL,
    PRIMARY KEY (centre_code, id_number)
);
CREATE UNIQUE INDEX member_phones_phone ON member_phones (centre_code, phone);

-- One-time codes sent by SMS (only their hash is kept); a code is consumed at most once.
CREATE TABLE otp_challenges (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    id              INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    phone           TEXT     NOT NULL,
    purpose         TEXT     NOT NULL CHECK (purpose IN ('login', 'bind')),
    code_hash       TEXT     NOT NULL,
    created_at_us   BIGINT   NOT NULL,
    expires_at_us   BIGINT   NOT NULL,
    attempts        INTEGER  NOT NULL CHECK (attempts >= 0),
    consumed_at_us  BIGINT,
    CHECK (expires_at_us > created_at_us)
);
CREATE INDEX otp_challenges_phone ON otp_challenges (centre_code, phone, created_at_us);

-- Signed-in sessions, by the hash of their token (the token itself is never stored).
CREATE TABLE sessions (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    token_hash      TEXT     NOT NULL,
    subject_kind    TEXT     NOT NULL CHECK (subject_kind IN ('member', 'unit_clerk', 'staff')),
    subject_id      TEXT     NOT NULL,
    role            TEXT     NOT NULL,
    service_point   TEXT     NOT NULL,
    channel         TEXT     NOT NULL,
    device          TEXT     NOT NULL,
    created_at_us   BIGINT   NOT NULL,
    last_seen_at_us BIGINT   NOT NULL,
    expires_at_us   BIGINT   NOT NULL,
    revoked_at_us   BIGINT,
    PRIMARY KEY (centre_code, token_hash)
);
CREATE INDEX sessions_subject ON sessions (centre_code, subject_kind, subject_id);

-- The devices each subject has signed in from (a new one triggers a notification).
CREATE TABLE known_devices (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    subject_kind    TEXT     NOT NULL CHECK (subject_kind IN ('member', 'unit_clerk', 'staff')),
    subject_id      TEXT     NOT NULL,
    device          TEXT     NOT NULL,
    first_seen_at_us BIGINT  NOT NULL,
    PRIMARY KEY (centre_code, subject_kind, subject_id, device)
);

-- Sign-in attempts for rate limiting, by key (`phone:…`, `staff:…`, `ip:…`); old rows
-- are pruned.
CREATE TABLE login_attempts (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    id              INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    attempt_key     TEXT     NOT NULL,
    at_us           BIGINT   NOT NULL,
    ok              BOOLEAN  NOT NULL
);
CREATE INDEX login_attempts_key ON login_attempts (centre_code, attempt_key, at_us);

-- Who did or saw what, where, through which channel, with what outcome: numbered 1, 2, …
-- per centre, each row's `prev_hash` the previous row's `entry_hash` (the application
-- computes the hashes; a row whose seq does not follow an existing row with that hash is
-- refused). `detail` never holds a secret.
CREATE TABLE audit_log (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    seq             BIGINT   NOT NULL CHECK (seq >= 1),
    at_us           BIGINT   NOT NULL,
    actor           TEXT     NOT NULL,
    actor_role      TEXT     NOT NULL,
    service_point   TEXT     NOT NULL,
    channel         TEXT     NOT NULL,
    action          TEXT     NOT NULL,
    business        TEXT,
    subject_id      TEXT,
    subject_unit    TEXT,
    object          TEXT,
    outcome         TEXT     NOT NULL CHECK (outcome IN ('allowed', 'denied', 'failed', 'ok')),
    detail          TEXT     NOT NULL,
    prev_hash       TEXT     NOT NULL,
    entry_hash      TEXT     NOT NULL,
    PRIMARY KEY (centre_code, seq)
);
CREATE INDEX audit_log_subject ON audit_log (centre_code, subject_id, seq);
CREATE INDEX audit_log_actor ON audit_log (centre_code, actor, seq);
CREATE INDEX audit_log_at ON audit_log (centre_code, at_us);

-- What a member wants to be told about; a kind with no row is on.
CREATE TABLE notification_prefs (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    id_number       TEXT     NOT NULL,
    kind            TEXT     NOT NULL
        CHECK (kind IN ('balance_change', 'application_status', 'new_device_login')),
    enabled         BOOLEAN  NOT NULL,
    PRIMARY KEY (centre_code, id_number, kind)
);

-- Notifications to members, pending until sent, failed or skipped (then final).
CREATE TABLE notifications (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    id              INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    id_number       TEXT     NOT NULL,
    kind            TEXT     NOT NULL
        CHECK (kind IN ('balance_change', 'application_status', 'new_device_login')),
    body            TEXT     NOT NULL,
    created_at_us   BIGINT   NOT NULL,
    status          TEXT     NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
    sent_at_us      BIGINT,
    error           TEXT,
    CHECK (status <> 'sent' OR sent_at_us IS NOT NULL)
);
CREATE INDEX notifications_pending ON notifications (centre_code, id) WHERE status = 'pending';
CREATE INDEX notifications_person ON notifications (centre_code, id_number, id);

-- The last journal seq already turned into balance-change notifications, per centre.
CREATE TABLE notify_cursors (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    last_seq        BIGINT   NOT NULL CHECK (last_seq >= 0),
    PRIMARY KEY (centre_code)
);

-- Maker-checker (双人复核): a change one person made waits for another to approve or
-- reject it. The checker is never the maker; a decision is final.
CREATE TABLE approvals (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    id              INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    business        TEXT     NOT NULL,
    object          TEXT     NOT NULL,
    payload         TEXT     NOT NULL,
    maker           TEXT     NOT NULL,
    made_at_us      BIGINT   NOT NULL,
    checker         TEXT,
    checked_at_us   BIGINT,
    decision        TEXT     NOT NULL CHECK (decision IN ('pending', 'approved', 'rejected')),
    reason          TEXT,
    CHECK (checker IS NULL OR checker <> maker),
    CHECK ((decision = 'pending' AND checker IS NULL AND checked_at_us IS NULL)
           OR (decision <> 'pending' AND checker IS NOT NULL AND checked_at_us IS NOT NULL))
);
CREATE INDEX approvals_pending ON approvals (centre_code, id) WHERE decision = 'pending';

-- The audit log and the devices seen are append-only.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER known_devices_no_update BEFORE UPDATE ON known_devices
BEGIN SELECT RAISE(ABORT, 'known_devices is append-only'); END;
CREATE TRIGGER known_devices_no_delete BEFORE DELETE ON known_devices
BEGIN SELECT RAISE(ABORT, 'known_devices is append-only'); END;
-- The audit chain has no gap: a row after the first follows the row numbered one less,
-- whose hash it carries.
CREATE TRIGGER audit_log_chained BEFORE INSERT ON audit_log
WHEN NEW.seq > 1 AND NOT EXISTS (
    SELECT 1 FROM audit_log
    WHERE centre_code = NEW.centre_code AND seq = NEW.seq - 1 AND entry_hash = NEW.prev_hash)
BEGIN
    SELECT RAISE(ABORT, 'audit_log: a row follows the previous one and carries its hash');
END;

-- Service points, staff and clerks are never deleted; their keys and
-- when they began never change.
CREATE TRIGGER service_points_no_delete BEFORE DELETE ON service_points
BEGIN SELECT RAISE(ABORT, 'service_points is append-only'); END;
CREATE TRIGGER service_points_fixed BEFORE UPDATE ON service_points
WHEN NEW.centre_code IS NOT OLD.centre_code
    OR NEW.code IS NOT OLD.code
    OR NEW.point_type IS NOT OLD.point_type
    OR NEW.opened_on IS NOT OLD.opened_on
BEGIN SELECT RAISE(ABORT, 'service_points: the code, type and opening never change'); END;
CREATE TRIGGER staff_no_delete BEFORE DELETE ON staff
BEGIN SELECT RAISE(ABORT, 'staff is append-only'); END;
CREATE TRIGGER staff_fixed BEFORE UPDATE ON staff
WHEN NEW.centre_code IS NOT OLD.centre_code
    OR NEW.staff_id IS NOT OLD.staff_id
    OR NEW.created_at_us IS NOT OLD.created_at_us
BEGIN SELECT RAISE(ABORT, 'staff: the id and creation never change'); END;
CREATE TRIGGER unit_clerks_no_delete BEFORE DELETE ON unit_clerks
BEGIN SELECT RAISE(ABORT, 'unit_clerks is append-only'); END;
CREATE TRIGGER unit_clerks_fixed BEFORE UPDATE ON unit_clerks
WHEN NEW.centre_code IS NOT OLD.centre_code
    OR NEW.unit_no IS NOT OLD.unit_no
    OR NEW.id_number IS NOT OLD.id_number
BEGIN SELECT RAISE(ABORT, 'unit_clerks: the unit and the clerk never change'); END;
-- A session's subject and start never change, and a revoked session stays revoked.
CREATE TRIGGER sessions_fixed BEFORE UPDATE ON sessions
WHEN NEW.centre_code IS NOT OLD.centre_code
    OR NEW.token_hash IS NOT OLD.token_hash
    OR NEW.subject_kind IS NOT OLD.subject_kind
    OR NEW.subject_id IS NOT OLD.subject_id
    OR NEW.role IS NOT OLD.role
    OR NEW.service_point IS NOT OLD.service_point
    OR NEW.channel IS NOT OLD.channel
    OR NEW.device IS NOT OLD.device
    OR NEW.created_at_us IS NOT OLD.created_at_us
    OR NEW.expires_at_us IS NOT OLD.expires_at_us
    OR OLD.revoked_at_us IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'sessions: a session never changes but its last use, until revoked'); END;
-- A one-time code never changes but its attempts and consumption, and is consumed once.
CREATE TRIGGER otp_challenges_fixed BEFORE UPDATE ON otp_challenges
WHEN NEW.centre_code IS NOT OLD.centre_code
    OR NEW.id IS NOT OLD.id
    OR NEW.phone IS NOT OLD.phone
    OR NEW.purpose IS NOT OLD.purpose
    OR NEW.code_hash IS NOT OLD.code_hash
    OR NEW.created_at_us IS NOT OLD.created_at_us
    OR NEW.expires_at_us IS NOT OLD.expires_at_us
    OR OLD.consumed_at_us IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'otp_challenges: a code is used once and never changes'); END;
-- A notification's text never changes, nor a final status.
CREATE TRIGGER notifications_fixed BEFORE UPDATE ON notifications
WHEN NEW.centre_code IS NOT OLD.centre_code
    OR NEW.id IS NOT OLD.id
    OR NEW.id_number IS NOT OLD.id_number
    OR NEW.kind IS NOT OLD.kind
    OR NEW.body IS NOT OLD.body
    OR NEW.created_at_us IS NOT OLD.created_at_us
    OR OLD.status <> 'pending'
BEGIN SELECT RAISE(ABORT, 'notifications: the text and a final status never change'); END;
-- What was asked for never changes, and a decided approval never changes again.
CREATE TRIGGER approvals_no_delete BEFORE DELETE ON approvals
BEGIN SELECT RAISE(ABORT, 'approvals is append-only'); END;
CREATE TRIGGER approvals_decided_once BEFORE UPDATE ON approvals
WHEN NEW.centre_code IS NOT OLD.centre_code
    OR NEW.id IS NOT OLD.id
    OR NEW.business IS NOT OLD.business
    OR NEW.object IS NOT OLD.object
    OR NEW.payload IS NOT OLD.payload
    OR NEW.maker IS NOT OLD.maker
    OR NEW.made_at_us IS NOT OLD.made_at_us
    OR OLD.decision <> 'pending'
BEGIN SELECT RAISE(ABORT, 'approvals: the request never changes, nor a decision'); END;
