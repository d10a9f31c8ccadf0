-- Community requests, their history, and the transparency log.

CREATE TABLE community_requests (
    id                 TEXT PRIMARY KEY,
    agency_id          TEXT NOT NULL REFERENCES agencies (id),
    created_by         TEXT NOT NULL REFERENCES users (id),
    status             TEXT NOT NULL
                       CHECK (status IN ('pending_review', 'rejected', 'withdrawn', 'published')),
    incident_type      TEXT NOT NULL,
    details            TEXT NOT NULL,
    footage_start      TEXT NOT NULL,
    footage_end        TEXT NOT NULL,
    contact_name       TEXT NOT NULL,
    contact_phone      TEXT NOT NULL,
    contact_email      TEXT NOT NULL,
    area               TEXT NOT NULL, -- GeoJSON Polygon
    area_sq_mi         REAL NOT NULL,
    investigation_code TEXT NOT NULL,
    ongoing_threat     INTEGER NOT NULL CHECK (ongoing_threat IN (0, 1)),
    suspects           TEXT NOT NULL, -- JSON array
    findings           TEXT NOT NULL, -- JSON array of the automated pre-screen's findings
    revision           INTEGER NOT NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    published_at       TEXT,
    response_deadline  TEXT,
    public_id          TEXT UNIQUE,
    log_index          INTEGER UNIQUE
);
-- A withdrawn request frees its code; any other keeps it.
CREATE UNIQUE INDEX community_requests_code ON community_requests (agency_id, investigation_code)
    WHERE status <> 'withdrawn';
CREATE INDEX community_requests_status ON community_requests (status, created_at);
CREATE INDEX community_requests_agency ON community_requests (agency_id, created_at);

-- A published request can be neither changed nor deleted, whoever asks.
CREATE TRIGGER community_requests_published_no_update BEFORE UPDATE ON community_requests
WHEN OLD.status = 'published'
BEGIN
    SELECT RAISE(ABORT, 'request_immutable: a published community request cannot be changed');
END;
CREATE TRIGGER community_requests_published_no_delete BEFORE DELETE ON community_requests
WHEN OLD.status = 'published'
BEGIN
    SELECT RAISE(ABORT, 'request_immutable: a published community request cannot be deleted');
END;

-- Every submission, revision, decision and withdrawal, with the content as it then was.
CREATE TABLE request_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL REFERENCES community_requests (id),
    at         TEXT NOT NULL,
    actor_id   TEXT NOT NULL REFERENCES users (id),
    kind       TEXT NOT NULL CHECK (kind IN ('submitted', 'revised', 'approved', 'rejected', 'withdrawn')),
    revision   INTEGER NOT NULL,
    reasons    TEXT NOT NULL DEFAULT '[]', -- JSON array of guideline codes
    note       TEXT,
    snapshot   TEXT -- JSON of the content at submission or revision
);
CREATE INDEX request_events_request ON request_events (request_id, id);
CREATE TRIGGER request_events_no_update BEFORE UPDATE ON request_events
BEGIN
    SELECT RAISE(ABORT, 'request_events is append-only');
END;
CREATE TRIGGER request_events_no_delete BEFORE DELETE ON request_events
BEGIN
    SELECT RAISE(ABORT, 'request_events is append-only');
END;

-- The transparency log (RFC 9162 style). One row holds the size, so appends are serialized.
CREATE TABLE transparency_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL
);
INSERT INTO transparency_head (id, size) VALUES (1, 0);

-- Each leaf: the published request as canonical JSON (RFC 8785), exactly as hashed.
CREATE TABLE transparency_entries (
    idx        INTEGER PRIMARY KEY,
    request_id TEXT NOT NULL UNIQUE REFERENCES community_requests (id),
    entry      TEXT NOT NULL,
    leaf_hash  TEXT NOT NULL -- hex SHA-256(0x00 || entry)
);
-- Every complete subtree's hash: level 0 are leaves; proofs read O(log n) of these.
CREATE TABLE transparency_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  TEXT NOT NULL, -- hex
    PRIMARY KEY (level, idx)
);
CREATE TRIGGER transparency_entries_no_update BEFORE UPDATE ON transparency_entries
BEGIN
    SELECT RAISE(ABORT, 'the transparency log is append-only');
END;
CREATE TRIGGER transparency_entries_no_delete BEFORE DELETE ON transparency_entries
BEGIN
    SELECT RAISE(ABORT, 'the transparency log is append-only');
END;
CREATE TRIGGER transparency_nodes_no_update BEFORE UPDATE ON transparency_nodes
BEGIN
    SELECT RAISE(ABORT, 'the transparency log is append-only');
END;
CREATE TRIGGER transparency_nodes_no_delete BEFORE DELETE ON transparency_nodes
BEGIN
    SELECT RAISE(ABORT, 'the transparency log is append-only');
END;
