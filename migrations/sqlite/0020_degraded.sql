-- A check answering slower than its `degraded_after_ms` (see `domain::state`): its runs of
-- slow and fast answers, and when the DEGRADED people were told of began.
ALTER TABLE check_state ADD COLUMN slow INTEGER NOT NULL DEFAULT 0;
ALTER TABLE check_state ADD COLUMN fast INTEGER NOT NULL DEFAULT 0;
ALTER TABLE check_state ADD COLUMN degraded_since INTEGER;
-- Up probes slower than the check's `degraded_after_ms` when rolled up: the hours' and
-- days' "within SLO" figure is up_count - slow_count.
ALTER TABLE rollups_hourly ADD COLUMN slow_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_daily ADD COLUMN slow_count INTEGER NOT NULL DEFAULT 0;
