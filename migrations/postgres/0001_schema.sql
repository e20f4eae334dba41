-- The whole schema of the SQLite migrations (migrations/sqlite) as it stands after them,
-- in PostgreSQL's types: times as unix milliseconds in BIGINT, flags as BOOLEAN, blocks as
-- BYTEA. A later change to the schema adds a migration to both directories; a test holds
-- the two schemas to the same tables and columns.

-- Checks registered through the API. `spec` holds the validated configuration as JSON;
-- stack, paused and tags are repeated in columns so that listing filters on indexes. An
-- identity column never gives a deleted check's id to a new check.
CREATE TABLE checks (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    stack       TEXT,
    paused      BOOLEAN NOT NULL DEFAULT FALSE,
    spec        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    -- A heartbeat check's secret ping key: the job calls /ping/KEY; kept across updates.
    ping_key    TEXT
);

CREATE INDEX checks_by_stack ON checks (stack, name) WHERE stack IS NOT NULL;
CREATE UNIQUE INDEX checks_by_ping_key ON checks (ping_key) WHERE ping_key IS NOT NULL;

CREATE TABLE check_tags (
    tag       TEXT    NOT NULL,
    check_id  BIGINT  NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    PRIMARY KEY (tag, check_id)
);

CREATE INDEX check_tags_by_check ON check_tags (check_id);

-- One row per probe of the hours not yet compacted. outcome: 0 up, otherwise the failure
-- code; error text only on failure; lost: ICMP echo requests unanswered.
CREATE TABLE results (
    check_id    BIGINT  NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    at          BIGINT  NOT NULL,
    outcome     BIGINT  NOT NULL,
    status      BIGINT,
    dns_ms      BIGINT,
    connect_ms  BIGINT,
    tls_ms      BIGINT,
    ttfb_ms     BIGINT,
    total_ms    BIGINT  NOT NULL,
    error       TEXT,
    lost        BIGINT,
    PRIMARY KEY (check_id, at)
);

-- The state machine's state and what people were last told (see domain::alert), so a
-- restart neither re-alerts nor forgets an outage; with the last result's time.
CREATE TABLE check_state (
    check_id            BIGINT  PRIMARY KEY REFERENCES checks (id) ON DELETE CASCADE,
    health              BIGINT  NOT NULL,
    since               BIGINT  NOT NULL,
    failures            BIGINT  NOT NULL,
    successes           BIGINT  NOT NULL,
    failing_since       BIGINT,
    cert_not_after      BIGINT,
    alerted_health      BIGINT,
    down_since          BIGINT,
    last_down_alert_at  BIGINT,
    cert_warned_at      BIGINT,
    last_cause          TEXT,
    last_at             BIGINT,
    last_total_ms       BIGINT
);

-- Confirmed outages, kept forever (with the check's name, which outlives the check).
CREATE TABLE incidents (
    id           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    check_id     BIGINT  NOT NULL,
    check_name   TEXT    NOT NULL,
    opened_at    BIGINT  NOT NULL,
    resolved_at  BIGINT,
    cause        TEXT    NOT NULL
);

-- At most one open incident per check, whatever the code does.
CREATE UNIQUE INDEX incidents_one_open_per_check ON incidents (check_id) WHERE resolved_at IS NULL;
CREATE INDEX incidents_by_check ON incidents (check_id, opened_at);
CREATE INDEX incidents_by_time ON incidents (opened_at);

-- A deleted check's outage is over: close its open incident.
CREATE FUNCTION checks_delete_closes_incident() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE incidents
    SET resolved_at = (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT
    WHERE check_id = OLD.id AND resolved_at IS NULL;
    RETURN OLD;
END;
$$;

CREATE TRIGGER checks_delete_closes_incident AFTER DELETE ON checks
    FOR EACH ROW EXECUTE FUNCTION checks_delete_closes_incident();

-- Hourly and daily aggregates; latency figures are over the probes that were up.
CREATE TABLE rollups_hourly (
    check_id     BIGINT  NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    hour         BIGINT  NOT NULL, -- unix time / 3600
    count        BIGINT  NOT NULL,
    up_count     BIGINT  NOT NULL,
    latency_sum  BIGINT  NOT NULL,
    latency_min  BIGINT,
    latency_max  BIGINT,
    p50          BIGINT,
    p95          BIGINT,
    PRIMARY KEY (check_id, hour)
);

CREATE TABLE rollups_daily (
    check_id     BIGINT  NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    day          BIGINT  NOT NULL, -- unix time / 86400
    count        BIGINT  NOT NULL,
    up_count     BIGINT  NOT NULL,
    latency_sum  BIGINT  NOT NULL,
    latency_min  BIGINT,
    latency_max  BIGINT,
    p50          BIGINT,
    p95          BIGINT,
    PRIMARY KEY (check_id, day)
);

-- Small counters of background jobs, e.g. the first hour not rolled up yet.
CREATE TABLE meta (
    key    TEXT    PRIMARY KEY,
    value  BIGINT  NOT NULL
);

-- The alert outbox: written in the same transaction as the probe result that causes it,
-- kept forever (with the check's name, which outlives the check).
CREATE TABLE alerts (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    check_id    BIGINT  NOT NULL,
    check_name  TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    facts       TEXT    NOT NULL -- JSON: stack, url, cause, down_since, downtime_s, cert_not_after
);

CREATE INDEX alerts_by_check ON alerts (check_name, id);

-- One delivery per alert and contact: retried until delivered or given up.
CREATE TABLE deliveries (
    alert_id         BIGINT  NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    contact          TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT  NOT NULL,
    last_error       TEXT,
    delivered_at     BIGINT,
    PRIMARY KEY (alert_id, contact)
);

CREATE INDEX deliveries_pending ON deliveries (next_attempt_at) WHERE status = 'pending';

-- Maintenance windows: one-off (starts_at, ends_at) or recurring (cron, duration_s, timezone).
CREATE TABLE maintenance (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scope       TEXT    NOT NULL CHECK (scope IN ('all', 'stack', 'tag', 'check')),
    target      TEXT,
    starts_at   BIGINT,
    ends_at     BIGINT,
    cron        TEXT,
    duration_s  BIGINT,
    timezone    TEXT,
    reason      TEXT,
    created_at  BIGINT  NOT NULL
);

-- Per-stack settings: whether the stack's public status page is published.
CREATE TABLE stack_settings (
    stack        TEXT     PRIMARY KEY,
    status_page  BOOLEAN  NOT NULL DEFAULT FALSE
);

-- Results of closed hours, compacted: one row per check and hour holding every result of
-- that hour (see store::block_codec), written in the transaction that deletes the same
-- results from `results`, so each result is in exactly one of the two.
CREATE TABLE result_blocks (
    check_id  BIGINT  NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    hour      BIGINT  NOT NULL, -- unix time / 3600
    count     BIGINT  NOT NULL,
    data      BYTEA   NOT NULL,
    PRIMARY KEY (check_id, hour)
);

-- What a check written through the StatusCake-compatible API (`/v1`) said that has no
-- field of its own in stackwatch, so `/v1` answers with it. JSON object.
CREATE TABLE statuscake_fields (
    check_id  BIGINT  PRIMARY KEY REFERENCES checks (id) ON DELETE CASCADE,
    fields    TEXT    NOT NULL
);
