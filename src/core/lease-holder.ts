// Token leases, the holder's side: a LimiterStore around the limiter's, for a gateway's
// isolate or process, that admits a hot tenant's calls from units and calls leased from the
// limiter (the authority), without a round trip per call. docs/architecture.md, "Token
// leases", says what it guarantees.
//
// A call its lease cannot admit (none yet, run short, term over) is checked by the limiter as
// in exact mode, asking for the next lease with it once the scope (tenant, key, route) is busy
// (lease-demand.ts); what the old lease has left is given back. The limiter grants a lease
// only to a tenant in lease mode, so for every other tenant the ask is ignored and this store
// is exact mode. Reserved calls admitted from a lease are settled here; every admitted call's
// usage is reported to the limiter when its lease retires (at the end of its term, or on
// renewal), which makes it a usage event there.
//
// Synchronous between awaits. Two ways to run its background work (a lease's reports, and
// its retirement at the end of its term). By default, on timers (Node, Bun, Deno). On Workers
// (`detached`), a request's I/O must belong to a request: the work a check starts is handed
// back as the check result's `background`, for the caller's waitUntil, and a settle of a
// leased call does its own report before it resolves.

import { NO_USAGE } from "./lease-call-log";
import { leaseDemand, scopeNames } from "./lease-demand";
import { newLeaseId } from "./lease-grant";
import { type HeldByHolder, heldLease, localDecision, NO_DECISION, UNHEARD_HOLD_MS } from "./lease-reports";
import { LOST_AFTER_MS, leaseSender, type Work } from "./lease-sender";
import { assertUnits } from "./limiter-rules";
import type { CheckRequest, CheckResult, LimiterStore, SettleResult } from "./limiter-store";
import { log } from "./log";
import type { SetTimer } from "./settle-coalescer";
import { assertDimensions, assertModel } from "./usage-dimensions";
import { cleanMetadata, type UsageMetadata } from "./usage-event";

/** How often, at most, the holder forgets what the authority no longer holds. */
const LEASE_SWEEP_MS = 1_000;

export interface LeaseHolderOptions {
  /** Default: setTimeout, not holding a Node process open. */
  setTimer?: SetTimer;
  /** Default Date.now. */
  now?: () => number;
  /** Workers: background work is handed to the caller (see the module comment). Default false. */
  detached?: boolean;
  /** A report that failed (it is sent again). Default: logged as a warning. */
  onReportFailure?: (tenantId: string, error: Error) => void;
}

interface LocalReservation {
  lease: HeldByHolder;
  scope: string;
  estimate: number;
  occurredAt: number;
  metadata?: UsageMetadata;
}

const defaultTimer: SetTimer = (callback, ms) => {
  const handle = setTimeout(callback, ms);
  (handle as { unref?: () => void }).unref?.();
  return () => clearTimeout(handle);
};

export interface LeaseHolder extends LimiterStore {
  /**
   * Gives back every lease now and sends every report owed. `final` (shutdown): a report that
   * fails from then on is not retried, its lease's hold covering it. Detached, a report another
   * request has on its way is not waited for (a request may not wait for another's I/O): that
   * request's waitUntil finishes it, and held() tells when none is left.
   */
  closeAll(final?: boolean): Promise<void>;
  /** Leases not yet done with, for tests and metrics. */
  held(): number;
}

export function leaseHolder(store: LimiterStore, options: LeaseHolderOptions = {}): LeaseHolder {
  const report = store.reportLease?.bind(store);
  if (!report) throw new TypeError("leaseHolder: the limiter store has no reportLease");
  const now = options.now ?? Date.now;
  const setTimer = options.setTimer ?? defaultTimer;
  const detached = options.detached === true;
  const onFailure =
    options.onReportFailure ??
    ((tenantId: string, error: Error) => log.warn("lease report failed", { tenant: tenantId, error: error.message }));
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimer(resolve, ms));

  const current = new Map<string, HeldByHolder>();
  /** Scopes with a renewal in flight, since when: one at a time asks for a lease. */
  const renewing = new Map<string, number>();
  const demand = leaseDemand();
  const scopeOf = scopeNames();
  const reservations = new Map<string, LocalReservation>();
  /** Every lease not yet done with, by id: current, or retired and still owing a report. */
  const owing = new Map<string, HeldByHolder>();
  let reserved = 0;
  let swept = 0;
  const sender = leaseSender({
    send: report as NonNullable<typeof report>,
    now,
    sleep,
    setTimer,
    detached,
    onFailure,
    done: (lease) => owing.delete(lease.id),
  });
  const { flush, flushSoon, reportIfDue } = sender;

  function retire(scope: string, lease: HeldByHolder, work: Work): void {
    if (current.get(scope) === lease) current.delete(scope);
    if (lease.retired) return;
    lease.retired = true;
    lease.giveBack = { units: Math.max(0, lease.units), requests: lease.requests };
    flushSoon(lease, work);
  }

  /** Retires the lease at the end of its term, if no call did first. */
  function retireAtTermEnd(scope: string, lease: HeldByHolder, termMs: number, work: Work): void {
    if (!detached) {
      setTimer(() => retire(scope, lease, []), termMs);
      return;
    }
    work.push(
      (async () => {
        await sleep(termMs);
        const then: Work = [];
        retire(scope, lease, then);
        await Promise.all(then);
      })(),
    );
  }

  /** Admits the call from the lease. Its report is left for the caller to start (reportIfDue). */
  function admit(lease: HeldByHolder, scope: string, request: CheckRequest, cost: number, at: number): CheckResult {
    lease.units -= cost;
    lease.requests -= 1;
    lease.admittedUnits += cost;
    lease.admittedCalls += 1;
    demand.count(scope, cost, at);
    const decision = localDecision(lease, request.route, cost);
    const metadata = cleanMetadata(request.metadata);
    const { model } = request;
    if (!request.reserve) {
      // As an exact check's event: the model given, else the one the metadata names.
      lease.calls.add(cost, at, metadata, model === undefined ? NO_USAGE : { model });
      return { status: "ok", decision };
    }
    const id = `${lease.id}.${++reserved}`;
    lease.inFlight++;
    reservations.set(id, { lease, scope, estimate: cost, occurredAt: at, metadata });
    return { status: "ok", decision, reservation: { id, expiresAt: lease.expiresAt } };
  }

  /**
   * Forgets what the authority no longer holds, at most once a second: a lease past its hold
   * (what it held was recorded there; a leased call settled after that is settled by the
   * authority, which answers "unknown"), a renewal or a report left on its way by a request
   * that died, and a current lease whose term ended with no call or timer to retire it.
   */
  function sweep(at: number, work: Work): void {
    if (at - swept < LEASE_SWEEP_MS) return;
    swept = at;
    sender.retryFailed(work);
    for (const [scope, lease] of current) if (at >= lease.expiresAt) retire(scope, lease, work);
    for (const [scope, since] of renewing) if (at - since >= LOST_AFTER_MS) renewing.delete(scope);
    sender.forgetLost(at, (lease) => owing.has(lease.id));
    for (const [id, lease] of owing) if (at >= lease.heldUntil) owing.delete(id);
    for (const [id, r] of reservations) if (!owing.has(r.lease.id)) reservations.delete(id);
  }

  async function renew(tenantId: string, scope: string, request: CheckRequest, cost: number, work: Work) {
    const sentAt = now();
    sweep(sentAt, work);
    demand.count(scope, cost, sentAt);
    const since = renewing.get(scope);
    const counts = since !== undefined && sentAt - since < LOST_AFTER_MS ? undefined : demand.ask(scope, sentAt);
    if (!counts) return store.check(tenantId, request);
    const ask = { id: newLeaseId(), ...counts };
    renewing.set(scope, sentAt);
    let result: CheckResult;
    try {
      result = await store.check(tenantId, { ...request, lease: ask });
    } catch (err) {
      // The authority may have granted the lease and its answer been lost: close it, so that
      // it gives back what it took rather than billing it as an estimate when its hold runs out.
      closeUnheard(tenantId, ask.id, sentAt, work);
      throw err;
    } finally {
      renewing.delete(scope);
    }
    if (result.status !== "ok" || !result.lease) {
      if (result.status === "ok" && result.decision.allowed) demand.decline(scope, sentAt);
      return result;
    }
    const { lease: granted, ...rest } = result;
    const lease = heldLease(tenantId, sentAt, granted, result.decision);
    const before = current.get(scope);
    if (before) retire(scope, before, work);
    current.set(scope, lease);
    owing.set(lease.id, lease);
    retireAtTermEnd(scope, lease, granted.termMs, work);
    return rest;
  }

  /**
   * Closes a lease whose grant the holder never heard: a report of no calls that gives back
   * all it holds, answered "unknown" if it was never granted. Sent as any report is, retried
   * until the hold the holder would have had runs out.
   */
  function closeUnheard(tenantId: string, id: string, sentAt: number, work: Work): void {
    const unheard = { id, units: 0, requests: 0, routeCost: 0, termMs: 0, holdMs: UNHEARD_HOLD_MS };
    const lease = heldLease(tenantId, sentAt, unheard, NO_DECISION);
    lease.retired = true;
    owing.set(id, lease);
    flushSoon(lease, work);
  }

  /** The result, with the background work the call started for a detached caller to let finish. */
  function handing(result: CheckResult, work: Work): CheckResult {
    if (work.length === 0 || result.status !== "ok") return result;
    return { ...result, background: Promise.all(work).then(() => {}) };
  }

  return {
    async check(tenantId, request) {
      if (request.cost === 0 && !request.reserve) return store.check(tenantId, request);
      assertModel(request.model);
      const scope = scopeOf(tenantId, request.keyHash ?? "", request.route);
      const lease = current.get(scope);
      // Before a lease names the tenant's route cost, the route table's stands in.
      const cost = request.cost ?? lease?.routeCost ?? request.defaultCost ?? 1;
      assertUnits(cost);
      const work: Work = [];
      if (lease) {
        const at = now();
        if (at < lease.expiresAt && lease.units >= cost && lease.requests >= 1) {
          const result = admit(lease, scope, request, cost, at);
          reportIfDue(lease, work);
          return handing(result, work);
        }
        retire(scope, lease, work);
      }
      return handing(await renew(tenantId, scope, request, cost, work), work);
    },

    async settle(tenantId, reservationId, units, metadata, usage): Promise<SettleResult> {
      const local = reservations.get(reservationId);
      if (!local || local.lease.tenantId !== tenantId) {
        return store.settle(tenantId, reservationId, units, metadata, usage);
      }
      assertUnits(units);
      assertDimensions(usage);
      reservations.delete(reservationId);
      const { lease } = local;
      lease.inFlight--;
      // The authority no longer holds the lease: it recorded what the lease held, this call's
      // estimate among it, as it records an exact reservation settled too late.
      if (!owing.has(lease.id)) return { status: "expired" };
      lease.units += local.estimate - units;
      demand.add(local.scope, units - local.estimate);
      const merged = local.metadata || metadata ? cleanMetadata({ ...local.metadata, ...metadata }) : undefined;
      // As an exact settle's event: the settle's breakdown, the model named by it or the metadata.
      lease.calls.add(units, local.occurredAt, merged, usage ?? {});
      const work: Work = [];
      reportIfDue(lease, work);
      await Promise.all(work);
      return { status: "settled", units };
    },

    record: (t, r) => store.record(t, r),
    limits: (t, r) => store.limits(t, r),
    apply: (s) => store.apply(s),
    ...(store.load ? { load: store.load.bind(store) } : {}),
    ...(store.settleMany ? { settleMany: store.settleMany.bind(store) } : {}),
    reportLease: report,

    async closeAll(final = false) {
      const work: Work = [];
      for (const [scope, lease] of current) retire(scope, lease, work);
      await Promise.all([...work, ...[...owing.values()].map((lease) => flush(lease))]);
      if (final) sender.close();
    },

    held: () => owing.size,
  };
}
