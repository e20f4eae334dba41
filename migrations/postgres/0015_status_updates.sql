-- What the team tells a stack's customers (see `domain::status_update`): the current text
-- of each update, and every earlier text of it. A deleted update keeps its row, marked.
CREATE TABLE status_updates (
    id           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stack        TEXT    NOT NULL,
    incident_id  BIGINT,
    stage        TEXT    NOT NULL,
    message      TEXT    NOT NULL,
    checks       TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    edited_at    BIGINT,
    deleted_at   BIGINT
);

CREATE INDEX status_updates_of_stack ON status_updates (stack, created_at);

CREATE TABLE status_update_history (
    update_id   BIGINT  NOT NULL REFERENCES status_updates (id),
    stage       TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    checks      TEXT    NOT NULL,
    written_at  BIGINT  NOT NULL,
    replaced_at BIGINT  NOT NULL
);

CREATE INDEX status_update_history_of ON status_update_history (update_id, replaced_at);

-- A public window is announced on the status pages of the stacks it covers.
ALTER TABLE maintenance ADD COLUMN public BOOLEAN NOT NULL DEFAULT FALSE;
