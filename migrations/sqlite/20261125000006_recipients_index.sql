-- Targeting a request reads only this index: the residents who may be notified, by home cell,
-- with what fan-out needs. Its WHERE clause is store::residents::RECIPIENT, word for word.
CREATE INDEX users_recipients ON users (home_cell, home_lat, home_lon, id, notify_email, notify_push)
WHERE home_cell IS NOT NULL AND role = 'resident' AND disabled = FALSE AND community_requests = TRUE;
