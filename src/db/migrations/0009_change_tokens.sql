-- Change tokens: for each tracked table, the id of the last transaction that changed it. A process may keep a
-- rendered page of such a table and serve it again while the token is unchanged: one indexed lookup instead of
-- re-reading and re-rendering the rows. The token is written in the changing transaction itself, so a reader
-- sees a new token exactly when it could see the change; transaction ids are never reused, so a token never
-- comes back (not even after the row here is deleted and written again).
CREATE TABLE change_tokens (
  name  text PRIMARY KEY,
  token text NOT NULL
);

CREATE FUNCTION record_change_token() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO change_tokens (name, token) VALUES (TG_ARGV[0], pg_current_xact_id()::text)
  ON CONFLICT (name) DO UPDATE SET token = EXCLUDED.token;
  RETURN NULL;
END
$$;

-- Every signed-in organisation reads the same testbed list (GET /v1/testbeds, the busiest read).
CREATE TRIGGER testbeds_change_token AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON testbeds
  FOR EACH STATEMENT EXECUTE FUNCTION record_change_token('testbeds');
