// Embedding the limiter with Postgres as the tenants' source of truth, as the self-hosted
// server runs it: tenants and keys are rows in Postgres, the Redis store loads a tenant it
// does not hold from there, and a UsageConsumerLoop moves usage from the tenants' Redis
// streams into Postgres (usage_records, the daily rollup, billing). The app's own code makes
// tenants here (`addTenant`, `addApiKey`: a signup flow would); an operator can manage the
// same tenants through a self-hosted gateway's operator API, CLI or console on the same
// Postgres and Redis prefix, and the gateway's changes reach this app's limiter at once.
//
// It reads the self-hosted server's settings: DATABASE_URL, RATE_LIMIT_REDIS_URL (and
// RATE_LIMIT_REDIS_CLUSTER), AEGIS_REDIS_PREFIX, AEGIS_INSTANCE, KEY_SIGNING_SECRET, the
// DEFAULT_* limits. Run it (in this repository, where tsconfig.server.json maps the package
// name to src/; in an app that installed aegis-edge, `node postgres.ts` or `bun postgres.ts`):
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/aegis RATE_LIMIT_REDIS_URL=redis://127.0.0.1:6379 \
//     TSX_TSCONFIG_PATH=tsconfig.server.json npx tsx examples/embedding/postgres.ts
//   curl -X POST -H "authorization: Bearer <the printed key>" 127.0.0.1:8787/v1/chat/completions

import { hostname } from "node:os";
import { serve } from "@hono/node-server";
import { type AegisVariables, createAegis } from "aegis-edge/hono";
import {
  addApiKey,
  addTenant,
  loadConfig,
  migrateDatabase,
  openDatabase,
  pooledSnapshots,
  type QuotaInput,
} from "aegis-edge/postgres";
import { openRedis, RedisLimiterStore, UsageConsumerLoop, UsageStreamConsumer } from "aegis-edge/redis";
import { nodeSocket } from "aegis-edge/redis/node-socket";
import { Hono } from "hono";

const config = loadConfig(process.env);
if (!config.DATABASE_URL) throw new Error("DATABASE_URL is not set (postgres://...)");
export const database = openDatabase(config.DATABASE_URL);
export const redis = openRedis(config, nodeSocket);
const prefix = process.env.AEGIS_REDIS_PREFIX ?? "aegis";

export const store = new RedisLimiterStore({
  redis,
  prefix,
  loadSnapshot: pooledSnapshots(database.db, config),
  reservationTtlSeconds: config.RESERVATION_TTL_SECONDS,
  configRefreshSeconds: config.CONFIG_REFRESH_SECONDS,
});
const aegis = createAegis({ store, failureMode: "closed", timeoutMs: config.LIMITER_TIMEOUT_MS });

export const app = new Hono<{ Variables: AegisVariables }>();
app.use("/v1/chat/*", aegis.rateLimit({ route: "chat" }));
app.post("/v1/chat/completions", (c) => c.json({ tenant: c.get("aegis").tenantId }));

// The consumer moves whole batches: on a connection of its own, with a longer timeout.
const background = openRedis(config, nodeSocket, { commandTimeoutMs: 10_000 });
export const usage = new UsageConsumerLoop(
  new UsageStreamConsumer({
    redis: background,
    prefix,
    openDatabase: () => database.handle,
    // Its name in the consumer group: stable across restarts, unique per process.
    consumer: process.env.AEGIS_INSTANCE ?? hostname(),
  }),
);

/** A tenant with this quota and one API key, returned this once: stored in Postgres, then pushed. */
export async function addTenantWithKey(name: string, quota: QuotaInput): Promise<{ tenantId: string; key: string }> {
  const { tenant } = await addTenant(database.db, config, { name, quota });
  const added = await addApiKey(database.db, config, tenant.id, { name: "default" });
  if (!added) throw new Error(`tenant ${tenant.id} is gone`);
  await store.apply(added.snapshot);
  return { tenantId: tenant.id, key: added.key };
}

/** Stores the usage written so far and lets go of Redis and Postgres. */
export async function close(): Promise<void> {
  await usage.stop();
  await Promise.allSettled([redis.close(), background.close()]);
  await database.close();
}

if (import.meta.main) {
  // Once per deploy, before serving; a no-op when the database is up to date.
  await migrateDatabase(config.DATABASE_URL);
  const { key } = await addTenantWithKey("Example tenant", { ratePerMinute: 60, burst: 10, dailyUnits: 1_000 });
  usage.start();
  const port = Number(process.env.PORT ?? 8787);
  const server = serve({ fetch: app.fetch, port, hostname: "127.0.0.1" }, () =>
    console.log(`listening on http://127.0.0.1:${port}; API key: ${key}`),
  );
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => server.close(() => void close().then(() => process.exit(0))));
  }
}
