-- One row per probe. WITHOUT ROWID: the primary key is the table, so a result costs its
-- columns and nothing more; per-check time ranges (API reads, rollups, pruning) are seeks.
-- outcome: 0 up, otherwise the failure code; error text only on failure.
CREATE TABLE results (
    check_id    INTEGER NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    outcome     INTEGER NOT NULL,
    status      INTEGER,
    dns_ms      INTEGER,
    connect_ms  INTEGER,
    tls_ms      INTEGER,
    ttfb_ms     INTEGER,
    total_ms    INTEGER NOT NULL,
    error       TEXT,
    PRIMARY KEY (check_id, at)
) STRICT, WITHOUT ROWID;

-- The state machine's state, so a restart neither re-alerts nor forgets an outage.
CREATE TABLE check_state (
    check_id        INTEGER PRIMARY KEY REFERENCES checks (id) ON DELETE CASCADE,
    health          INTEGER NOT NULL,
    since           INTEGER NOT NULL,
    failures        INTEGER NOT NULL,
    successes       INTEGER NOT NULL,
    failing_since   INTEGER,
    cert_not_after  INTEGER
) STRICT;

-- Confirmed outages, kept forever (with the check's name, which outlives the check).
CREATE TABLE incidents (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    check_id     INTEGER NOT NULL,
    check_name   TEXT    NOT NULL,
    opened_at    INTEGER NOT NULL,
    resolved_at  INTEGER,
    cause        TEXT    NOT NULL
) STRICT;

-- At most one open incident per check, whatever the code does.
CREATE UNIQUE INDEX incidents_one_open_per_check ON incidents (check_id) WHERE resolved_at IS NULL;
CREATE INDEX incidents_by_check ON incidents (check_id, opened_at);
CREATE INDEX incidents_by_time ON incidents (opened_at);

-- A deleted check's outage is over: close its open incident.
CREATE TRIGGER checks_delete_closes_incident AFTER DELETE ON checks
BEGIN
    UPDATE incidents SET resolved_at = CAST(unixepoch('subsec') * 1000 AS INTEGER)
    WHERE check_id = OLD.id AND resolved_at IS NULL;
END;

-- Hourly and daily aggregates; latency figures are over the probes that were up.
CREATE TABLE rollups_hourly (
    check_id     INTEGER NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    hour         INTEGER NOT NULL, -- unix time / 3600
    count        INTEGER NOT NULL,
    up_count     INTEGER NOT NULL,
    latency_sum  INTEGER NOT NULL,
    latency_min  INTEGER,
    latency_max  INTEGER,
    p50          INTEGER,
    p95          INTEGER,
    PRIMARY KEY (check_id, hour)
) STRICT, WITHOUT ROWID;

CREATE TABLE rollups_daily (
    check_id     INTEGER NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    day          INTEGER NOT NULL, -- unix time / 86400
    count        INTEGER NOT NULL,
    up_count     INTEGER NOT NULL,
    latency_sum  INTEGER NOT NULL,
    latency_min  INTEGER,
    latency_max  INTEGER,
    p50          INTEGER,
    p95          INTEGER,
    PRIMARY KEY (check_id, day)
) STRICT, WITHOUT ROWID;

-- Small counters of background jobs, e.g. the first hour not rolled up yet.
CREATE TABLE meta (
    key    TEXT    PRIMARY KEY,
    value  INTEGER NOT NULL
) STRICT;
