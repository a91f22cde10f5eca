// Two Redis-only mechanics of the AI limits, on the local Redis: the calls-in-flight counters
// heal from the reservations when they drift, and an override's end bounds the cached config,
// even when Postgres cannot be reached and the store decides on a stale one.

import { describe, expect, it } from "vitest";
import { TenantLoadError } from "../../src/core/limiter-store";
import { tenantKeys } from "../../src/redis/keys";
import { redisHarness } from "./conformance/redis-harness";
import { cutOffStore, redisForTests, T0 } from "./redis-node-setup";
import { limits } from "./test-limits";

const { redis, prefix } = redisForTests();

describe("Redis limiter: calls in flight", () => {
  const setUp = async () => {
    const h = redisHarness(redis, prefix);
    h.now.ms = T0;
    const t = await h.createTenant(limits({ maxConcurrent: 1 }));
    const keys = tenantKeys(prefix, t.tenantId);
    const reserve = async () => {
      const r = await h.store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", cost: 1, reserve: true });
      if (r.status !== "ok") throw new Error(`check answered ${r.status}`);
      return r;
    };
    /** What an older script's sweep did to a reservation: removed it, and left its slot counted. */
    const loseSlotOf = async (id: string) => {
      await redis.pipeline([
        ["HDEL", keys.res, id],
        ["ZREM", keys.resx, id],
      ]);
    };
    const counted = async () => Number(await redis.send(["HGET", keys.tenant, "n"]));
    return { h, t, reserve, loseSlotOf, counted };
  };

  it("recounts them from the reservations when a cap refuses, so a slot lost by a drift comes back", async () => {
    const { h, t, reserve, loseSlotOf, counted } = await setUp();
    const first = await reserve();
    if (!first.reservation) throw new Error("expected a reservation");
    await loseSlotOf(first.reservation.id);
    expect(await counted()).toBe(1);

    // The counter says the cap is reached; the reservations say nothing is in flight.
    const second = await reserve();
    expect(second.decision.allowed).toBe(true);
    expect(await counted()).toBe(1);
    const third = await reserve();
    expect(third.decision).toMatchObject({ allowed: false, violated: ["concurrency"] });
    expect(await counted()).toBe(1);

    if (!second.reservation) throw new Error("expected a reservation");
    await h.store.settle(t.tenantId, second.reservation.id, 1);
    expect(await counted()).toBe(0);
    expect((await reserve()).decision.allowed).toBe(true);
  });

  it("recounts at most once a second per tenant, so a flood of refused calls costs one scan a second", async () => {
    const { h, reserve, loseSlotOf, counted } = await setUp();
    const first = await reserve();
    if (!first.reservation) throw new Error("expected a reservation");
    await loseSlotOf(first.reservation.id);
    // A refusal by the cap recounts (a real one: the call below holds the slot).
    const second = await reserve();
    expect(second.decision.allowed).toBe(true);
    h.now.ms = T0 + 10;
    expect((await reserve()).decision.allowed).toBe(false);

    if (!second.reservation) throw new Error("expected a reservation");
    await loseSlotOf(second.reservation.id);
    h.now.ms = T0 + 999;
    expect((await reserve()).decision.allowed).toBe(false);
    expect(await counted()).toBe(1);
    h.now.ms = T0 + 1_010;
    expect((await reserve()).decision.allowed).toBe(true);
    expect(await counted()).toBe(1);
  });
});

describe("Redis limiter: an override's end", () => {
  const until = T0 + 60_000;
  const overridden = limits({ burst: 2, override: { quota: { burst: 50 }, until } });

  it("is never passed by a stale config: with Postgres out of reach the tenant is a load error, not the override's limits", async () => {
    const h = redisHarness(redis, prefix);
    h.now.ms = T0;
    const t = await h.createTenant(overridden);
    const cutOff = cutOffStore(redis, prefix, () => h.now.ms);
    const check = () => cutOff.check(t.tenantId, { keyHash: t.keyHash, route: "chat", cost: 10 });
    h.now.ms = until - 10;
    expect(await check()).toMatchObject({ status: "ok", decision: { allowed: true } });
    h.now.ms = until;
    expect(await check().catch((e: unknown) => e)).toBeInstanceOf(TenantLoadError);
    // With Postgres back, the quota's own limits decide: a burst of 2 admits no call of 10.
    expect(await h.store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", cost: 10 })).toMatchObject({
      status: "ok",
      decision: { allowed: false },
    });
  });

  it("still ends the cached config when a slower load of an older version refreshes it", async () => {
    const h = redisHarness(redis, prefix);
    h.now.ms = T0;
    const t = await h.createTenant(limits());
    const v1 = h.snapshots.get(t.tenantId);
    if (!v1) throw new Error("no snapshot");
    await h.store.apply({ ...v1, version: 2, limits: overridden });
    h.now.ms = T0 + 50_000;
    // A load that read Postgres before the push lands after it: it only refreshes the time.
    await h.store.apply(v1);
    const [at, ttl] = (await redis.send(["HMGET", tenantKeys(prefix, t.tenantId).tenant, "at", "ttl"])) as string[];
    expect(Number(at) + Number(ttl)).toBe(until - 1);
    // The packed config a check reads (cfg) carries the same time and TTL.
    const unpack = "local p = {cmsgpack.unpack(redis.call('HGET', KEYS[1], 'cfg'))} return {p[4], p[13]}";
    const packed = await redis.send(["EVAL", unpack, 1, tenantKeys(prefix, t.tenantId).tenant]);
    expect(packed).toEqual([Number(ttl), Number(at)]);
  });
});
