-- Names sort and page in byte order, as SQLite sorts them, whatever the database's locale:
-- a list answers in the same order on either database, and a name's place does not depend
-- on how the server was initialised.
ALTER TABLE checks ALTER COLUMN name TYPE TEXT COLLATE "C";
ALTER TABLE checks ALTER COLUMN stack TYPE TEXT COLLATE "C";
ALTER TABLE check_tags ALTER COLUMN tag TYPE TEXT COLLATE "C";
ALTER TABLE stack_settings ALTER COLUMN stack TYPE TEXT COLLATE "C";
ALTER TABLE alerts ALTER COLUMN check_name TYPE TEXT COLLATE "C";
ALTER TABLE incidents ALTER COLUMN check_name TYPE TEXT COLLATE "C";
