-- Results of closed hours, compacted: one row per check and hour holding every result of
-- that hour (see store::block_codec). Written by the rollup job in the transaction that
-- deletes the same results from `results`, so each result is in exactly one of the two.
CREATE TABLE result_blocks (
    check_id  INTEGER NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    hour      INTEGER NOT NULL, -- unix time / 3600
    count     INTEGER NOT NULL,
    data      BLOB    NOT NULL,
    PRIMARY KEY (check_id, hour)
) STRICT, WITHOUT ROWID;
