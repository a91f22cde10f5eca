import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/core/secrets";
import { apiKeys } from "../../src/db/schema";
import { admin, adminJson, call, limiterStub, newTenant, withDb } from "../support/workers/helpers";

async function problem(res: Response) {
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  return (await res.json()) as { status: number; code: string; detail: string };
}

describe("key lifecycle", () => {
  it("a key revoked through the operator API fails on the very next request", async () => {
    const t = await newTenant({ ratePerMinute: 600, burst: 50, dailyUnits: null });
    expect((await call(t.key)).status).toBe(200);
    const revoked = await admin(`/tenants/${t.id}/keys/${t.keyId}`, { method: "DELETE" });
    expect(revoked.status).toBe(204);
    const res = await call(t.key);
    expect(res.status).toBe(401);
    expect((await problem(res)).code).toBe("unauthorized");
    // Revoking again is harmless, and the key stays dead.
    expect((await admin(`/tenants/${t.id}/keys/${t.keyId}`, { method: "DELETE" })).status).toBe(204);
    expect((await call(t.key)).status).toBe(401);
  });

  it("a second key keeps working when the first is revoked", async () => {
    const t = await newTenant({ ratePerMinute: 600, burst: 50, dailyUnits: null });
    const second = await adminJson<{ key: string }>(`/tenants/${t.id}/keys`, { method: "POST", json: { name: "ci" } });
    await admin(`/tenants/${t.id}/keys/${t.keyId}`, { method: "DELETE" });
    expect((await call(second.key)).status).toBe(200);
    expect((await call(t.key)).status).toBe(401);
  });

  it("tenant A's key can never spend tenant B's quota", async () => {
    const a = await newTenant({ ratePerMinute: 0, burst: 5, dailyUnits: 5 });
    const b = await newTenant({ ratePerMinute: 0, burst: 5, dailyUnits: 5 });
    const aSecret = a.key.split("_")[2];
    const forged = `ak_${b.id}_${aSecret}`;
    for (let i = 0; i < 3; i++) expect((await call(forged)).status).toBe(401);
    for (let i = 0; i < 5; i++) expect((await call(a.key)).status).toBe(200);
    expect((await call(a.key)).status).toBe(429);
    const bLimits = await limiterStub(b.id).limits({ routes: ["default"] });
    expect(bLimits.status === "ok" && bLimits.limits.daily.used).toBe(0);
    expect(bLimits.status === "ok" && bLimits.limits.buckets[0]?.remaining).toBe(5);
    expect((await call(b.key)).status).toBe(200);
  });

  it("a suspended tenant gets 403, and is served again once reactivated", async () => {
    const t = await newTenant({ ratePerMinute: 600, burst: 50, dailyUnits: null });
    await adminJson(`/tenants/${t.id}`, { method: "PATCH", json: { status: "suspended" } });
    const res = await call(t.key);
    expect(res.status).toBe(403);
    expect((await problem(res)).code).toBe("tenant-suspended");
    await adminJson(`/tenants/${t.id}`, { method: "PATCH", json: { status: "active" } });
    expect((await call(t.key)).status).toBe(200);
  });

  it("a quota edit applies to the next request", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 100, dailyUnits: 3 });
    for (let i = 0; i < 3; i++) expect((await call(t.key, "/v1/x")).status).toBe(200);
    expect((await call(t.key, "/v1/x")).status).toBe(429);
    // Today's usage carries over: raising the daily quota to 5 lets exactly two more through.
    await adminJson(`/tenants/${t.id}/quota`, { method: "PUT", json: { ratePerMinute: 0, burst: 100, dailyUnits: 5 } });
    expect((await call(t.key, "/v1/x")).status).toBe(200);
    expect((await call(t.key, "/v1/x")).status).toBe(200);
    expect((await call(t.key, "/v1/x")).status).toBe(429);
    // A bucket keeps its level, capped at the new burst: lowering the burst to 1 leaves 1 token.
    await adminJson(`/tenants/${t.id}/quota`, {
      method: "PUT",
      json: { ratePerMinute: 0, burst: 1, dailyUnits: null },
    });
    expect((await call(t.key, "/v1/x")).status).toBe(200);
    expect((await call(t.key, "/v1/x")).status).toBe(429);
  });

  it("stores keys only as SHA-256 hashes", async () => {
    const t = await newTenant({ ratePerMinute: 60, burst: 10, dailyUnits: null });
    const rows = await withDb((db) => db.select().from(apiKeys).where(eq(apiKeys.tenantId, t.id)));
    expect(rows).toHaveLength(1);
    const row = rows[0];
    expect(row?.keyHash).toBe(await sha256Hex(t.key));
    const secret = t.key.split("_")[2] ?? "";
    for (const value of Object.values(row ?? {})) {
      if (typeof value === "string") expect(value.includes(secret.slice(8))).toBe(false);
    }
    // Listing keys shows the display prefix, never the key.
    const listed = await adminJson<{ keys: Record<string, unknown>[] }>(`/tenants/${t.id}/keys`);
    expect(JSON.stringify(listed)).not.toContain(secret.slice(8));
    expect(listed.keys[0]).toMatchObject({ id: t.keyId, revokedAt: null });
  });

  it("rejects missing, malformed and unknown keys with 401 problem+json", async () => {
    for (const key of [null, "nonsense", "ak_tnaaaaaaaaaaaaaaaa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]) {
      const res = await call(key);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
      expect((await problem(res)).status).toBe(401);
    }
  });
});
