-- A check's `degraded_after_ms`, repeated from its spec, so `/metrics` shows the degraded
-- gauge of only the checks that can be degraded and reads that from the id-order index,
-- as it reads the rest of what it shows of a check (a million checks without the setting
-- were a million lines of `0`, half of the answer).
ALTER TABLE checks ADD COLUMN degraded_after_ms INTEGER;
UPDATE checks SET degraded_after_ms = json_extract(spec, '$.degraded_after_ms');
DROP INDEX checks_in_id_order;
CREATE INDEX checks_in_id_order ON checks (id, name, stack, kind, degraded_after_ms);
