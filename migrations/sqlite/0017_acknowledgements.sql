-- An incident may be acknowledged (who, when, a note): its reminders stop and one
-- `acknowledged` alert goes to its check's contacts. `escalated_at` says its escalation
-- went out, so it goes out once whichever instance sends it.
ALTER TABLE incidents ADD COLUMN acked_at INTEGER;
ALTER TABLE incidents ADD COLUMN acked_by TEXT;
ALTER TABLE incidents ADD COLUMN ack_note TEXT;
ALTER TABLE incidents ADD COLUMN escalated_at INTEGER;
