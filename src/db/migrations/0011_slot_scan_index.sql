-- Candidates read, per testbed, the slots starting in a pilot's window in (start_at, id) order: the testbed's
-- utilisation over all of them and its earliest suitable ones. slots_testbed_start_idx now carries every column
-- those scans read, so both are index-only scans that stop at the window (and at the LIMIT) instead of visiting a
-- heap page per slot: slots of many testbeds are interleaved on the pages, so each slot is a page of its own.
-- Updates of booked_units and held_units now write this index too (they could not be HOT updates on full pages
-- anyway); pages a recent update touched are read from the heap until VACUUM marks them all-visible again.
DROP INDEX slots_testbed_start_idx;
CREATE INDEX slots_testbed_start_idx ON slots (testbed_id, start_at, id) INCLUDE (end_at, capacity, booked_units, held_units);
