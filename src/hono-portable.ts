// `aegis-edge/hono` outside Workers (Node, Bun, Deno): the middleware and functions, with
// the limiter passed in (a Redis store, or memoryStore() for tests and one process). No
// export here reads a binding, so none can fail for want of one.

export { hashApiKey, newApiKey } from "./core/api-keys";
export {
  type LimiterStore,
  LimiterUnavailableError,
  type LoadTenantSnapshot,
  TenantLoadError,
  type TenantSnapshot,
} from "./core/limiter-store";
export type { TenantLimits } from "./core/limits";
export { type MemoryStore, type MemoryStoreOptions, memoryStore } from "./core/memory-store";
export type { UsageEvent } from "./core/usage-event";
export type { Env } from "./env";
export { type Aegis, type AegisOptions, createAegis } from "./http/aegis";
export { type Enforcement, enforce } from "./http/enforce";
export {
  type AegisContext,
  type AegisEnv,
  type AegisVariables,
  NOT_ENFORCED_HEADER,
  type RouteLimitOptions,
} from "./http/limit-call";
export { limitHeaders, quotaExceeded } from "./http/limit-response";
export { Problem } from "./http/problem";
export { enforceRateLimit, type RateLimitOptions, rateLimit, recordUsage } from "./http/rate-limit";
export type { RecordOutcome, UsageInput } from "./http/record-usage";
