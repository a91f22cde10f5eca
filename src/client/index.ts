// `aegis-edge/client`: the fetch-only SDK for tenants (AegisClient) and operators
// (AegisAdmin). No runtime dependencies: it runs in browsers, Workers, Node, Bun and Deno.

export { AegisAdmin, type AegisAdminOptions } from "./admin-client";
export { AegisError, HTTPError, NetworkError, type ProblemDetails, TimeoutError } from "./errors";
export {
  type OpenAiRateLimit,
  type OpenAiRateLimits,
  parseOpenAiDuration,
  parseOpenAiRateLimit,
} from "./openai-fields";
export {
  parseRateLimit,
  type RateLimitInfo,
  type RateLimitPolicy,
  type RateLimitState,
} from "./ratelimit-fields";
export {
  AegisClient,
  type AegisClientOptions,
  type AegisResponse,
  jobIdempotencyKey,
  type RecordUsageInput,
} from "./tenant-client";
export type { ClientOptions, RetryOptions } from "./transport";
export type * from "./types";
