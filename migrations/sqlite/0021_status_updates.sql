-- What the team tells a stack's customers (see `domain::status_update`): the current text
-- of each update, and every earlier text of it. A deleted update keeps its row, marked.
CREATE TABLE status_updates (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    stack        TEXT    NOT NULL,
    incident_id  INTEGER,
    stage        TEXT    NOT NULL,
    message      TEXT    NOT NULL,
    checks       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    edited_at    INTEGER,
    deleted_at   INTEGER
) STRICT;

CREATE INDEX status_updates_of_stack ON status_updates (stack, created_at);

CREATE TABLE status_update_history (
    update_id   INTEGER NOT NULL REFERENCES status_updates (id),
    stage       TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    checks      TEXT    NOT NULL,
    written_at  INTEGER NOT NULL,
    replaced_at INTEGER NOT NULL
) STRICT;

CREATE INDEX status_update_history_of ON status_update_history (update_id, replaced_at);

-- A public window is announced on the status pages of the stacks it covers.
ALTER TABLE maintenance ADD COLUMN public INTEGER NOT NULL DEFAULT 0;
