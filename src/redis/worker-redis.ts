// The Redis limiter from a Worker, over cloudflare:sockets: for Workers deployments that keep
// their limits in a self-hosted Redis instead of Durable Objects (RATE_LIMIT_REDIS_URL).
//
// A Worker's sockets belong to the request that opened them, so each limiter call opens its
// own connection and closes it. The usage streams are drained into Postgres, and expired
// reservations swept, by the Cron Trigger (drainRedisUsage).

import type { Config } from "../config";
import { describeError } from "../core/errors";
import type { LimiterStore } from "../core/limiter-store";
import { log } from "../core/log";
import { openNeonDatabase } from "../db/neon";
import { neonSnapshots } from "../db/snapshot-source";
import { openRedis, type RedisConnection } from "./open-redis";
import { RedisLimiterStore } from "./redis-limiter-store";
import { sweepAllTenants } from "./reservation-sweep";
import { cloudflareSocket } from "./resp/cloudflare-socket";
import { UsageStreamConsumer } from "./usage-stream-consumer";

const client = (config: Config): RedisConnection => openRedis(config, cloudflareSocket);

function storeOn(redis: RedisConnection, config: Config, prefix?: string): RedisLimiterStore {
  return new RedisLimiterStore({
    redis,
    prefix,
    backgroundRefresh: false,
    reservationTtlSeconds: config.RESERVATION_TTL_SECONDS,
    configRefreshSeconds: config.CONFIG_REFRESH_SECONDS,
    compactReports: config.RATE_LIMIT_REDIS_COMPACT_REPORTS,
    loadSnapshot:
      neonSnapshots(config) ??
      (() => Promise.reject(new Error("DATABASE_URL is not set, so the tenant's config cannot be loaded"))),
  });
}

/** A LimiterStore whose every call runs on a connection of its own. */
export function workerRedisStore(config: Config, prefix?: string): LimiterStore {
  const run = async <T>(call: (store: RedisLimiterStore) => Promise<T>): Promise<T> => {
    const redis = client(config);
    try {
      return await call(storeOn(redis, config, prefix));
    } finally {
      await redis.close().catch(() => {});
    }
  };
  return {
    check: (t, r) => run((s) => s.check(t, r)),
    settle: (t, id, u, m, d) => run((s) => s.settle(t, id, u, m, d)),
    settleMany: (t, items) => run((s) => s.settleMany(t, items)),
    reportLease: (t, report) => run((s) => s.reportLease(t, report)),
    record: (t, r) => run((s) => s.record(t, r)),
    limits: (t, r) => run((s) => s.limits(t, r)),
    apply: (snapshot) => run((s) => s.apply(snapshot)),
    load: (tenantId) => run((s) => s.load(tenantId)),
  };
}

export interface DrainResult {
  read: number;
  stored: number;
  swept: number;
}

/**
 * Moves what waits in the tenants' usage streams into Postgres and records reservations
 * that expired unsettled, for at most `budgetMs`. Run by the Cron Trigger.
 */
export async function drainRedisUsage(config: Config, budgetMs = 20_000, prefix?: string): Promise<DrainResult> {
  if (!config.DATABASE_URL) throw new Error("DATABASE_URL is not set");
  const redis = client(config);
  const database = openNeonDatabase(config.DATABASE_URL, config.NEON_WS_PROXY);
  const shared = { db: database.db, close: async () => {} };
  const result: DrainResult = { read: 0, stored: 0, swept: 0 };
  const end = Date.now() + budgetMs;
  try {
    // Every cron run is the same consumer, so a run first re-reads what an earlier run read
    // but did not store; entries of other consumers are claimed after a minute idle.
    const consumer = new UsageStreamConsumer({
      redis,
      prefix,
      consumer: "workers-cron",
      openDatabase: () => shared,
      claimIdleMs: 60_000,
    });
    const drain = async () => {
      while (Date.now() < end) {
        const r = await consumer.poll();
        result.read += r.read;
        result.stored += r.stored;
        if (r.read === 0 || r.retried > 0) break;
      }
    };
    // Usage first: it is what billing waits for. Sweeping gets what time is left.
    await drain();
    result.swept += await sweepAllTenants(storeOn(redis, config, prefix), redis, {
      prefix,
      keepGoing: () => Date.now() < end,
      randomStart: true,
    });
    // And what the sweep recorded, if time is left (else the next run stores it).
    if (result.swept > 0) await drain();
  } catch (err) {
    log.error("redis usage drain failed", { error: describeError(err) });
    throw err;
  } finally {
    await redis.close().catch(() => {});
    await database.close().catch(() => {});
  }
  return result;
}
