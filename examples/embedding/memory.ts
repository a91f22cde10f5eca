// Embedding the limiter in a Node app, in one process: memoryStore() holds the tenants and
// their counters, and hands each metered call to onUsage once. For tests, and for an app that
// runs as a single process; several processes need the Redis store (./redis.ts).
//
// Run it (in this repository, where tsconfig.server.json maps the package name to src/):
//   TSX_TSCONFIG_PATH=tsconfig.server.json npx tsx examples/embedding/memory.ts
//   curl -X POST -H "authorization: Bearer <the printed key>" 127.0.0.1:8787/v1/chat/completions

import { serve } from "@hono/node-server";
import {
  type AegisVariables,
  createAegis,
  hashApiKey,
  memoryStore,
  newApiKey,
  type TenantLimits,
  type UsageEvent,
} from "aegis-edge/hono";
import { Hono } from "hono";

/** Where the app keeps what its tenants used: here a list; a table or a queue in an app. */
export const usage: UsageEvent[] = [];

export const store = memoryStore({ onUsage: (event) => void usage.push(event) });
const aegis = createAegis({ store });

export const app = new Hono<{ Variables: AegisVariables }>();
// Authenticates the key (`Authorization: Bearer`, `x-api-key` or `api-key`), takes 1 unit
// from the tenant's "chat" bucket and daily quota, answers 429 when they are spent, and
// adds the RateLimit fields.
app.use("/v1/chat/*", aegis.rateLimit({ route: "chat" }));
app.post("/v1/chat/completions", (c) => c.json({ tenant: c.get("aegis").tenantId }));

/** A tenant with these limits and one API key, returned this once. */
export async function addTenant(tenantId: string, limits: TenantLimits): Promise<string> {
  const { key } = await newApiKey(tenantId, undefined);
  await store.apply({ tenantId, version: 1, status: "active", limits, keyHashes: [await hashApiKey(key)] });
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
