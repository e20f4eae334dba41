-- The checks in no stack in name order, for the dashboard's cells (`store::dashboard`):
-- the other checks are read through `checks_by_stack`.
CREATE INDEX checks_without_stack ON checks (name) WHERE stack IS NULL;
