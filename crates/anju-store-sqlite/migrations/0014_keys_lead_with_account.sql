-- Anju schema 14: the keys the monthly batch seeks once per member lead with the account
-- or bill number instead of the centre code: the members table's primary key becomes
-- (account_no, centre_code), the bill lines' (bill_no, line_no, centre_code) and the
-- journal legs' account index (account_no, centre_code, seq). A B-tree seek compares the
-- key's first column first; when that column is the centre code it is equal in every
-- comparison (one centre per database is the rule), so every step of every seek fell
-- through to the general record comparison. Led by the account or bill number, almost
-- every comparison is settled by its first column. Every query that used these keys
-- names both columns, so it finds the same rows through the same index; a database
-- holding several centres still works, and a query over one centre's members scans them
-- all, as it did for a single centre.
-- Identical on both backends.

CREATE TABLE members_new (
    centre_code    TEXT    NOT NULL REFERENCES centres (centre_code),
    account_no     TEXT    NOT NULL,
    id_number      TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    unit_no        TEXT,
    base_fen       BIGINT  NOT NULL CHECK (base_fen >= 0),
    status         TEXT    NOT NULL,
    before_freeze  TEXT,
    opened_on      DATE    NOT NULL,
    paid_to        TEXT,
    flexible_ratio BIGINT,
    PRIMARY KEY (account_no, centre_code)
) WITHOUT ROWID;
INSERT INTO members_new (centre_code, account_no, id_number, name, unit_no, base_fen, status,
    before_freeze, opened_on, paid_to, flexible_ratio)
SELECT centre_code, account_no, id_number, name, unit_no, base_fen, status,
    before_freeze, opened_on, paid_to, flexible_ratio
FROM members;
DROP TABLE members;
ALTER TABLE members_new RENAME TO members;
CREATE UNIQUE INDEX members_id_number ON members (centre_code, id_number);
CREATE INDEX members_unit ON members (centre_code, unit_no);

CREATE TABLE bill_lines_new (
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
    PRIMARY KEY (bill_no, line_no, centre_code)
) WITHOUT ROWID;
INSERT INTO bill_lines_new (centre_code, bill_no, line_no, account_no, name, month,
    base_fen, unit_fen, member_fen, notice, paid_entry)
SELECT centre_code, bill_no, line_no, account_no, name, month,
    base_fen, unit_fen, member_fen, notice, paid_entry
FROM bill_lines;
DROP TABLE bill_lines;
ALTER TABLE bill_lines_new RENAME TO bill_lines;
CREATE INDEX bill_lines_month_account ON bill_lines (centre_code, month, account_no);

DROP INDEX journal_legs_account;
CREATE INDEX journal_legs_account ON journal_legs (account_no, centre_code, seq);
