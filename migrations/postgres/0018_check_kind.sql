-- A check's kind, repeated from its spec (a spec of the first form, before kinds, is an
-- HTTP check), so lists filtered by kind (heartbeats, domains, `/v1`'s uptime tests) and
-- `/metrics` read it from the index below instead of from each check's spec. The index
-- holds each check's name and kind: a page of a list in name order, and its count, walk
-- it without reading a check's row until the page's own checks.
ALTER TABLE checks ADD COLUMN kind TEXT NOT NULL DEFAULT 'http';
UPDATE checks SET kind = COALESCE(spec::jsonb ->> 'kind', 'http');
CREATE INDEX checks_by_name_kind ON checks (name, kind);
