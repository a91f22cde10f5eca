-- The Worker's GET /metrics and the console's fleet page read one UTC day of every tenant's
-- rollup (issue 16); the primary key leads with tenant_id, so without this index each read
-- scans all of usage_daily. It blocks rollup writes (every usage ingest) while it builds: on
-- a large usage_daily, create it by hand first with CREATE INDEX CONCURRENTLY under this
-- name, and this is a no-op. A CONCURRENTLY build that fails leaves an invalid index under
-- the name, which IF NOT EXISTS would keep: check pg_index.indisvalid, and drop and build
-- it again if false.
CREATE INDEX IF NOT EXISTS "usage_daily_day_idx" ON "usage_daily" USING btree ("day");
