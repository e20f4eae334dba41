-- What `/metrics` shows of each check besides its state, in id order: its ranges of ids
-- are read from this index without reading the checks' rows, which hold their specs (a
-- million rows of some 800 bytes against entries of some 60). New checks take the highest
-- ids, so their entries are appended at the index's end.
CREATE INDEX checks_in_id_order ON checks (id, name, stack, kind);
