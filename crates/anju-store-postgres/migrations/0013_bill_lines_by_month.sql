-- Anju schema 13: a bill line is found by member through (centre, month, account)
-- instead of (centre, account, month). The monthly batch writes one line per member, all
-- of the same month: under the old order each landed beside that member's earlier months,
-- a random page of an index that grows every month; under the new order they all go into
-- the month's own, small and hot, part of the index. A member's months are read by
-- visiting each month present (a skip scan written as a recursive query: one seek per
-- month of the centre's history), which is what 缴至年月, statements, back-payment and
-- loan checks need.
-- Identical on both backends.

DROP INDEX bill_lines_account;
CREATE INDEX bill_lines_month_account ON bill_lines (centre_code, month, account_no);
