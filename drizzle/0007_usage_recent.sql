-- The console's fleet page (issue 16) reads the last hour of calls, and the newest call stored,
-- by when they happened. It blocks usage inserts while it builds: on a large usage_records,
-- create it by hand first with CREATE INDEX CONCURRENTLY under this name, and this is a
-- no-op. A CONCURRENTLY build that fails leaves an invalid index under the name, which IF
-- NOT EXISTS would keep: check pg_index.indisvalid, and drop and build it again if false.
CREATE INDEX IF NOT EXISTS "usage_records_occurred_idx" ON "usage_records" USING btree ("occurred_at");