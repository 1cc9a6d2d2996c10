-- Anju schema 11: the loan schedule laid out for the day close (日终). Issue 7's daily
-- batch changes the rows due on one date across every loan; stored in loan order (schema
-- 8), each of those rows sat on its own page, so a close of 25,000 repayments rewrote
-- 25,000 pages. The schedule is now stored by due date (a WITHOUT ROWID table whose key
-- starts with the due date): the rows a close changes are neighbours, and its servicing
-- write finds each by the full key. A loan's rows are found through a unique index on
-- (loan, period), its unpaid ones through a partial index on (loan, due). Same columns, constraints and triggers as schema 8; PostgreSQL (heap
-- tables, no clustering) takes the same keys.
DROP TRIGGER loan_installments_paid_fixed;
DROP TRIGGER loan_installments_paid_kept;
DROP INDEX loan_installments_unpaid;
CREATE TABLE loan_installments_by_due (
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
    PRIMARY KEY (centre_code, due, loan_no, period)
) WITHOUT ROWID;
INSERT INTO loan_installments_by_due (centre_code, loan_no, period, due, principal,
    interest, paid_principal, paid_interest, penalty, paid_penalty, status, paid_on)
SELECT centre_code, loan_no, period, due, principal, interest, paid_principal,
    paid_interest, penalty, paid_penalty, status, paid_on
FROM loan_installments;
DROP TABLE loan_installments;
ALTER TABLE loan_installments_by_due RENAME TO loan_installments;
-- One row per (loan, period), as schema 8's primary key said.
CREATE UNIQUE INDEX loan_installments_period ON loan_installments (centre_code, loan_no, period);
-- The daily batch reads the unpaid installments due by a date …
CREATE INDEX loan_installments_unpaid ON loan_installments (centre_code, due)
    WHERE status IN ('scheduled', 'overdue');
-- … and a batch of repayments those of its loans.
CREATE INDEX loan_installments_unpaid_loan ON loan_installments (centre_code, loan_no, due)
    WHERE status IN ('scheduled', 'overdue');
CREATE TRIGGER loan_installments_paid_fixed BEFORE UPDATE ON loan_installments
WHEN OLD.status = 'paid'
BEGIN SELECT RAISE(ABORT, 'loan_installments: a paid installment never changes'); END;
CREATE TRIGGER loan_installments_paid_kept BEFORE DELETE ON loan_installments
WHEN OLD.status = 'paid' OR OLD.paid_principal > 0 OR OLD.paid_interest > 0
BEGIN SELECT RAISE(ABORT, 'loan_installments: a paid installment is kept'); END;

-- The guard of a loan's request and final status (schema 8) now fires only for updates
-- that set one of the columns it compares: the day close's servicing write (principal
-- outstanding, risk class, overdue days) no longer evaluates it for every loan.
DROP TRIGGER loans_request_fixed;
CREATE TRIGGER loans_request_fixed BEFORE UPDATE OF centre_code, loan_no, application_no,
    account_no, id_number, co_id_number, co_account_no, business_date, created_at_us,
    operator, channel, service_point, on_behalf_of, status ON loans
WHEN NEW.centre_code IS NOT OLD.centre_code
    OR NEW.loan_no IS NOT OLD.loan_no
    OR NEW.application_no IS NOT OLD.application_no
    OR NEW.account_no IS NOT OLD.account_no
    OR NEW.id_number IS NOT OLD.id_number
    OR NEW.co_id_number IS NOT OLD.co_id_number
    OR NEW.co_account_no IS NOT OLD.co_account_no
    OR NEW.business_date IS NOT OLD.business_date
    OR NEW.created_at_us IS NOT OLD.created_at_us
    OR NEW.operator IS NOT OLD.operator
    OR NEW.channel IS NOT OLD.channel
    OR NEW.service_point IS NOT OLD.service_point
    OR NEW.on_behalf_of IS NOT OLD.on_behalf_of
    OR (OLD.status IN ('paid_off', 'refused', 'cancelled') AND NEW.status IS NOT OLD.status)
BEGIN
    SELECT RAISE(ABORT, 'loans: the application never changes, nor a final status');
END;
