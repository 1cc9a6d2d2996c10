-- Anju schema 1: centres, the ledger's accounts and its append-only, hash-chained journal.
-- Kept column-for-column equal to the PostgreSQL migration (a test compares them).
-- Money is integer fen (BIGINT); dates are ISO text 'YYYY-MM-DD' (DATE, NUMERIC affinity
-- keeps well-formed ISO dates as text); hashes are lower-case hex text. The journal tables
-- are WITHOUT ROWID (clustered on their keys, one B-tree each). Accounts keep a row id: the
-- store saves figures by row id, an integer seek, instead of by the 30-byte text key.

CREATE TABLE centres (
    centre_code    TEXT    NOT NULL PRIMARY KEY,
    name           TEXT    NOT NULL,
    business_date  DATE    NOT NULL,
    chain_seq      BIGINT  NOT NULL CHECK (chain_seq >= 0),
    chain_hash     TEXT    NOT NULL,
    created_at_us  BIGINT  NOT NULL
);

CREATE TABLE ledger_accounts (
    centre_code       TEXT     NOT NULL REFERENCES centres (centre_code),
    account_no        TEXT     NOT NULL,
    chart_code        TEXT     NOT NULL,
    parent_no         TEXT,
    normal_side       TEXT     NOT NULL CHECK (normal_side IN ('D', 'C')),
    non_negative      BOOLEAN  NOT NULL,
    opened_on         DATE     NOT NULL,
    balance_fen       BIGINT   NOT NULL,
    pending_out_fen   BIGINT   NOT NULL CHECK (pending_out_fen >= 0),
    pending_in_fen    BIGINT   NOT NULL CHECK (pending_in_fen >= 0),
    accrual_fen_days  BIGINT   NOT NULL,
    accrual_from      DATE     NOT NULL,
    last_change       DATE     NOT NULL,
    entry_count       BIGINT   NOT NULL CHECK (entry_count >= 0),
    PRIMARY KEY (centre_code, account_no),
    -- Member, loan and suspense accounts never go below zero (also asserted in the domain).
    CHECK (NOT non_negative OR balance_fen - pending_out_fen >= 0)
);

CREATE TABLE journal_entries (
    centre_code      TEXT    NOT NULL REFERENCES centres (centre_code),
    seq              BIGINT  NOT NULL CHECK (seq >= 1),
    idempotency_key  TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    ref_seq          BIGINT,
    tx_code          TEXT    NOT NULL,
    business_date    DATE    NOT NULL,
    value_date       DATE    NOT NULL,
    memo             TEXT    NOT NULL,
    operator         TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    service_point    TEXT    NOT NULL,
    on_behalf_of     TEXT,
    recorded_at_us   BIGINT  NOT NULL,
    hash_alg         TEXT    NOT NULL,
    body_hash        TEXT    NOT NULL,
    prev_hash        TEXT    NOT NULL,
    entry_hash       TEXT    NOT NULL,
    PRIMARY KEY (centre_code, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX journal_entries_key ON journal_entries (centre_code, idempotency_key);
-- An entry is posted, voided or reversed at most once.
CREATE UNIQUE INDEX journal_entries_ref ON journal_entries (centre_code, ref_seq)
    WHERE ref_seq IS NOT NULL;

CREATE TABLE journal_legs (
    centre_code  TEXT     NOT NULL,
    seq          BIGINT   NOT NULL,
    leg_no       INTEGER  NOT NULL CHECK (leg_no >= 0),
    account_no   TEXT     NOT NULL,
    side         TEXT     NOT NULL CHECK (side IN ('D', 'C')),
    amount_fen   BIGINT   NOT NULL CHECK (amount_fen > 0),
    PRIMARY KEY (centre_code, seq, leg_no)
) WITHOUT ROWID;
CREATE INDEX journal_legs_account ON journal_legs (centre_code, account_no, seq);

-- The journal is append-only: corrections are new (reversal) entries, never edits.
CREATE TRIGGER journal_entries_no_update BEFORE UPDATE ON journal_entries
BEGIN SELECT RAISE(ABORT, 'journal_entries is append-only'); END;
CREATE TRIGGER journal_entries_no_delete BEFORE DELETE ON journal_entries
BEGIN SELECT RAISE(ABORT, 'journal_entries is append-only'); END;
CREATE TRIGGER journal_legs_no_update BEFORE UPDATE ON journal_legs
BEGIN SELECT RAISE(ABORT, 'journal_legs is append-only'); END;
CREATE TRIGGER journal_legs_no_delete BEFORE DELETE ON journal_legs
BEGIN SELECT RAISE(ABORT, 'journal_legs is append-only'); END;
