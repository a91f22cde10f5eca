// The settle coalescer's test harness: a real memory store behind a coalescer whose timers
// run only when a test fires them. Nothing sleeps.

import { withCoalescedSettles } from "../../src/core/coalesced-store";
import type { LimiterStore, LimiterUnavailableError, SettleItem } from "../../src/core/limiter-store";
import { memoryStore } from "../../src/core/memory-store";
import { DEFAULT_SETTLE_WINDOW_MS, type SetTimer, settleCoalescer } from "../../src/core/settle-coalescer";
import { limits } from "./test-limits";

export const T0 = Date.UTC(2026, 5, 15, 10, 0, 0);
export const TTL_MS = 60_000;
export const KEY = "d".repeat(64);
export const TENANTS = ["tnaaaaaaaaaaaaaaad", "tnaaaaaaaaaaaaaaae"];

/** Timers that run only when fired. */
export function manualTimers() {
  const timers: { callback: () => void; ms: number; cancelled: boolean }[] = [];
  const setTimer: SetTimer = (callback, ms) => {
    const timer = { callback, ms, cancelled: false };
    timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  };
  const live = () => timers.filter((t) => !t.cancelled);
  /** Fires every live timer once, and lets the flushes they start finish. */
  const fire = async () => {
    for (const t of live()) {
      t.cancelled = true;
      t.callback();
    }
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { setTimer, timers, live, fire };
}

export interface SetupOptions {
  maxBatch?: number;
  batchFails?: () => boolean;
  withoutSettleMany?: boolean;
  detached?: boolean;
  quietWindowMs?: number;
  onDetachedFailure?: (tenantId: string, items: SettleItem[], error: LimiterUnavailableError) => void;
}

export async function setup(options: SetupOptions = {}) {
  const clock = { ms: T0 };
  const memory = memoryStore({ now: () => clock.ms, reservationTtlMs: TTL_MS });
  for (const tenantId of TENANTS) {
    await memory.apply({ tenantId, version: 1, status: "active", limits: limits(), keyHashes: [KEY] });
  }
  // The batches the store was sent, by tenant: the real store's, around a counter.
  const batches: [string, string[]][] = [];
  const inner: LimiterStore = {
    check: (t, r) => memory.check(t, r),
    settle: (t, id, u, m, d) => memory.settle(t, id, u, m, d),
    record: (t, r) => memory.record(t, r),
    limits: (t, r) => memory.limits(t, r),
    apply: (s) => memory.apply(s),
  };
  if (!options.withoutSettleMany) {
    inner.settleMany = async (t: string, items: SettleItem[]) => {
      batches.push([t, items.map((i) => i.reservationId)]);
      if (options.batchFails?.()) throw new Error("connection reset");
      return memory.settleMany(t, items);
    };
  }
  const timers = manualTimers();
  const { maxBatch, detached, onDetachedFailure } = options;
  // Every batch waits the full window, a quiet tenant's too, so that each test sees batching;
  // quiet tenants' settles going at once has tests of its own.
  const quietWindowMs = options.quietWindowMs ?? DEFAULT_SETTLE_WINDOW_MS;
  const coalescer = settleCoalescer({
    maxBatch,
    detached,
    onDetachedFailure,
    quietWindowMs,
    setTimer: timers.setTimer,
    now: () => clock.ms,
  });
  const store = withCoalescedSettles(inner, coalescer);
  const reserve = async (tenantId = TENANTS[0] as string, cost = 10) => {
    const r = await store.check(tenantId, { keyHash: KEY, route: "chat", cost, reserve: true });
    if (r.status !== "ok" || !r.reservation) throw new Error(`no reservation: ${JSON.stringify(r)}`);
    return r.reservation.id;
  };
  /** Records every settle's outcome as it comes, so a test can see which are still pending. */
  const track = (p: Promise<unknown>) => {
    const outcome: { value?: unknown; error?: unknown; done: boolean } = { done: false };
    p.then(
      (value) => Object.assign(outcome, { value, done: true }),
      (error: unknown) => Object.assign(outcome, { error, done: true }),
    );
    return outcome;
  };
  return { clock, memory, batches, timers, coalescer, store, reserve, track };
}
