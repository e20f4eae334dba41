-- The root cause a check's outage is held for (see `domain::cause`): the name of a check it
-- relies on that was DOWN or being confirmed when this one was confirmed DOWN.
ALTER TABLE check_state ADD COLUMN impacted_by TEXT;
