// The settle coalescer in detached mode (Workers): only a batch's first settle waits for it;
// the others answer "queued" at once, a full batch waits for its own timer, and a failure
// of a queued settle is reported, not thrown. Timers are fired by the test; nothing sleeps.

import { describe, expect, it } from "vitest";
import type { LimiterUnavailableError, SettleItem } from "../../src/core/limiter-store";
import { STALE_BATCH_MS, settleCoalescer } from "../../src/core/settle-coalescer";
import { manualTimers, setup, TENANTS, TTL_MS } from "./coalescer-harness";

const TENANT = TENANTS[0] as string;
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("settle coalescer, detached", () => {
  it("answers a follower 'queued' at once and applies its settle in the leader's batch, which the leader waits for", async () => {
    const { memory, batches, timers, coalescer, store, reserve, track } = await setup({ detached: true });
    const [a, b, c] = [await reserve(), await reserve(), await reserve()];
    const leader = track(store.settle(TENANT, a, 4, { finish: "stop" }));
    // A follower's promise is settled before any timer fires.
    expect(await store.settle(TENANT, b, 6)).toEqual({ status: "queued" });
    expect(await store.settle(TENANT, c, 0)).toEqual({ status: "queued" });
    await tick();
    expect(leader.done).toBe(false);
    expect(batches).toEqual([]);
    expect(coalescer.pending()).toBe(3);
    // One timer: the leader's.
    expect(timers.live()).toHaveLength(1);

    await timers.fire();
    expect(batches).toEqual([[TENANT, [a, b, c]]]);
    expect(leader.value).toEqual({ status: "settled", units: 4 });
    expect(memory.sizes().reservations).toBe(0);
    expect(memory.drainUsage().map((e) => e.units)).toEqual([4, 6, 0]);
  });

  it("closes a full batch to new settles and leaves it to its own timer: the next settle leads a new batch", async () => {
    const { batches, timers, store, reserve, track } = await setup({ detached: true, maxBatch: 2 });
    const ids = [await reserve(), await reserve(), await reserve(), await reserve(), await reserve()];
    const results = ids.map((id) => track(store.settle(TENANT, id, 1)));
    await tick();
    // Nothing was flushed by the settle that filled a batch: it would have been another
    // request's I/O on Workers.
    expect(batches).toEqual([]);
    expect(timers.live()).toHaveLength(3);
    expect(results.map((r) => r.done)).toEqual([false, true, false, true, false]);
    expect(results[1]?.value).toEqual({ status: "queued" });

    await timers.fire();
    expect(batches).toEqual([
      [TENANT, ids.slice(0, 2)],
      [TENANT, ids.slice(2, 4)],
      [TENANT, ids.slice(4)],
    ]);
    for (const i of [0, 2, 4]) expect(results[i]?.value).toEqual({ status: "settled", units: 1 });
  });

  it("rejects the leader and reports the queued settles when the batch fails; all are later recorded at their estimate", async () => {
    const reported: { tenantId: string; items: SettleItem[]; error: LimiterUnavailableError }[] = [];
    const { clock, memory, timers, store, reserve, track } = await setup({
      detached: true,
      batchFails: () => true,
      onDetachedFailure: (tenantId, items, error) => reported.push({ tenantId, items, error }),
    });
    const [a, b, c] = [await reserve(TENANT, 10), await reserve(TENANT, 20), await reserve(TENANT, 30)];
    const leader = track(store.settle(TENANT, a, 1));
    expect(await store.settle(TENANT, b, 2)).toEqual({ status: "queued" });
    expect(await store.settle(TENANT, c, 3)).toEqual({ status: "queued" });
    await timers.fire();
    expect((leader.error as Error).name).toBe("LimiterUnavailableError");
    expect((leader.error as Error).message).toContain("connection reset");
    // One report for the batch's queued settles that failed together.
    expect(reported.map((r) => [r.tenantId, r.items.map((i) => i.reservationId)])).toEqual([[TENANT, [b, c]]]);
    expect(reported[0]?.error.message).toContain("connection reset");
    // Nothing was applied; each reservation keeps its estimate and is recorded once.
    expect(memory.drainUsage()).toEqual([]);
    clock.ms += TTL_MS;
    expect(memory.sweep()).toBe(3);
    expect(memory.drainUsage().map((e) => [e.units, e.estimated])).toEqual([
      [10, true],
      [20, true],
      [30, true],
    ]);
  });

  it("reports a queued settle whose own item failed, and answers the others", async () => {
    const reported: string[] = [];
    const { timers, coalescer } = await setup({
      detached: true,
      onDetachedFailure: (_t, items, error) => reported.push(`${items[0]?.reservationId}: ${error.message}`),
    });
    const flush = async (_t: string, items: SettleItem[]) =>
      items.map((i) => (i.reservationId === "b" ? new Error("no such shard") : { status: "unknown" as const }));
    const leader = coalescer.add(TENANT, { reservationId: "a", units: 1 }, flush);
    expect(await coalescer.add(TENANT, { reservationId: "b", units: 1 }, flush)).toEqual({ status: "queued" });
    await timers.fire();
    expect(await leader).toEqual({ status: "unknown" });
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatch(/^b: .*no such shard/);
  });

  it("stops joining a batch whose leader never flushed it, and reports a throwing failure hook instead of rejecting", async () => {
    const clock = { ms: 0 };
    const reported: string[] = [];
    const timers = manualTimers();
    const coalescer = settleCoalescer({
      detached: true,
      setTimer: timers.setTimer,
      now: () => clock.ms,
      onDetachedFailure: (_t, items) => {
        reported.push(items.map((i) => i.reservationId).join(","));
        throw new Error("hook failed");
      },
    });
    const flushed: string[][] = [];
    const flush = async (_t: string, items: SettleItem[]) => {
      flushed.push(items.map((i) => i.reservationId));
      return items.map((i) => (i.reservationId === "b" ? new Error("shard down") : { status: "unknown" as const }));
    };
    void coalescer.add(TENANT, { reservationId: "lost-leader", units: 1 }, flush);
    expect(await coalescer.add(TENANT, { reservationId: "a", units: 1 }, flush)).toEqual({ status: "queued" });
    // Past the window and the grace, the leader's timer has not fired: a new batch opens.
    clock.ms = 25 + STALE_BATCH_MS + 1;
    const leader = coalescer.add(TENANT, { reservationId: "new-leader", units: 1 }, flush);
    expect(await coalescer.add(TENANT, { reservationId: "b", units: 1 }, flush)).toEqual({ status: "queued" });
    expect(coalescer.pending()).toBe(4);
    // Only the new batch's timer runs (the old leader's request is gone).
    const [, fresh] = timers.live();
    fresh?.callback();
    expect(await leader).toEqual({ status: "unknown" });
    await new Promise((resolve) => setImmediate(resolve));
    expect(flushed).toEqual([["new-leader", "b"]]);
    expect(reported).toEqual(["b"]);
  });
});
