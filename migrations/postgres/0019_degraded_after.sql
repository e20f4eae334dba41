-- A check's `degraded_after_ms`, repeated from its spec, so `/metrics` shows the degraded
-- gauge of only the checks that can be degraded (a million checks without the setting
-- were a million lines of `0`, half of the answer).
ALTER TABLE checks ADD COLUMN degraded_after_ms BIGINT;
UPDATE checks SET degraded_after_ms = (spec::jsonb ->> 'degraded_after_ms')::BIGINT;
