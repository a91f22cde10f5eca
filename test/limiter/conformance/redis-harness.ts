// The conformance harness for the Redis store. What it covers: the store and its Lua script,
// on a real Redis. What it does not: Postgres and the operator API. A Map stands in for
// Postgres (the store's loadSnapshot reads it on a miss), and a change is made there and
// then pushed with store.apply, the one call the operator API's sync makes
// (src/http/admin/sync.ts). The real path, operator API to Postgres to Redis, is covered by
// test/gateway/self-hosted.node.test.ts, test/cli/cli.node.test.ts and
// test/limiter/redis-gateway.workers.test.ts.

import type { TenantSnapshot } from "../../../src/core/limiter-store";
import type { TenantLimits } from "../../../src/core/limits";
import type { QuotaAlert } from "../../../src/core/quota-alerts";
import type { UsageEvent } from "../../../src/core/usage-event";
import { tenantKeys } from "../../../src/redis/keys";
import type { RedisCommands } from "../../../src/redis/lua-script";
import { RedisLimiterStore } from "../../../src/redis/redis-limiter-store";
import type { RedisReply } from "../../../src/redis/resp/index";
import { eventBodyOf } from "../../../src/redis/usage-stream-entry";
import type { ConformanceHarness, ConformanceTenant } from "./limiter-conformance";

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";
const random = (alphabet: string, n: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => alphabet[b % alphabet.length]).join("");

export const newTestTenantId = () => `tn${random(BASE32, 16)}`;
export const newKeyHash = () => random("0123456789abcdef", 64);

export interface RedisHarness extends ConformanceHarness {
  store: RedisLimiterStore;
  /** What "Postgres" holds. */
  snapshots: Map<string, TenantSnapshot>;
  now: { ms: number };
}

export function redisHarness(redis: RedisCommands, prefix: string, reservationTtlSeconds = 900): RedisHarness {
  const snapshots = new Map<string, TenantSnapshot>();
  const now = { ms: Date.now() };
  const store = new RedisLimiterStore({
    redis,
    prefix,
    clock: () => now.ms,
    reservationTtlSeconds,
    configRefreshSeconds: 300,
    loadSnapshot: async (tenantId) => snapshots.get(tenantId) ?? null,
  });
  const change = async (t: ConformanceTenant, edit: (s: TenantSnapshot) => Partial<TenantSnapshot>) => {
    const s = snapshots.get(t.tenantId);
    if (!s) throw new Error(`no tenant ${t.tenantId}`);
    const next = { ...s, ...edit(s), version: s.version + 1 };
    snapshots.set(t.tenantId, next);
    await store.apply(next);
  };
  return {
    store,
    snapshots,
    now,
    reservationTtlMs: reservationTtlSeconds * 1000,
    async createTenant(limits: TenantLimits) {
      const tenantId = newTestTenantId();
      const keyHash = newKeyHash();
      const snapshot: TenantSnapshot = { tenantId, version: 1, status: "active", limits, keyHashes: [keyHash] };
      snapshots.set(tenantId, snapshot);
      // In the operator API's order: the source of truth first, then the push.
      await store.apply(snapshot);
      return { tenantId, keyHash };
    },
    async setNow(_t, ms) {
      now.ms = ms;
    },
    async createColdTenant(limits: TenantLimits) {
      const tenantId = newTestTenantId();
      const keyHash = newKeyHash();
      snapshots.set(tenantId, { tenantId, version: 1, status: "active", limits, keyHashes: [keyHash] });
      return { tenantId, keyHash };
    },
    revokeKey: (t) => change(t, () => ({ keyHashes: [] })),
    suspend: (t) => change(t, () => ({ status: "suspended" })),
    setOverride: (t, quota, until) => change(t, (s) => ({ limits: { ...s.limits, override: { quota, until } } })),
    setKeyLimits: (t, limits) => change(t, (s) => ({ limits: { ...s.limits, keys: { [t.keyHash]: limits } } })),
    // The tenant's stream, read as the stream consumer reads it (nothing consumes it here).
    async events(t) {
      const stream = tenantKeys(prefix, t.tenantId).stream;
      const entries = (await redis.send(["XRANGE", stream, "-", "+"])) as [string, RedisReply[]][];
      return entries.flatMap(([, fields]) => (eventBodyOf(t.tenantId, fields) as { events: UsageEvent[] }).events);
    },
    async alerts(t) {
      const stream = tenantKeys(prefix, t.tenantId).stream;
      const entries = (await redis.send(["XRANGE", stream, "-", "+"])) as [string, RedisReply[]][];
      return entries.flatMap(
        ([, fields]) => (eventBodyOf(t.tenantId, fields) as { alerts?: QuotaAlert[] }).alerts ?? [],
      );
    },
    async sweep(t) {
      await store.sweepExpired(t.tenantId);
    },
  };
}

/** Deletes every key under `prefix` (a test's own namespace). */
export async function dropPrefix(redis: RedisCommands, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const reply = (await redis.send(["SCAN", cursor, "MATCH", `${prefix}:*`, "COUNT", 1000])) as [string, string[]];
    cursor = String(reply[0]);
    if (reply[1].length > 0) await redis.send(["UNLINK", ...reply[1]]);
  } while (cursor !== "0");
}
