-- The outcome of each evidence item's latest integrity check (by the sweep or by an export),
-- kept beside its chain of custody so that /metrics counts the failing items without reading
-- every check ever recorded (one per item per weekly sweep). Written in the same transaction
-- as the custody event it summarises (store::evidence, Tx::insert_custody_event); the custody
-- chain stays the record, and this table can always be rebuilt from it as below.
CREATE TABLE evidence_integrity (
    evidence_id TEXT PRIMARY KEY REFERENCES evidence_items (id),
    seq         INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    checked_at  TEXT NOT NULL
);
CREATE INDEX evidence_integrity_failing ON evidence_integrity (evidence_id) WHERE outcome <> 'match';

INSERT INTO evidence_integrity (evidence_id, seq, outcome, checked_at)
SELECT c.evidence_id, c.seq, COALESCE(json_extract(c.detail, '$.outcome'), '') AS outcome, c.at AS checked_at
FROM custody_events c
WHERE c.kind = 'integrity_checked'
  AND c.seq = (SELECT MAX(l.seq) FROM custody_events l
               WHERE l.evidence_id = c.evidence_id AND l.kind = 'integrity_checked');
