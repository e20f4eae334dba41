-- Heartbeat pings logged for the instances of a shared database, where any instance may
-- receive a ping and the one holding the check judges it. SQLite's one process judges
-- each ping as it arrives: the table exists so that both databases have the same tables.
CREATE TABLE pings (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    check_id  INTEGER NOT NULL,
    kind      INTEGER NOT NULL,
    message   TEXT,
    at        INTEGER NOT NULL
);

CREATE INDEX pings_by_check ON pings (check_id, at);
