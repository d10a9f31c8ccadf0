-- Targeting a request reads only this index: the residents who may be notified, by home cell,
-- with what fan-out needs. Its WHERE clause is store::residents::RECIPIENT, word for word, so
-- PostgreSQL answers with an index-only scan. It replaces users_home_cell.
DROP INDEX users_home_cell;
CREATE INDEX users_recipients ON users (home_cell) INCLUDE (home_lat, home_lon, id, notify_email, notify_push)
WHERE home_cell IS NOT NULL AND role = 'resident' AND disabled = FALSE AND community_requests = TRUE;
