// Embedding the limiter in a Node app with the Redis store: every process that shares the
// Redis shares each tenant's limits, exactly. The store loads a tenant it does not hold from
// `loadSnapshot` (your tenants' source of truth; the self-hosted gateway's is Postgres), and
// takes pushes with `store.apply(snapshot)` so that a change applies on the next call.
// Usage waits in per-tenant Redis streams until a UsageStreamConsumer (aegis-edge/redis)
// stores it, as the self-hosted server does.
//
// Run it (in this repository, where tsconfig.server.json maps the package name to src/):
//   REDIS_URL=redis://127.0.0.1:6379 TSX_TSCONFIG_PATH=tsconfig.server.json npx tsx examples/embedding/redis.ts
//   curl -X POST -H "authorization: Bearer <the printed key>" 127.0.0.1:8787/v1/chat/completions

import { serve } from "@hono/node-server";
import {
  type AegisVariables,
  createAegis,
  hashApiKey,
  newApiKey,
  type TenantLimits,
  type TenantSnapshot,
} from "aegis-edge/hono";
import { RedisClient, RedisLimiterStore } from "aegis-edge/redis";
import { nodeSocket } from "aegis-edge/redis/node-socket";
import { Hono } from "hono";

export const redis = new RedisClient({ url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379", connect: nodeSocket });

/** The app's own tenants, standing in for its database. */
const tenants = new Map<string, TenantSnapshot>();

export const store = new RedisLimiterStore({
  redis,
  prefix: process.env.AEGIS_REDIS_PREFIX ?? "aegis",
  loadSnapshot: async (tenantId) => tenants.get(tenantId) ?? null,
  reservationTtlSeconds: 900,
  configRefreshSeconds: 300,
});
const aegis = createAegis({ store, failureMode: "closed", timeoutMs: 1_500 });

export const app = new Hono<{ Variables: AegisVariables }>();
app.use("/v1/chat/*", aegis.rateLimit({ route: "chat" }));
app.post("/v1/chat/completions", (c) => c.json({ tenant: c.get("aegis").tenantId }));

/** A tenant with these limits and one API key, returned this once: saved, then pushed. */
export async function addTenant(tenantId: string, limits: TenantLimits): Promise<string> {
  const { key } = await newApiKey(tenantId, undefined);
  const snapshot = { tenantId, version: 1, status: "active" as const, limits, keyHashes: [await hashApiKey(key)] };
  tenants.set(tenantId, snapshot);
  await store.apply(snapshot);
  return key;
}

if (import.meta.main) {
  const key = await addTenant("tnexampletenantaaa", {
    ratePerMinute: 60,
    burst: 10,
    dailyUnits: 1_000,
    timeZone: "UTC",
    shadow: false,
    routes: {},
  });
  const port = Number(process.env.PORT ?? 8787);
  serve({ fetch: app.fetch, port, hostname: "127.0.0.1" }, () =>
    console.log(`listening on http://127.0.0.1:${port}; API key: ${key}`),
  );
}
