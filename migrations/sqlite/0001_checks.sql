-- Checks registered through the API. `spec` holds the validated configuration as JSON; stack,
-- paused and tags are repeated in columns so that listing filters on indexes.
-- AUTOINCREMENT: a deleted check's id is never given to a new check, so rows keyed by
-- check id (results, state) can never be attributed to the wrong check.
CREATE TABLE checks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    stack       TEXT,
    paused      INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    spec        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX checks_by_stack ON checks (stack, name) WHERE stack IS NOT NULL;

CREATE TABLE check_tags (
    tag       TEXT    NOT NULL,
    check_id  INTEGER NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    PRIMARY KEY (tag, check_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX check_tags_by_check ON check_tags (check_id);
