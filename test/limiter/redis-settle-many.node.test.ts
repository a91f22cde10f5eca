// The Redis store's settleMany beyond the conformance suite: a batch is one round trip to
// Redis whatever its size, and a batch it refuses costs none.

import { describe, expect, it } from "vitest";
import type { SettleItem } from "../../src/core/limiter-store";
import { MAX_SETTLE_BATCH } from "../../src/core/settle-batch";
import type { RedisCommands } from "../../src/redis/lua-script";
import { limitsOf } from "./conformance/limiter-conformance";
import { redisHarness } from "./conformance/redis-harness";
import { redisForTests, T0 } from "./redis-node-setup";

const { redis, prefix } = redisForTests();

/** The real client, with each round trip it makes written down (a pipeline is one). */
function counted(inner: RedisCommands) {
  const trips: string[] = [];
  const client: RedisCommands = {
    send: (args) => {
      trips.push(String(args[0]));
      return inner.send(args);
    },
    pipeline: (commands) => {
      trips.push(`pipeline of ${commands.length}`);
      return inner.pipeline(commands);
    },
  };
  return { client, trips };
}

async function tenantWithReservations(count: number) {
  const { client, trips } = counted(redis);
  const h = redisHarness(client, prefix);
  const t = await h.createTenant(limitsOf({ burst: 10_000, dailyUnits: 100_000 }));
  await h.setNow(t, T0);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = await h.store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", cost: 5, reserve: true });
    if (r.status !== "ok" || !r.reservation) throw new Error(`reserve answered ${r.status}`);
    ids.push(r.reservation.id);
  }
  // The script is cached in Redis and the config in the store by now: what follows is the settle alone.
  trips.length = 0;
  return { h, t, ids, trips };
}

describe("Redis store settleMany", () => {
  it("settles a batch of 100 in one round trip: a single EVALSHA", async () => {
    const { h, t, ids, trips } = await tenantWithReservations(100);
    const items: SettleItem[] = ids.map((reservationId, i) => ({ reservationId, units: i % 7 }));
    const results = await h.store.settleMany?.(t.tenantId, items);
    expect(trips).toEqual(["EVALSHA"]);
    expect(results).toEqual(items.map(({ units }) => ({ status: "settled", units })));
    expect((await h.events(t, 100)).length).toBe(100);
  });

  it("settles one reservation in one round trip too", async () => {
    const { h, t, ids, trips } = await tenantWithReservations(1);
    expect(await h.store.settle(t.tenantId, ids[0] as string, 2)).toEqual({ status: "settled", units: 2 });
    expect(trips).toEqual(["EVALSHA"]);
  });

  it("refuses a batch over the bound, or with one invalid item, before any round trip; nothing is settled", async () => {
    const { h, t, ids, trips } = await tenantWithReservations(3);
    const settleMany = (items: SettleItem[]) => h.store.settleMany?.(t.tenantId, items);
    const over = Array.from({ length: MAX_SETTLE_BATCH + 1 }, (_, i) => ({
      reservationId: ids[i % ids.length] as string,
      units: 1,
    }));
    await expect(settleMany(over)).rejects.toThrow(RangeError);
    const valid = ids.map((reservationId) => ({ reservationId, units: 1 }));
    await expect(settleMany([...valid, { reservationId: "x", units: -1 }])).rejects.toThrow(RangeError);
    await expect(settleMany([...valid, { reservationId: "x", units: 1, usage: { inputTokens: 1.5 } }])).rejects.toThrow(
      RangeError,
    );
    expect(trips).toEqual([]);
    // Every reservation is still held: the refused batches applied nothing.
    expect(await settleMany(valid)).toEqual(ids.map(() => ({ status: "settled", units: 1 })));
    // The bound itself is taken.
    expect((await settleMany(over.slice(0, MAX_SETTLE_BATCH)))?.every((r) => r.status === "unknown")).toBe(true);
  });

  it("answers unknown for every item of a batch for a tenant that does not exist", async () => {
    const h = redisHarness(redis, prefix);
    const items = [
      { reservationId: "a", units: 1 },
      { reservationId: "b", units: 2 },
    ];
    expect(await h.store.settleMany?.("tnaaaaaaaaaaaaaaaz", items)).toEqual([
      { status: "unknown" },
      { status: "unknown" },
    ]);
  });
});
