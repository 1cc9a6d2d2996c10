-- Anju schema 12: a bill paid in full names its paying entry once, on the bill
-- (bills.paid_entry), instead of on each of its lines. A line's paying entry is its own
-- paid_entry if it was paid on its own (held money the unit assigned to named members),
-- else the bill's: every line not paid on its own is paid by the bill's entry. Reads
-- return that effective entry, so a paid month of 224,000 members no longer rewrites
-- 224,000 lines. Lines paid before this migration keep their own entry (same meaning).
-- Lines are now rarely updated, so their pages are filled again (schema 4 had left
-- room for the per-line update); pages written before keep their packing.
-- Column-for-column equal to the SQLite migration of the same number.

ALTER TABLE bills ADD COLUMN paid_entry TEXT;
ALTER TABLE bill_lines SET (fillfactor = 100);
