-- Targeting a request reads only this index: the residents who may be notified, by home cell,
-- with what fan-out needs. Its WHERE clause is store::residents::RECIPIENT, word for word, and
-- it holds every column that query names (the WHERE clause's too), so SQLite reads the index
-- alone. It replaces users_home_cell, which SQLite would otherwise pick and then read the table.
DROP INDEX users_home_cell;
CREATE INDEX users_recipients ON users (
    home_cell, home_lat, home_lon, id, notify_email, notify_push, role, disabled, community_requests
)
WHERE home_cell IS NOT NULL AND role = 'resident' AND disabled = FALSE AND community_requests = TRUE;
