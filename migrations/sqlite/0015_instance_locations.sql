-- Instances of a cluster may probe from several locations (see the PostgreSQL migration
-- of the same name); SQLite keeps the same tables.
ALTER TABLE instances ADD COLUMN location TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN home TEXT NOT NULL DEFAULT '';
DROP TABLE shard_leases;
CREATE TABLE shard_leases (
    location    TEXT    NOT NULL,
    shard       INTEGER NOT NULL,
    holder      TEXT,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (location, shard)
);
