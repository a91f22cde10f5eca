// The settle coalescer over a real memory store, with its timers injected: a test fires them.
// Nothing sleeps.

import { describe, expect, it } from "vitest";
import { flushTo, sharedSettles } from "../../src/core/coalesced-store";
import { LimiterUnavailableError, type SettleItem } from "../../src/core/limiter-store";
import { settleCoalescer } from "../../src/core/settle-coalescer";
import { manualTimers, setup, TENANTS, TTL_MS } from "./coalescer-harness";

describe("settle coalescer", () => {
  it("holds a tenant's settles for the window and applies them as one batch, each with its own result", async () => {
    const { memory, batches, timers, coalescer, store, reserve, track } = await setup();
    const [a, b] = [await reserve(), await reserve()];
    const other = await reserve(TENANTS[1]);
    const settles = [
      track(store.settle(TENANTS[0] as string, a, 7, { finish: "stop" })),
      track(store.settle(TENANTS[0] as string, b, 12)),
      track(store.settle(TENANTS[0] as string, "never-issued", 1)),
      track(store.settle(TENANTS[1] as string, other, 3)),
    ];
    // One timer per tenant, of the default window; nothing is applied before it fires.
    expect(timers.live().map((t) => t.ms)).toEqual([25, 25]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(settles.every((s) => !s.done)).toBe(true);
    expect(batches).toEqual([]);
    expect(coalescer.pending()).toBe(4);
    expect(memory.sizes().reservations).toBe(3);

    await timers.fire();
    expect(batches).toEqual([
      [TENANTS[0], [a, b, "never-issued"]],
      [TENANTS[1], [other]],
    ]);
    expect(settles.map((s) => s.value)).toEqual([
      { status: "settled", units: 7 },
      { status: "settled", units: 12 },
      { status: "unknown" },
      { status: "settled", units: 3 },
    ]);
    expect(coalescer.pending()).toBe(0);
    expect(memory.drainUsage().map((e) => [e.tenantId, e.units, e.metadata])).toEqual([
      [TENANTS[0], 7, { finish: "stop" }],
      [TENANTS[0], 12, undefined],
      [TENANTS[1], 3, undefined],
    ]);
    // The next settle starts a new batch with a new timer.
    const late = track(store.settle(TENANTS[0] as string, a, 1));
    expect(timers.live()).toHaveLength(1);
    await timers.fire();
    expect(late.value).toEqual({ status: "unknown" });
  });

  it("flushes a batch at maxBatch at once, cancelling its timer", async () => {
    const { batches, timers, store, reserve, track } = await setup({ maxBatch: 3 });
    const ids = [await reserve(), await reserve(), await reserve(), await reserve()];
    const settles = ids.map((id) => track(store.settle(TENANTS[0] as string, id, 1)));
    await new Promise((resolve) => setImmediate(resolve));
    // The first three went at once, without their timer; the fourth waits for its own.
    expect(batches).toEqual([[TENANTS[0], ids.slice(0, 3)]]);
    expect(settles.map((s) => s.done)).toEqual([true, true, true, false]);
    expect(timers.timers.map((t) => t.cancelled)).toEqual([true, false]);
    await timers.fire();
    expect(batches).toHaveLength(2);
    expect(settles[3]?.value).toEqual({ status: "settled", units: 1 });
  });

  it("rejects every settle of a failed batch as unavailable and leaves the reservations held, later recorded once at their estimate", async () => {
    let failing = true;
    const { clock, memory, timers, store, reserve, track } = await setup({ batchFails: () => failing });
    const ids = [await reserve(TENANTS[0], 10), await reserve(TENANTS[0], 20)];
    const settles = ids.map((id) => track(store.settle(TENANTS[0] as string, id, 1)));
    await timers.fire();
    for (const s of settles) {
      expect(s.error).toBeInstanceOf(LimiterUnavailableError);
      expect((s.error as Error).message).toContain("connection reset");
    }
    // Nothing was retried or applied: both still hold their estimate.
    expect(memory.sizes().reservations).toBe(2);
    expect(memory.drainUsage()).toEqual([]);
    failing = false;
    clock.ms += TTL_MS;
    expect(memory.sweep()).toBe(2);
    const events = memory.drainUsage();
    expect(events.map((e) => [e.units, e.estimated])).toEqual([
      [10, true],
      [20, true],
    ]);
    // A settle that arrives after that finds nothing to settle, and records nothing.
    const again = track(store.settle(TENANTS[0] as string, ids[0] as string, 1));
    await timers.fire();
    expect(again.value).toEqual({ status: "unknown" });
    expect(memory.drainUsage()).toEqual([]);
  });

  it("flushAll applies every queued batch now and waits for them", async () => {
    const { batches, timers, coalescer, store, reserve, track } = await setup();
    const a = await reserve(TENANTS[0]);
    const b = await reserve(TENANTS[1]);
    const settles = [track(store.settle(TENANTS[0] as string, a, 2)), track(store.settle(TENANTS[1] as string, b, 4))];
    await coalescer.flushAll();
    expect(settles.map((s) => s.value)).toEqual([
      { status: "settled", units: 2 },
      { status: "settled", units: 4 },
    ]);
    expect(batches).toHaveLength(2);
    expect(timers.live()).toEqual([]);
    expect(coalescer.pending()).toBe(0);
    await coalescer.flushAll();
    expect(batches).toHaveLength(2);
  });

  it("uses the first settle's flush for the whole batch", async () => {
    const timers = manualTimers();
    const coalescer = settleCoalescer({ setTimer: timers.setTimer });
    const calls: string[] = [];
    const flushWith = (who: string) => async (_t: string, items: SettleItem[]) => {
      calls.push(`${who}:${items.length}`);
      return items.map((i) => ({ status: "settled" as const, units: i.units }));
    };
    const leader = coalescer.add("t", { reservationId: "a", units: 1 }, flushWith("leader"));
    const follower = coalescer.add("t", { reservationId: "b", units: 2 }, flushWith("follower"));
    await timers.fire();
    expect(await Promise.all([leader, follower])).toEqual([
      { status: "settled", units: 1 },
      { status: "settled", units: 2 },
    ]);
    expect(calls).toEqual(["leader:2"]);
  });

  it("shares one coalescer per scope: two scopes' settles of a tenant never share a batch; a window of 0 coalesces nothing", async () => {
    const { memory, reserve } = await setup();
    const batches: string[][] = [];
    const inner = {
      ...memory,
      settleMany: async (t: string, items: SettleItem[]) => {
        batches.push(items.map((i) => i.reservationId));
        return memory.settleMany(t, items);
      },
    };
    const timers = manualTimers();
    const wrap = sharedSettles({ setTimer: timers.setTimer });
    const [scopeA, scopeB] = [{}, {}];
    const [a, b, c] = [await reserve(), await reserve(), await reserve()];
    const tenant = TENANTS[0] as string;
    const settles = Promise.all([
      wrap(inner, 5, scopeA).settle(tenant, a, 1),
      wrap(inner, 5, scopeB).settle(tenant, b, 2),
      wrap(inner, 5, scopeA).settle(tenant, c, 3),
    ]);
    // Quiet tenants: their first settles go at once.
    expect(timers.live().map((t) => t.ms)).toEqual([0, 0]);
    await timers.fire();
    expect(await settles).toEqual([1, 2, 3].map((units) => ({ status: "settled", units })));
    expect(batches.sort()).toEqual([[a, c], [b]].sort());
    expect(wrap(inner, 0, scopeA)).toBe(inner);
  });

  it("refuses an invalid settle alone, before it joins a batch", async () => {
    const { batches, timers, store, reserve, track } = await setup();
    const good = await reserve();
    const settles = [
      track(store.settle(TENANTS[0] as string, good, 4)),
      track(store.settle(TENANTS[0] as string, "x", -1)),
    ];
    await timers.fire();
    expect(settles[0]?.value).toEqual({ status: "settled", units: 4 });
    expect(settles[1]?.error).toBeInstanceOf(RangeError);
    expect(batches).toEqual([[TENANTS[0], [good]]]);
  });

  it("settles one call per item on a store without settleMany, each with its own answer", async () => {
    const { memory, batches, timers, store, reserve, track } = await setup({ withoutSettleMany: true });
    expect(store.settleMany).toBeUndefined();
    const a = await reserve();
    const settles = [
      track(store.settle(TENANTS[0] as string, a, 4)),
      track(store.settle(TENANTS[0] as string, "x", 1)),
    ];
    await timers.fire();
    expect(batches).toEqual([]);
    expect(settles.map((s) => s.value)).toEqual([{ status: "settled", units: 4 }, { status: "unknown" }]);
    expect(memory.drainUsage().map((e) => e.units)).toEqual([4]);
    // A settle that fails fails alone: the other was applied and says so.
    const failing = flushTo({
      ...store,
      settleMany: undefined,
      settle: async (_t, id, units) => {
        if (id === "x") throw new Error("shard down");
        return { status: "settled", units };
      },
    });
    const results = await failing(TENANTS[0] as string, [
      { reservationId: "a", units: 4 },
      { reservationId: "x", units: 1 },
    ]);
    expect(results[0]).toEqual({ status: "settled", units: 4 });
    expect((results[1] as Error).message).toBe("shard down");
  });

  it("sends a quiet tenant's settle at once, and holds a busy tenant's for the window", async () => {
    const { clock, batches, timers, store, reserve, track } = await setup({ quietWindowMs: 0 });
    const [a, b, c, d] = [await reserve(), await reserve(), await reserve(), await reserve()];
    const tenant = TENANTS[0] as string;
    // No settle of the tenant before: a timer of 0, which the same turn's settles still join.
    const first = [track(store.settle(tenant, a, 1)), track(store.settle(tenant, b, 2))];
    expect(timers.live().map((t) => t.ms)).toEqual([0]);
    await timers.fire();
    expect(batches).toEqual([[tenant, [a, b]]]);
    expect(first.map((s) => s.value)).toEqual([1, 2].map((units) => ({ status: "settled", units })));
    // Settled 25 ms ago (the window), so busy: the next batch waits the window.
    clock.ms += 25;
    track(store.settle(tenant, c, 3));
    expect(timers.live().map((t) => t.ms)).toEqual([25]);
    await timers.fire();
    // Quiet again after more than a window without a settle.
    clock.ms += 26;
    track(store.settle(tenant, d, 4));
    expect(timers.live().map((t) => t.ms)).toEqual([0]);
    await timers.fire();
    expect(batches).toEqual([
      [tenant, [a, b]],
      [tenant, [c]],
      [tenant, [d]],
    ]);
  });

  it("rejects a window or batch size it cannot keep", () => {
    expect(() => settleCoalescer({ windowMs: -1 })).toThrow(RangeError);
    expect(() => settleCoalescer({ windowMs: 2.5 })).toThrow(RangeError);
    expect(() => settleCoalescer({ maxBatch: 0 })).toThrow(RangeError);
  });
});
