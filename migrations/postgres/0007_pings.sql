-- Heartbeat pings, as the instance that received one logged it: every instance reads
-- what is new every second and the one holding the check's shard judges it, so a ping
-- may land on any instance. Pings are logged one at a time (an advisory lock), so ids
-- grow in commit order, as in `changes`. An instance that takes a shard over judges the
-- pings of its checks newer than their stored state. Rows older than an hour are pruned
-- by the rollup job.
CREATE TABLE pings (
    id        BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    check_id  BIGINT  NOT NULL,
    kind      BIGINT  NOT NULL,
    message   TEXT,
    at        BIGINT  NOT NULL
);

CREATE INDEX pings_by_check ON pings (check_id, at);
