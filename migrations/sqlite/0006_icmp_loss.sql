-- ICMP checks: how many of the probe's echo requests went unanswered (NULL for other kinds).
ALTER TABLE results ADD COLUMN lost INTEGER;
