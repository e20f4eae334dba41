-- A delivery being sent is claimed until this time (unix ms), so that another instance on
-- the same database does not send it too; a claim that outlives its sender (an instance
-- that died mid-send) lapses and the delivery is taken over. NULL: not claimed.
ALTER TABLE deliveries ADD COLUMN claimed_until BIGINT;
