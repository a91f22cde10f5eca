// `aegis-edge/hono` outside Workers (Node, Bun, Deno): the middleware and functions, without
// the Durable Object class, which needs the Workers runtime. Pass `store` (a Redis store).
export { LimiterUnavailableError, TenantLoadError } from "./core/limiter-store";
export type { Env } from "./env";
export { type Enforcement, enforce } from "./http/enforce";
export { limitHeaders, quotaExceeded } from "./http/limit-response";
export { Problem } from "./http/problem";
export {
  type AegisContext,
  type AegisVariables,
  defaultStore,
  enforceRateLimit,
  NOT_ENFORCED_HEADER,
  type RateLimitOptions,
  rateLimit,
  recordUsage,
} from "./http/rate-limit";
export type { RecordOutcome, UsageInput } from "./metering/record-usage";
