-- Anju schema 2: the collection registry — units, members' personal accounts, and the
-- dated status events of both. Column-for-column equal on SQLite and PostgreSQL.

CREATE TABLE units (
    centre_code   TEXT     NOT NULL REFERENCES centres (centre_code),
    unit_no       TEXT     NOT NULL,
    credit_code   TEXT     NOT NULL,
    name          TEXT     NOT NULL,
    address       TEXT     NOT NULL,
    legal_rep     TEXT     NOT NULL,
    payday        INTEGER  NOT NULL CHECK (payday BETWEEN 1 AND 31),
    bank_code     TEXT     NOT NULL,
    unit_ratio    BIGINT   NOT NULL CHECK (unit_ratio > 0),
    member_ratio  BIGINT   NOT NULL CHECK (member_ratio > 0),
    status        TEXT     NOT NULL,
    opened_on     DATE     NOT NULL,
    PRIMARY KEY (centre_code, unit_no)
);
-- One unit per unified social credit code.
CREATE UNIQUE INDEX units_credit_code ON units (centre_code, credit_code);

CREATE TABLE members (
    centre_code    TEXT    NOT NULL REFERENCES centres (centre_code),
    account_no     TEXT    NOT NULL,
    id_number      TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    unit_no        TEXT,
    base_fen       BIGINT  NOT NULL CHECK (base_fen >= 0),
    status         TEXT    NOT NULL,
    before_freeze  TEXT,
    opened_on      DATE    NOT NULL,
    PRIMARY KEY (centre_code, account_no)
);
-- One personal account per person in the centre (regulation Art. 13).
CREATE UNIQUE INDEX members_id_number ON members (centre_code, id_number);
CREATE INDEX members_unit ON members (centre_code, unit_no);

CREATE TABLE status_events (
    centre_code     TEXT    NOT NULL REFERENCES centres (centre_code),
    subject         TEXT    NOT NULL,
    event_no        BIGINT  NOT NULL CHECK (event_no >= 1),
    event_date      DATE    NOT NULL,
    business        TEXT    NOT NULL,
    from_status     TEXT    NOT NULL,
    to_status       TEXT    NOT NULL,
    reason          TEXT    NOT NULL,
    operator        TEXT    NOT NULL,
    channel         TEXT    NOT NULL,
    service_point   TEXT    NOT NULL,
    on_behalf_of    TEXT,
    recorded_at_us  BIGINT  NOT NULL,
    PRIMARY KEY (centre_code, subject, event_no)
);
