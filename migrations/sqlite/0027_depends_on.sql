-- A check's `depends_on`, repeated from its spec as a JSON list (NULL when it names
-- nothing), so a write that names a dependency reads the graph from the checks that have
-- one through this index: it read the spec of every check whose text matched a pattern, a
-- scan of the whole table inside the writing transaction (see `store::dependencies`).
ALTER TABLE checks ADD COLUMN depends_on TEXT;
UPDATE checks SET depends_on = json_extract(spec, '$.depends_on')
  WHERE json_array_length(spec, '$.depends_on') > 0;
CREATE INDEX checks_with_dependencies ON checks (name, depends_on)
  WHERE depends_on IS NOT NULL;
