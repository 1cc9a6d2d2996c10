-- Anju schema 7: withdrawals (提取) — the withdrawal applications with their decisions,
-- each one's status timeline, and who each one pays (the member, or each heir of a
-- deceased member). Column-for-column equal on SQLite and PostgreSQL.

-- A withdrawal application (提取申请), numbered like the data-sharing application under
-- which its facts were looked up. What was asked for, by whom and when is fixed when
-- written; the decision (mode … decided_by) and the status change as it is handled.
CREATE TABLE withdrawals (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    application_no  TEXT     NOT NULL,
    account_no      TEXT     NOT NULL,
    id_number       TEXT     NOT NULL,
    ground          TEXT     NOT NULL,
    reason_code     TEXT     NOT NULL,
    mode            TEXT     NOT NULL CHECK (mode IN ('', 'one-off', 'yearly', 'monthly')),
    home_key        TEXT     NOT NULL,
    requested       BIGINT   CHECK (requested > 0),
    amount          BIGINT   NOT NULL CHECK (amount >= 0),
    interest        BIGINT   NOT NULL CHECK (interest >= 0),
    closes_account  BOOLEAN  NOT NULL,
    status          TEXT     NOT NULL
        CHECK (status IN ('submitted', 'verifying', 'review', 'proposed', 'approved', 'paying',
                          'paid', 'refused', 'returned')),
    decision        TEXT     NOT NULL,
    reason_zh       TEXT     NOT NULL,
    reason_en       TEXT     NOT NULL,
    proposed_by     TEXT,
    decided_by      TEXT,
    business_date   DATE     NOT NULL,
    created_at_us   BIGINT   NOT NULL,
    updated_at_us   BIGINT   NOT NULL,
    operator        TEXT     NOT NULL,
    channel         TEXT     NOT NULL,
    service_point   TEXT     NOT NULL,
    on_behalf_of    TEXT,
    PRIMARY KEY (centre_code, application_no)
);
-- At most one withdrawal in flight per account and ground (the statuses of
-- `anju_store::withdrawal::IN_FLIGHT`, word for word).
CREATE UNIQUE INDEX withdrawals_in_flight ON withdrawals (centre_code, account_no, ground)
    WHERE status IN ('submitted', 'verifying', 'review', 'proposed', 'approved', 'paying');
-- An account's withdrawals; those counted against one home (both spouses' for one
-- contract, say); those in a status (the review queue).
CREATE INDEX withdrawals_account ON withdrawals (centre_code, account_no);
CREATE INDEX withdrawals_home_key ON withdrawals (centre_code, ground, home_key);
CREATE INDEX withdrawals_status ON withdrawals (centre_code, status);

-- A withdrawal's status timeline, one step per status entered, numbered 1, 2, … .
CREATE TABLE withdrawal_events (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    application_no  TEXT     NOT NULL,
    seq             BIGINT   NOT NULL CHECK (seq >= 1),
    status          TEXT     NOT NULL
        CHECK (status IN ('submitted', 'verifying', 'review', 'proposed', 'approved', 'paying',
                          'paid', 'refused', 'returned')),
    at_us           BIGINT   NOT NULL,
    operator        TEXT     NOT NULL,
    note_zh         TEXT     NOT NULL,
    note_en         TEXT     NOT NULL,
    PRIMARY KEY (centre_code, application_no, seq)
);

-- Who a withdrawal pays: the member's own card, or each heir's with their share of the
-- balance; each payment by its settlement serial (one payee per serial).
CREATE TABLE withdrawal_payees (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    application_no  TEXT     NOT NULL,
    seq             INTEGER  NOT NULL CHECK (seq >= 1),
    id_number       TEXT     NOT NULL,
    name            TEXT     NOT NULL,
    bank_code       TEXT     NOT NULL,
    card_no         TEXT     NOT NULL,
    share_num       BIGINT   NOT NULL CHECK (share_num >= 1),
    share_den       BIGINT   NOT NULL CHECK (share_den >= share_num),
    amount          BIGINT   NOT NULL CHECK (amount >= 0),
    serial          TEXT     NOT NULL,
    PRIMARY KEY (centre_code, application_no, seq)
);
CREATE UNIQUE INDEX withdrawal_payees_serial ON withdrawal_payees (centre_code, serial);

-- The timeline and the payees are append-only (`anju_append_only` is schema 1's).
CREATE TRIGGER withdrawal_events_append_only BEFORE UPDATE OR DELETE ON withdrawal_events
    FOR EACH ROW EXECUTE FUNCTION anju_append_only();
CREATE TRIGGER withdrawal_payees_append_only BEFORE UPDATE OR DELETE ON withdrawal_payees
    FOR EACH ROW EXECUTE FUNCTION anju_append_only();

-- Withdrawals are never deleted; what was asked for, by whom and when never changes; and
-- a final status (paid, refused, returned) is never left — except that a payment the
-- bank returned may be paid again (returned → paying). `anju_refuse_change` is schema
-- 6's: it runs only WHEN the update breaks the rule.
CREATE TRIGGER withdrawals_no_delete BEFORE DELETE ON withdrawals
    FOR EACH ROW EXECUTE FUNCTION anju_append_only();
CREATE TRIGGER withdrawals_request_fixed BEFORE UPDATE ON withdrawals
    FOR EACH ROW
    WHEN ((NEW.centre_code, NEW.application_no, NEW.account_no, NEW.id_number, NEW.ground,
           NEW.reason_code, NEW.requested, NEW.business_date, NEW.created_at_us,
           NEW.operator, NEW.channel, NEW.service_point, NEW.on_behalf_of)
          IS DISTINCT FROM
          (OLD.centre_code, OLD.application_no, OLD.account_no, OLD.id_number, OLD.ground,
           OLD.reason_code, OLD.requested, OLD.business_date, OLD.created_at_us,
           OLD.operator, OLD.channel, OLD.service_point, OLD.on_behalf_of)
          OR (OLD.status IN ('paid', 'refused', 'returned')
              AND NEW.status IS DISTINCT FROM OLD.status
              AND NOT (OLD.status = 'returned' AND NEW.status = 'paying')))
    EXECUTE FUNCTION anju_refuse_change(
        'withdrawals: the application never changes, nor a final status (but returned → paying)');
