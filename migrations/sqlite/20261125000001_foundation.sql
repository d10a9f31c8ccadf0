-- Accounts, agencies, sessions and the audit log.
-- Times are RFC 3339 UTC text with microseconds (fixed width, so they sort as text).

CREATE TABLE agencies (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('law_enforcement', 'fire')),
    jurisdiction     TEXT NOT NULL, -- GeoJSON Polygon or MultiPolygon, validated by the app
    verified         INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
    evidence_enabled INTEGER NOT NULL DEFAULT 0 CHECK (evidence_enabled IN (0, 1)),
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
    home_lat        REAL,
    home_lon        REAL,
    totp_secret     TEXT,
    totp_enabled    INTEGER NOT NULL DEFAULT 0 CHECK (totp_enabled IN (0, 1)),
    totp_last_step  INTEGER,
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    first_failed_at TEXT,
    locked_until    TEXT,
    disabled        INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    -- Agency members belong to exactly one agency; nobody else belongs to any.
    CHECK ((role IN ('agency_admin', 'investigator')) = (agency_id IS NOT NULL)),
    -- A resident always has a home.
    CHECK (role <> 'resident' OR (home_lat IS NOT NULL AND home_lon IS NOT NULL))
);
CREATE INDEX users_agency ON users (agency_id);

-- Only a hash of each token is kept, so a copy of the database cannot sign anyone in.
CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    mfa_pending  INTEGER NOT NULL DEFAULT 0 CHECK (mfa_pending IN (0, 1)),
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
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
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
