// The Worker entry: the gateway's fetch handler and the TenantLimiter Durable Object class.

import { loadConfig } from "./config";
import { openNeonDatabase } from "./db/neon";
import type { Env } from "./env";
import { createGateway } from "./http/app";
import { Problem } from "./http/problem";
import { defaultStore } from "./http/rate-limit";

export { TenantLimiter } from "./durable/tenant-limiter";
export type { Env } from "./env";
export { createGateway } from "./http/app";
export type { GatewayDeps } from "./http/context";
export type { Enforcement } from "./http/enforce";
export { type AegisContext, enforceRateLimit, type RateLimitOptions, rateLimit } from "./http/rate-limit";

const gateway = createGateway({
  openDatabase(env: Env) {
    const config = loadConfig(env);
    if (!config.DATABASE_URL) throw new Problem(503, "database-not-configured", "DATABASE_URL is not set");
    return openNeonDatabase(config.DATABASE_URL, config.NEON_WS_PROXY);
  },
  store: (env: Env) => defaultStore(env),
});

export default {
  fetch: (request, env, ctx) => gateway.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
