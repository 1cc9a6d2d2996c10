-- Anju schema 6: bank settlement (资金结算) — the commissioned banks and the fund's account
-- at each, the accounts members and units hold at those banks, every instruction sent to
-- a bank and how it ended, the bank notices received (and those refused), money that
-- arrived and where it went, and reconciliation runs with their open items (对账差异).
-- Column-for-column equal on SQLite and PostgreSQL.

-- A commissioned bank (受委托银行) and the fund's deposit account there (住房公积金专户);
-- the ledger account of that deposit is `101.<bank_code>`.
CREATE TABLE banks (
    centre_code        TEXT     NOT NULL REFERENCES centres (centre_code),
    bank_code          TEXT     NOT NULL,
    name               TEXT     NOT NULL,
    fund_account       TEXT     NOT NULL,
    fund_account_name  TEXT     NOT NULL,
    registered_on      DATE     NOT NULL,
    PRIMARY KEY (centre_code, bank_code)
);
-- One bank per fund account.
CREATE UNIQUE INDEX banks_fund_account ON banks (centre_code, fund_account);

-- A member's payout card at a commissioned bank: one per member, re-bound in place.
CREATE TABLE member_cards (
    centre_code  TEXT     NOT NULL REFERENCES centres (centre_code),
    account_no   TEXT     NOT NULL,
    bank_code    TEXT     NOT NULL,
    card_no      TEXT     NOT NULL,
    holder       TEXT     NOT NULL,
    bound_on     DATE     NOT NULL,
    PRIMARY KEY (centre_code, account_no)
);

-- A unit's own accounts at banks: where direct debits are drawn, and how the payer of
-- incoming money is recognised. An account at a bank belongs to one unit.
CREATE TABLE unit_bank_accounts (
    centre_code  TEXT     NOT NULL REFERENCES centres (centre_code),
    unit_no      TEXT     NOT NULL,
    bank_code    TEXT     NOT NULL,
    account      TEXT     NOT NULL,
    name         TEXT     NOT NULL,
    PRIMARY KEY (centre_code, bank_code, account)
);
CREATE INDEX unit_bank_accounts_unit ON unit_bank_accounts (centre_code, unit_no);

-- Every instruction sent (or about to be sent) to a bank, by its serial (流水号, the
-- idempotency key at the bank). The request is fixed when written; the outcome columns
-- (state … next_query_at_us) change as the bank answers, until the outcome is final.
CREATE TABLE settlement_instructions (
    centre_code       TEXT     NOT NULL REFERENCES centres (centre_code),
    serial            TEXT     NOT NULL,
    bank_code         TEXT     NOT NULL,
    kind              TEXT     NOT NULL,
    business_type     TEXT     NOT NULL,
    debit_account     TEXT     NOT NULL,
    credit_account    TEXT     NOT NULL,
    credit_name       TEXT     NOT NULL,
    credit_bank       TEXT,
    amount_fen        BIGINT   NOT NULL CHECK (amount_fen > 0),
    memo              TEXT     NOT NULL,
    target            TEXT     NOT NULL,
    entry_key         TEXT,
    state             TEXT     NOT NULL
        CHECK (state IN ('created', 'in_flight', 'executed', 'not_executed')),
    bank_ref          TEXT,
    value_date        DATE,
    reason            TEXT,
    business_date     DATE     NOT NULL,
    operator          TEXT     NOT NULL,
    created_at_us     BIGINT   NOT NULL,
    settled_at_us     BIGINT,
    queries           INTEGER  NOT NULL CHECK (queries >= 0),
    next_query_at_us  BIGINT,
    PRIMARY KEY (centre_code, serial),
    -- An executed instruction has the bank's reference and value date; one not executed
    -- has the bank's reason.
    CHECK (state <> 'executed' OR (bank_ref IS NOT NULL AND value_date IS NOT NULL)),
    CHECK (state <> 'not_executed' OR reason IS NOT NULL)
);
-- Those still waiting for an answer (few at any time), for the status poller.
CREATE INDEX settlement_instructions_unsettled
    ON settlement_instructions (centre_code, next_query_at_us)
    WHERE state IN ('created', 'in_flight');
-- Those executed at a bank on a value date, in serial order, for reconciliation.
CREATE INDEX settlement_instructions_executed
    ON settlement_instructions (centre_code, bank_code, value_date, serial)
    WHERE state = 'executed';

-- Verified notices from banks, kept once per (bank, notice id): a notice delivered again
-- is recognised and not applied twice.
CREATE TABLE bank_notices (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    bank_code       TEXT     NOT NULL,
    notice_id       TEXT     NOT NULL,
    kind            TEXT     NOT NULL,
    reference       TEXT     NOT NULL,
    body_hash       TEXT     NOT NULL,
    received_at_us  BIGINT   NOT NULL,
    outcome         TEXT     NOT NULL,
    PRIMARY KEY (centre_code, bank_code, notice_id)
);

-- Notices refused before they were trusted (unsigned, wrongly signed, stale, garbled):
-- logged, never applied. `seq` numbers the log in the order written (1, 2, … per centre).
CREATE TABLE notice_refusals (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    seq             BIGINT   NOT NULL CHECK (seq >= 1),
    claimed_bank    TEXT     NOT NULL,
    reason          TEXT     NOT NULL,
    body_hash       TEXT     NOT NULL,
    peer            TEXT     NOT NULL,
    received_at_us  BIGINT   NOT NULL,
    PRIMARY KEY (centre_code, seq)
);

-- Money that arrived in a fund account from someone else (a unit's transfer), once per
-- (bank, bank's reference), and where it went: paid or held against a bill, parked in
-- suspense, or assigned out of suspense by staff.
CREATE TABLE incoming_money (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    bank_code       TEXT     NOT NULL,
    bank_ref        TEXT     NOT NULL,
    amount_fen      BIGINT   NOT NULL CHECK (amount_fen > 0),
    payer_account   TEXT     NOT NULL,
    payer_name      TEXT     NOT NULL,
    memo            TEXT     NOT NULL,
    value_date      DATE     NOT NULL,
    received_at_us  BIGINT   NOT NULL,
    matched         TEXT     NOT NULL CHECK (matched IN ('bill', 'suspense', 'assigned', 'transfer')),
    bill_no         TEXT,
    note            TEXT,
    entry_key       TEXT     NOT NULL,
    assigned_key    TEXT,
    PRIMARY KEY (centre_code, bank_code, bank_ref)
);
-- A bank's credits of one value date, by reference, for reconciliation.
CREATE INDEX incoming_money_value_date
    ON incoming_money (centre_code, bank_code, value_date, bank_ref);
-- Money waiting in suspense for staff, oldest first.
CREATE INDEX incoming_money_suspense ON incoming_money (centre_code, received_at_us)
    WHERE matched = 'suspense';

-- One reconciliation of one bank account for one day; a later run of the same bank and
-- day adds a row.
CREATE TABLE recon_runs (
    centre_code         TEXT     NOT NULL REFERENCES centres (centre_code),
    bank_code           TEXT     NOT NULL,
    recon_date          DATE     NOT NULL,
    run_at_us           BIGINT   NOT NULL,
    bank_lines          BIGINT   NOT NULL CHECK (bank_lines >= 0),
    anju_lines          BIGINT   NOT NULL CHECK (anju_lines >= 0),
    bank_closing_fen    BIGINT   NOT NULL,
    ledger_balance_fen  BIGINT   NOT NULL,
    mismatches          BIGINT   NOT NULL CHECK (mismatches >= 0),
    PRIMARY KEY (centre_code, bank_code, recon_date, run_at_us)
);

-- A difference found by reconciliation (对账差异), kept from when it was first found and
-- open until resolved. Amounts are signed fen: positive into the fund account.
CREATE TABLE recon_items (
    centre_code      TEXT     NOT NULL REFERENCES centres (centre_code),
    bank_code        TEXT     NOT NULL,
    recon_date       DATE     NOT NULL,
    serial           TEXT     NOT NULL,
    kind             TEXT     NOT NULL
        CHECK (kind IN ('missing_in_anju', 'missing_at_bank', 'amount_differs', 'duplicate')),
    bank_amount_fen  BIGINT,
    anju_amount_fen  BIGINT,
    found_at_us      BIGINT   NOT NULL,
    status           TEXT     NOT NULL CHECK (status IN ('open', 'resolved')),
    resolved_at_us   BIGINT,
    resolution       TEXT,
    PRIMARY KEY (centre_code, bank_code, recon_date, serial, kind),
    -- Resolved exactly when it has a resolution time.
    CHECK ((status = 'resolved') = (resolved_at_us IS NOT NULL))
);
-- The open items, by day then serial, for staff.
CREATE INDEX recon_items_open ON recon_items (centre_code, recon_date, serial)
    WHERE status = 'open';

-- Notices, refusals and reconciliation runs are append-only (`anju_append_only` is
-- schema 1's).
CREATE TRIGGER bank_notices_append_only BEFORE UPDATE OR DELETE ON bank_notices
    FOR EACH ROW EXECUTE FUNCTION anju_append_only();
CREATE TRIGGER notice_refusals_append_only BEFORE UPDATE OR DELETE ON notice_refusals
    FOR EACH ROW EXECUTE FUNCTION anju_append_only();
CREATE TRIGGER recon_runs_append_only BEFORE UPDATE OR DELETE ON recon_runs
    FOR EACH ROW EXECUTE FUNCTION anju_append_only();

-- Refuses a change with the trigger's argument as the message. The triggers below call
-- it only WHEN a fixed column changes, so an allowed update (hundreds of thousands in a
-- settlement batch) runs no PL/pgSQL at all.
CREATE FUNCTION anju_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0];
END;
$$;

-- Instructions are never deleted; their request never changes, and a final outcome
-- (executed or not executed) never changes again.
CREATE TRIGGER settlement_instructions_no_delete BEFORE DELETE ON settlement_instructions
    FOR EACH ROW EXECUTE FUNCTION anju_append_only();
CREATE TRIGGER settlement_instructions_request_fixed BEFORE UPDATE ON settlement_instructions
    FOR EACH ROW
    WHEN ((NEW.centre_code, NEW.serial, NEW.bank_code, NEW.kind, NEW.business_type,
           NEW.debit_account, NEW.credit_account, NEW.credit_name, NEW.credit_bank,
           NEW.amount_fen, NEW.memo, NEW.target, NEW.entry_key, NEW.business_date,
           NEW.operator, NEW.created_at_us)
          IS DISTINCT FROM
          (OLD.centre_code, OLD.serial, OLD.bank_code, OLD.kind, OLD.business_type,
           OLD.debit_account, OLD.credit_account, OLD.credit_name, OLD.credit_bank,
           OLD.amount_fen, OLD.memo, OLD.target, OLD.entry_key, OLD.business_date,
           OLD.operator, OLD.created_at_us)
          OR (OLD.state IN ('executed', 'not_executed')
              AND (NEW.state, NEW.bank_ref, NEW.value_date, NEW.reason, NEW.settled_at_us)
                  IS DISTINCT FROM
                  (OLD.state, OLD.bank_ref, OLD.value_date, OLD.reason, OLD.settled_at_us)))
    EXECUTE FUNCTION anju_refuse_change(
        'settlement_instructions: the request never changes, nor a final outcome');

-- Incoming money is never deleted; only where it went (matched, bill_no, note,
-- assigned_key) changes.
CREATE TRIGGER incoming_money_no_delete BEFORE DELETE ON incoming_money
    FOR EACH ROW EXECUTE FUNCTION anju_append_only();
CREATE TRIGGER incoming_money_credit_fixed BEFORE UPDATE ON incoming_money
    FOR EACH ROW
    WHEN ((NEW.centre_code, NEW.bank_code, NEW.bank_ref, NEW.amount_fen, NEW.payer_account,
           NEW.payer_name, NEW.memo, NEW.value_date, NEW.received_at_us, NEW.entry_key)
          IS DISTINCT FROM
          (OLD.centre_code, OLD.bank_code, OLD.bank_ref, OLD.amount_fen, OLD.payer_account,
           OLD.payer_name, OLD.memo, OLD.value_date, OLD.received_at_us, OLD.entry_key))
    EXECUTE FUNCTION anju_refuse_change(
        'incoming_money: only where the money went changes');

-- Reconciliation items are never deleted; what was found, and when, never changes (only
-- status, resolved_at_us and resolution do).
CREATE TRIGGER recon_items_no_delete BEFORE DELETE ON recon_items
    FOR EACH ROW EXECUTE FUNCTION anju_append_only();
CREATE TRIGGER recon_items_finding_fixed BEFORE UPDATE ON recon_items
    FOR EACH ROW
    WHEN ((NEW.centre_code, NEW.bank_code, NEW.recon_date, NEW.serial, NEW.kind,
           NEW.bank_amount_fen, NEW.anju_amount_fen, NEW.found_at_us)
          IS DISTINCT FROM
          (OLD.centre_code, OLD.bank_code, OLD.recon_date, OLD.serial, OLD.kind,
           OLD.bank_amount_fen, OLD.anju_amount_fen, OLD.found_at_us))
    EXECUTE FUNCTION anju_refuse_change(
        'recon_items: only the resolution of an item changes');
