-- An agency's time zone (IANA name): the investigator's pages show and take times in it; the
-- API and the database keep UTC.
ALTER TABLE agencies ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
