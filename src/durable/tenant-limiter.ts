// TenantLimiter: one Durable Object per tenant, the single serialization point for its limits.
//
// It holds the tenant's key hashes, a token bucket per route, the daily quota and an
// outbox of usage events, in SQLite storage that survives eviction. Every decision runs
// synchronously after the snapshot is present, so concurrent calls are admitted one at a
// time with no locks, and each usage event is written with the quota change it belongs to.

import { DurableObject } from "cloudflare:workers";
import { type Config, loadConfig } from "../config";
import { dayOf } from "../core/calendar";
import { assertLeaseAsk } from "../core/lease-grant";
import { decide, decideReported, describeLimits, type LimiterState } from "../core/limiter";
import { assertUnits, reservationExpiry } from "../core/limiter-rules";
import type {
  CheckAnswer,
  CheckRequest,
  Lease,
  LeaseReport,
  LeaseReportResult,
  LimitsResult,
  LoadTenantSnapshot,
  RecordRequest,
  RecordResult,
  SettleItem,
  SettleResult,
  TenantSnapshot,
} from "../core/limiter-store";
import { hasConcurrency, limitsAt, routeCost, type TenantLimits } from "../core/limits";
import { stateWithAlerts } from "../core/quota-alerts";
import { assertSettleBatch } from "../core/settle-batch";
import { assertDimensions, assertModel } from "../core/usage-dimensions";
import { idempotentEventId, type UsageDimensions, type UsageMetadata } from "../core/usage-event";
import { AlarmSchedule } from "./alarm-schedule";
import { housekeep } from "./housekeeping";
import { DurableLeases } from "./leases";
import type { LimiterEnv } from "./limiter-env";
import { LimiterStorage } from "./limiter-storage";
import { settleReservations } from "./settle-reservations";
import { HeldSnapshot } from "./tenant-snapshot";
import { UsageRecorder } from "./usage-recorder";

export type { LimiterEnv } from "./limiter-env";

/**
 * The Durable Object, less where it loads a tenant from: the Worker's entry
 * (src/tenant-limiter.ts) supplies the Postgres source, so durable/ opens no database.
 */
export abstract class TenantLimiterObject extends DurableObject<LimiterEnv> {
  /** The limiter's clock. Tests replace it through `runInDurableObject`. */
  clock: () => number = () => Date.now();
  /** Settle calls (one settle or a batch) and the settles they carried, since the object started. */
  readonly settleCalls = { calls: 0, items: 0 };
  /** Check calls and the leases they granted; lease reports and the calls they carried (as settleCalls). */
  readonly checkCalls = { calls: 0, leases: 0 };
  readonly leaseReports = { calls: 0, items: 0 };

  private readonly storage: LimiterStorage;
  private readonly config: Config;
  /** The tenant's config and keys: held, loaded, refreshed and forgotten (tenant-snapshot.ts). */
  private readonly tenant: HeldSnapshot;
  private state: LimiterState;
  private readonly alarms: AlarmSchedule;
  private readonly outbox: UsageRecorder;
  private readonly leases: DurableLeases;

  constructor(ctx: DurableObjectState, env: LimiterEnv) {
    super(ctx, env);
    this.config = loadConfig(env);
    this.storage = new LimiterStorage(ctx.storage.sql);
    this.tenant = new HeldSnapshot({
      storage: this.storage,
      source: this.snapshotSource(this.config),
      name: ctx.id.name,
      tenantId: () => this.tenantId(),
      clock: () => this.clock(),
      refreshMs: this.config.CONFIG_REFRESH_SECONDS * 1000,
      onForget: () => this.forgetLimits(),
    });
    this.state = this.storage.readState();
    this.alarms = new AlarmSchedule(ctx.storage);
    this.outbox = new UsageRecorder(
      this.storage,
      this.alarms,
      () => this.tenantId(),
      () => this.clock(),
    );
    const { storage, outbox, alarms } = this;
    const keep = (state: LimiterState, limits: TenantLimits, now: number) => this.keep(state, limits, now);
    const reservationTtlSeconds = this.config.RESERVATION_TTL_SECONDS;
    this.leases = new DurableLeases({ storage, outbox, alarms, reservationTtlSeconds, keep });
    ctx.blockConcurrencyWhile(() => this.alarms.restore());
  }

  /** Authenticates (when a key hash is given) and checks every policy of one call, atomically. */
  async check(request: CheckRequest): Promise<CheckAnswer> {
    if (request.lease) assertLeaseAsk(request.lease);
    this.checkCalls.calls++;
    if (!this.tenant.snapshot && request.loadIfCold === false) {
      // Answer at once: the caller bounds the load apart from the check (see guardedStore).
      return this.tenant.knownMissing() ? { status: "unauthenticated" } : { status: "cold" };
    }
    const auth = this.tenant.authorize(this.tenant.snapshot ?? (await this.tenant.load()), request.keyHash);
    if ("denied" in auth) return auth.denied;
    // A cold load can outlast the caller's patience; a call it gave up on must cost nothing.
    if (request.deadline !== undefined && Date.now() > request.deadline) return { status: "late" };
    const now = this.clock();
    const limits = limitsAt(auth.snapshot.limits, now);
    const cost = request.cost ?? routeCost(limits, request.route, request.defaultCost);
    assertUnits(cost);
    assertModel(request.model);
    const reserve = request.reserve === true;
    // Counting the calls in flight is a query: only a reservation meets a concurrency cap.
    const inFlight =
      reserve && hasConcurrency(limits, request.route) ? this.storage.inFlight(now, request.route) : undefined;
    const call = { keyHash: request.keyHash, reserve, inFlight };
    const { decision, state, bucketTicks, keyTicks } = decide(this.state, limits, request.route, cost, now, call);
    // No await from here on: the counters and the usage event commit together, before the
    // answer leaves the object.
    this.keep(state, limits, now);
    let reservation: { id: string; expiresAt: number } | undefined;
    let lease: Lease | undefined;
    // A reserved call is metered even at cost 0: it is settled to the units it used.
    if (decision.allowed && (cost > 0 || request.reserve)) {
      const { route, metadata, model } = request;
      if (request.reserve) {
        const expiresAt = reservationExpiry(now, this.config.RESERVATION_TTL_SECONDS);
        reservation = { id: crypto.randomUUID(), expiresAt };
        const day = dayOf(now, limits.timeZone);
        const key = request.keyHash === undefined ? {} : { keyHash: request.keyHash, keyTicks };
        const held = { route, units: cost, bucketTicks, ...key, day, reservedAt: now, metadata, model };
        this.storage.insertReservation({ ...reservation, ...held });
        this.alarms.schedule(expiresAt - now);
      } else {
        this.outbox.call(route, cost, now, metadata, { model });
      }
      if (!decision.shadowed) lease = this.leases.grant(this.state, limits, request, now);
    }
    if (lease) this.checkCalls.leases++;
    return { status: "ok", decision, reservation, ...(lease ? { lease } : {}) };
  }

  /**
   * Settles a reservation to the units actually used, refunding or charging the difference,
   * and records the usage with its breakdown. A reservation past its expiry keeps its
   * estimate, recorded marked estimated. A batch of one: it answers one result.
   */
  async settle(reservationId: string, units: number, metadata?: UsageMetadata, usage?: UsageDimensions) {
    const [result] = await this.settleMany([{ reservationId, units, metadata, usage }]);
    if (!result) throw new Error("TenantLimiter: a batch of one settle answered no result");
    return result;
  }

  /**
   * Settles several reservations in order, as that many settles would one after another, in
   * one synchronous block: the counters are written once, with the alerts and the usage
   * events of every item, and commit together.
   */
  async settleMany(items: SettleItem[]): Promise<SettleResult[]> {
    assertSettleBatch(items);
    this.settleCalls.calls++;
    this.settleCalls.items += items.length;
    const limits = (this.tenant.snapshot ?? (await this.tenant.load()))?.limits ?? null;
    const tenant = { tenantId: this.tenantId(), now: this.clock(), state: this.state, limits };
    // One transaction: a batch failing part way leaves every reservation held, none charged.
    const { results, state } = this.ctx.storage.transactionSync(() =>
      settleReservations(this.storage, this.outbox, tenant, items),
    );
    this.state = state;
    return results;
  }

  /** Applies a holder's report of one of the tenant's leases, in one transaction (durable/leases.ts). */
  async reportLease(report: LeaseReport): Promise<LeaseReportResult> {
    this.leaseReports.calls++;
    this.leaseReports.items += report.calls.length;
    const now = this.clock();
    // No load: the snapshot is kept in storage, so only a forgotten tenant has none here.
    const { snapshot } = this.tenant;
    const limits = snapshot ? limitsAt(snapshot.limits, now) : null;
    const tenant = { tenantId: this.tenantId(), now, state: this.state, limits };
    const { result, state } = this.ctx.storage.transactionSync(() => this.leases.report(tenant, report));
    this.state = state;
    return result;
  }

  /** Records usage reported after the fact against the daily quota, once per idempotency key. */
  async record(request: RecordRequest): Promise<RecordResult> {
    assertUnits(request.units);
    const { model, inputTokens, outputTokens, cachedInputTokens } = request;
    const usage = { model, inputTokens, outputTokens, cachedInputTokens };
    assertDimensions(usage);
    const eventId = await idempotentEventId(this.tenantId(), request.idempotencyKey);
    const auth = this.tenant.authorize(this.tenant.snapshot ?? (await this.tenant.load()), request.keyHash);
    if ("denied" in auth) return auth.denied;
    // From here to the return, nothing awaits: a duplicate check and its insert cannot interleave.
    if (this.storage.idempotentEvent(request.idempotencyKey)) return { status: "duplicate", eventId };
    const { limits, tenantId } = auth.snapshot;
    const now = this.clock();
    const { decision, state } = decideReported(this.state, limits, request.route, request.units, now);
    if (!decision.allowed) return { status: "limited", decision };
    this.keep(state, limits, now);
    this.storage.rememberIdempotencyKey(request.idempotencyKey, eventId, now);
    const { route, units, occurredAt, metadata } = request;
    this.outbox.event({ eventId, tenantId, route, units, occurredAt, metadata }, usage);
    return { status: "recorded", eventId, decision };
  }

  /** The figures of every policy for the given routes, without consuming anything. */
  async limits(request: { keyHash?: string; routes: string[] }): Promise<LimitsResult> {
    const auth = this.tenant.authorize(this.tenant.snapshot ?? (await this.tenant.load()), request.keyHash);
    if ("denied" in auth) return auth.denied;
    const { tenantId } = auth.snapshot;
    const now = this.clock();
    const limits = limitsAt(auth.snapshot.limits, now);
    const routes = [...new Set([...request.routes, ...Object.keys(limits.routes)])];
    const context = { keyHash: request.keyHash, inFlight: this.storage.inFlightByRoute(now) };
    const report = describeLimits(this.state, limits, routes, now, context);
    return { status: "ok", limits: { tenantId, shadow: limits.shadow, ...report } };
  }

  /** Loads the tenant from Postgres, unless it is here already or known not to exist. */
  async load(): Promise<void> {
    if (!this.tenant.snapshot) await this.tenant.load();
  }

  /** Replaces the tenant's config and keys, unless this limiter already has a newer version. */
  async apply(snapshot: TenantSnapshot): Promise<void> {
    this.tenant.adopt(snapshot);
  }

  /**
   * Records expired reservations at their estimate, forgets old idempotency keys, and
   * sends the outbox to the usage queue. A failed send is retried with backoff.
   */
  override async alarm(): Promise<void> {
    const { storage, outbox, alarms, leases } = this;
    const parts = { storage, outbox, alarms, leases, queue: this.env.USAGE_QUEUE };
    await housekeep({ ...parts, tenant: this.ctx.id.name }, this.clock());
  }

  /**
   * Writes the state a decision left, with the quota alerts it crossed appended to the
   * outbox in the same synchronous block: the crossing and its alert commit together.
   */
  private keep(state: LimiterState, limits: TenantLimits, now: number): void {
    const kept = stateWithAlerts(this.tenantId(), this.state, state, limits, now);
    this.storage.writeState(this.state, kept.state);
    this.state = kept.state;
    for (const alert of kept.alerts) this.outbox.alert(alert);
  }

  private tenantId(): string {
    const tenantId = this.ctx.id.name;
    if (!tenantId) throw new Error("TenantLimiter must be addressed by name (the tenant id)");
    return tenantId;
  }

  /** Where this limiter loads its tenant from; null when no database is configured. */
  protected abstract snapshotSource(config: Config): LoadTenantSnapshot | null;

  /** The tenant is gone (HeldSnapshot dropped it): keep no limits for it. */
  private forgetLimits(): void {
    this.state = { buckets: {}, daily: undefined };
    // Calls in flight were served: record them at their estimate before letting go.
    for (const r of this.storage.takeExpiredReservations(Number.MAX_SAFE_INTEGER)) this.outbox.estimate(r);
    this.storage.deleteTenant();
  }
}
