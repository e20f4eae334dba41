-- A heartbeat check's secret ping key: the job calls /ping/KEY; kept across updates.
ALTER TABLE checks ADD COLUMN ping_key TEXT;
CREATE UNIQUE INDEX checks_by_ping_key ON checks (ping_key) WHERE ping_key IS NOT NULL;
