-- Accounts, agencies, sessions and the audit log.
-- Times are RFC 3339 UTC text with microseconds (fixed width, so they sort as text), kept
-- the same as on SQLite so one set of queries serves both.

CREATE TABLE agencies (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('law_enforcement', 'fire')),
    jurisdiction     TEXT NOT NULL, -- GeoJSON Polygon or MultiPolygon, validated by the app
    verified         BOOLEAN NOT NULL DEFAULT FALSE,
    evidence_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    role            TEXT NOT NULL
                    CHECK (role IN ('admin', 'moderator', 'agency_admin', 'investigator', 'resident')),
    agency_id       TEXT REFERENCES agencies (id),
    display_name    TEXT,
    home_address    TEXT,
    home_lat        DOUBLE PRECISION,
    home_lon        DOUBLE PRECISION,
    totp_secret     TEXT,
    totp_enabled    BOOLEAN NOT NULL DEFAULT FALSE,
    totp_last_step  BIGINT,
    failed_logins   BIGINT NOT NULL DEFAULT 0,
    first_failed_at TEXT,
    locked_until    TEXT,
    disabled        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CHECK ((role IN ('agency_admin', 'investigator')) = (agency_id IS NOT NULL)),
    CHECK (role <> 'resident' OR (home_lat IS NOT NULL AND home_lon IS NOT NULL))
);
CREATE INDEX users_agency ON users (agency_id);

CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    mfa_pending  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE audit_log (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          TEXT NOT NULL,
    actor_id    TEXT,
    actor_email TEXT,
    action      TEXT NOT NULL,
    target      TEXT,
    source_ip   TEXT,
    outcome     TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    detail      TEXT
);
CREATE INDEX audit_log_actor ON audit_log (actor_id);

-- The audit log is append-only: the database refuses changes, whatever the caller.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
