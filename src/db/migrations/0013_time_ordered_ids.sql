-- Time-ordered ids (UUID version 7, RFC 9562: 48 bits of Unix milliseconds, then 74 random bits) for the rows
-- written most: events, webhook deliveries and their attempts. A random (version 4) key puts each new index entry
-- on a random leaf page, and every update of a delivery that is not HOT adds another entry under the same key: as
-- the tables grow, those writes touch more pages than the buffer cache holds, and a backlog drained slower with
-- each 100,000 deliveries already in the tables (9,946, 8,646, 7,910 a second in one run). With time-ordered keys
-- the entries of recent rows, which are the ones being written, sit together at the end of each index. The random
-- part still makes ids unguessable, and every id is still checked against who may see it.
-- gen_random_uuid() supplies the random bits and the variant; the first six bytes become the clock and the version
-- nibble becomes 7 (bits 52 and 53 of a version 4 id set: 0100 → 0111).
CREATE FUNCTION uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  SELECT encode(
           set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
                                   PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                                   FROM 1 FOR 6),
                           52, 1),
                   53, 1),
           'hex')::uuid
$$;
ALTER TABLE events ALTER COLUMN id SET DEFAULT uuid_v7();
ALTER TABLE webhook_deliveries ALTER COLUMN id SET DEFAULT uuid_v7();
ALTER TABLE webhook_attempts ALTER COLUMN id SET DEFAULT uuid_v7();
