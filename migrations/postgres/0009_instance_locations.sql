-- Instances of a cluster may probe from several locations. Each says where it is and
-- which location is home; the instances of one location share the shards among
-- themselves, so each location probes every check that names it once. Rows of a
-- location's shards are made by its first instance; those of before are let go.
ALTER TABLE instances ADD COLUMN location TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN home TEXT NOT NULL DEFAULT '';
DELETE FROM shard_leases;
ALTER TABLE shard_leases ADD COLUMN location TEXT NOT NULL;
ALTER TABLE shard_leases DROP CONSTRAINT shard_leases_pkey;
ALTER TABLE shard_leases ADD PRIMARY KEY (location, shard);
