-- Anju schema 11: the loan schedule keyed for the day close (日终), as on SQLite. The
-- primary key now starts with the due date (on SQLite it orders the table, so the rows
-- one close changes are neighbours; PostgreSQL's heap tables are not ordered by it, and
-- here it is only kept equal); one row per (loan, period) by a unique index, as before;
-- a batch of repayments reads its loans' unpaid installments through a partial index on
-- (loan, due).
ALTER TABLE loan_installments DROP CONSTRAINT loan_installments_pkey;
ALTER TABLE loan_installments ADD PRIMARY KEY (centre_code, due, loan_no, period);
CREATE UNIQUE INDEX loan_installments_period ON loan_installments (centre_code, loan_no, period);
CREATE INDEX loan_installments_unpaid_loan ON loan_installments (centre_code, loan_no, due)
    WHERE status IN ('scheduled', 'overdue');
