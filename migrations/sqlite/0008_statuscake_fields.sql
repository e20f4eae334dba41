-- What a check written through the StatusCake-compatible API (`/v1`) said that has no
-- field of its own in stackwatch (trigger_rate, regions, confirmation as given), so `/v1`
-- answers with it. JSON object; the row goes with its check.
CREATE TABLE statuscake_fields (
    check_id  INTEGER PRIMARY KEY REFERENCES checks (id) ON DELETE CASCADE,
    fields    TEXT    NOT NULL
) STRICT;
