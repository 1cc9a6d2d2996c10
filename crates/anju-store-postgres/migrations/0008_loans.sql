-- Anju schema 8: loans (贷款) — each loan with its decision and servicing state, its
-- repayment schedule, its timeline and its signed documents. Column-for-column equal on
-- SQLite and PostgreSQL.

-- A loan, from application to payoff. What was asked for, by whom and when is fixed
-- when written; the decision and the servicing state change as it is handled. The
-- principal outstanding mirrors the ledger account 121.<loan_no> (the audit compares).
CREATE TABLE loans (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    loan_no         TEXT     NOT NULL,
    application_no  TEXT     NOT NULL,
    account_no      TEXT     NOT NULL,
    id_number       TEXT     NOT NULL,
    co_id_number    TEXT,
    co_account_no   TEXT,
    kind            TEXT     NOT NULL CHECK (kind IN ('hpf', 'combination')),
    home            TEXT     NOT NULL CHECK (home IN ('first', 'second')),
    bank_code       TEXT     NOT NULL,
    principal       BIGINT   NOT NULL CHECK (principal >= 0),
    rate_units      BIGINT   NOT NULL CHECK (rate_units >= 0),
    months          INTEGER  NOT NULL CHECK (months BETWEEN 1 AND 360),
    method          TEXT     NOT NULL CHECK (method IN ('equal-installment', 'equal-principal')),
    repay_day       INTEGER  NOT NULL CHECK (repay_day BETWEEN 1 AND 28),
    deduct_from     TEXT     NOT NULL CHECK (deduct_from IN ('card', 'fund')),
    card_no         TEXT     NOT NULL,
    status          TEXT     NOT NULL
        CHECK (status IN ('verifying', 'review', 'proposed', 'approved', 'signed',
                          'disbursing', 'active', 'paid_off', 'refused', 'cancelled')),
    signed_on       DATE,
    disbursed_on    DATE,
    closed_on       DATE,
    outstanding     BIGINT   NOT NULL CHECK (outstanding >= 0),
    risk_class      TEXT     NOT NULL CHECK (risk_class IN ('01', '02', '03', '04', '05')),
    overdue_days    INTEGER  NOT NULL CHECK (overdue_days >= 0),
    details         TEXT     NOT NULL,
    business_date   DATE     NOT NULL,
    created_at_us   BIGINT   NOT NULL,
    updated_at_us   BIGINT   NOT NULL,
    operator        TEXT     NOT NULL,
    channel         TEXT     NOT NULL,
    service_point   TEXT     NOT NULL,
    on_behalf_of    TEXT,
    PRIMARY KEY (centre_code, loan_no)
);
CREATE UNIQUE INDEX loans_application ON loans (centre_code, application_no);
-- One loan being applied for or repaid per applicant account (the statuses of
-- `anju_store::loan::APPLYING` and `SERVICING`, word for word).
CREATE UNIQUE INDEX loans_one_open ON loans (centre_code, account_no)
    WHERE status IN ('verifying', 'review', 'approved', 'signed', 'disbursing', 'proposed',
                     'active');
CREATE INDEX loans_person ON loans (centre_code, id_number);
CREATE INDEX loans_co_person ON loans (centre_code, co_id_number);
CREATE INDEX loans_status ON loans (centre_code, status);

-- A loan's repayment schedule (还款计划), one row per period; unpaid future periods are
-- rewritten when the loan is re-amortised (prepayment, re-pricing).
CREATE TABLE loan_installments (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    loan_no         TEXT     NOT NULL,
    period          INTEGER  NOT NULL CHECK (period >= 1),
    due             DATE     NOT NULL,
    principal       BIGINT   NOT NULL CHECK (principal >= 0),
    interest        BIGINT   NOT NULL CHECK (interest >= 0),
    paid_principal  BIGINT   NOT NULL CHECK (paid_principal BETWEEN 0 AND principal),
    paid_interest   BIGINT   NOT NULL CHECK (paid_interest BETWEEN 0 AND interest),
    penalty         BIGINT   NOT NULL CHECK (penalty >= 0),
    paid_penalty    BIGINT   NOT NULL CHECK (paid_penalty BETWEEN 0 AND penalty),
    status          TEXT     NOT NULL CHECK (status IN ('scheduled', 'overdue', 'paid')),
    paid_on         DATE,
    PRIMARY KEY (centre_code, loan_no, period)
);
-- The daily batch reads the unpaid installments due by a date.
CREATE INDEX loan_installments_unpaid ON loan_installments (centre_code, due)
    WHERE status IN ('scheduled', 'overdue');

-- A loan's timeline, numbered 1, 2, … .
CREATE TABLE loan_events (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    loan_no         TEXT     NOT NULL,
    seq             BIGINT   NOT NULL CHECK (seq >= 1),
    event           TEXT     NOT NULL,
    at_us           BIGINT   NOT NULL,
    operator        TEXT     NOT NULL,
    note_zh         TEXT     NOT NULL,
    note_en         TEXT     NOT NULL,
    PRIMARY KEY (centre_code, loan_no, seq)
);

-- A loan's signed documents (contracts, authorisations, payoff certificate).
CREATE TABLE loan_documents (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    doc_no          TEXT     NOT NULL,
    loan_no         TEXT     NOT NULL,
    kind            TEXT     NOT NULL,
    sm3             TEXT     NOT NULL,
    content         TEXT     NOT NULL,
    created_at_us   BIGINT   NOT NULL,
    PRIMARY KEY (centre_code, doc_no)
);
CREATE INDEX loan_documents_loan ON loan_documents (centre_code, loan_no);

-- The day closes (日终) done: one per business date, with what each job did.
CREATE TABLE day_closes (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    business_date   DATE     NOT NULL,
    closed_at_us    BIGINT   NOT NULL,
    operator        TEXT     NOT NULL,
    summary         TEXT     NOT NULL,
    PRIMARY KEY (centre_code, business_date)
);

-- The timeline, the documents and the day closes are append-only (`anju_append_only` is schema 1's).
CREATE TRIGGER loan_events_append_only BEFORE UPDATE OR DELETE ON loan_events
    FOR EACH ROW EXECUTE FUNCTION anju_append_only();
CREATE TRIGGER loan_documents_append_only BEFORE UPDATE OR DELETE ON loan_documents
    FOR EACH ROW EXECUTE FUNCTION anju_append_only();
CREATE TRIGGER day_closes_append_only BEFORE UPDATE OR DELETE ON day_closes
    FOR EACH ROW EXECUTE FUNCTION anju_append_only();

-- Loans are never deleted; what was asked for, by whom and when never changes; a final
-- status (paid_off, refused, cancelled) is never left. A paid installment is never
-- rewritten or deleted. `anju_refuse_change` is schema 6's: it runs only WHEN the change
-- breaks the rule.
CREATE TRIGGER loans_no_delete BEFORE DELETE ON loans
    FOR EACH ROW EXECUTE FUNCTION anju_append_only();
CREATE TRIGGER loans_request_fixed BEFORE UPDATE ON loans
    FOR EACH ROW
    WHEN ((NEW.centre_code, NEW.loan_no, NEW.application_no, NEW.account_no, NEW.id_number,
           NEW.co_id_number, NEW.co_account_no, NEW.business_date, NEW.created_at_us,
           NEW.operator, NEW.channel, NEW.service_point, NEW.on_behalf_of)
          IS DISTINCT FROM
          (OLD.centre_code, OLD.loan_no, OLD.application_no, OLD.account_no, OLD.id_number,
           OLD.co_id_number, OLD.co_account_no, OLD.business_date, OLD.created_at_us,
           OLD.operator, OLD.channel, OLD.service_point, OLD.on_behalf_of)
          OR (OLD.status IN ('paid_off', 'refused', 'cancelled')
              AND NEW.status IS DISTINCT FROM OLD.status))
    EXECUTE FUNCTION anju_refuse_change(
        'loans: the application never changes, nor a final status');
CREATE TRIGGER loan_installments_paid_fixed BEFORE UPDATE ON loan_installments
    FOR EACH ROW
    WHEN (OLD.status = 'paid')
    EXECUTE FUNCTION anju_refuse_change('loan_installments: a paid installment never changes');
CREATE TRIGGER loan_installments_paid_kept BEFORE DELETE ON loan_installments
    FOR EACH ROW
    WHEN (OLD.status = 'paid' OR OLD.paid_principal > 0 OR OLD.paid_interest > 0)
    EXECUTE FUNCTION anju_refuse_change('loan_installments: a paid installment is kept');
