-- A check's state row is written as a compare-and-set: each write carries the version it
-- was judged from and stores the next one, so a write judged from a state another
-- instance has since replaced (a shard taken over while its old holder's writes were
-- still queued) changes nothing and raises no alert.
ALTER TABLE check_state ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
