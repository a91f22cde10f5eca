// The Redis half of bench:storage: what one active tenant, one pending usage entry and one
// held reservation cost in Redis memory, through the real RedisLimiterStore.
//
// Memory is MEMORY USAGE <key> SAMPLES 0 (every element counted, not sampled) summed over the
// keys involved: INFO used_memory would also count every other client of this shared Redis.

import { newApiKey } from "../../../src/core/api-keys";
import type { TenantSnapshot } from "../../../src/core/limiter-store";
import type { TenantLimits } from "../../../src/core/limits";
import { newTenantId, sha256Hex } from "../../../src/core/secrets";
import { registryKey, tenantKeys } from "../../../src/redis/keys";
import { RedisLimiterStore } from "../../../src/redis/redis-limiter-store";
import type { RedisClient } from "../../../src/redis/resp/client";
import { closedLoop } from "./closed-loop";
import { drainStreams } from "./redis-bench";

/** Fixed counts: the figures depend on them (encodings change with a key's size). */
export const ACTIVE_TENANTS = 1_000;
export const STREAM_TENANTS = 100;
export const CALLS_PER_STREAM_TENANT = 1_000;
export const HELD_TENANTS = 100;
/** Reservations held per tenant: a few calls in flight, and a great many. */
export const HELD_SIZES = [10, 1_000] as const;

const IN_FLIGHT = 64;
/** Far above what a healthy run needs (a few seconds a phase): a hung Redis ends the bench. */
const PHASE_CAP_MS = 45_000;

/** An AI tenant's limits: tokens and requests per minute, a daily token quota, and a route of its own. */
const AI_LIMITS: TenantLimits = {
  ratePerMinute: 200_000,
  burst: 400_000,
  requestsPerMinute: 600,
  requestBurst: 120,
  dailyUnits: 20_000_000,
  timeZone: "America/New_York",
  shadow: false,
  routes: { chat: { ratePerMinute: 100_000, burst: 200_000, requestsPerMinute: 300, requestBurst: 60 } },
};

/** The same shape, with room for a thousand calls at once: phases 2 and 3 measure streams and reservations. */
const ROOMY_LIMITS: TenantLimits = {
  ...AI_LIMITS,
  ratePerMinute: 100_000_000,
  burst: 100_000_000,
  requestsPerMinute: 1_000_000,
  requestBurst: 1_000_000,
  dailyUnits: 1_000_000_000,
  routes: {
    chat: { ratePerMinute: 100_000_000, burst: 100_000_000, requestsPerMinute: 1_000_000, requestBurst: 1_000_000 },
  },
};

interface Tenant {
  id: string;
  keyHash: string;
  snapshot: TenantSnapshot;
}

export interface ActiveTenantFigures {
  tenants: number;
  hashBytes: number;
  streamBytes: number;
  registryBytes: number;
  hashFields: number;
  hashEncoding: string;
}

export interface StreamFigures {
  entries: number;
  emptyBytes: number;
  fullBytes: number;
  /** Mean length of an entry's one field, as the script wrote it. */
  payloadChars: number;
  encoding: string;
}

export interface HeldFigures {
  perTenant: number;
  reservations: number;
  resBytes: number;
  resxBytes: number;
  encodings: string;
}

export interface RedisFigures {
  active: ActiveTenantFigures;
  stream: StreamFigures;
  held: HeldFigures[];
}

/** Sum of MEMORY USAGE over `keys` (a missing key counts 0). */
export async function memoryOf(redis: RedisClient, keys: string[]): Promise<number> {
  let sum = 0;
  for (let i = 0; i < keys.length; i += 1_000) {
    const replies = await redis.pipeline(keys.slice(i, i + 1_000).map((k) => ["MEMORY", "USAGE", k, "SAMPLES", 0]));
    for (const r of replies) {
      if (r instanceof Error) throw r;
      sum += Number(r ?? 0);
    }
  }
  return sum;
}

async function encodingOf(redis: RedisClient, key: string): Promise<string> {
  return String(await redis.send(["OBJECT", "ENCODING", key]));
}

async function makeTenants(n: number, limits: TenantLimits): Promise<Tenant[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const id = newTenantId();
      const hashes = await Promise.all([0, 1].map(async () => sha256Hex((await newApiKey(id, undefined)).key)));
      const snapshot: TenantSnapshot = { tenantId: id, version: 1, status: "active", limits, keyHashes: hashes };
      return { id, keyHash: hashes[0] as string, snapshot };
    }),
  );
}

/** Runs `call(i)` for i < calls, 64 at a time; every call must be admitted. */
async function runAll(name: string, calls: number, call: (i: number) => Promise<boolean>, signal: AbortSignal) {
  const r = await closedLoop(call, { calls, inFlight: IN_FLIGHT, maxMs: PHASE_CAP_MS, signal });
  if (signal.aborted) throw new Error("interrupted");
  if (r.capped) throw new Error(`${name}: only ${r.completed} of ${calls} calls within ${PHASE_CAP_MS / 1000} s`);
  if (r.admitted !== calls) throw new Error(`${name}: ${calls - r.admitted} of ${calls} calls were refused`);
}

export async function measureRedis(redis: RedisClient, prefix: string, signal: AbortSignal): Promise<RedisFigures> {
  const snapshots = new Map<string, TenantSnapshot>();
  const store = new RedisLimiterStore({
    redis,
    prefix,
    reservationTtlSeconds: 900,
    configRefreshSeconds: 300,
    loadSnapshot: async (id) => snapshots.get(id) ?? null,
  });
  const tenantsOf = async (n: number, limits: TenantLimits) => {
    const tenants = await makeTenants(n, limits);
    for (const t of tenants) snapshots.set(t.id, t.snapshot);
    return tenants;
  };
  const keysOf = (tenants: Tenant[]) => tenants.map((t) => tenantKeys(prefix, t.id));

  // 1. Active tenants: the first call loads the config from "Postgres" (a miss, as in production).
  const active = await tenantsOf(ACTIVE_TENANTS, AI_LIMITS);
  await runAll(
    "one call per tenant",
    active.length,
    async (i) => {
      const t = active[i] as Tenant;
      const r = await store.check(t.id, { keyHash: t.keyHash, route: "chat", cost: 1_200 });
      return r.status === "ok" && r.decision.allowed;
    },
    signal,
  );
  const activeKeys = keysOf(active);
  const drained = await drainStreams(
    redis,
    activeKeys.map((k) => k.stream),
  );
  if (drained !== active.length) throw new Error(`expected ${active.length} usage entries, found ${drained}`);
  const first = activeKeys[0]?.tenant as string;
  const activeFigures: ActiveTenantFigures = {
    tenants: active.length,
    hashBytes: await memoryOf(
      redis,
      activeKeys.map((k) => k.tenant),
    ),
    streamBytes: await memoryOf(
      redis,
      activeKeys.map((k) => k.stream),
    ),
    // Measured now, while the registry holds exactly these tenants.
    registryBytes: await memoryOf(redis, [registryKey(prefix)]),
    hashFields: Number(await redis.send(["HLEN", first])),
    hashEncoding: await encodingOf(redis, first),
  };

  // 2. Pending usage entries: metered chat calls as the gateway makes them, a reservation
  // at the estimate and then a settle with the reply's model, tokens and request id.
  const metered = await tenantsOf(STREAM_TENANTS, ROOMY_LIMITS);
  for (const t of metered) await store.load(t.id);
  const streams = keysOf(metered).map((k) => k.stream);
  const emptyBytes = await memoryOf(redis, streams);
  const models = ["gpt-4o-mini", "claude-sonnet-4-5", "llama-3.3-70b-instruct"];
  const entries = STREAM_TENANTS * CALLS_PER_STREAM_TENANT;
  await runAll(
    "metered chat calls",
    entries,
    async (i) => {
      const t = metered[i % metered.length] as Tenant;
      const r = await store.check(t.id, { keyHash: t.keyHash, route: "chat", cost: 1_500, reserve: true });
      if (r.status !== "ok" || !r.reservation) return false;
      const model = models[i % models.length] as string;
      const inputTokens = 200 + ((i * 37) % 1_800);
      const outputTokens = 20 + ((i * 53) % 700);
      const cachedInputTokens = i % 5 === 0 ? Math.floor(inputTokens / 2) : 0;
      const metadata = { model, requestId: crypto.randomUUID() };
      const usage = { model, inputTokens, outputTokens, cachedInputTokens };
      const s = await store.settle(t.id, r.reservation.id, inputTokens + outputTokens, metadata, usage);
      return s.status === "settled";
    },
    signal,
  );
  const lengths = await redis.pipeline(streams.map((s) => ["XLEN", s]));
  const stored = lengths.reduce<number>((sum, n) => sum + Number(n), 0);
  if (stored !== entries) throw new Error(`expected ${entries} pending entries, found ${stored}`);
  const sample = (await redis.send(["XRANGE", streams[0] as string, "-", "+"])) as [string, string[]][];
  const payload = sample.reduce((sum, [, fields]) => sum + String(fields[1] ?? "").length, 0) / sample.length;
  const streamFigures: StreamFigures = {
    entries,
    emptyBytes,
    fullBytes: await memoryOf(redis, streams),
    payloadChars: payload,
    encoding: await encodingOf(redis, streams[0] as string),
  };

  // 3. Held reservations: reserved checks never settled (the TTL, 15 min, outlasts the bench).
  const held: HeldFigures[] = [];
  for (const perTenant of HELD_SIZES) {
    const holders = await tenantsOf(HELD_TENANTS, ROOMY_LIMITS);
    const reservations = HELD_TENANTS * perTenant;
    await runAll(
      `${perTenant} held reservations per tenant`,
      reservations,
      async (i) => {
        const t = holders[i % holders.length] as Tenant;
        const r = await store.check(t.id, { keyHash: t.keyHash, route: "chat", cost: 1_500, reserve: true });
        return r.status === "ok" && r.reservation !== undefined;
      },
      signal,
    );
    const keys = keysOf(holders);
    const counts = await redis.pipeline(keys.map((k) => ["HLEN", k.res]));
    const counted = counts.reduce<number>((sum, n) => sum + Number(n), 0);
    if (counted !== reservations) throw new Error(`expected ${reservations} held reservations, found ${counted}`);
    const k0 = keys[0] as (typeof keys)[number];
    held.push({
      perTenant,
      reservations,
      resBytes: await memoryOf(
        redis,
        keys.map((k) => k.res),
      ),
      resxBytes: await memoryOf(
        redis,
        keys.map((k) => k.resx),
      ),
      encodings: `res ${await encodingOf(redis, k0.res)}, resx ${await encodingOf(redis, k0.resx)}`,
    });
  }
  return { active: activeFigures, stream: streamFigures, held };
}
