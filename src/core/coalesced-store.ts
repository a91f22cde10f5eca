// A LimiterStore whose settles go through a settle coalescer: the wrapping the gateway puts
// around its store on Workers (one coalescer per env) and in `npm run serve` (one per process).

import { describeError } from "./errors";
import type { LimiterStore } from "./limiter-store";
import { assertSettleBatch } from "./settle-batch";
import {
  type FlushSettles,
  type SettleCoalescer,
  type SettleCoalescerOptions,
  settleCoalescer,
} from "./settle-coalescer";

/**
 * Applies a batch with the store's settleMany, else with one settle per item, all at once.
 * Without settleMany, each item gets its own settle's answer: one that failed does not
 * make the others look failed, since they were applied.
 */
export function flushTo(store: LimiterStore): FlushSettles {
  return async (tenantId, items) => {
    if (store.settleMany) return store.settleMany(tenantId, items);
    const results = await Promise.allSettled(
      items.map((i) => store.settle(tenantId, i.reservationId, i.units, i.metadata, i.usage)),
    );
    return results.map((r) =>
      r.status === "fulfilled" ? r.value : r.reason instanceof Error ? r.reason : new Error(describeError(r.reason)),
    );
  };
}

/**
 * The store with its settles coalesced: `settle` resolves once its batch has been applied,
 * with the same result as before (settled, expired or unknown); the other calls pass
 * through.
 */
export function withCoalescedSettles(store: LimiterStore, coalescer: SettleCoalescer): LimiterStore {
  const flush = flushTo(store);
  const coalesced: LimiterStore = {
    check: (t, r) => store.check(t, r),
    settle: async (t, reservationId, units, metadata, usage) => {
      const item = { reservationId, units, metadata, usage };
      // Refused alone, before it joins a batch, which an invalid item would fail whole.
      assertSettleBatch([item]);
      return coalescer.add(t, item, flush);
    },
    record: (t, r) => store.record(t, r),
    limits: (t, r) => store.limits(t, r),
    apply: (s) => store.apply(s),
  };
  if (store.settleMany) coalesced.settleMany = store.settleMany.bind(store);
  if (store.reportLease) coalesced.reportLease = store.reportLease.bind(store);
  if (store.load) coalesced.load = store.load.bind(store);
  return coalesced;
}

/**
 * One coalescer per scope (the Worker's `env`: its bindings say where settles go), made on
 * first use for the configured window: wraps a store so that the scope's requests share it.
 * Two scopes never share a batch, so no settle is sent to another scope's limiter. A window
 * of 0 leaves the store as it is: each settle is its own call.
 */
export function sharedSettles(options: Omit<SettleCoalescerOptions, "windowMs"> = {}) {
  const shared = new WeakMap<object, { windowMs: number; coalescer: SettleCoalescer }>();
  return (store: LimiterStore, windowMs: number, scope: object): LimiterStore => {
    if (windowMs === 0) return store;
    let held = shared.get(scope);
    if (held?.windowMs !== windowMs) {
      held = { windowMs, coalescer: settleCoalescer({ ...options, windowMs }) };
      shared.set(scope, held);
    }
    return withCoalescedSettles(store, held.coalescer);
  };
}
