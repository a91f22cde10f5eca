// The settle coalescer: settles of one tenant that arrive within a short window go to the
// limiter as one batch (settleMany), so a metered call costs about one round trip instead
// of two. One coalescer lives per isolate (Workers) or per process (self-hosted).
//
// Pure: timers are injected and no clock is read. Nothing is retried: a batch that fails
// rejects each of its settles with LimiterUnavailableError, as one failed settle does
// today, and its reservations stay held until they expire and are recorded at their
// estimate, so nothing is lost and nothing is billed twice.

import { describeError } from "./errors";
import { type LimiterStore, LimiterUnavailableError, type SettleItem, type SettleResult } from "./limiter-store";

/**
 * Applies one tenant's batch: one answer per item, in order. An Error in place of a result
 * fails that item alone; a rejection fails them all.
 */
export type FlushSettles = (tenantId: string, items: SettleItem[]) => Promise<Array<SettleResult | Error>>;

/** Runs `callback` after `ms`; the returned function cancels it. */
export type SetTimer = (callback: () => void, ms: number) => () => void;

export interface SettleCoalescerOptions {
  /** How long the first settle of a batch waits for others. Default 25 ms. */
  windowMs?: number;
  /** A batch this large is flushed at once. Default 100. */
  maxBatch?: number;
  /** Default: setTimeout. */
  setTimer?: SetTimer;
}

export interface SettleCoalescer {
  /**
   * Queues one settle; resolves with its own result once its batch is applied. The batch
   * is flushed with the `flush` of its first settle: on Workers, that is the request whose
   * timer fires, so the flush's I/O belongs to a request that is still running.
   */
  add(tenantId: string, item: SettleItem, flush: FlushSettles): Promise<SettleResult>;
  /** Flushes every queued batch now and waits for every flush in flight (shutdown). */
  flushAll(): Promise<void>;
  /** Settles queued and not yet flushed. */
  pending(): number;
}

interface Waiter {
  item: SettleItem;
  resolve: (result: SettleResult) => void;
  reject: (err: unknown) => void;
}

interface Batch {
  waiters: Waiter[];
  flush: FlushSettles;
  cancel: () => void;
}

export const DEFAULT_SETTLE_WINDOW_MS = 25;
export const DEFAULT_SETTLE_BATCH_MAX = 100;

const defaultTimer: SetTimer = (callback, ms) => {
  const handle = setTimeout(callback, ms);
  return () => clearTimeout(handle);
};

const unavailable = (tenantId: string, err: unknown) =>
  err instanceof LimiterUnavailableError
    ? err
    : new LimiterUnavailableError(`limiter settle batch of tenant ${tenantId} failed: ${describeError(err)}`, {
        cause: err,
      });

/**
 * @example
 * const coalescer = settleCoalescer({ windowMs: 25, maxBatch: 100 });
 * const store = withCoalescedSettles(guardedStore(backend, 1_500, 5_000), coalescer);
 * await store.settle(tenantId, reservationId, 7); // applied with the tenant's other settles
 */
export function settleCoalescer(options: SettleCoalescerOptions = {}): SettleCoalescer {
  const windowMs = options.windowMs ?? DEFAULT_SETTLE_WINDOW_MS;
  const maxBatch = options.maxBatch ?? DEFAULT_SETTLE_BATCH_MAX;
  const setTimer = options.setTimer ?? defaultTimer;
  if (!Number.isSafeInteger(windowMs) || windowMs < 0) {
    throw new RangeError(`settleCoalescer: windowMs must be a whole number of ms, at least 0, got ${windowMs}`);
  }
  if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) {
    throw new RangeError(`settleCoalescer: maxBatch must be a whole number, at least 1, got ${maxBatch}`);
  }
  const queued = new Map<string, Batch>();
  const inFlight = new Set<Promise<void>>();

  async function apply(tenantId: string, batch: Batch): Promise<void> {
    const { waiters } = batch;
    try {
      const results = await batch.flush(
        tenantId,
        waiters.map((w) => w.item),
      );
      if (results.length !== waiters.length) {
        throw new Error(`the limiter answered ${results.length} results for ${waiters.length} settles`);
      }
      waiters.forEach((w, i) => {
        const result = results[i] as SettleResult | Error;
        if (result instanceof Error) w.reject(unavailable(tenantId, result));
        else w.resolve(result);
      });
    } catch (err) {
      const error = unavailable(tenantId, err);
      for (const w of waiters) w.reject(error);
    }
  }

  function flush(tenantId: string): void {
    const batch = queued.get(tenantId);
    if (!batch) return;
    queued.delete(tenantId);
    batch.cancel();
    const done = apply(tenantId, batch);
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  }

  return {
    add(tenantId, item, flushWith) {
      return new Promise<SettleResult>((resolve, reject) => {
        let batch = queued.get(tenantId);
        if (!batch) {
          batch = { waiters: [], flush: flushWith, cancel: () => {} };
          queued.set(tenantId, batch);
          batch.cancel = setTimer(() => flush(tenantId), windowMs);
        }
        batch.waiters.push({ item, resolve, reject });
        if (batch.waiters.length >= maxBatch) flush(tenantId);
      });
    },
    async flushAll() {
      for (const tenantId of [...queued.keys()]) flush(tenantId);
      await Promise.all([...inFlight]);
    },
    pending: () => {
      let n = 0;
      for (const batch of queued.values()) n += batch.waiters.length;
      return n;
    },
  };
}

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
    settle: (t, reservationId, units, metadata, usage) =>
      coalescer.add(t, { reservationId, units, metadata, usage }, flush),
    record: (t, r) => store.record(t, r),
    limits: (t, r) => store.limits(t, r),
    apply: (s) => store.apply(s),
  };
  if (store.settleMany) coalesced.settleMany = store.settleMany.bind(store);
  if (store.load) coalesced.load = store.load.bind(store);
  return coalesced;
}
