// `aegis-edge` outside Workers: the gateway factory and the limiter middleware, without the
// Worker's handlers and Durable Object class (which need the Workers runtime).

export type { Env } from "./env";
export { createGateway } from "./http/app";
export type { GatewayDeps } from "./http/context";
export type { Enforcement } from "./http/enforce";
export { type AegisContext, enforceRateLimit, type RateLimitOptions, rateLimit, recordUsage } from "./http/rate-limit";
