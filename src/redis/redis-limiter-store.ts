// The LimiterStore on Redis: one script call per decision, with the semantics of the
// TenantLimiter Durable Object (the conformance suite in test/limiter/conformance holds both
// to it).
//
// The script moves the counters and writes the usage event atomically, and returns the
// state it found; the Decision is then rebuilt here with src/core's decide(), so headers
// and reports come from the same code on every backend.
//
// The tenant's config and key hashes are cached in Redis (tenant-config.ts: loaded from
// Postgres on a miss, replaced by the operator API's pushes, expiring after twice
// CONFIG_REFRESH_SECONDS and refreshed in the background after once). The calendar day is
// computed here from the injected clock, in the time zone this process last saw for the
// tenant; the script checks the zone and asks again if it changed.

import { assertLeaseAsk } from "../core/lease-grant";
import { type Decision, decide, decideReported, describeLimits, type LimiterState } from "../core/limiter";
import { assertUnits, IDEMPOTENCY_TTL_MS, reservationExpiry } from "../core/limiter-rules";
import type {
  CheckRequest,
  CheckResult,
  LeaseReport,
  LeaseReportResult,
  LimiterStore,
  LimitsResult,
  RecordRequest,
  RecordResult,
  SettleItem,
  SettleResult,
  TenantSnapshot,
} from "../core/limiter-store";
import { assertSettleBatch } from "../core/settle-batch";
import { assertDimensions, assertModel, estimatedDimensions } from "../core/usage-dimensions";
import { idempotentEventId, newEventId, type UsageDimensions, type UsageMetadata } from "../core/usage-event";
import { DEFAULT_PREFIX, tenantKeys } from "./keys";
import { type LimiterOp, runLimiterCall } from "./limiter-call";
import { checkedState, dailyOf, peekedState, settledResults, str } from "./limiter-reply";
import { ColdTenant, type Denied, type Ran, type RunnerDeps, runOp } from "./limiter-runner";
import type { RedisCommands } from "./lua-script";
import { grantRedisLease, reportRedisLease } from "./redis-leases";
import { TenantConfigs } from "./tenant-config";

export interface RedisLimiterOptions {
  redis: RedisCommands;
  /** The tenant's snapshot from Postgres, or null when the tenant does not exist. */
  loadSnapshot(tenantId: string): Promise<TenantSnapshot | null>;
  /** The limiter's clock (ms since the epoch). Default: Date.now. */
  clock?: () => number;
  reservationTtlSeconds: number;
  configRefreshSeconds: number;
  /**
   * The connection lease reports go on (a lease's calls, tens of KB at a time). Default:
   * `redis`. Measured on Redis 7.0: after such a command, the checks that share its
   * connection ran at two thirds of their rate for a second or two, so the hot path's
   * connection should not carry them.
   */
  reportRedis?: RedisCommands;
  /**
   * Write lease reports as compact entries (fields L, t and C: usage-stream-entry.ts), which
   * cost Redis about a third of the time of the lines with an event id each (field E) that
   * versions before them read. Default false: every consumer of the streams must read them
   * first (RATE_LIMIT_REDIS_COMPACT_REPORTS).
   */
  compactReports?: boolean;
  /** Key prefix, to share one Redis between deployments. Default "aegis". */
  prefix?: string;
  /**
   * Reload an old config in the background after answering. Default true. Off where the
   * connection does not outlive the call (a Worker's request): a config past its TTL is
   * then reloaded on the next miss instead.
   */
  backgroundRefresh?: boolean;
}

/** Thrown when the script and src/core disagree about a call: a bug, never a limit. */
export class LimiterInvariantError extends Error {
  override name = "LimiterInvariantError";
}

export class RedisLimiterStore implements LimiterStore {
  private readonly redis: RedisCommands;
  private readonly clock: () => number;
  private readonly prefix: string;
  private readonly configs: TenantConfigs;
  /** What runOp() needs, built once: every call passes it. */
  private readonly deps: RunnerDeps;

  constructor(private readonly options: RedisLimiterOptions) {
    this.redis = options.redis;
    this.clock = options.clock ?? (() => Date.now());
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.configs = new TenantConfigs({
      redis: this.redis,
      prefix: this.prefix,
      clock: this.clock,
      loadSnapshot: options.loadSnapshot,
      configRefreshSeconds: options.configRefreshSeconds,
      backgroundRefresh: options.backgroundRefresh !== false,
    });
    const { backgroundRefresh, configRefreshSeconds } = options;
    const { redis, prefix, configs, clock } = this;
    this.deps = { redis, prefix, configs, clock, backgroundRefresh, configRefreshSeconds };
  }

  async check(tenantId: string, request: CheckRequest): Promise<CheckResult> {
    if (request.cost !== undefined) assertUnits(request.cost, "cost");
    if (request.defaultCost !== undefined) assertUnits(request.defaultCost, "defaultCost");
    assertModel(request.model);
    if (request.lease) assertLeaseAsk(request.lease);
    // A reservation keeps the dimensions of its estimate, for when it is not settled in time.
    const dimensions = request.reserve ? estimatedDimensions(request.model) : { model: request.model };
    const id = request.reserve ? crypto.randomUUID() : newEventId();
    let expiresAt = 0;
    let r: Ran | Denied | null;
    try {
      const stale = request.loadIfCold === false && request.allowStale === true;
      r = await this.run(
        tenantId,
        request.keyHash,
        (now) => {
          // The caller has already answered 503 for a call it stopped waiting for: it must cost nothing.
          if (request.deadline !== undefined && Date.now() > request.deadline) return null;
          expiresAt = reservationExpiry(now, this.options.reservationTtlSeconds);
          return {
            op: stale ? "checkstale" : "check",
            eventId: id,
            route: request.route,
            cost: request.cost,
            defaultCost: request.defaultCost,
            reserve: request.reserve === true,
            expiresAt,
            metadata: request.metadata,
            dimensions,
          };
        },
        request.loadIfCold === false,
      );
    } catch (err) {
      if (err instanceof ColdTenant) return { status: "cold" };
      throw err;
    }
    if (r === null) return { status: "late" };
    if ("denied" in r) return r.denied;
    const { reply, limits, now } = r;
    const { keyHash, route } = request;
    const { cost, allowed, state, inFlight } = checkedState(reply, route, keyHash);
    const reserve = request.reserve === true;
    const { decision } = decide(state, limits, route, cost, now, { keyHash, reserve, inFlight });
    this.agree(decision, allowed, tenantId);
    const reservation = request.reserve && allowed ? { id, expiresAt } : undefined;
    // An exact check's answer is built here, without a further await: the hot path.
    if (!request.lease) return { status: "ok", decision, reservation };
    const holdMs = this.options.reservationTtlSeconds * 1000;
    const lease = await grantRedisLease(this.run.bind(this), tenantId, request, { decision, limits, now }, holdMs);
    return lease ? { status: "ok", decision, reservation, lease } : { status: "ok", decision, reservation };
  }

  async settle(
    tenantId: string,
    reservationId: string,
    units: number,
    metadata?: UsageMetadata,
    usage?: UsageDimensions,
  ): Promise<SettleResult> {
    const [result] = await this.settleMany(tenantId, [{ reservationId, units, metadata, usage }]);
    if (!result) throw new LimiterInvariantError("the Redis limiter script answered a settle with no result");
    return result;
  }

  /**
   * The settles in one script call (one round trip), applied by the script in order as if one
   * after another. Refuses, before any I/O, a batch over MAX_SETTLE_BATCH or with an invalid item.
   */
  async settleMany(tenantId: string, items: SettleItem[]): Promise<SettleResult[]> {
    assertSettleBatch(items);
    if (items.length === 0) return [];
    const settles = items.map(({ usage, ...item }) => ({ ...item, dimensions: usage ?? {} }));
    const r = await this.run(tenantId, undefined, () => ({ op: "settle", items: settles }));
    // A tenant that does not exist holds no reservation.
    if (r === null || "denied" in r) return items.map(() => ({ status: "unknown" }));
    const results = settledResults(r.reply, items);
    if (!results)
      throw new LimiterInvariantError(`the Redis limiter script misanswered a batch of ${items.length} settles`);
    return results;
  }

  /** A holder's report of the calls a lease admitted (redis-leases.ts). */
  reportLease(tenantId: string, report: LeaseReport): Promise<LeaseReportResult> {
    const on = this.options.reportRedis ?? this.redis;
    const compact = this.options.compactReports === true;
    return reportRedisLease((t, k, opAt) => this.run(t, k, opAt, false, on), tenantId, report, compact);
  }

  async record(tenantId: string, request: RecordRequest): Promise<RecordResult> {
    assertUnits(request.units);
    const { model, inputTokens, outputTokens, cachedInputTokens } = request;
    const dimensions = { model, inputTokens, outputTokens, cachedInputTokens };
    assertDimensions(dimensions);
    const eventId = await idempotentEventId(tenantId, request.idempotencyKey);
    const r = await this.run(tenantId, request.keyHash, () => ({
      op: "record",
      eventId,
      route: request.route,
      units: request.units,
      occurredAt: request.occurredAt,
      metadata: request.metadata,
      idempotencyTtlMs: IDEMPOTENCY_TTL_MS,
      dimensions,
    }));
    if (r === null) throw new Error("unreachable: record has no deadline");
    if ("denied" in r) return r.denied;
    const { reply, limits, now } = r;
    const status = str(reply[0]);
    if (status === "duplicate") return { status: "duplicate", eventId };
    const before: LimiterState = { buckets: {}, daily: dailyOf(reply[4], reply[5]) };
    const { decision } = decideReported(before, limits, request.route, request.units, now);
    this.agree(decision, status === "recorded", tenantId);
    return status === "recorded" ? { status: "recorded", eventId, decision } : { status: "limited", decision };
  }

  async limits(tenantId: string, request: { keyHash?: string; routes: string[] }): Promise<LimitsResult> {
    const r = await this.run(tenantId, request.keyHash, () => ({ op: "peek" }));
    if (r === null) throw new Error("unreachable: limits has no deadline");
    if ("denied" in r) return r.denied;
    const { reply, limits, now } = r;
    const { state, inFlight } = peekedState(reply.slice(4));
    const routes = [...new Set([...request.routes, ...Object.keys(limits.routes)])];
    const report = describeLimits(state, limits, routes, now, { keyHash: request.keyHash, inFlight });
    return { status: "ok", limits: { tenantId, shadow: limits.shadow, ...report } };
  }

  /** Loads the tenant from Postgres into Redis (or marks it missing), as a miss does. */
  async load(tenantId: string): Promise<void> {
    await this.configs.reload(tenantId, 0);
  }

  /** Replaces the cached config and keys, unless Redis already holds a newer version. */
  async apply(snapshot: TenantSnapshot): Promise<void> {
    await this.configs.write(snapshot);
  }

  /**
   * Records reservations that expired unsettled at their estimate, for tenants that make no
   * further calls (every call also sweeps a few). Returns how many it recorded.
   */
  async sweepExpired(tenantId: string, limit = 1000): Promise<number> {
    const keys = tenantKeys(this.prefix, tenantId);
    return Number(await runLimiterCall(this.redis, keys, { op: "sweep", now: this.clock(), limit }));
  }

  /** runOp() with this store's Redis (or `on`), configs and clock. */
  private run(
    tenantId: string,
    keyHash: string | undefined,
    opAt: (now: number) => LimiterOp | null,
    coldIsAnswer = false,
    on = this.redis,
  ): Promise<Ran | Denied | null> {
    const deps = on === this.redis ? this.deps : { ...this.deps, redis: on };
    return runOp(deps, tenantId, keyHash, opAt, coldIsAnswer);
  }

  private agree(decision: Decision, allowed: boolean, tenantId: string): void {
    if (decision.allowed !== allowed) {
      throw new LimiterInvariantError(
        `the Redis limiter script ${allowed ? "admitted" : "refused"} a call that src/core ${
          decision.allowed ? "admits" : "refuses"
        } (tenant ${tenantId}, route ${decision.route}, cost ${decision.cost})`,
      );
    }
  }
}
