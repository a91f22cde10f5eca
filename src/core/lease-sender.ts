// Token leases, the holder's sending of its reports (lease-reports.ts builds them): when a
// lease's report goes, how a failed one is retried, and, on Workers (`detached`), that the
// sending is work the calling request owns.

import { MAX_LEASE_REPORT_CALLS } from "./lease-grant";
import { type HeldByHolder, sendReports } from "./lease-reports";
import type { LeaseReport, LeaseReportResult } from "./limiter-store";
import type { SetTimer } from "./settle-coalescer";

/** A renewal or a report started this long ago and never finished is taken to be lost. */
export const LOST_AFTER_MS = 5_000;
/** Most tries of one report within one detached call's background work. */
const DETACHED_TRIES = 3;
/** Failed leases one detached call sends again. */
const RETRIES_PER_CALL = 2;

/** Background work started by one call, for the caller to let finish (detached mode). */
export type Work = Promise<void>[];

export interface LeaseSenderParts {
  send: (tenantId: string, report: LeaseReport) => Promise<LeaseReportResult>;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  setTimer: SetTimer;
  detached: boolean;
  onFailure: (tenantId: string, error: Error) => void;
  /** The lease owes nothing more: closed, or unknown to the authority. */
  done: (lease: HeldByHolder) => void;
}

export function leaseSender(parts: LeaseSenderParts) {
  const { now, detached } = parts;
  /** Leases with reports on their way: since when (a detached request may die mid-send), and the send. */
  const sending = new Map<HeldByHolder, { since: number; sent: Promise<boolean> }>();
  const queued = new Set<HeldByHolder>();
  /** Detached: leases whose reports failed every try, for a later call's request to send. */
  const failed = new Set<HeldByHolder>();
  /** Set by close(): a report that fails from then on is not retried (its lease's hold covers it). */
  let closed = false;

  /**
   * Sends what the lease owes; answers whether it all went. A send already on its way sends
   * what was added meanwhile too (sendReports loops): it is waited for, except detached,
   * where a request may not wait for another's I/O, and this one answers at once.
   */
  function flush(lease: HeldByHolder): Promise<boolean> {
    const on = sending.get(lease);
    if (on && now() - on.since < LOST_AFTER_MS) return detached ? Promise.resolve(true) : on.sent;
    const entry = { since: now(), sent: Promise.resolve(true) };
    entry.sent = (async () => {
      try {
        if (await sendReports(lease, parts.send)) parts.done(lease);
        return true;
      } catch (err) {
        parts.onFailure(lease.tenantId, err as Error);
        return false;
      } finally {
        if (sending.get(lease) === entry) sending.delete(lease);
      }
    })();
    sending.set(lease, entry);
    return entry.sent;
  }

  /** Reports what the lease owes: on a timer, retried until sent; detached, now, a few tries. */
  function flushSoon(lease: HeldByHolder, work: Work, tries = 0): void {
    if (detached) {
      failed.delete(lease);
      work.push(
        (async () => {
          for (let i = 0; i < DETACHED_TRIES; i++) {
            if (await flush(lease)) return;
            if (i + 1 < DETACHED_TRIES) await parts.sleep(100 * 4 ** i);
          }
          if (!closed) failed.add(lease);
        })(),
      );
      return;
    }
    if (queued.has(lease)) return;
    queued.add(lease);
    parts.setTimer(
      () => {
        queued.delete(lease);
        void flush(lease).then((sent) => sent || closed || flushSoon(lease, work, tries + 1));
      },
      Math.min(1_000, 25 * 2 ** tries),
    );
  }

  return {
    flush,
    flushSoon,
    /**
     * A live lease's calls are reported when it retires (at most a term after it was granted),
     * in one round trip, unless they fill a report first; a retired lease's at once. Waiting
     * loses nothing: a lease never reported is billed what it held.
     */
    reportIfDue(lease: HeldByHolder, work: Work): void {
      if (lease.retired || lease.calls.length >= MAX_LEASE_REPORT_CALLS) flushSoon(lease, work);
    },
    /**
     * Detached: sends again, in this call's request, the reports of a few leases that failed
     * every try in an earlier one (no timer outlives a request to do it).
     */
    retryFailed(work: Work): void {
      let n = 0;
      for (const lease of failed) {
        if (n++ === RETRIES_PER_CALL) break;
        flushSoon(lease, work);
      }
    },
    /** Forgets sends a request that died left on their way, and failures of leases gone. */
    forgetLost(at: number, owed: (lease: HeldByHolder) => boolean): void {
      for (const [lease, on] of sending) if (at - on.since >= LOST_AFTER_MS) sending.delete(lease);
      for (const lease of failed) if (!owed(lease)) failed.delete(lease);
    },
    close(): void {
      closed = true;
    },
  };
}
