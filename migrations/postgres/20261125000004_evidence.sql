-- Cameras, resumable uploads, recordings, and the evidence residents share, with its chain of
-- custody. Evidence, submissions and custody events are append-only: nobody edits them.

CREATE TABLE devices (
    id         TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL REFERENCES users (id),
    name       TEXT NOT NULL,
    lat        DOUBLE PRECISION NOT NULL,
    lon        DOUBLE PRECISION NOT NULL,
    cell       BIGINT NOT NULL, -- H3 cell at resolution 9 (see domain::geo_index)
    token_hash TEXT UNIQUE,      -- SHA-256 of the upload token; NULL once revoked
    created_at TEXT NOT NULL
);
CREATE INDEX devices_owner ON devices (owner_id);

-- A tus upload in progress. Its bytes are blob segments, one per PATCH, keyed by this id; the
-- hasher's state is kept so a resumed upload need not be read again.
CREATE TABLE uploads (
    id            TEXT PRIMARY KEY,
    owner_id      TEXT NOT NULL REFERENCES users (id),
    device_id     TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    upload_length BIGINT NOT NULL CHECK (upload_length > 0),
    upload_offset BIGINT NOT NULL DEFAULT 0 CHECK (upload_offset >= 0),
    hash_state    TEXT NOT NULL,  -- hex of the serialized SHA-256 state
    metadata      TEXT NOT NULL,  -- the Upload-Metadata header as sent, for HEAD
    filename      TEXT,
    started_at    TEXT NOT NULL,
    ended_at      TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    CHECK (upload_offset <= upload_length)
);
CREATE INDEX uploads_expires ON uploads (expires_at);

-- The pieces of an upload's (later, the recording's) bytes, in order. `blob_id` is the upload's
-- id, which the recording keeps.
CREATE TABLE blob_segments (
    blob_id      TEXT NOT NULL,
    start_offset BIGINT NOT NULL,
    length       BIGINT NOT NULL CHECK (length > 0),
    object_key   TEXT NOT NULL,
    PRIMARY KEY (blob_id, start_offset)
);

CREATE TABLE recordings (
    id               TEXT PRIMARY KEY, -- the upload's id, and so the segments' blob_id
    owner_id         TEXT NOT NULL REFERENCES users (id),
    device_id        TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    sha256           TEXT NOT NULL,
    size             BIGINT NOT NULL,
    content_type     TEXT NOT NULL,
    filename         TEXT,
    started_at       TEXT NOT NULL,
    ended_at         TEXT NOT NULL,
    duration_ms      BIGINT,
    media_created_at TEXT,
    created_at       TEXT NOT NULL
);
CREATE INDEX recordings_owner ON recordings (owner_id, started_at);

-- One resident's answer to one request: who they were at that moment, and their consent.
CREATE TABLE submissions (
    id           TEXT PRIMARY KEY,
    request_id   TEXT NOT NULL REFERENCES community_requests (id),
    agency_id    TEXT NOT NULL REFERENCES agencies (id),
    resident_id  TEXT NOT NULL REFERENCES users (id),
    display_name TEXT NOT NULL,
    home_address TEXT NOT NULL,
    email        TEXT NOT NULL,
    consent_text TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX submissions_request ON submissions (request_id, created_at);
CREATE INDEX submissions_resident ON submissions (resident_id, created_at);

-- A shared clip: the agency's own copy of the bytes, so it outlives the resident's recording.
CREATE TABLE evidence_items (
    id               TEXT PRIMARY KEY,
    submission_id    TEXT NOT NULL REFERENCES submissions (id),
    request_id       TEXT NOT NULL REFERENCES community_requests (id),
    agency_id        TEXT NOT NULL REFERENCES agencies (id),
    recording_id     TEXT NOT NULL, -- no foreign key: the recording may be deleted later
    sha256           TEXT NOT NULL,
    size             BIGINT NOT NULL,
    content_type     TEXT NOT NULL,
    filename         TEXT,
    started_at       TEXT NOT NULL,
    ended_at         TEXT NOT NULL,
    duration_ms      BIGINT,
    media_created_at TEXT,
    device_name      TEXT NOT NULL,
    device_lat       DOUBLE PRECISION NOT NULL,
    device_lon       DOUBLE PRECISION NOT NULL,
    object_key       TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    UNIQUE (request_id, recording_id)
);
CREATE INDEX evidence_items_submission ON evidence_items (submission_id);

-- The chain of custody: each event holds the hash of the one before (see domain::custody).
CREATE TABLE custody_events (
    evidence_id TEXT NOT NULL REFERENCES evidence_items (id),
    seq         BIGINT NOT NULL CHECK (seq >= 0),
    kind        TEXT NOT NULL CHECK (kind IN ('received', 'hash_verified', 'viewed', 'downloaded', 'exported', 'integrity_checked')),
    actor_id    TEXT,
    actor       TEXT NOT NULL,
    at          TEXT NOT NULL,
    source_ip   TEXT,
    reason      TEXT NOT NULL,
    detail      TEXT NOT NULL, -- canonical JSON
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    PRIMARY KEY (evidence_id, seq)
);

-- When each scheduled job last ran, so a restart does not run a weekly job again at once.
CREATE TABLE job_runs (
    name        TEXT PRIMARY KEY,
    last_run_at TEXT NOT NULL
);

CREATE TRIGGER submissions_append_only BEFORE UPDATE OR DELETE ON submissions
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER evidence_items_append_only BEFORE UPDATE OR DELETE ON evidence_items
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER custody_events_append_only BEFORE UPDATE OR DELETE ON custody_events
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER submissions_no_truncate BEFORE TRUNCATE ON submissions
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();
CREATE TRIGGER evidence_items_no_truncate BEFORE TRUNCATE ON evidence_items
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();
CREATE TRIGGER custody_events_no_truncate BEFORE TRUNCATE ON custody_events
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();
