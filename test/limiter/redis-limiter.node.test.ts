// The Redis store's own mechanics, on the local Redis: the script's SHA and the NOSCRIPT
// fallback, the usage stream as outbox, the config cache, and the hash-tagged key layout.

import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { TenantLoadError } from "../../src/core/limiter-store";
import { tenantKeys } from "../../src/redis/keys";
import { LIMITER_SCRIPT, limiterScript } from "../../src/redis/limiter-script";
import { newKeyHash, newTestTenantId, redisHarness } from "./conformance/redis-harness";
import { cutOffStore, redisForTests, T0 } from "./redis-node-setup";
import { limits } from "./test-limits";

const { redis, prefix } = redisForTests();

async function streamEntries(tenantId: string) {
  const reply = (await redis.send(["XRANGE", tenantKeys(prefix, tenantId).stream, "-", "+"])) as [string, string[]][];
  return reply.map(([, fields]) => {
    expect(fields[0]).toBe("e");
    const [i, r, u, t, m, n] = String(fields[1]).split("\t");
    const o: Record<string, string> = { i: i ?? "", r: r ?? "", u: u ?? "", t: t ?? "" };
    if (m) o.m = m;
    if (n) o.n = n;
    return o;
  });
}

describe("Redis limiter", () => {
  it("sends the script by its SHA-1, and falls back to EVAL after the server forgets it", async () => {
    const expected = createHash("sha1").update(LIMITER_SCRIPT).digest("hex");
    expect(await limiterScript.sha()).toBe(expected);
    expect(await redis.send(["SCRIPT", "LOAD", LIMITER_SCRIPT])).toBe(expected);

    const h = redisHarness(redis, prefix);
    h.now.ms = T0;
    const t = await h.createTenant(limits());
    await redis.send(["SCRIPT", "FLUSH"]);
    expect(await redis.send(["SCRIPT", "EXISTS", expected])).toEqual([0]);
    const r = await h.store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", cost: 1 });
    expect(r).toMatchObject({ status: "ok", decision: { allowed: true } });
    expect(await redis.send(["SCRIPT", "EXISTS", expected])).toEqual([1]);
  });

  it("writes each usage event to the tenant's stream in the same script as the counter", async () => {
    const h = redisHarness(redis, prefix, 60);
    h.now.ms = T0;
    const t = await h.createTenant(limits());
    const call = (extra: object) => h.store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", cost: 3, ...extra });

    await call({ metadata: { model: "m1" } });
    const reserved = await call({ reserve: true, metadata: { model: "m2" } });
    if (reserved.status !== "ok" || !reserved.reservation) throw new Error("expected a reservation");
    expect(await streamEntries(t.tenantId)).toHaveLength(1);
    await h.store.settle(t.tenantId, reserved.reservation.id, 5, { finish: "stop" });
    const expiring = await call({ reserve: true });
    if (expiring.status !== "ok" || !expiring.reservation) throw new Error("expected a reservation");
    // Refused calls write nothing.
    await h.store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", cost: 1_000 });
    h.now.ms = T0 + 61_000;
    expect(await h.store.sweepExpired(t.tenantId)).toBe(1);

    const entries = await streamEntries(t.tenantId);
    expect(entries).toEqual([
      { i: expect.stringMatching(/^ev_/), r: "chat", u: "3", t: String(T0), m: '{"model":"m1"}' },
      {
        i: `ev_${reserved.reservation.id}`,
        r: "chat",
        u: "5",
        t: String(T0),
        m: '{"model":"m2"}',
        n: '{"finish":"stop"}',
      },
      { i: `ev_${expiring.reservation.id}`, r: "chat", u: "3", t: String(T0) },
    ]);
    const lim = await h.store.limits(t.tenantId, { keyHash: t.keyHash, routes: [] });
    expect(lim).toMatchObject({ status: "ok", limits: { daily: { used: 11 } } });
  });

  it("caches config in Redis with a TTL, loads it on a miss or once expired, and ignores an older push", async () => {
    const h = redisHarness(redis, prefix);
    h.now.ms = T0;
    const t = await h.createTenant(limits({ burst: 5 }));
    const { tenant } = tenantKeys(prefix, t.tenantId);
    // Twice CONFIG_REFRESH_SECONDS (300 s), counted on the limiter's clock.
    expect(await redis.send(["HGET", tenant, "ttl"])).toBe("600000");
    const snapshot = h.snapshots.get(t.tenantId);
    if (!snapshot) throw new Error("no snapshot");
    const quota = async () => {
      const r = await h.store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", cost: 0 });
      return r.status === "ok" ? r.decision.policies[0]?.quota : r.status;
    };

    // Lost (a flushed Redis, an evicted key): the next call loads the tenant from "Postgres" again.
    await redis.send(["DEL", tenant]);
    h.snapshots.set(t.tenantId, { ...snapshot, version: 7, limits: limits({ burst: 9 }) });
    expect(await quota()).toBe(9);
    expect(await redis.send(["HGET", tenant, "v"])).toBe("7");

    // Expired: past its TTL the config is reloaded before the call is decided.
    h.snapshots.set(t.tenantId, { ...snapshot, version: 8, limits: limits({ burst: 4 }) });
    h.now.ms = Number(await redis.send(["HGET", tenant, "at"])) + 600_001;
    expect(await quota()).toBe(4);

    // A push older than what Redis holds changes nothing.
    await h.store.apply({ ...snapshot, version: 3, limits: limits({ burst: 2 }) });
    expect(await redis.send(["HGET", tenant, "burst"])).toBe("4");
  });

  it("drops a tenant deleted from Postgres at its next refresh", async () => {
    const h = redisHarness(redis, prefix);
    h.now.ms = T0;
    const t = await h.createTenant(limits());
    const call = () => h.store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", cost: 1 });
    expect(await call()).toMatchObject({ status: "ok" });
    h.snapshots.delete(t.tenantId);
    // Past CONFIG_REFRESH_SECONDS (300 s), a call starts a reload, which finds nothing.
    h.now.ms = T0 + 301_000;
    let last = await call();
    for (let i = 0; i < 50 && last.status === "ok"; i++) {
      await new Promise((r) => setTimeout(r, 10));
      last = await call();
    }
    expect(last).toEqual({ status: "unauthenticated" });
    expect(await redis.send(["HGET", tenantKeys(prefix, t.tenantId).tenant, "s"])).toBe("missing");
  });

  it("remembers a made-up tenant id for 30 s only, and keeps a tenant created after it for good", async () => {
    const h = redisHarness(redis, prefix);
    h.now.ms = T0;
    const tenantId = newTestTenantId();
    const key = tenantKeys(prefix, tenantId).tenant;
    const keyHash = newKeyHash();
    expect(await h.store.check(tenantId, { keyHash, route: "chat", cost: 1 })).toEqual({ status: "unauthenticated" });
    expect(await redis.send(["HGET", key, "s"])).toBe("missing");
    // The marker expires by itself: 2,000 made-up ids leave nothing behind after 30 s.
    const ttl = Number(await redis.send(["PTTL", key]));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30_000);
    // The tenant is created (Postgres, then the push): its hash must not expire with the marker.
    const snapshot = { tenantId, version: 1, status: "active" as const, limits: limits(), keyHashes: [keyHash] };
    h.snapshots.set(tenantId, snapshot);
    await h.store.apply(snapshot);
    expect(Number(await redis.send(["PTTL", key]))).toBe(-1);
    expect(await h.store.check(tenantId, { keyHash, route: "chat", cost: 1 })).toMatchObject({ status: "ok" });
    expect(Number(await redis.send(["PTTL", key]))).toBe(-1);
  });

  describe("when Postgres cannot be reached", () => {
    const cutOff = (h: ReturnType<typeof redisHarness>) => cutOffStore(redis, prefix, () => h.now.ms);

    it("keeps deciding on a config past its refresh time, and refuses keys it does not hold", async () => {
      const h = redisHarness(redis, prefix);
      h.now.ms = T0;
      const t = await h.createTenant(limits({ burst: 2 }));
      // Past the cached config's time (twice CONFIG_REFRESH_SECONDS): a miss, whose reload fails.
      h.now.ms = T0 + 601_000;
      const store = cutOff(h);
      const check = (keyHash: string) => store.check(t.tenantId, { keyHash, route: "chat", cost: 1 });
      expect(await check(t.keyHash)).toMatchObject({ status: "ok", decision: { allowed: true } });
      expect(await check(t.keyHash)).toMatchObject({ status: "ok", decision: { allowed: true } });
      expect(await check(t.keyHash)).toMatchObject({ status: "ok", decision: { allowed: false } });
      expect(await check(newKeyHash())).toEqual({ status: "unauthenticated" });
    });

    it("refuses, never lets through, a key it does not hold when the reload that would look for it fails", async () => {
      const h = redisHarness(redis, prefix);
      h.now.ms = T0;
      const t = await h.createTenant(limits());
      // Older than 30 s: an unknown key makes a Worker reload before answering; the reload fails.
      h.now.ms = T0 + 31_000;
      expect(await cutOff(h).check(t.tenantId, { keyHash: newKeyHash(), route: "chat", cost: 1 })).toEqual({
        status: "unauthenticated",
      });
    });

    it("is a load error, which the gateway never fails open, for a tenant it holds nothing of", async () => {
      const h = redisHarness(redis, prefix);
      h.now.ms = T0;
      const err = await cutOff(h)
        .check(newTestTenantId(), { keyHash: newKeyHash(), route: "chat", cost: 1 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TenantLoadError);
    });
  });

  it("re-sends the limits when another process cached different ones under the same version", async () => {
    const a = redisHarness(redis, prefix);
    const b = redisHarness(redis, prefix);
    a.now.ms = b.now.ms = T0;
    const t = await a.createTenant(limits({ burst: 100 }));
    const peek = async () => {
      const r = await a.store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", cost: 0 });
      return r.status === "ok" ? r.decision.policies[0]?.quota : null;
    };
    expect(await peek()).toBe(100);
    // Another process resolves version 1 with other defaults (a rolling deploy).
    const s = a.snapshots.get(t.tenantId);
    if (!s) throw new Error("no snapshot");
    await b.store.apply({ ...s, limits: limits({ burst: 5 }) });
    expect(await peek()).toBe(5);
  });

  it("follows a change of the tenant's time zone made by another process", async () => {
    const h = redisHarness(redis, prefix);
    const other = redisHarness(redis, prefix);
    h.now.ms = other.now.ms = Date.UTC(2026, 5, 15, 14, 30);
    const t = await h.createTenant(limits({ dailyUnits: 5 }));
    other.snapshots.set(t.tenantId, h.snapshots.get(t.tenantId) as never);
    expect(await h.store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", cost: 5 })).toMatchObject({
      decision: { allowed: true },
    });
    // Another instance moves the tenant to Tokyo, where the day changes at 15:00 UTC.
    const s = h.snapshots.get(t.tenantId);
    if (!s) throw new Error("no snapshot");
    const moved = { ...s, version: 2, limits: limits({ dailyUnits: 5, timeZone: "Asia/Tokyo" }) };
    h.snapshots.set(t.tenantId, moved);
    await other.store.apply(moved);
    h.now.ms = Date.UTC(2026, 5, 15, 15, 0, 1);
    const r = await h.store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", cost: 5 });
    expect(r).toMatchObject({ status: "ok", decision: { allowed: true } });
  });

  it("keeps every key of a tenant under its {tenantId} hash tag", async () => {
    const h = redisHarness(redis, prefix, 60);
    h.now.ms = T0;
    const t = await h.createTenant(limits());
    await h.store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", cost: 1, reserve: true });
    await h.store.record(t.tenantId, {
      keyHash: t.keyHash,
      idempotencyKey: "job-1",
      units: 1,
      route: "chat",
      occurredAt: T0,
    });
    const reply = (await redis.send(["SCAN", "0", "MATCH", `*${t.tenantId}*`, "COUNT", 100_000])) as [string, string[]];
    const found = reply[1].sort();
    expect(found.length).toBeGreaterThanOrEqual(5);
    for (const key of found) expect(key.match(/\{([^}]*)\}/)?.[1]).toBe(t.tenantId);
  });
});
