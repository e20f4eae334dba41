-- What people were last told about each check (see domain::alert): with it, a restart
-- neither repeats an alert nor forgets one that a maintenance window postponed.
ALTER TABLE check_state ADD COLUMN alerted_health INTEGER;
ALTER TABLE check_state ADD COLUMN down_since INTEGER;
ALTER TABLE check_state ADD COLUMN last_down_alert_at INTEGER;
ALTER TABLE check_state ADD COLUMN cert_warned_at INTEGER;
ALTER TABLE check_state ADD COLUMN last_cause TEXT;

-- The alert outbox: written in the same transaction as the probe result that causes it,
-- kept forever (with the check's name, which outlives the check).
CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    check_id    INTEGER NOT NULL,
    check_name  TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    facts       TEXT    NOT NULL -- JSON: stack, url, cause, down_since, downtime_s, cert_not_after
) STRICT;

CREATE INDEX alerts_by_check ON alerts (check_name, id);

-- One delivery per alert and contact: retried until delivered or given up.
CREATE TABLE deliveries (
    alert_id         INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    contact          TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_error       TEXT,
    delivered_at     INTEGER,
    PRIMARY KEY (alert_id, contact)
) STRICT, WITHOUT ROWID;

CREATE INDEX deliveries_pending ON deliveries (next_attempt_at) WHERE status = 'pending';

-- Maintenance windows: one-off (starts_at, ends_at) or recurring (cron, duration_s, timezone).
CREATE TABLE maintenance (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    scope       TEXT    NOT NULL CHECK (scope IN ('all', 'stack', 'tag', 'check')),
    target      TEXT,
    starts_at   INTEGER,
    ends_at     INTEGER,
    cron        TEXT,
    duration_s  INTEGER,
    timezone    TEXT,
    reason      TEXT,
    created_at  INTEGER NOT NULL
) STRICT;
