-- Anju schema 10: the centre's policy under maker-checker (issue 8 §3, 双人复核). Every
-- policy text the centre has run on is a numbered version, kept whole with its SM3;
-- the highest version is the one in effect. Version 1 is the text adopted at the first
-- start (no checker); every later version was proposed by one manager and approved by
-- another (`approval_id`, a row of `approvals`). Column-for-column equal on SQLite and
-- PostgreSQL.
CREATE TABLE policy_versions (
    centre_code     TEXT     NOT NULL REFERENCES centres (centre_code),
    version         INTEGER  NOT NULL CHECK (version >= 1),
    sm3          TEXT     NOT NULL CHECK (length(sm3) = 64),
    text            TEXT     NOT NULL,
    adopted_at_us   BIGINT   NOT NULL,
    maker           TEXT     NOT NULL,
    checker         TEXT,
    approval_id     BIGINT,
    PRIMARY KEY (centre_code, version),
    CHECK (checker IS NULL OR checker <> maker),
    CHECK (version = 1 OR (checker IS NOT NULL AND approval_id IS NOT NULL))
);

-- Versions follow one another without a gap and never change nor go away.
CREATE FUNCTION anju_policy_versions_gapless() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.version > 1 AND NOT EXISTS (
        SELECT 1 FROM policy_versions
        WHERE centre_code = NEW.centre_code AND version = NEW.version - 1) THEN
        RAISE EXCEPTION 'policy_versions: a version follows the previous one';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER policy_versions_gapless BEFORE INSERT ON policy_versions
    FOR EACH ROW EXECUTE FUNCTION anju_policy_versions_gapless();
CREATE TRIGGER policy_versions_append_only BEFORE UPDATE OR DELETE ON policy_versions
    FOR EACH ROW EXECUTE FUNCTION anju_append_only();
