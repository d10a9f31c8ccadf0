-- Residents' distribution: home cells, settings, request covers, comments, and the
-- notification outbox. Nothing here records who read what.

ALTER TABLE users ADD COLUMN home_cell BIGINT; -- H3 cell at resolution 9 (see domain::geo_index)
ALTER TABLE users ADD COLUMN community_requests BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE users ADD COLUMN notify_push BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE users ADD COLUMN notify_email BOOLEAN NOT NULL DEFAULT TRUE;
CREATE INDEX users_home_cell ON users (home_cell) WHERE home_cell IS NOT NULL;

CREATE TABLE request_cells (
    cell       BIGINT NOT NULL,
    request_id TEXT NOT NULL REFERENCES community_requests (id),
    PRIMARY KEY (cell, request_id)
);

CREATE TABLE comments (
    id          TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL REFERENCES community_requests (id),
    author_id   TEXT NOT NULL REFERENCES users (id),
    as_agency   BOOLEAN NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX comments_request ON comments (request_id, created_at);

CREATE TABLE push_subscriptions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    endpoint   TEXT NOT NULL UNIQUE,
    p256dh     TEXT NOT NULL,
    auth       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id);

CREATE TABLE fanout_jobs (
    request_id TEXT PRIMARY KEY REFERENCES community_requests (id),
    created_at TEXT NOT NULL,
    done_at    TEXT
);

CREATE TABLE notification_outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id      TEXT NOT NULL REFERENCES community_requests (id),
    user_id         TEXT NOT NULL REFERENCES users (id),
    channel         TEXT NOT NULL CHECK (channel IN ('email', 'push')),
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sent', 'failed', 'cancelled')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    claimed_until   TEXT,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (request_id, user_id, channel)
);
CREATE INDEX notification_outbox_due ON notification_outbox (state, next_attempt_at);
CREATE INDEX notification_outbox_user ON notification_outbox (user_id, state);
