// The Redis store reading what earlier scripts wrote. Before v2 policies: a config whose route
// specs have three parts ("rate,burst,cost"), keys stored as '1', no request or
// calls-in-flight fields, and reservations of eight parts, which held no slot. Before the
// packed config (cfg): the config in its fields only, and loads that rewrite them and 'at'
// but leave cfg as it was. A config is rewritten at its next load; a reservation lives until
// it is settled or expires.

import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { TenantLimits } from "../../src/core/limits";
import { tenantKeys } from "../../src/redis/keys";
import { redisHarness } from "./conformance/redis-harness";
import { redisForTests, T0 } from "./redis-node-setup";

const { redis, prefix } = redisForTests();
const TICKS = 60_000;

const limits: TenantLimits = {
  ratePerMinute: 0,
  burst: 10,
  dailyUnits: 100,
  timeZone: "UTC",
  shadow: false,
  routes: { chat: { ratePerMinute: 0, burst: 7, cost: 2 } },
};

describe("Redis limiter after an upgrade", () => {
  it("decides with a config and settles reservations written before v2 policies", async () => {
    const h = redisHarness(redis, prefix, 60);
    h.now.ms = T0;
    const t = await h.createTenant(limits);
    const keys = tenantKeys(prefix, t.tenantId);
    // What the earlier script held: the same limits in its layout, and one live reservation
    // of 3 units (taken from the route's bucket and the day) and one expired.
    await redis.send(["HDEL", keys.tenant, "rrate", "rburst", "conc", "cfg"]);
    await redis.send(["HSET", keys.tenant, "r:chat", "0,7,2", `k:${t.keyHash}`, "1", "x", String(T0 - 1)]);
    await redis.send(["HSET", keys.tenant, "b:chat", `${4 * TICKS}:${T0}`, "d.day", "2026-06-15", "d.used", "3"]);
    const entry = (units: number, expiresAt: number) =>
      ["chat", units, units * TICKS, "2026-06-15", T0, expiresAt, "", ""].join("\t");
    await redis.send(["HSET", keys.res, "live", entry(3, T0 + 60_000), "gone", entry(1, T0 - 1)]);
    await redis.send(["ZADD", keys.resx, T0 + 60_000, "live", T0 - 1, "gone"]);

    // The route's cost (2) and bucket (7) still apply; the expired one is recorded on the way.
    const r = await h.store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", reserve: true });
    expect(r).toMatchObject({ status: "ok", decision: { allowed: true, cost: 2 } });
    if (r.status !== "ok") throw new Error("expected a decision");
    expect(r.decision.policies.map((p) => [p.name, p.remaining])).toEqual([
      ["chat", 2],
      ["daily", 95],
    ]);
    expect((await h.events(t, 1)).map((e) => [e.route, e.units])).toEqual([["chat", 1]]);

    // Settling the old reservation refunds it as before, and frees no slot it never held.
    expect(await h.store.settle(t.tenantId, "live", 1)).toEqual({ status: "settled", units: 1 });
    expect(await redis.send(["HMGET", keys.tenant, "n", "n:chat"])).toEqual(["1", "1"]);
    const report = await h.store.limits(t.tenantId, { keyHash: t.keyHash, routes: ["chat"] });
    if (report.status !== "ok") throw new Error("expected limits");
    expect(report.limits.buckets.map((b) => [b.name, b.remaining])).toEqual([["chat", 4]]);
    expect(report.limits.daily.used).toBe(3);
  });

  it("decides with a config's fields when an earlier script's load rewrote them and left cfg", async () => {
    const h = redisHarness(redis, prefix, 60);
    h.now.ms = T0;
    const t = await h.createTenant({ ...limits, routes: {} });
    const v2: TenantLimits = { ...limits, routes: {}, burst: 3 };
    const keys = tenantKeys(prefix, t.tenantId);
    expect(await redis.send(["HEXISTS", keys.tenant, "cfg"])).toBe(1);
    // An earlier script's load, a second later: version 2 with a burst of 3, and a new 'at'.
    h.now.ms = T0 + 1000;
    const json = JSON.stringify(v2);
    const sha1 = createHash("sha1").update(json).digest("hex");
    await redis.send(["HSET", keys.tenant, "v", "2", "burst", "3", "json", json, "h", sha1, "at", String(T0 + 1000)]);
    const r = await h.store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", cost: 1 });
    expect(r).toMatchObject({ status: "ok", decision: { allowed: true } });
    if (r.status !== "ok") throw new Error("expected a decision");
    expect(r.decision.policies.map((p) => [p.name, p.remaining])).toEqual([
      ["chat", 2],
      ["daily", 99],
    ]);
    // A push of that version (the fields' content) packs it again, and the bucket goes on from 2.
    await h.store.apply({ tenantId: t.tenantId, version: 2, status: "active", limits: v2, keyHashes: [t.keyHash] });
    const again = await h.store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", cost: 1 });
    if (again.status !== "ok") throw new Error("expected a decision");
    expect(await redis.send(["HEXISTS", keys.tenant, "cfg"])).toBe(1);
    expect(again.decision.policies.map((p) => [p.name, p.remaining])).toEqual([
      ["chat", 1],
      ["daily", 98],
    ]);
  });

  it("decides with the fields when an earlier script's load rewrote them within the same ms as cfg", async () => {
    const h = redisHarness(redis, prefix, 60);
    h.now.ms = T0;
    const t = await h.createTenant({ ...limits, routes: {} });
    const keys = tenantKeys(prefix, t.tenantId);
    // Its 'at' is cfg's own: only the limits' hash ('h') tells that cfg is not what they hold.
    const json = JSON.stringify({ ...limits, routes: {}, burst: 3 });
    const sha1 = createHash("sha1").update(json).digest("hex");
    await redis.send(["HSET", keys.tenant, "v", "2", "burst", "3", "json", json, "h", sha1, "at", String(T0)]);
    const r = await h.store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", cost: 1 });
    if (r.status !== "ok") throw new Error("expected a decision");
    expect(r.decision.policies.map((p) => [p.name, p.remaining])).toEqual([
      ["chat", 2],
      ["daily", 99],
    ]);
  });
});
