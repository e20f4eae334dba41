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

-- Who is told of a stack's updates and announced windows: an email address a visitor
-- gave, kept only for that (double opt-in: `confirmed_at` is set by the link mailed to it;
-- unsubscribing deletes the row; `token` is the secret of those links), or a webhook URL
-- the team added (confirmed when added).
CREATE TABLE subscribers (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    stack         TEXT    NOT NULL,
    kind          TEXT    NOT NULL DEFAULT 'email' CHECK (kind IN ('email', 'webhook')),
    address       TEXT    NOT NULL,
    token         TEXT    NOT NULL UNIQUE,
    confirmed_at  INTEGER,
    created_at    INTEGER NOT NULL,
    UNIQUE (stack, address)
) STRICT;

-- The mails to subscribers, written before they are sent and retried until delivered or
-- given up, like alerts' deliveries; `next_attempt_at` also claims a mail while it is sent.
CREATE TABLE subscriber_messages (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    subscriber_id    INTEGER NOT NULL REFERENCES subscribers (id),
    subject          TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    delivered_at     INTEGER
) STRICT;

CREATE INDEX subscriber_messages_pending ON subscriber_messages (next_attempt_at) WHERE status = 'pending';
CREATE INDEX subscriber_messages_of ON subscriber_messages (subscriber_id, created_at);
