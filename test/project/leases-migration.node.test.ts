// Migration 0009 (a tenant's opt-in to lease mode, issue 18) on a database that already has
// tenants: until it is applied, the self-hosted server's schema check names it; after it, an
// existing quota reads `leases: false` and the limiter's snapshot of it is what it was before
// the column (no `leases` key, so the limits' JSON and the Redis config hash are unchanged);
// and the column round-trips through the quota.

import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "../../scripts/lib/scratch-database";
import { ROOT } from "../../scripts/lib/wrangler-dev";
import { loadConfig } from "../../src/config";
import { migrateDatabase, openNodeDatabase } from "../../src/db/node";
import { getTenant, loadTenantSnapshot, setQuota } from "../../src/db/tenants";
import { defaultLimits } from "../../src/defaults";
import { checkDatabase, DatabaseNotReadyError } from "../../src/server/schema-check";

const MIGRATIONS = path.join(ROOT, "drizzle");
const TAG = "0009_leases";
const TENANT = "tnleasesmigration0";

let scratch: ScratchDatabase;

/** A change's result; null would mean the tenant is not there. */
function found<T>(changed: T | null): T {
  if (changed === null) throw new Error(`${TENANT} is not there`);
  return changed;
}
let before: string;

beforeAll(async () => {
  scratch = await createScratchDatabase("aegis_leases", { migrate: false });
  // drizzle/ as it was before the lease column: the journal up to the migration before it.
  before = mkdtempSync(path.join(tmpdir(), "aegis-drizzle-"));
  cpSync(MIGRATIONS, before, { recursive: true });
  const journalFile = path.join(before, "meta", "_journal.json");
  const journal = JSON.parse(readFileSync(journalFile, "utf8")) as { entries: { tag: string }[] };
  const at = journal.entries.findIndex((e) => e.tag === TAG);
  expect(at, `${TAG} is in the journal`).toBeGreaterThan(0);
  writeFileSync(journalFile, JSON.stringify({ ...journal, entries: journal.entries.slice(0, at) }));
  await migrateDatabase(scratch.url, before);
});
afterAll(async () => {
  await scratch?.drop();
  if (before) rmSync(before, { recursive: true, force: true });
});

describe("migration 0009_leases", () => {
  it("is named by the schema check until applied; then existing quotas are exact mode, unchanged", async () => {
    const pool = new pg.Pool({ connectionString: scratch.url, max: 1 });
    try {
      // A tenant from before the column, written as that schema's code wrote it.
      await pool.query("INSERT INTO tenants (id, name) VALUES ($1, 'from before')", [TENANT]);
      await pool.query(
        "INSERT INTO tenant_quotas (tenant_id, rate_per_minute, burst, daily_units, shadow) VALUES ($1, 60, 10, 1000, true)",
        [TENANT],
      );
      const check = checkDatabase(pool, scratch.url);
      await expect(check).rejects.toBeInstanceOf(DatabaseNotReadyError);
      await expect(check).rejects.toThrow(new RegExp(`\\(\\d+ of \\d+ migrations missing, from ${TAG}\\)`));

      const run = await migrateDatabase(scratch.url, MIGRATIONS);
      expect(run.applied[0]).toBe(TAG);
      await expect(checkDatabase(pool, scratch.url)).resolves.toBeUndefined();
      const row = await pool.query("SELECT leases FROM tenant_quotas WHERE tenant_id = $1", [TENANT]);
      expect(row.rows).toEqual([{ leases: false }]);
    } finally {
      await pool.end();
    }

    const handle = openNodeDatabase(scratch.url, 1);
    try {
      const defaults = defaultLimits(loadConfig({}));
      const snapshot = await loadTenantSnapshot(handle.db, TENANT, defaults);
      // The limits of a quota from before the column, key for key.
      expect(Object.keys(snapshot?.limits ?? {})).toEqual([
        "ratePerMinute",
        "burst",
        "requestsPerMinute",
        "requestBurst",
        "maxConcurrent",
        "alerts",
        "dailyUnits",
        "timeZone",
        "shadow",
        "routes",
      ]);
      expect(snapshot?.limits).toMatchObject({ ratePerMinute: 60, burst: 10, dailyUnits: 1000, shadow: true });
      const view = await getTenant(handle.db, TENANT, defaults);
      expect(view?.quota.leases).toBe(false);
    } finally {
      await handle.close();
    }
  });

  it("stores lease mode, gives it to the limiter only when on, and a quota left without it is off", async () => {
    const handle = openNodeDatabase(scratch.url, 1);
    try {
      const defaults = defaultLimits(loadConfig({}));
      const view = await getTenant(handle.db, TENANT, defaults);
      if (!view) throw new Error("the tenant of the first test is not there");
      const on = found(await setQuota(handle.db, TENANT, { ...view.quota, leases: true }, defaults));
      expect(on.view.quota).toEqual({ ...view.quota, leases: true });
      expect(on.snapshot.limits.leases).toBe(true);
      expect((await loadTenantSnapshot(handle.db, TENANT, defaults))?.limits.leases).toBe(true);

      const off = found(await setQuota(handle.db, TENANT, { ...view.quota, leases: false }, defaults));
      expect(off.view.quota.leases).toBe(false);
      expect(off.snapshot.limits).not.toHaveProperty("leases");
      expect(JSON.stringify(off.snapshot.limits)).not.toContain("leases");

      await setQuota(handle.db, TENANT, { ...view.quota, leases: true }, defaults);
      // A quota replaced without the field is exact mode, the default.
      const { leases: _, ...without } = view.quota;
      const replaced = found(await setQuota(handle.db, TENANT, without, defaults));
      expect(replaced.view.quota.leases).toBe(false);
      expect(replaced.snapshot.limits).not.toHaveProperty("leases");
    } finally {
      await handle.close();
    }
  });
});
