// The LimiterStore on Redis: one script call per decision, with the semantics of the
// TenantLimiter Durable Object (the conformance suite in test/conformance holds both to it).
//
// The script moves the counters and writes the usage event atomically, and returns the
// state it found; the Decision is then rebuilt here with src/core's decide(), so headers
// and reports come from the same code on every backend.
//
// The tenant's config and key hashes are cached in Redis (loaded from Postgres on a miss,
// replaced by the operator API's pushes, expiring after twice CONFIG_REFRESH_SECONDS and
// refreshed in the background after once). The calendar day is computed here from the
// injected clock, in the time zone this process last saw for the tenant; the script checks
// the zone and asks again if it changed.

import { dayOf } from "../core/calendar";
import { describeError } from "../core/errors";
import { type Decision, decide, decideReported, describeLimits, type LimiterState } from "../core/limiter";
import type {
  CheckRequest,
  CheckResult,
  LimiterStore,
  LimitsResult,
  RecordRequest,
  RecordResult,
  SettleResult,
  TenantSnapshot,
} from "../core/limiter-store";
import { MAX_CALL_UNITS, type TenantLimits } from "../core/limits";
import type { BucketState } from "../core/token-bucket";
import { cleanMetadata, idempotentEventId, newEventId, type UsageMetadata } from "../core/usage-event";
import { DEFAULT_PREFIX, INGEST_GROUP, registryKey, tenantKeys } from "./keys";
import { LIMITER_SCRIPT } from "./limiter-script";
import { LuaScript, type RedisCommands } from "./lua-script";
import { type RedisReply, RedisServerError } from "./resp/index";

export const limiterScript = new LuaScript(LIMITER_SCRIPT);

/** How long an unknown tenant id is remembered before Postgres is asked again. */
const MISSING_TENANT_TTL_MS = 30_000;
/** A key the cache does not know reloads the config, at most once per this period. */
const UNKNOWN_KEY_REFRESH_MS = 30_000;
/** How long a reported usage's idempotency key is remembered. */
const IDEMPOTENCY_TTL_MS = 7 * 86_400_000;
/** Tenants whose config version and zone this process remembers. */
const MEMO_LIMIT = 10_000;

export interface RedisLimiterOptions {
  redis: RedisCommands;
  /** The tenant's snapshot from Postgres, or null when the tenant does not exist. */
  loadSnapshot(tenantId: string): Promise<TenantSnapshot | null>;
  /** The limiter's clock (ms since the epoch). Default: Date.now. */
  clock?: () => number;
  reservationTtlSeconds: number;
  configRefreshSeconds: number;
  /** Key prefix, to share one Redis between deployments. Default "aegis". */
  prefix?: string;
  /**
   * Reload an old config in the background after answering. Default true. Off where the
   * connection does not outlive the call (a Worker's request): a config past its TTL is
   * then reloaded on the next miss instead.
   */
  backgroundRefresh?: boolean;
}

interface Memo {
  version: string;
  limits: TenantLimits;
}

type Reply = RedisReply[];

const str = (v: RedisReply | undefined): string | null => (v === null || v === undefined ? null : String(v));
const num = (v: RedisReply | undefined): number => Number(v);
/** The numeric config version of a "version:hash" tag. */
const versionOf = (tag: RedisReply | undefined): number => Number.parseInt(String(tag), 10) || 0;

function assertUnits(units: number, what = "units"): void {
  if (!Number.isSafeInteger(units) || units < 0 || units > MAX_CALL_UNITS) {
    throw new RangeError(`${what} must be a whole number from 0 to ${MAX_CALL_UNITS}, got ${units}`);
  }
}

function bucketOf(raw: string | null): BucketState | undefined {
  if (raw === null) return undefined;
  const [ticks, at] = raw.split(":");
  return { ticks: Number(ticks), at: Number(at) };
}

function metadataArg(metadata: UsageMetadata | undefined): string {
  const clean = cleanMetadata(metadata);
  return clean ? JSON.stringify(clean) : "";
}

/** Raised inside run() when a check that must not load finds the tenant cold; check() answers "cold". */
class ColdTenant extends Error {}

/** Thrown when the script and src/core disagree about a call: a bug, never a limit. */
export class LimiterInvariantError extends Error {
  override name = "LimiterInvariantError";
}

export class RedisLimiterStore implements LimiterStore {
  private readonly redis: RedisCommands;
  private readonly clock: () => number;
  private readonly prefix: string;
  private readonly memo = new Map<string, Memo>();
  private readonly zones = new Map<string, string>();
  private readonly loading = new Map<string, Promise<void>>();

  constructor(private readonly options: RedisLimiterOptions) {
    this.redis = options.redis;
    this.clock = options.clock ?? (() => Date.now());
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
  }

  async check(tenantId: string, request: CheckRequest): Promise<CheckResult> {
    if (request.cost !== undefined) assertUnits(request.cost, "cost");
    if (request.defaultCost !== undefined) assertUnits(request.defaultCost, "defaultCost");
    const id = request.reserve ? crypto.randomUUID() : newEventId();
    const ttlMs = this.options.reservationTtlSeconds * 1000;
    let expiresAt = 0;
    let r: Awaited<ReturnType<RedisLimiterStore["run"]>>;
    try {
      const stale = request.loadIfCold === false && request.allowStale === true;
      r = await this.run(
        tenantId,
        request.keyHash,
        stale ? "checkstale" : "check",
        (now) => {
          // The caller has already answered 503 for a call it stopped waiting for: it must cost nothing.
          if (request.deadline !== undefined && Date.now() > request.deadline) return null;
          expiresAt = now + ttlMs;
          return [
            id,
            request.route,
            request.cost ?? "",
            request.defaultCost ?? "",
            request.reserve ? "1" : "0",
            expiresAt,
            metadataArg(request.metadata),
          ];
        },
        undefined,
        request.loadIfCold === false,
      );
    } catch (err) {
      if (err instanceof ColdTenant) return { status: "cold" };
      throw err;
    }
    if (r === null) return { status: "late" };
    if ("denied" in r) return r.denied;
    const { reply, limits, now } = r;
    const cost = num(reply[4]);
    const allowed = num(reply[5]) === 1;
    const before: LimiterState = {
      buckets: { [request.route]: bucketOf(str(reply[6])) },
      daily: this.dailyOf(reply[7], reply[8]),
    };
    const { decision } = decide(before, limits, request.route, cost, now);
    this.agree(decision, allowed, tenantId);
    const reservation = request.reserve && allowed ? { id, expiresAt } : undefined;
    return { status: "ok", decision, reservation };
  }

  async settle(
    tenantId: string,
    reservationId: string,
    units: number,
    metadata?: UsageMetadata,
  ): Promise<SettleResult> {
    assertUnits(units);
    const r = await this.run(tenantId, undefined, "settle", () => ["", reservationId, units, metadataArg(metadata)]);
    if (r === null || "denied" in r) return { status: "unknown" };
    const status = str(r.reply[0]);
    if (status === "settled") return { status: "settled", units };
    if (status === "expired") return { status: "expired" };
    return { status: "unknown" };
  }

  async record(tenantId: string, request: RecordRequest): Promise<RecordResult> {
    assertUnits(request.units);
    const eventId = await idempotentEventId(tenantId, request.idempotencyKey);
    const keys = tenantKeys(this.prefix, tenantId);
    const r = await this.run(
      tenantId,
      request.keyHash,
      "record",
      () => [
        eventId,
        request.route,
        request.units,
        request.occurredAt,
        metadataArg(request.metadata),
        IDEMPOTENCY_TTL_MS,
      ],
      keys.idem(eventId),
    );
    if (r === null) throw new Error("unreachable: record has no deadline");
    if ("denied" in r) return r.denied;
    const { reply, limits, now } = r;
    const status = str(reply[0]);
    if (status === "duplicate") return { status: "duplicate", eventId };
    const before: LimiterState = { buckets: {}, daily: this.dailyOf(reply[4], reply[5]) };
    const { decision } = decideReported(before, limits, request.route, request.units, now);
    this.agree(decision, status === "recorded", tenantId);
    return status === "recorded" ? { status: "recorded", eventId, decision } : { status: "limited", decision };
  }

  async limits(tenantId: string, request: { keyHash?: string; routes: string[] }): Promise<LimitsResult> {
    const r = await this.run(tenantId, request.keyHash, "peek", () => []);
    if (r === null) throw new Error("unreachable: limits has no deadline");
    if ("denied" in r) return r.denied;
    const { reply, limits, now } = r;
    const state: LimiterState = { buckets: {}, daily: undefined };
    const fields = reply.slice(4);
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const field = String(fields[i]);
      const value = String(fields[i + 1]);
      if (field.startsWith("b:")) state.buckets[field.slice(2)] = bucketOf(value);
      else if (field === "d.day") state.daily = { day: value, used: state.daily?.used ?? 0 };
      else if (field === "d.used") state.daily = { day: state.daily?.day ?? "", used: Number(value) };
    }
    const routes = [...new Set([...request.routes, ...Object.keys(limits.routes)])];
    const report = describeLimits(state, limits, routes, now);
    return { status: "ok", limits: { tenantId, shadow: limits.shadow, ...report } };
  }

  /** Loads the tenant from Postgres into Redis (or marks it missing), as a miss does. */
  async load(tenantId: string): Promise<void> {
    await this.reload(tenantId, 0);
  }

  /** Replaces the cached config and keys, unless Redis already holds a newer version. */
  async apply(snapshot: TenantSnapshot): Promise<void> {
    await this.write(snapshot);
  }

  /**
   * Records reservations that expired unsettled at their estimate, for tenants that make no
   * further calls (every call also sweeps a few). Returns how many it recorded.
   */
  async sweepExpired(tenantId: string, limit = 1000): Promise<number> {
    return Number(await this.housekeeping(tenantId, "sweep", ["", limit]));
  }

  /**
   * Runs one op of the script, loading the config on a miss and following a changed zone.
   * `args` may return null to call the op off (a deadline passed).
   */
  private async run(
    tenantId: string,
    keyHash: string | undefined,
    op: string,
    args: (now: number) => (string | number)[] | null,
    idem?: string,
    coldIsAnswer = false,
  ): Promise<
    | { reply: Reply; limits: TenantLimits; now: number }
    | { denied: { status: "unauthenticated" } | { status: "suspended" } }
    | null
  > {
    const keys = tenantKeys(this.prefix, tenantId);
    for (let attempt = 0; attempt < 4; attempt++) {
      const memo = this.memo.get(tenantId);
      const zone = this.zones.get(tenantId) ?? memo?.limits.timeZone ?? "UTC";
      const now = this.clock();
      const opArgs = args(now);
      if (opArgs === null) return null;
      const reply = await limiterScript.run(this.redis, this.keyList(keys, idem ?? keys.idem("")), [
        op,
        now,
        dayOf(now, zone),
        zone,
        memo?.version ?? "",
        keyHash ?? "",
        ...opArgs,
      ]);
      if (!Array.isArray(reply)) throw new Error(`unexpected limiter script reply: ${String(reply)}`);
      const kind = str(reply[0]);
      if (kind === "miss") {
        // The caller bounds the load apart from the check (see guardedStore).
        if (coldIsAnswer) throw new ColdTenant();
        await this.reload(tenantId, 0);
        continue;
      }
      if (kind === "tz") {
        this.remember(this.zones, tenantId, String(reply[1]));
        continue;
      }
      if (kind === "missing") return { denied: { status: "unauthenticated" } };
      const loadedAt = num(reply[kind === "unauth" || kind === "suspended" ? 1 : 3]);
      const seen = kind === "unauth" || kind === "suspended" ? undefined : versionOf(reply[1]);
      if (kind === "unauth") {
        // Nothing was consumed: where no background work may outlive the call, reload now
        // (the key may be new, its push lost) and ask again, once.
        const stale = this.clock() - loadedAt >= UNKNOWN_KEY_REFRESH_MS;
        if (stale && this.options.backgroundRefresh === false && attempt < 2) {
          // The caller bounds the reload apart from the check; after a failed one, this is the answer.
          if (coldIsAnswer && op === "check") throw new ColdTenant();
          if (!coldIsAnswer) {
            await this.reload(tenantId, undefined);
            continue;
          }
        }
        this.refreshIfOlderThan(tenantId, loadedAt, UNKNOWN_KEY_REFRESH_MS, undefined);
        return { denied: { status: "unauthenticated" } };
      }
      this.refreshIfOlderThan(tenantId, loadedAt, this.options.configRefreshSeconds * 1000, seen);
      if (kind === "suspended") return { denied: { status: "suspended" } };
      const limits = this.limitsOf(tenantId, memo, str(reply[1]) ?? "", str(reply[2]));
      return { reply, limits, now };
    }
    throw new Error(`limiter config for tenant ${tenantId} kept changing; giving up after 4 attempts`);
  }

  /** An op that needs no config, zone or key: ARGV 3 to 6 are empty. */
  private housekeeping(tenantId: string, op: "sweep" | "forget", args: (string | number)[]): Promise<RedisReply> {
    const keys = tenantKeys(this.prefix, tenantId);
    return limiterScript.run(this.redis, this.keyList(keys, keys.idem("")), [
      op,
      this.clock(),
      "",
      "",
      "",
      "",
      ...args,
    ]);
  }

  private keyList(keys: ReturnType<typeof tenantKeys>, idem: string): string[] {
    return [keys.tenant, keys.res, keys.resx, keys.stream, idem];
  }

  private limitsOf(tenantId: string, memo: Memo | undefined, version: string, json: string | null): TenantLimits {
    if (json === null) {
      // The script sends the config only when it differs from the version this call named.
      if (!memo || memo.version !== version) throw new Error(`limiter config ${version} of ${tenantId} is unknown`);
      return memo.limits;
    }
    const limits = JSON.parse(json) as TenantLimits;
    this.remember(this.memo, tenantId, { version, limits });
    this.remember(this.zones, tenantId, limits.timeZone);
    return limits;
  }

  private dailyOf(day: RedisReply | undefined, used: RedisReply | undefined) {
    const d = str(day);
    return d === null ? undefined : { day: d, used: num(used) };
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

  private remember<T>(map: Map<string, T>, key: string, value: T): void {
    map.delete(key);
    map.set(key, value);
    if (map.size > MEMO_LIMIT) map.delete(map.keys().next().value as string);
  }

  /**
   * Loads the tenant from Postgres into Redis, once however many calls are waiting. `seen`
   * is the cached version the caller saw (0 after a miss): if Postgres no longer has the
   * tenant, the cache is dropped unless a newer push arrived meanwhile. Undefined: keep
   * whatever is cached (a key check only wants new keys, not a verdict on the tenant).
   */
  private reload(tenantId: string, seen: number | undefined): Promise<void> {
    let pending = this.loading.get(tenantId);
    if (!pending) {
      pending = (async () => {
        const snapshot = await this.options.loadSnapshot(tenantId);
        if (snapshot) await this.write(snapshot);
        else await this.forget(tenantId, seen ?? 0);
      })().finally(() => this.loading.delete(tenantId));
      this.loading.set(tenantId, pending);
    }
    return pending;
  }

  private refreshIfOlderThan(tenantId: string, loadedAt: number, maxAgeMs: number, seen: number | undefined): void {
    if (this.options.backgroundRefresh === false) return;
    if (this.loading.has(tenantId) || this.clock() - loadedAt < maxAgeMs) return;
    this.reload(tenantId, seen).catch((err: unknown) => {
      console.error(
        JSON.stringify({ msg: "tenant config refresh failed", tenant: tenantId, error: describeError(err) }),
      );
    });
  }

  private async write(snapshot: TenantSnapshot): Promise<void> {
    const { tenantId, limits } = snapshot;
    const keys = tenantKeys(this.prefix, tenantId);
    const routes = Object.entries(limits.routes).flatMap(([route, o]) => [
      route,
      `${o.ratePerMinute ?? ""},${o.burst ?? ""},${o.cost ?? ""}`,
    ]);
    // Registered, with its stream's consumer group, before its config exists: no tenant
    // with a usage stream goes unread, and the group sees the stream's first entry.
    const [registered, group] = await this.redis.pipeline([
      ["SADD", registryKey(this.prefix), tenantId],
      ["XGROUP", "CREATE", keys.stream, INGEST_GROUP, "0", "MKSTREAM"],
    ]);
    if (registered instanceof RedisServerError) throw registered;
    if (group instanceof RedisServerError && group.code !== "BUSYGROUP") throw group;
    await limiterScript.run(this.redis, this.keyList(keys, keys.idem("")), [
      "load",
      this.clock(),
      "",
      "",
      "",
      "",
      snapshot.version,
      snapshot.status,
      limits.ratePerMinute,
      limits.burst,
      limits.dailyUnits ?? -1,
      limits.timeZone,
      limits.shadow ? 1 : 0,
      JSON.stringify(limits),
      // Without background refresh the TTL is the only refresh, so it is the refresh period.
      this.options.configRefreshSeconds * (this.options.backgroundRefresh === false ? 1000 : 2000),
      routes.length / 2,
      ...routes,
      ...snapshot.keyHashes,
    ]);
  }

  private async forget(tenantId: string, seen: number): Promise<void> {
    await this.housekeeping(tenantId, "forget", ["", MISSING_TENANT_TTL_MS, seen]);
    this.memo.delete(tenantId);
  }
}
