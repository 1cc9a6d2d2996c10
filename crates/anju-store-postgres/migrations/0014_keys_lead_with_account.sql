-- Anju schema 14: the members table's primary key becomes (account_no, centre_code), the
-- bill lines' (bill_no, line_no, centre_code) and the journal legs' account index
-- (account_no, centre_code, seq): led by the account or bill number instead of the centre
-- code. The reason is SQLite's (its B-tree comparisons are
-- settled by a key's first column when that column differs, and the centre code never
-- does); PostgreSQL finds the same rows through the same indexes either way, and both
-- backends keep the same keys and indexes (a test compares them).
-- Identical on both backends.

ALTER TABLE members DROP CONSTRAINT members_pkey;
ALTER TABLE members ADD PRIMARY KEY (account_no, centre_code);

ALTER TABLE bill_lines DROP CONSTRAINT bill_lines_pkey;
ALTER TABLE bill_lines ADD PRIMARY KEY (bill_no, line_no, centre_code);

DROP INDEX journal_legs_account;
CREATE INDEX journal_legs_account ON journal_legs (account_no, centre_code, seq);
