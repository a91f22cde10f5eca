-- Lease mode, a tenant's opt-in (issue 18; docs/architecture.md "Token leases"). Every
-- existing quota gets false: exact mode, as before. Adding a column with a constant default
-- rewrites no rows (Postgres 11+), so this takes a brief lock on tenant_quotas only.
ALTER TABLE "tenant_quotas" ADD COLUMN "leases" boolean DEFAULT false NOT NULL;
