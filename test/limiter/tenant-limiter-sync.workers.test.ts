import { runInDurableObject } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { newApiKey } from "../../src/core/api-keys";
import { newKeyId, sha256Hex } from "../../src/core/secrets";
import { tenants } from "../../src/db/schema";
import { createKey, updateTenant } from "../../src/db/tenants";
import { defaultLimits } from "../../src/defaults";
import type { TenantLimiter } from "../../src/tenant-limiter";
import { call, env, limiterStub, newTenant, withDb } from "../support/workers/helpers";

const defaults = () => defaultLimits(loadConfig(env));

/** Moves the limiter's clock `ms` ahead of real time. */
async function advance(tenantId: string, ms: number): Promise<void> {
  await runInDurableObject(limiterStub(tenantId), (instance: TenantLimiter) => {
    instance.clock = () => Date.now() + ms;
  });
}

/** Waits for the limiter's background reload of its tenant, if one is running. */
async function reloaded(tenantId: string): Promise<void> {
  await runInDurableObject(limiterStub(tenantId), async (instance: TenantLimiter) => {
    await (instance as unknown as { tenant: { loading: Promise<unknown> | null } }).tenant.loading;
  });
}

const status = async (key: string) => {
  const res = await call(key, "/v1/x");
  await res.arrayBuffer();
  return res.status;
};

describe("changes that reach Postgres but not the limiter", () => {
  it("a new key whose push was lost works within 30 s of its first refusal", async () => {
    const t = await newTenant({ ratePerMinute: 600, burst: 50, dailyUnits: null });
    const { key, prefix } = await newApiKey(t.id, loadConfig(env).KEY_SIGNING_SECRET[0]);
    await withDb(async (db) => {
      await createKey(db, t.id, { id: newKeyId(), prefix, keyHash: await sha256Hex(key), name: null }, defaults());
    });
    expect(await status(key)).toBe(401);
    await advance(t.id, 31_000);
    expect(await status(key)).toBe(401); // turned away, and the reload starts
    await reloaded(t.id);
    expect(await status(key)).toBe(200);
  });

  it("a suspension, and then a reactivation, whose pushes were lost apply after CONFIG_REFRESH_SECONDS", async () => {
    const t = await newTenant({ ratePerMinute: 600, burst: 50, dailyUnits: null });
    await withDb((db) => updateTenant(db, t.id, { status: "suspended" }, defaults()));
    expect(await status(t.key)).toBe(200);
    await advance(t.id, 301_000);
    await status(t.key);
    await reloaded(t.id);
    expect(await status(t.key)).toBe(403);

    await withDb((db) => updateTenant(db, t.id, { status: "active" }, defaults()));
    await advance(t.id, 602_000);
    expect(await status(t.key)).toBe(403); // the refusal starts the reload
    await reloaded(t.id);
    expect(await status(t.key)).toBe(200);
  });

  it("a tenant deleted from Postgres is refused, and its limiter keeps nothing", async () => {
    const t = await newTenant({ ratePerMinute: 600, burst: 50, dailyUnits: 100 });
    expect(await status(t.key)).toBe(200);
    await withDb((db) => db.delete(tenants).where(eq(tenants.id, t.id)));
    await advance(t.id, 301_000);
    await status(t.key);
    await reloaded(t.id);
    expect(await status(t.key)).toBe(401);
    const rows = await runInDurableObject(limiterStub(t.id), (_: TenantLimiter, state) =>
      state.storage.sql.exec("SELECT count(*) AS n FROM counters").one(),
    );
    expect(rows.n).toBe(0);
  });
});

describe("made-up tenant ids", () => {
  it("leave no storage behind in the limiter they address", async () => {
    const tenantId = "tnzzzzzzzzzzzzzzzz";
    expect(await status(`ak_${tenantId}_${"A".repeat(32)}`)).toBe(401);
    const tables = await runInDurableObject(limiterStub(tenantId), (_: TenantLimiter, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master").toArray(),
    );
    expect(tables).toEqual([]);
  });
});
