-- A check's own escalation (`escalate_after` minutes, when `escalate_to` is set too),
-- repeated from its spec so the escalation watch, every few seconds, finds the outages
-- that can escalate through an index instead of reading every open outage's spec.
ALTER TABLE checks ADD COLUMN escalate_after BIGINT;
UPDATE checks SET escalate_after = (spec::jsonb ->> 'escalate_after')::BIGINT
WHERE spec::jsonb ->> 'escalate_to' IS NOT NULL;
CREATE INDEX checks_escalating ON checks (id) WHERE escalate_after IS NOT NULL;
