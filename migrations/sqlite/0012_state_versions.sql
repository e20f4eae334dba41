-- A check's state row is written as a compare-and-set: each write carries the version it
-- was judged from and stores the next one, so on a shared database a write judged from a
-- state another instance has since replaced changes nothing (and raises no alert). SQLite
-- has one writer, whose writes always match; the column keeps both databases alike.
ALTER TABLE check_state ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
