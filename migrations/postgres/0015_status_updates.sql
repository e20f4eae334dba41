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

-- Who is told of a stack's updates and announced windows: an email address a visitor
-- gave, kept only for that (double opt-in: `confirmed_at` is set by the link mailed to it;
-- unsubscribing deletes the row; `token` is the secret of those links), or a webhook URL
-- the team added (confirmed when added).
CREATE TABLE subscribers (
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stack         TEXT    NOT NULL,
    kind          TEXT    NOT NULL DEFAULT 'email' CHECK (kind IN ('email', 'webhook')),
    address       TEXT    NOT NULL,
    token         TEXT    NOT NULL UNIQUE,
    confirmed_at  BIGINT,
    created_at    BIGINT  NOT NULL,
    UNIQUE (stack, address)
);

-- The mails to subscribers, written before they are sent and retried until delivered or
-- given up, like alerts' deliveries; `next_attempt_at` also claims a mail while it is sent.
CREATE TABLE subscriber_messages (
    id               BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscriber_id    BIGINT  NOT NULL REFERENCES subscribers (id),
    subject          TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT  NOT NULL,
    last_error       TEXT,
    created_at       BIGINT  NOT NULL,
    delivered_at     BIGINT
);

CREATE INDEX subscriber_messages_pending ON subscriber_messages (next_attempt_at) WHERE status = 'pending';
CREATE INDEX subscriber_messages_of ON subscriber_messages (subscriber_id, created_at);
