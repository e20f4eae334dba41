-- Every message sent to a contact (an alert, or a digest of held ones), so that no
-- contact gets more than `alerting.max_per_minute` in a minute whichever instance sends.
-- Pruned after an hour.
CREATE TABLE contact_messages (
    contact  TEXT    NOT NULL,
    at       INTEGER  NOT NULL,
    digest   INTEGER  NOT NULL CHECK (digest IN (0, 1))
) STRICT;
CREATE INDEX contact_messages_by_contact ON contact_messages (contact, at);
