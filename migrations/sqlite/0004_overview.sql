-- The last result of each check, kept with its state so an overview of every check needs no
-- scan of the results.
ALTER TABLE check_state ADD COLUMN last_at INTEGER;
ALTER TABLE check_state ADD COLUMN last_total_ms INTEGER;

-- Per-stack settings: whether the stack's public status page is published.
CREATE TABLE stack_settings (
    stack        TEXT    PRIMARY KEY,
    status_page  INTEGER NOT NULL DEFAULT 0
) STRICT;
