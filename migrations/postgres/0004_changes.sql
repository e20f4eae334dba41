-- A log of changes to checks (by name) and to maintenance windows (no name): every
-- instance on the database reads what is new in it every second and reloads those checks
-- or the windows, whichever instance made the change. Triggers write it, so no write path
-- can forget to. Configuration writes run one at a time (an advisory lock the store
-- takes), so ids grow in commit order and a reader that saw id N has seen every change
-- before it. Rows older than an hour are pruned by the rollup job.
CREATE TABLE changes (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    check_name  TEXT,
    at          BIGINT  NOT NULL
);

CREATE FUNCTION log_check_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    now_ms BIGINT := (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT;
BEGIN
    IF TG_OP = 'INSERT' OR TG_OP = 'UPDATE' THEN
        INSERT INTO changes (check_name, at) VALUES (NEW.name, now_ms);
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.name <> NEW.name) THEN
        INSERT INTO changes (check_name, at) VALUES (OLD.name, now_ms);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER checks_log_change AFTER INSERT OR UPDATE OR DELETE ON checks
    FOR EACH ROW EXECUTE FUNCTION log_check_change();

CREATE FUNCTION log_window_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO changes (check_name, at)
    VALUES (NULL, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT);
    RETURN NULL;
END;
$$;

CREATE TRIGGER maintenance_log_change AFTER INSERT OR UPDATE OR DELETE ON maintenance
    FOR EACH STATEMENT EXECUTE FUNCTION log_window_change();
