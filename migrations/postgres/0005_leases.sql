-- Instances share the checks out by shard (a check's id modulo 64) through leases: an
-- instance renews its shards' leases every third of the lease, takes free or lapsed ones
-- up to its fair share of the live instances (`instances`, seen within a lease), and lets
-- go of those above it, so a new instance gets its share and a dead one's shards lapse
-- and are taken over.
CREATE TABLE shard_leases (
    shard       BIGINT  PRIMARY KEY,
    holder      TEXT,
    expires_at  BIGINT  NOT NULL
);

CREATE TABLE instances (
    name     TEXT    PRIMARY KEY,
    seen_at  BIGINT  NOT NULL
);

INSERT INTO shard_leases (shard, holder, expires_at)
SELECT shard, NULL, 0 FROM generate_series(0, 63) AS shard;
