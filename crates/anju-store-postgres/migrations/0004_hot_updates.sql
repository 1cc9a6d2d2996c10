-- Anju schema 4 (PostgreSQL only; storage parameters, no column changes, so the schema
-- stays column-for-column equal to SQLite's): room on every page for the monthly batch's
-- row updates, as `ledger_accounts` has. Paying a month marks each bill line paid
-- (`paid_entry`) and moves each member's 缴至年月 (`paid_to`); neither column is indexed,
-- so with room on the page the new row version stays there (a HOT update) and none of
-- the table's indexes is touched. Without it, every one of those ~200,000 updates inserts
-- into every index (three on `members`, two on `bill_lines`): about ten times slower.
-- A line grows when it is paid, so its page keeps a little more than half free.
-- Pages written before this migration keep their old packing until rewritten.
ALTER TABLE bill_lines SET (fillfactor = 45);
ALTER TABLE members SET (fillfactor = 45);
