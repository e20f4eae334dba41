-- Probing from several locations. Each result names the location that probed it (the
-- rows from before locations existed were the server's, whose default location is
-- "local"), and the key takes the location in, so two locations probing at the same
-- millisecond both keep their result and a batch an agent sends twice is kept once.
-- A check's row in check_state keeps each location's own verdict beside the check's.
CREATE TABLE results_by_location (
    check_id    INTEGER NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    location    TEXT    NOT NULL,
    outcome     INTEGER NOT NULL,
    status      INTEGER,
    dns_ms      INTEGER,
    connect_ms  INTEGER,
    tls_ms      INTEGER,
    ttfb_ms     INTEGER,
    total_ms    INTEGER NOT NULL,
    error       TEXT,
    lost        INTEGER,
    PRIMARY KEY (check_id, at, location)
) STRICT, WITHOUT ROWID;

INSERT INTO results_by_location
    (check_id, at, location, outcome, status, dns_ms, connect_ms, tls_ms, ttfb_ms, total_ms, error, lost)
SELECT check_id, at, 'local', outcome, status, dns_ms, connect_ms, tls_ms, ttfb_ms, total_ms, error, lost
FROM results;

DROP TABLE results;
ALTER TABLE results_by_location RENAME TO results;

-- Each location's verdict (JSON: location -> state and cause); NULL for a check probed
-- from one place only.
ALTER TABLE check_state ADD COLUMN votes TEXT;

-- Each agent's location: when it was last heard from (a pull or a push), how long it may
-- stay silent, and whether it was declared offline (one alert each way, a compare-and-set
-- on this flag).
CREATE TABLE locations (
    name       TEXT    PRIMARY KEY,
    last_seen  INTEGER NOT NULL,
    silent_ms  INTEGER NOT NULL,
    offline    INTEGER NOT NULL DEFAULT 0 CHECK (offline IN (0, 1))
) STRICT;

-- Agents' results as the instance that received them logged them, for the instance
-- holding the check's shard to judge (on a shared database; unused on SQLite, kept so both
-- databases have the same tables). Pruned after an hour, as `pings`.
CREATE TABLE agent_results (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    location  TEXT    NOT NULL,
    check_id  INTEGER NOT NULL,
    outcome   TEXT    NOT NULL,
    at        INTEGER NOT NULL
) STRICT;
