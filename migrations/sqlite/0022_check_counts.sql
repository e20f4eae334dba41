-- How many checks share each combination of what decides the state the pages show them in
-- (see `domain::Shown::decide`): stack ('' for none), paused, heartbeat (it has a ping key)
-- and judged health (-1 before the first judged probe). Triggers keep it, so no write path
-- can forget to, and the summary and the dashboard's counts read a few rows instead of
-- every check. Which of them an open maintenance window covers is worked out when reading
-- (`store::live`). PostgreSQL counts from the tables instead: two instances' writers
-- would take these rows' locks in different orders.
CREATE TABLE check_counts (
    stack      TEXT    NOT NULL,
    paused     INTEGER NOT NULL,
    heartbeat  INTEGER NOT NULL,
    health     INTEGER NOT NULL,
    checks     INTEGER NOT NULL,
    PRIMARY KEY (stack, paused, heartbeat, health)
) STRICT, WITHOUT ROWID;

INSERT INTO check_counts (stack, paused, heartbeat, health, checks)
SELECT COALESCE(c.stack, ''), c.paused, c.ping_key IS NOT NULL, COALESCE(s.health, -1), COUNT(*)
FROM checks c LEFT JOIN check_state s ON s.check_id = c.id
GROUP BY 1, 2, 3, 4;

CREATE TRIGGER check_counts_insert AFTER INSERT ON checks
BEGIN
    INSERT INTO check_counts (stack, paused, heartbeat, health, checks)
    VALUES (COALESCE(new.stack, ''), new.paused, new.ping_key IS NOT NULL, -1, 1)
    ON CONFLICT (stack, paused, heartbeat, health) DO UPDATE SET checks = checks + 1;
END;

CREATE TRIGGER check_counts_update AFTER UPDATE OF stack, paused, ping_key ON checks
WHEN old.stack IS NOT new.stack OR old.paused <> new.paused
    OR (old.ping_key IS NULL) <> (new.ping_key IS NULL)
BEGIN
    UPDATE check_counts SET checks = checks - 1
    WHERE stack = COALESCE(old.stack, '') AND paused = old.paused
        AND heartbeat = (old.ping_key IS NOT NULL)
        AND health = COALESCE((SELECT health FROM check_state WHERE check_id = old.id), -1);
    INSERT INTO check_counts (stack, paused, heartbeat, health, checks)
    VALUES (COALESCE(new.stack, ''), new.paused, new.ping_key IS NOT NULL,
            COALESCE((SELECT health FROM check_state WHERE check_id = new.id), -1), 1)
    ON CONFLICT (stack, paused, heartbeat, health) DO UPDATE SET checks = checks + 1;
END;

-- Before the delete, while the check's state (removed with it) can still be read.
CREATE TRIGGER check_counts_delete BEFORE DELETE ON checks
BEGIN
    UPDATE check_counts SET checks = checks - 1
    WHERE stack = COALESCE(old.stack, '') AND paused = old.paused
        AND heartbeat = (old.ping_key IS NOT NULL)
        AND health = COALESCE((SELECT health FROM check_state WHERE check_id = old.id), -1);
END;

CREATE TRIGGER check_counts_first_state AFTER INSERT ON check_state
BEGIN
    UPDATE check_counts SET checks = checks - 1
    WHERE (stack, paused, heartbeat, health) =
        (SELECT COALESCE(stack, ''), paused, ping_key IS NOT NULL, -1
         FROM checks WHERE id = new.check_id);
    INSERT INTO check_counts (stack, paused, heartbeat, health, checks)
    SELECT COALESCE(stack, ''), paused, ping_key IS NOT NULL, new.health, 1
    FROM checks WHERE id = new.check_id
    ON CONFLICT (stack, paused, heartbeat, health) DO UPDATE SET checks = checks + 1;
END;

CREATE TRIGGER check_counts_health AFTER UPDATE OF health ON check_state
WHEN old.health <> new.health
BEGIN
    UPDATE check_counts SET checks = checks - 1
    WHERE (stack, paused, heartbeat, health) =
        (SELECT COALESCE(stack, ''), paused, ping_key IS NOT NULL, old.health
         FROM checks WHERE id = new.check_id);
    INSERT INTO check_counts (stack, paused, heartbeat, health, checks)
    SELECT COALESCE(stack, ''), paused, ping_key IS NOT NULL, new.health, 1
    FROM checks WHERE id = new.check_id
    ON CONFLICT (stack, paused, heartbeat, health) DO UPDATE SET checks = checks + 1;
END;

-- The checks in no stack in name order, for the dashboard's cells (`store::dashboard`):
-- the other checks are read through `checks_by_stack`.
CREATE INDEX checks_without_stack ON checks (name) WHERE stack IS NULL;
