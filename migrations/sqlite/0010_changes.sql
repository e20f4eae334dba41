-- A log of changes to checks (by name) and to maintenance windows (no name), for other
-- instances on a shared database to follow. SQLite has one process, which hears of its own
-- changes directly: the table exists so that both databases have the same tables, and
-- stays empty.
CREATE TABLE changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    check_name  TEXT,
    at          INTEGER NOT NULL
);
