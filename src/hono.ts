// `aegis-edge/hono`: the middleware and functions for embedding the limiter in another Hono app.

export { TenantLimiter } from "./durable/tenant-limiter";
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
