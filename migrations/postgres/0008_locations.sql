-- Probing from several locations. Each result names the location that probed it (the
-- rows from before locations existed were the server's, whose default location is
-- "local"), and the key takes the location in, so two locations probing at the same
-- millisecond both keep their result and a batch an agent sends twice is kept once.
ALTER TABLE results ADD COLUMN location TEXT NOT NULL DEFAULT 'local';
ALTER TABLE results ALTER COLUMN location DROP DEFAULT;
ALTER TABLE results DROP CONSTRAINT results_pkey;
ALTER TABLE results ADD PRIMARY KEY (check_id, at, location);

-- Each location's verdict (JSON: location -> state and cause); NULL for a check probed
-- from one place only.
ALTER TABLE check_state ADD COLUMN votes TEXT;

-- Each agent's location: when it was last heard from (a pull or a push, by any
-- instance), how long it may stay silent, and whether it was declared offline (one alert
-- each way, a compare-and-set on this flag).
CREATE TABLE locations (
    name       TEXT    PRIMARY KEY,
    last_seen  BIGINT  NOT NULL,
    silent_ms  BIGINT  NOT NULL,
    offline    BIGINT  NOT NULL DEFAULT 0 CHECK (offline IN (0, 1))
);

-- Agents' results as the instance that received them logged them: every instance reads
-- what is new every second (next to `pings`) and the one holding the check's shard judges
-- them. Logged under the pings' advisory lock, so ids grow in commit order. Pruned after
-- an hour, as `pings`.
CREATE TABLE agent_results (
    id        BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    location  TEXT    NOT NULL,
    check_id  BIGINT  NOT NULL,
    outcome   TEXT    NOT NULL,
    at        BIGINT  NOT NULL
);

-- A deleted check's incident is closed at the time in whole milliseconds cut down, as
-- stackwatch's own clock and SQLite's trigger read it: rounding could put it up to half a
-- millisecond ahead of the moment it was written.
CREATE OR REPLACE FUNCTION checks_delete_closes_incident() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE incidents
    SET resolved_at = FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT
    WHERE check_id = OLD.id AND resolved_at IS NULL;
    RETURN OLD;
END;
$$;
