// Token leases, the holder's side: a LimiterStore around the limiter's, for a gateway's
// isolate or process, that admits a hot tenant's calls from units and calls leased from the
// limiter (the authority), without a round trip per call. docs/architecture.md, "Token
// leases", says what it guarantees.
//
// A call its lease cannot admit (none yet, run short, term over) is checked by the limiter as
// in exact mode, asking for the next lease with it once the scope (tenant, key, route) made
// LEASE_MIN_CALLS calls in the last term; what the old lease has left is given back. The
// limiter grants a lease only to a tenant in lease mode, so for every other tenant the ask
// is ignored and this store is exact mode. Reserved calls admitted from a lease are settled
// here; every admitted call's usage is reported to the limiter when its lease retires (at the
// end of its term, or on renewal), which makes it a usage event there.
//
// Synchronous between awaits, like the settle coalescer; its clock and timers are injected.

import { LEASE_TERM_MS } from "./lease";
import { MAX_LEASE_REPORT_CALLS, MAX_LEASE_REQUESTS } from "./lease-grant";
import { type HeldByHolder, sendReports } from "./lease-reports";
import type { Decision } from "./limiter";
import { assertUnits } from "./limiter-rules";
import type { CheckRequest, CheckResult, LeaseAsk, LimiterStore, SettleResult } from "./limiter-store";
import { MAX_CALL_UNITS } from "./limits";
import { log } from "./log";
import type { SetTimer } from "./settle-coalescer";
import { assertDimensions, assertModel } from "./usage-dimensions";
import { cleanMetadata, type UsageMetadata } from "./usage-event";

/** Calls a scope must make in one term before its checks ask for a lease. */
export const LEASE_MIN_CALLS = 4;
/** Scopes whose demand is counted at once; past it, the counts start over. */
const DEMAND_SCOPES = 10_000;

export interface LeaseHolderOptions {
  /** How long a lease's calls wait to be reported together. Default 25 ms. */
  windowMs?: number;
  /** Default Date.now. */
  now?: () => number;
  /** Default setTimeout, not holding a Node process open. */
  setTimer?: SetTimer;
  /** A report that failed (it is sent again). Default: logged as a warning. */
  onReportFailure?: (tenantId: string, error: Error) => void;
}

interface Demand {
  termStart: number;
  units: number;
  calls: number;
  unitsBefore: number;
  callsBefore: number;
}

interface LocalReservation {
  lease: HeldByHolder;
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
  /** Gives back every lease now and sends every report owed (shutdown). */
  closeAll(): Promise<void>;
  /** Leases held, for tests and metrics. */
  held(): number;
}

export function leaseHolder(store: LimiterStore, options: LeaseHolderOptions = {}): LeaseHolder {
  const report = store.reportLease?.bind(store);
  if (!report) throw new TypeError("leaseHolder: the limiter store has no reportLease");
  const now = options.now ?? Date.now;
  const setTimer = options.setTimer ?? defaultTimer;
  const windowMs = options.windowMs ?? 25;
  const onFailure =
    options.onReportFailure ??
    ((tenantId: string, error: Error) => log.warn("lease report failed", { tenant: tenantId, error: error.message }));

  const current = new Map<string, HeldByHolder>();
  const renewing = new Set<string>();
  const demand = new Map<string, Demand>();
  const reservations = new Map<string, LocalReservation>();
  /** Every lease not yet done with, by id: current, or retired and still owing a report. */
  const owing = new Map<string, HeldByHolder>();
  const queued = new Set<HeldByHolder>();
  let reserved = 0;

  function count(scope: string, cost: number, at: number): Demand {
    let d = demand.get(scope);
    if (!d) {
      if (demand.size >= DEMAND_SCOPES) demand.clear();
      d = { termStart: at, units: 0, calls: 0, unitsBefore: 0, callsBefore: 0 };
      demand.set(scope, d);
    }
    if (at - d.termStart >= LEASE_TERM_MS) {
      const recent = at - d.termStart < 2 * LEASE_TERM_MS;
      d.unitsBefore = recent ? d.units : 0;
      d.callsBefore = recent ? d.calls : 0;
      d.units = 0;
      d.calls = 0;
      d.termStart = at;
    }
    d.units += cost;
    d.calls += 1;
    return d;
  }

  /** About one term of the scope's demand, beyond the asking call: nothing for a quiet scope. */
  function askOf(d: Demand): LeaseAsk | undefined {
    const calls = Math.max(d.calls, d.callsBefore);
    if (calls < LEASE_MIN_CALLS) return undefined;
    return {
      units: Math.min(MAX_CALL_UNITS, Math.max(d.units, d.unitsBefore)),
      requests: Math.min(MAX_LEASE_REQUESTS, calls),
    };
  }

  /**
   * A live lease's calls are reported when it retires (at most a term after it was granted),
   * in one round trip, unless they fill a report first; a retired lease's at once. Waiting
   * loses nothing: a lease never reported is billed what it held.
   */
  function reportIfDue(lease: HeldByHolder): void {
    if (lease.retired || lease.calls.length >= MAX_LEASE_REPORT_CALLS) flushSoon(lease);
  }

  function flushSoon(lease: HeldByHolder): void {
    if (queued.has(lease)) return;
    queued.add(lease);
    setTimer(() => void flush(lease), windowMs);
  }

  async function flush(lease: HeldByHolder): Promise<void> {
    queued.delete(lease);
    try {
      if (await sendReports(lease, report as NonNullable<typeof report>)) owing.delete(lease.id);
    } catch (err) {
      onFailure(lease.tenantId, err as Error);
      flushSoon(lease);
    }
  }

  function retire(scope: string, lease: HeldByHolder): void {
    if (current.get(scope) === lease) current.delete(scope);
    if (lease.retired) return;
    lease.retired = true;
    lease.giveBack = { units: Math.max(0, lease.units), requests: lease.requests };
    flushSoon(lease);
  }

  function admit(lease: HeldByHolder, scope: string, request: CheckRequest, cost: number, at: number): CheckResult {
    lease.units -= cost;
    lease.requests -= 1;
    lease.admittedUnits += cost;
    lease.admittedCalls += 1;
    count(scope, cost, at);
    const decision = localDecision(lease, request.route, cost);
    const metadata = cleanMetadata(request.metadata);
    const { model } = request;
    if (!request.reserve) {
      // As an exact check's event: the model given, else the one the metadata names.
      lease.calls.push({ units: cost, occurredAt: at, metadata, usage: model === undefined ? {} : { model } });
      reportIfDue(lease);
      return { status: "ok", decision };
    }
    const id = `${lease.id}.${++reserved}`;
    lease.inFlight++;
    reservations.set(id, { lease, estimate: cost, occurredAt: at, metadata });
    return { status: "ok", decision, reservation: { id, expiresAt: lease.expiresAt } };
  }

  async function renew(tenantId: string, scope: string, request: CheckRequest, cost: number | undefined) {
    const sentAt = now();
    // Before the first lease names the tenant's route cost, the route table's stands in.
    const d = count(scope, cost ?? request.defaultCost ?? 1, sentAt);
    const ask = renewing.has(scope) ? undefined : askOf(d);
    if (!ask) return store.check(tenantId, request);
    renewing.add(scope);
    let result: CheckResult;
    try {
      result = await store.check(tenantId, { ...request, lease: ask });
    } finally {
      renewing.delete(scope);
    }
    if (result.status !== "ok" || !result.lease) return result;
    const { lease: granted, ...rest } = result;
    const lease: HeldByHolder = {
      id: granted.id,
      tenantId,
      units: granted.units,
      requests: granted.requests,
      routeCost: granted.routeCost,
      expiresAt: sentAt + granted.termMs,
      retired: false,
      inFlight: 0,
      calls: [],
      giveBack: null,
      seq: 0,
      sending: null,
      decision: result.decision,
      admittedUnits: 0,
      admittedCalls: 0,
    };
    const before = current.get(scope);
    if (before) retire(scope, before);
    current.set(scope, lease);
    owing.set(lease.id, lease);
    // Given back at the end of its term if no call renewed it first.
    setTimer(() => retire(scope, lease), granted.termMs);
    return rest;
  }

  return {
    async check(tenantId, request) {
      const peek = request.cost === 0 && !request.reserve;
      if (peek) return store.check(tenantId, request);
      assertModel(request.model);
      const scope = `${tenantId}\u0000${request.keyHash ?? ""}\u0000${request.route}`;
      const lease = current.get(scope);
      const cost = request.cost ?? lease?.routeCost;
      if (lease && cost !== undefined) {
        assertUnits(cost);
        const at = now();
        if (at < lease.expiresAt && lease.units >= cost && lease.requests >= 1) {
          return admit(lease, scope, request, cost, at);
        }
        retire(scope, lease);
      }
      return renew(tenantId, scope, request, cost);
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
      lease.units += local.estimate - units;
      const merged = local.metadata || metadata ? cleanMetadata({ ...local.metadata, ...metadata }) : undefined;
      // As an exact settle's event: the settle's breakdown, the model named by it or the metadata.
      lease.calls.push({ units, occurredAt: local.occurredAt, metadata: merged, usage: usage ?? {} });
      if (owing.has(lease.id)) reportIfDue(lease);
      return { status: "settled", units };
    },

    record: (t, r) => store.record(t, r),
    limits: (t, r) => store.limits(t, r),
    apply: (s) => store.apply(s),
    ...(store.load ? { load: store.load.bind(store) } : {}),
    ...(store.settleMany ? { settleMany: store.settleMany.bind(store) } : {}),
    reportLease: report,

    async closeAll() {
      for (const [scope, lease] of current) retire(scope, lease);
      await Promise.all([...owing.values()].map((lease) => flush(lease)));
    },

    held: () => owing.size,
  };
}

/**
 * The decision of a call admitted from a lease: the granting check's, with what this holder
 * admitted from the lease since taken from each policy's remaining.
 */
function localDecision(lease: HeldByHolder, route: string, cost: number): Decision {
  const policies = lease.decision.policies.map((p) => {
    const used = p.kind === "requests" ? lease.admittedCalls : p.kind === "concurrency" ? 0 : lease.admittedUnits;
    return used === 0 ? p : { ...p, remaining: Math.max(0, p.remaining - used) };
  });
  return { allowed: true, shadowed: false, violated: [], policies, retryAfterSeconds: 0, route, cost };
}
