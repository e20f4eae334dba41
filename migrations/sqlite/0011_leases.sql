-- Instances on a shared database share the checks out by shard (a check's id modulo the
-- number of shards) through leases; `instances` says who is alive. SQLite has one process,
-- which probes every check: the tables exist so that both databases have the same tables.
CREATE TABLE shard_leases (
    shard       INTEGER PRIMARY KEY,
    holder      TEXT,
    expires_at  INTEGER NOT NULL
);

CREATE TABLE instances (
    name     TEXT PRIMARY KEY,
    seen_at  INTEGER NOT NULL
);

WITH RECURSIVE n(shard) AS (SELECT 0 UNION ALL SELECT shard + 1 FROM n WHERE shard < 63)
INSERT INTO shard_leases (shard, holder, expires_at) SELECT shard, NULL, 0 FROM n;
