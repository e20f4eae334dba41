-- Every message sent to a contact (an alert, a group of a stack's alerts, or a digest of
-- held ones), so that no contact gets more than `alerting.max_per_minute` in a minute and
-- a stack's further DOWNs within `alerting.group_interval` are folded, whichever
-- instance sends. `grouping` names a group's stack and event. Pruned after an hour.
CREATE TABLE contact_messages (
    contact  TEXT    NOT NULL,
    at       INTEGER  NOT NULL,
    digest   INTEGER  NOT NULL CHECK (digest IN (0, 1)),
    grouping TEXT
) STRICT;
CREATE INDEX contact_messages_by_contact ON contact_messages (contact, at);
CREATE INDEX contact_messages_by_grouping ON contact_messages (contact, grouping, at);
