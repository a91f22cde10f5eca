// Forged API keys against the Worker: refused before any Durable Object is touched, so no
// limiter loads anything from Postgres and no object storage is written.

import { createExecutionContext, listDurableObjectIds, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { newApiKey } from "../../src/core/api-keys";
import { newKeyId, newTenantId, randomSecret, sha256Hex } from "../../src/core/secrets";
import { createKey } from "../../src/db/tenants";
import { defaultLimits } from "../../src/defaults";
import worker from "../../src/index";
import { call, env, limiterStub, newTenant, withDb } from "../support/workers/helpers";

/** The Worker with some settings changed, as a deployment would have them. */
async function callWorker(key: string, settings: Record<string, string>): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request("http://gateway.test/v1/chat/completions", {
      method: "POST",
      body: "{}",
      headers: { authorization: `Bearer ${key}` },
    }),
    { ...env, ...settings },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

const objectIds = async () => new Set((await listDurableObjectIds(env.TENANT_LIMITER)).map((id) => id.toString()));

describe("forged API keys, Workers", () => {
  it("refuses 2,000 forged keys with 401 without touching a Durable Object", async () => {
    const real = await newTenant({ ratePerMinute: 0, burst: 100, dailyUnits: 1_000 });
    const forged = await Promise.all(
      Array.from({ length: 2_000 }, async (_, i) => {
        const tenant = newTenantId();
        // Half unsigned (refused under UNSIGNED_KEYS=refuse), half signed by someone else.
        if (i % 2 === 1) return `ak_${tenant}_${randomSecret(32)}`;
        return (await newApiKey(tenant, "another-deployments-secret-0123456789")).key;
      }),
    );
    const statuses = new Map<number, number>();
    for (let i = 0; i < forged.length; i += 50) {
      await Promise.all(
        forged.slice(i, i + 50).map(async (key, j) => {
          // Signed forgeries are refused with the default settings; unsigned ones once refused.
          const res = await callWorker(key, (i + j) % 2 === 1 ? { UNSIGNED_KEYS: "refuse" } : {});
          expect(((await res.json()) as { code: string }).code).toBe("unauthorized");
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }),
      );
    }
    expect(Object.fromEntries(statuses)).toEqual({ 401: 2_000 });
    // No limiter object was created for any forged tenant: none could have asked Postgres.
    const after = await objectIds();
    const forgedIds = new Set(forged.map((k) => env.TENANT_LIMITER.idFromName(k.split("_")[1] as string).toString()));
    expect([...after].filter((id) => forgedIds.has(id))).toEqual([]);

    const ok = await call(real.key);
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
  }, 60_000);

  it("still accepts an unsigned key issued before signing while UNSIGNED_KEYS is accept, and not after", async () => {
    const real = await newTenant({ ratePerMinute: 0, burst: 100, dailyUnits: 1_000 });
    // A key from before signing, stored and pushed to the limiter as the operator API did then.
    const { key: legacy, prefix } = await newApiKey(real.id, undefined);
    const changed = await withDb(async (db) =>
      createKey(
        db,
        real.id,
        { id: newKeyId(), prefix, keyHash: await sha256Hex(legacy), name: "legacy" },
        defaultLimits(loadConfig(env)),
      ),
    );
    if (!changed) throw new Error("the tenant vanished");
    await limiterStub(real.id).apply(changed.snapshot);
    expect(legacy).not.toMatch(/_[0-9a-f]{32}$/);
    const accepted = await callWorker(legacy, {});
    expect(accepted.status).toBe(200);
    await accepted.arrayBuffer();
    const refused = await callWorker(legacy, { UNSIGNED_KEYS: "refuse" });
    expect(refused.status).toBe(401);
    await refused.arrayBuffer();
  });
});
