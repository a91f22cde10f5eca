// The Redis limiter's tenant configs: writing a snapshot into Redis (a push, or a load from
// Postgres on a miss), marking a tenant missing, refreshing an old config in the background,
// and this process's memory of each tenant's config version and time zone.
//
// Redis holds the config the script decides with; this process keeps only the parsed limits
// of the version it last saw, so the script can leave the JSON out of most replies.

import { describeError } from "../core/errors";
import { MISSING_TENANT_TTL_MS } from "../core/limiter-rules";
import type { TenantSnapshot } from "../core/limiter-store";
import { limitsAt, type TenantLimits } from "../core/limits";
import { log } from "../core/log";
import { INGEST_GROUP, registryKey, tenantKeys } from "./keys";
import { runLimiterCall } from "./limiter-call";
import type { RedisCommands } from "./lua-script";
import { RedisServerError } from "./resp/index";

/** Tenants whose config version and zone this process remembers. */
const MEMO_LIMIT = 10_000;

/** The parsed limits of one config version, as the script names it ("version:hash"). */
export interface ConfigMemo {
  version: string;
  limits: TenantLimits;
}

export interface TenantConfigOptions {
  redis: RedisCommands;
  prefix: string;
  clock: () => number;
  loadSnapshot(tenantId: string): Promise<TenantSnapshot | null>;
  configRefreshSeconds: number;
  /** False where nothing may outlive the call: the config's TTL is then its only refresh. */
  backgroundRefresh: boolean;
}

export class TenantConfigs {
  private readonly memo = new Map<string, ConfigMemo>();
  private readonly zones = new Map<string, string>();
  private readonly loading = new Map<string, Promise<void>>();

  constructor(private readonly options: TenantConfigOptions) {}

  /** The config version this process holds for the tenant, if any. */
  memoOf(tenantId: string): ConfigMemo | undefined {
    return this.memo.get(tenantId);
  }

  /** The zone to compute the tenant's day in: the last one the script named, else the config's, else UTC. */
  zoneOf(tenantId: string, memo: ConfigMemo | undefined): string {
    return this.zones.get(tenantId) ?? memo?.limits.timeZone ?? "UTC";
  }

  /** The script answered that the tenant's zone is `zone`. */
  rememberZone(tenantId: string, zone: string): void {
    this.remember(this.zones, tenantId, zone);
  }

  /**
   * The limits of the config the script decided with: from its JSON when it sent one, else
   * from `memo`, the version this call named (the script leaves the JSON out only then).
   */
  limitsOf(tenantId: string, memo: ConfigMemo | undefined, version: string, json: string | null): TenantLimits {
    if (json === null) {
      if (!memo || memo.version !== version) throw new Error(`limiter config ${version} of ${tenantId} is unknown`);
      return memo.limits;
    }
    const limits = JSON.parse(json) as TenantLimits;
    this.remember(this.memo, tenantId, { version, limits });
    this.remember(this.zones, tenantId, limits.timeZone);
    return limits;
  }

  /**
   * Loads the tenant from Postgres into Redis, once however many calls are waiting. `seen`
   * is the cached version the caller saw (0 after a miss): if Postgres no longer has the
   * tenant, the cache is dropped unless a newer push arrived meanwhile. Undefined: keep
   * whatever is cached (a key check only wants new keys, not a verdict on the tenant).
   */
  reload(tenantId: string, seen: number | undefined): Promise<void> {
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

  /** Reloads a config loaded more than `maxAgeMs` ago, in the background, where that is allowed. */
  refreshIfOlderThan(tenantId: string, loadedAt: number, maxAgeMs: number, seen: number | undefined): void {
    if (!this.options.backgroundRefresh) return;
    if (this.loading.has(tenantId) || this.options.clock() - loadedAt < maxAgeMs) return;
    this.reload(tenantId, seen).catch((err: unknown) => {
      log.error("tenant config refresh failed", { tenant: tenantId, error: describeError(err) });
    });
  }

  /** Writes the snapshot's config and keys into Redis, unless Redis already holds a newer version. */
  async write(snapshot: TenantSnapshot): Promise<void> {
    const { redis, prefix, configRefreshSeconds, backgroundRefresh } = this.options;
    const keys = tenantKeys(prefix, snapshot.tenantId);
    // Registered, with its stream's consumer group, before its config exists: no tenant
    // with a usage stream goes unread, and the group sees the stream's first entry.
    const [registered, group] = await redis.pipeline([
      ["SADD", registryKey(prefix), snapshot.tenantId],
      ["XGROUP", "CREATE", keys.stream, INGEST_GROUP, "0", "MKSTREAM"],
    ]);
    if (registered instanceof RedisServerError) throw registered;
    if (group instanceof RedisServerError && group.code !== "BUSYGROUP") throw group;
    const now = this.options.clock();
    // Without background refresh the TTL is the only refresh, so it is the refresh period.
    let configTtlMs = configRefreshSeconds * (backgroundRefresh ? 2000 : 1000);
    // The script decides with the limits in force now. An override's end is a reload: the
    // config expires just before `until`, so the first call from `until` on reads the quota.
    const until = snapshot.limits.override?.until;
    const overriding = until !== undefined && until > now;
    if (overriding) configTtlMs = Math.max(0, Math.min(configTtlMs, until - now - 1));
    await runLimiterCall(redis, keys, {
      op: "load",
      now,
      snapshot: { ...snapshot, limits: limitsAt(snapshot.limits, now) },
      configTtlMs,
      ...(overriding ? { overrideUntil: until } : {}),
    });
  }

  private async forget(tenantId: string, seen: number): Promise<void> {
    await runLimiterCall(this.options.redis, tenantKeys(this.options.prefix, tenantId), {
      op: "forget",
      now: this.options.clock(),
      markerTtlMs: MISSING_TENANT_TTL_MS,
      newerThan: seen,
    });
    this.memo.delete(tenantId);
  }

  private remember<T>(map: Map<string, T>, key: string, value: T): void {
    map.delete(key);
    map.set(key, value);
    if (map.size > MEMO_LIMIT) map.delete(map.keys().next().value as string);
  }
}
