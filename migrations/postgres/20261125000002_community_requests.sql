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
    area_sq_mi         DOUBLE PRECISION NOT NULL,
    investigation_code TEXT NOT NULL,
    ongoing_threat     BOOLEAN NOT NULL,
    suspects           TEXT NOT NULL, -- JSON array
    findings           TEXT NOT NULL, -- JSON array of the automated pre-screen's findings
    revision           BIGINT NOT NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    published_at       TEXT,
    response_deadline  TEXT,
    public_id          TEXT UNIQUE,
    log_index          BIGINT UNIQUE
);
CREATE UNIQUE INDEX community_requests_code ON community_requests (agency_id, investigation_code)
    WHERE status <> 'withdrawn';
CREATE INDEX community_requests_status ON community_requests (status, created_at);
CREATE INDEX community_requests_agency ON community_requests (agency_id, created_at);

-- A published request can be neither changed nor deleted, whoever asks.
CREATE FUNCTION community_requests_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'request_immutable: a published community request cannot be changed or deleted';
END;
$$;
CREATE TRIGGER community_requests_published_no_update BEFORE UPDATE ON community_requests
    FOR EACH ROW WHEN (OLD.status = 'published') EXECUTE FUNCTION community_requests_immutable();
CREATE TRIGGER community_requests_published_no_delete BEFORE DELETE ON community_requests
    FOR EACH ROW WHEN (OLD.status = 'published') EXECUTE FUNCTION community_requests_immutable();

CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;

-- Every submission, revision, decision and withdrawal, with the content as it then was.
CREATE TABLE request_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id TEXT NOT NULL REFERENCES community_requests (id),
    at         TEXT NOT NULL,
    actor_id   TEXT NOT NULL REFERENCES users (id),
    kind       TEXT NOT NULL CHECK (kind IN ('submitted', 'revised', 'approved', 'rejected', 'withdrawn')),
    revision   BIGINT NOT NULL,
    reasons    TEXT NOT NULL DEFAULT '[]',
    note       TEXT,
    snapshot   TEXT
);
CREATE INDEX request_events_request ON request_events (request_id, id);
CREATE TRIGGER request_events_append_only BEFORE UPDATE OR DELETE ON request_events
    FOR EACH ROW EXECUTE FUNCTION append_only();

-- The transparency log (RFC 9162 style). One row holds the size, so appends are serialized.
CREATE TABLE transparency_head (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL
);
INSERT INTO transparency_head (id, size) VALUES (1, 0);

CREATE TABLE transparency_entries (
    idx        BIGINT PRIMARY KEY,
    request_id TEXT NOT NULL UNIQUE REFERENCES community_requests (id),
    entry      TEXT NOT NULL,
    leaf_hash  TEXT NOT NULL
);
CREATE TABLE transparency_nodes (
    level BIGINT NOT NULL,
    idx   BIGINT NOT NULL,
    hash  TEXT NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TRIGGER transparency_entries_append_only BEFORE UPDATE OR DELETE ON transparency_entries
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER transparency_nodes_append_only BEFORE UPDATE OR DELETE ON transparency_nodes
    FOR EACH ROW EXECUTE FUNCTION append_only();
-- One trigger per table: CREATE TRIGGER names a single table.
CREATE TRIGGER transparency_entries_no_truncate BEFORE TRUNCATE ON transparency_entries
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();
CREATE TRIGGER transparency_nodes_no_truncate BEFORE TRUNCATE ON transparency_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();
CREATE TRIGGER request_events_no_truncate BEFORE TRUNCATE ON request_events
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();
CREATE TRIGGER community_requests_no_truncate BEFORE TRUNCATE ON community_requests
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();
