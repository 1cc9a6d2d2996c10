-- Anju schema 3: remittance bills (汇缴/补缴/灵活就业缴存 清册) and their lines, money
-- received (receipts), arrears reminders (催缴), year-end interest runs (结息), and the
-- members' paid-up month (缴至年月) and flexible-employment ratio. Column-for-column equal
-- on SQLite and PostgreSQL.

ALTER TABLE members ADD COLUMN paid_to TEXT;
ALTER TABLE members ADD COLUMN flexible_ratio BIGINT;

CREATE TABLE bills (
    centre_code   TEXT     NOT NULL REFERENCES centres (centre_code),
    bill_no       TEXT     NOT NULL,
    payer         TEXT     NOT NULL,
    kind          TEXT     NOT NULL,
    month         TEXT     NOT NULL,
    status        TEXT     NOT NULL,
    total_fen     BIGINT   NOT NULL CHECK (total_fen >= 0),
    line_count    BIGINT   NOT NULL CHECK (line_count >= 0),
    bank_code     TEXT     NOT NULL,
    due_on        DATE     NOT NULL,
    created_on    DATE     NOT NULL,
    confirmed_on  DATE,
    paid_on       DATE,
    PRIMARY KEY (centre_code, bill_no)
);
-- One monthly remittance bill per unit and month.
CREATE UNIQUE INDEX bills_remittance_month ON bills (centre_code, payer, month)
    WHERE kind = 'remit';
CREATE INDEX bills_payer ON bills (centre_code, payer, bill_no);
CREATE INDEX bills_open ON bills (centre_code, status, due_on);

CREATE TABLE bill_lines (
    centre_code   TEXT     NOT NULL REFERENCES centres (centre_code),
    bill_no       TEXT     NOT NULL,
    line_no       BIGINT   NOT NULL CHECK (line_no >= 1),
    account_no    TEXT     NOT NULL,
    name          TEXT     NOT NULL,
    month         TEXT     NOT NULL,
    base_fen      BIGINT   NOT NULL CHECK (base_fen > 0),
    unit_fen      BIGINT   NOT NULL CHECK (unit_fen >= 0),
    member_fen    BIGINT   NOT NULL CHECK (member_fen >= 0),
    notice        TEXT     NOT NULL,
    paid_entry    TEXT,
    PRIMARY KEY (centre_code, bill_no, line_no)
);
CREATE INDEX bill_lines_account ON bill_lines (centre_code, account_no, month);

CREATE TABLE receipts (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    receipt_key     TEXT     NOT NULL,
    payer           TEXT     NOT NULL,
    bill_no         TEXT,
    amount_fen      BIGINT   NOT NULL CHECK (amount_fen > 0),
    received_on     DATE     NOT NULL,
    bank_code       TEXT     NOT NULL,
    entry_key       TEXT     NOT NULL,
    recorded_at_us  BIGINT   NOT NULL,
    PRIMARY KEY (centre_code, receipt_key)
);
CREATE INDEX receipts_payer ON receipts (centre_code, payer);

CREATE TABLE reminders (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    bill_no         TEXT     NOT NULL,
    sent_on         DATE     NOT NULL,
    overdue_days    BIGINT   NOT NULL,
    amount_due_fen  BIGINT   NOT NULL,
    PRIMARY KEY (centre_code, bill_no, sent_on)
);

CREATE TABLE interest_runs (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    year            INTEGER  NOT NULL,
    period_end      DATE     NOT NULL,
    accounts        BIGINT   NOT NULL,
    total_fen       BIGINT   NOT NULL,
    entries         BIGINT   NOT NULL,
    run_on          DATE     NOT NULL,
    recorded_at_us  BIGINT   NOT NULL,
    PRIMARY KEY (centre_code, year)
);
