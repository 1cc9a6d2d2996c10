-- Anju schema 5: data sharing (数据共享) — applications that may look up other
-- departments' facts, the persons party to them, the look-up log (查询留痕) and the facts
-- cached for one application. Column-for-column equal on SQLite and PostgreSQL.

CREATE TABLE applications (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    application_no  TEXT     NOT NULL,
    kind            TEXT     NOT NULL,
    purpose         TEXT     NOT NULL,
    applicant       TEXT     NOT NULL,
    claims          TEXT     NOT NULL,
    status          TEXT     NOT NULL CHECK (status IN ('open', 'closed')),
    opened_on       DATE     NOT NULL,
    opened_at_us    BIGINT   NOT NULL,
    operator        TEXT     NOT NULL,
    channel         TEXT     NOT NULL,
    service_point   TEXT     NOT NULL,
    on_behalf_of    TEXT,
    closed_at_us    BIGINT,
    PRIMARY KEY (centre_code, application_no),
    -- Closed exactly when it has a closing time.
    CHECK ((status = 'closed') = (closed_at_us IS NOT NULL))
);
CREATE INDEX applications_applicant ON applications (centre_code, applicant);

CREATE TABLE application_parties (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    application_no  TEXT     NOT NULL,
    id_number       TEXT     NOT NULL,
    role            TEXT     NOT NULL,
    PRIMARY KEY (centre_code, application_no, id_number)
);
CREATE INDEX application_parties_person ON application_parties (centre_code, id_number);

-- Consent (授权): when and how each party authorised look-ups of their data for the
-- application, and who recorded it. Written once per party, never changed.
CREATE TABLE party_consents (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    application_no  TEXT     NOT NULL,
    id_number       TEXT     NOT NULL,
    given_at_us     BIGINT   NOT NULL,
    how             TEXT     NOT NULL,
    operator        TEXT     NOT NULL,
    channel         TEXT     NOT NULL,
    service_point   TEXT     NOT NULL,
    PRIMARY KEY (centre_code, application_no, id_number)
);

-- The look-up log (查询留痕): one row per question put to another department, written
-- 'pending' before the question is sent and completed once with how it ended.
CREATE TABLE fact_lookups (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    application_no  TEXT     NOT NULL,
    seq             BIGINT   NOT NULL CHECK (seq >= 1),
    subject_id      TEXT     NOT NULL,
    department      TEXT     NOT NULL,
    query           TEXT     NOT NULL,
    param           TEXT     NOT NULL,
    purpose         TEXT     NOT NULL,
    requester       TEXT     NOT NULL,
    channel         TEXT     NOT NULL,
    service_point   TEXT     NOT NULL,
    asked_at_us     BIGINT   NOT NULL,
    outcome         TEXT     NOT NULL
        CHECK (outcome IN ('pending', 'answered', 'not_found', 'unavailable', 'cached')),
    answer_hash     TEXT     NOT NULL,
    source          TEXT     NOT NULL,
    read_at_us      BIGINT,
    detail          TEXT     NOT NULL,
    PRIMARY KEY (centre_code, application_no, seq)
);
CREATE INDEX fact_lookups_subject ON fact_lookups (centre_code, subject_id, asked_at_us);

-- Facts read for one application, kept with it (never shared across applications).
CREATE TABLE application_facts (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    application_no  TEXT     NOT NULL,
    subject_id      TEXT     NOT NULL,
    department      TEXT     NOT NULL,
    query           TEXT     NOT NULL,
    param           TEXT     NOT NULL,
    payload         TEXT     NOT NULL,
    answer_hash     TEXT     NOT NULL,
    source          TEXT     NOT NULL,
    read_at_us      BIGINT   NOT NULL,
    PRIMARY KEY (centre_code, application_no, subject_id, department, query, param)
);

-- The log is append-only, except that a pending look-up is completed once: its request
-- columns never change, and a completed row never changes again.
CREATE TRIGGER fact_lookups_no_delete BEFORE DELETE ON fact_lookups
BEGIN SELECT RAISE(ABORT, 'fact_lookups is append-only'); END;
CREATE TRIGGER fact_lookups_complete_once BEFORE UPDATE ON fact_lookups
WHEN OLD.outcome <> 'pending'
    OR NEW.centre_code IS NOT OLD.centre_code
    OR NEW.application_no IS NOT OLD.application_no
    OR NEW.seq IS NOT OLD.seq
    OR NEW.subject_id IS NOT OLD.subject_id
    OR NEW.department IS NOT OLD.department
    OR NEW.query IS NOT OLD.query
    OR NEW.param IS NOT OLD.param
    OR NEW.purpose IS NOT OLD.purpose
    OR NEW.requester IS NOT OLD.requester
    OR NEW.channel IS NOT OLD.channel
    OR NEW.service_point IS NOT OLD.service_point
    OR NEW.asked_at_us IS NOT OLD.asked_at_us
BEGIN SELECT RAISE(ABORT, 'fact_lookups: only a pending look-up is completed, once'); END;
