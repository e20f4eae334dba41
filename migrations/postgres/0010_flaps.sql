-- A check's recent changes of health and whether it is flapping (JSON, see
-- `domain::Flaps`); NULL for one that never changed.
ALTER TABLE check_state ADD COLUMN flaps TEXT;
