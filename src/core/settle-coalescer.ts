// The settle coalescer: settles of one tenant that arrive within a short window go to the
// limiter as one batch (settleMany), so a metered call costs about one round trip instead
// of two. One coalescer lives per isolate (Workers) or per process (self-hosted).
//
// Pure: its timers and its clock are injected (by default setTimeout and Date.now). Nothing
// is retried: a batch that fails
// rejects each of its settles with LimiterUnavailableError, as one failed settle does
// today, and its reservations stay held until they expire and are recorded at their
// estimate, so nothing is lost and nothing is billed twice.
//
// Two ways to wait. By default every settle waits for its batch (Node, Bun, Deno). On
// Workers (`detached`), a request may not wait for, nor be answered by, I/O that another
// request started: workerd cancels it as hung, and resolving it from the other request fails
// (test/limiter/coalescer-cross-request.workers.test.ts). So there only a batch's first
// settle (its leader, whose timer flushes it) waits; the others answer "queued" at once,
// and a failure of theirs is reported to `onDetachedFailure` from the leader's request.

import { describeError } from "./errors";
import { LimiterUnavailableError, type SettleItem, type SettleResult } from "./limiter-store";
import { log } from "./log";

/**
 * Applies one tenant's batch: one answer per item, in order. An Error in place of a result
 * fails that item alone; a rejection fails them all.
 */
export type FlushSettles = (tenantId: string, items: SettleItem[]) => Promise<Array<SettleResult | Error>>;

/** Runs `callback` after `ms`; the returned function cancels it. */
export type SetTimer = (callback: () => void, ms: number) => () => void;

export interface SettleCoalescerOptions {
  /** How long the first settle of a busy tenant's batch waits for others. Default 25 ms. */
  windowMs?: number;
  /**
   * How long the first settle of a quiet tenant's batch (no settle of the tenant in the last
   * window) waits: it is likely alone, so by default it goes at once (0: the next turn of the
   * event loop, which settles of the same turn still join). A busy tenant's wait `windowMs`.
   */
  quietWindowMs?: number;
  /** A batch this large is flushed at once. Default 100. */
  maxBatch?: number;
  /** Default: setTimeout. */
  setTimer?: SetTimer;
  /**
   * Workers: only each batch's first settle waits for the batch; the others resolve
   * `{ status: "queued" }` at once, and a full batch is closed to new settles and flushed
   * by its first settle's timer, never by a later settle's request. Default false.
   */
  detached?: boolean;
  /** Detached settles whose batch, or own item, failed. Default: logged as a warning. */
  onDetachedFailure?: (tenantId: string, items: SettleItem[], error: LimiterUnavailableError) => void;
  /** The clock that tells a detached batch whose leader never flushed it. Default: Date.now. */
  now?: () => number;
}

export interface SettleCoalescer {
  /**
   * Queues one settle; resolves with its own result once its batch is applied (detached:
   * a settle that joined another's batch resolves "queued" at once). The batch is flushed
   * with the `flush` of its first settle: on Workers, that is the request whose timer
   * fires, so the flush's I/O belongs to a request that is still running.
   */
  add(tenantId: string, item: SettleItem, flush: FlushSettles): Promise<SettleResult>;
  /** Flushes every queued batch now and waits for every flush in flight (shutdown). */
  flushAll(): Promise<void>;
  /** Settles queued and not yet flushed. */
  pending(): number;
}

interface Waiter {
  item: SettleItem;
  /** Absent for a detached settle: nobody waits for it. */
  resolve?: (result: SettleResult) => void;
  reject?: (err: unknown) => void;
}

interface Batch {
  tenantId: string;
  waiters: Waiter[];
  flush: FlushSettles;
  cancel: () => void;
  openedAt: number;
}

export const DEFAULT_SETTLE_WINDOW_MS = 25;
export const DEFAULT_SETTLE_BATCH_MAX = 100;
/**
 * Detached: a batch still unflushed this long after its window closed is taken to have lost
 * its leader (a request cut short before its timer fired). Settles stop joining it; if its
 * leader is gone, its reservations are recorded at their estimate when they expire.
 */
export const STALE_BATCH_MS = 1_000;
/** Tenants whose last settle time a coalescer keeps, beyond which the oldest are dropped. */
const RECENT_TENANTS = 10_000;

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
  if (!Number.isSafeInteger(windowMs) || windowMs < 0) {
    throw new RangeError(`settleCoalescer: windowMs must be a whole number of ms, at least 0, got ${windowMs}`);
  }
  const quietWindowMs = Math.min(windowMs, options.quietWindowMs ?? 0);
  if (!Number.isSafeInteger(quietWindowMs) || quietWindowMs < 0) {
    throw new RangeError(
      `settleCoalescer: quietWindowMs must be a whole number of ms, at least 0, got ${quietWindowMs}`,
    );
  }
  const maxBatch = options.maxBatch ?? DEFAULT_SETTLE_BATCH_MAX;
  const setTimer = options.setTimer ?? defaultTimer;
  if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) {
    throw new RangeError(`settleCoalescer: maxBatch must be a whole number, at least 1, got ${maxBatch}`);
  }
  const detached = options.detached === true;
  const onDetachedFailure = options.onDetachedFailure ?? logDetachedFailure;
  const now = options.now ?? Date.now;
  // The batch each tenant's next settle joins; and every batch not yet flushed, which in
  // detached mode includes full ones, closed to new settles but waiting for their timer.
  // One coalescer serves one store (see sharedSettles): a batch goes where its first settle's
  // flush sends it.
  const open = new Map<string, Batch>();
  const unflushed = new Set<Batch>();
  const inFlight = new Set<Promise<void>>();
  const close = (batch: Batch) => {
    if (open.get(batch.tenantId) === batch) open.delete(batch.tenantId);
  };
  // When each tenant's last settle came, to tell a busy tenant from a quiet one. Bounded:
  // past RECENT_TENANTS entries, those older than the window are dropped.
  const lastSettle = new Map<string, number>();
  function busy(tenantId: string, at: number): boolean {
    const last = lastSettle.get(tenantId);
    lastSettle.delete(tenantId);
    lastSettle.set(tenantId, at);
    if (lastSettle.size > RECENT_TENANTS) {
      // Oldest first; a time ahead of `at` (a clock set back) is as stale as an old one.
      for (const [t, seen] of lastSettle) {
        if (t === tenantId || (seen <= at && at - seen <= windowMs)) break;
        lastSettle.delete(t);
      }
    }
    return last !== undefined && at - last <= windowMs;
  }

  async function apply(batch: Batch): Promise<void> {
    const { tenantId, waiters } = batch;
    const lost = new Map<LimiterUnavailableError, SettleItem[]>();
    const fail = (w: Waiter, error: LimiterUnavailableError) => {
      if (w.reject) w.reject(error);
      else lost.set(error, [...(lost.get(error) ?? []), w.item]);
    };
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
        if (result instanceof Error) fail(w, unavailable(tenantId, result));
        else w.resolve?.(result);
      });
    } catch (err) {
      const error = unavailable(tenantId, err);
      for (const w of waiters) fail(w, error);
    }
    for (const [error, items] of lost) {
      try {
        onDetachedFailure(tenantId, items, error);
      } catch (err) {
        log.error("settle failure hook threw", { tenant: tenantId, error: describeError(err) });
      }
    }
  }

  function flush(batch: Batch): void {
    if (!unflushed.delete(batch)) return;
    close(batch);
    batch.cancel();
    const done = apply(batch);
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  }

  /** The tenant's open batch, unless a detached one has outlived its leader. */
  function joinable(tenantId: string): Batch | undefined {
    const batch = open.get(tenantId);
    if (!batch || !detached || now() - batch.openedAt <= windowMs + STALE_BATCH_MS) return batch;
    close(batch);
    log.warn("a batch of settles was not flushed in time; settles no longer join it", {
      tenant: tenantId,
      settles: batch.waiters.length,
    });
    return undefined;
  }

  return {
    add(tenantId, item, flushWith) {
      const joined = joinable(tenantId);
      const waits = busy(tenantId, now()) ? windowMs : quietWindowMs;
      if (detached && joined) {
        joined.waiters.push({ item });
        if (joined.waiters.length >= maxBatch) close(joined);
        return Promise.resolve({ status: "queued" });
      }
      return new Promise<SettleResult>((resolve, reject) => {
        let batch = joined;
        if (!batch) {
          const opened: Batch = { tenantId, waiters: [], flush: flushWith, cancel: () => {}, openedAt: now() };
          open.set(tenantId, opened);
          unflushed.add(opened);
          opened.cancel = setTimer(() => flush(opened), waits);
          batch = opened;
        }
        batch.waiters.push({ item, resolve, reject });
        if (batch.waiters.length < maxBatch) return;
        // Full. Detached, it is flushed by its own timer, in the request that opened it.
        if (detached) close(batch);
        else flush(batch);
      });
    },
    async flushAll() {
      for (const batch of [...unflushed]) flush(batch);
      await Promise.all([...inFlight]);
    },
    pending: () => {
      let n = 0;
      for (const batch of unflushed) n += batch.waiters.length;
      return n;
    },
  };
}

function logDetachedFailure(tenantId: string, items: SettleItem[], error: LimiterUnavailableError): void {
  // The reservations stay held and are recorded at their estimate when they expire.
  log.warn("queued settles failed; their reservations will be recorded at their estimate", {
    tenant: tenantId,
    reservations: items.map((i) => i.reservationId),
    error: describeError(error),
  });
}
