// The Worker entry: the gateway's fetch handler and the TenantLimiter Durable Object class.

import { billingTick } from "./billing/tick";
import { loadConfig } from "./config";
import { analyticsMetrics } from "./core/analytics-metrics";
import { sharedSettles } from "./core/coalesced-store";
import { guardedStore } from "./core/guarded-store";
import { leaseHolder } from "./core/lease-holder";
import type { LimiterStore } from "./core/limiter-store";
import { log } from "./core/log";
import type { UsageMessage } from "./core/usage-event";
import { openNeonDatabase } from "./db/neon";
import type { Env } from "./env";
import { defaultStore } from "./hono";
import { createGateway } from "./http/app";
import { renderPostgresMetrics } from "./http/postgres-metrics";
import { Problem } from "./http/problem";
import { consumeUsageBatch } from "./metering/queue-consumer";
import { drainRedisUsage, workerRedisStore } from "./redis/worker-redis";

export type { Env } from "./env";
// The forms that default to the TENANT_LIMITER binding take the place of the portable ones.
export {
  defaultStore,
  enforceRateLimit,
  type LimiterBindings,
  type RateLimitOptions,
  rateLimit,
  recordUsage,
} from "./hono";
export * from "./portable";
export { TenantLimiter } from "./tenant-limiter";

function openDatabase(env: Env) {
  const config = loadConfig(env);
  if (!config.DATABASE_URL) throw new Problem(503, "database-not-configured", "DATABASE_URL is not set");
  return openNeonDatabase(config.DATABASE_URL, config.NEON_WS_PROXY);
}

// The isolate's settle coalescer: the settles of one tenant's concurrent calls go to its
// limiter in one round trip. Detached: a request never waits for a batch another request
// flushes, which workerd does not allow.
const coalesced = sharedSettles({ detached: true });

/** Built once per `env` (workerd passes every request of an isolate the same object). */
const stores = new WeakMap<Env, LimiterStore>();

/**
 * The Durable Objects, or a self-hosted Redis over TCP when RATE_LIMIT_REDIS_URL is set,
 * with their settles coalesced for SETTLE_WINDOW_MS. Each call makes its own stub or
 * connection, so one store serves every request.
 */
function store(env: Env): LimiterStore {
  const built = stores.get(env);
  if (built) return built;
  const config = loadConfig(env);
  const backend = config.RATE_LIMIT_REDIS_URL
    ? guardedStore(workerRedisStore(config), config.LIMITER_TIMEOUT_MS, config.LIMITER_LOAD_TIMEOUT_MS)
    : defaultStore(env);
  const settling = coalesced(backend, config.SETTLE_WINDOW_MS, env);
  // Tenants in lease mode are admitted from leases the isolate holds (docs/architecture.md,
  // "Token leases"). Detached: the work a call starts goes to its own waitUntil.
  const made = settling.reportLease ? leaseHolder(settling, { detached: true }) : settling;
  stores.set(env, made);
  return made;
}

const gateway = createGateway({
  openDatabase,
  store,
  // Cloudflare's edge sets it from the connection; a client cannot.
  clientAddress: (c) => c.req.header("cf-connecting-ip"),
  metrics: (env) => analyticsMetrics(env.AEGIS_ANALYTICS),
  // GET /metrics, rendered from Postgres: only once METRICS_TOKEN is set, else the upstream's.
  // The handle is closed after the response (waitUntil): after a timed-out read that waits
  // for Postgres to cancel it.
  renderMetrics: (env, afterResponse) =>
    renderPostgresMetrics(openDatabase(env), { release: (closing) => afterResponse(closing) }),
  metricsOnlyWithToken: true,
});

export default {
  fetch: (request, env, ctx) => gateway.fetch(request, env, ctx),
  async scheduled(controller, env) {
    const config = loadConfig(env);
    if (config.RATE_LIMIT_REDIS_URL) {
      // With the Redis limiter, usage waits in Redis streams until this tick stores it. A
      // failed drain is logged by it and retried next tick; billing still runs.
      const drained = await drainRedisUsage(config).catch(() => null);
      if (drained) log.info("redis usage drained", { ...drained });
    }
    const handle = openDatabase(env);
    try {
      const { run, delivery } = await billingTick(handle.db, loadConfig(env), controller.scheduledTime);
      log.info("billing tick", { period: run.period, invoices: run.created.length, webhooks: delivery });
    } finally {
      await handle.close();
    }
  },
  async queue(batch, env) {
    await consumeUsageBatch(batch.messages, {
      openDatabase: () => openDatabase(env),
      // One message per letter: each stays under the queue's size limits.
      deadLetter: async (letters) => {
        for (const letter of letters) await env.USAGE_DLQ.send(letter, { contentType: "json" });
      },
    });
  },
} satisfies ExportedHandler<Env, UsageMessage>;
