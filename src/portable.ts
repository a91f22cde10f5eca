// `aegis-edge` outside Workers: the gateway factory and the limiter middleware, without the
// Worker's handlers and Durable Object class (which need the Workers runtime).
//
// src/index.ts re-exports this from the Worker's main module, where workerd takes every
// value export for an entrypoint and refuses a plain value (a string constant): so values
// are listed one by one, functions and classes only, and the rest is types.

export type { Env } from "./env";
export type * from "./hono-portable";
export {
  createAegis,
  enforce,
  enforceRateLimit,
  hashApiKey,
  LimiterUnavailableError,
  limitHeaders,
  memoryStore,
  newApiKey,
  Problem,
  quotaExceeded,
  rateLimit,
  recordUsage,
  TenantLoadError,
} from "./hono-portable";
export { createGateway } from "./http/app";
export type { GatewayDeps } from "./http/context";
