// `aegis-edge/hono` on Workers: everything the portable entry has, plus the TenantLimiter
// Durable Object class and the forms of rateLimit(), enforceRateLimit() and recordUsage()
// whose limiter defaults to the TENANT_LIMITER binding and whose settings come from the
// Worker's vars. This file and src/index.ts are the only places the Durable Object is wired.

import type { Context, MiddlewareHandler } from "hono";
import { loadConfig } from "./config";
import { guardedStore } from "./core/guarded-store";
import type { LimiterStore } from "./core/limiter-store";
import { durableObjectStore } from "./durable/durable-object-store";
import type { TenantLimiterObject } from "./durable/tenant-limiter";
import type { Enforcement } from "./http/enforce";
import { enforce } from "./http/enforce";
import {
  type AegisVariables,
  checkCall,
  limitMiddleware,
  limitSettingsOf,
  type RouteLimitOptions,
  validateFailureMode,
  validatePositive,
  validateRouteOptions,
} from "./http/limit-call";
import { type RecordOutcome, recordReportedUsage, type UsageInput } from "./http/record-usage";

export type { Env } from "./env";
export * from "./hono-portable";
export { TenantLimiter } from "./tenant-limiter";

/**
 * The bindings the binding-default forms read: the Durable Object namespace (and, through
 * loadConfig, any of the settings vars an app sets). The Worker's full `Env` satisfies it;
 * an embedding app need not declare the usage queues.
 */
export interface LimiterBindings {
  TENANT_LIMITER: DurableObjectNamespace<TenantLimiterObject>;
}

/** The least a Hono env must offer for the binding-default middleware. */
export type RateLimitEnv = { Bindings: LimiterBindings; Variables: AegisVariables };

export interface RateLimitOptions<E extends RateLimitEnv = RateLimitEnv> extends RouteLimitOptions<E> {
  /** The limiter backend. Default: the `TENANT_LIMITER` Durable Object binding. */
  store?: (c: Context<E>) => LimiterStore;
  /** What to do when the limiter can't be reached. Default: `LIMITER_FAILURE_MODE`, else closed. */
  failureMode?: "open" | "closed";
  /** Bound on each limiter call. Default: `LIMITER_TIMEOUT_MS`, else 1500. */
  timeoutMs?: number;
  /** Also send `X-RateLimit-*`. Default: `LEGACY_RATELIMIT_HEADERS`. */
  legacyHeaders?: boolean;
}

/** The Durable Object store from `env.TENANT_LIMITER`, bounded by the configured timeout. */
export function defaultStore(env: LimiterBindings, timeoutMs?: number): LimiterStore {
  if (!env.TENANT_LIMITER) throw new Error("the TENANT_LIMITER Durable Object binding is missing");
  const config = loadConfig(env);
  return guardedStore(
    durableObjectStore(env.TENANT_LIMITER),
    timeoutMs ?? config.LIMITER_TIMEOUT_MS,
    config.LIMITER_LOAD_TIMEOUT_MS,
  );
}

/**
 * Checks each call against its tenant's limits, in the tenant's Durable Object unless
 * `store` says otherwise.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { rateLimit } from "aegis-edge/hono";
 * export { TenantLimiter } from "aegis-edge";
 *
 * const app = new Hono();
 * app.use("/v1/chat/*", rateLimit({ route: "chat" }));
 * app.post("/v1/chat/completions", (c) => c.json({ tenant: c.get("aegis").tenantId }));
 * export default app;
 * ```
 */
export function rateLimit<E extends RateLimitEnv = RateLimitEnv>(
  options: RateLimitOptions<E> = {},
): MiddlewareHandler<E> {
  validateRouteOptions(options, "rateLimit()");
  validateFailureMode(options.failureMode, "rateLimit()");
  validatePositive(options.timeoutMs, "timeoutMs", "rateLimit()");
  return limitMiddleware<E>((c) => {
    const config = loadConfig(c.env);
    const store = options.store ? options.store(c) : defaultStore(c.env, options.timeoutMs);
    const configured = limitSettingsOf(config);
    const settings = {
      ...configured,
      failureMode: options.failureMode ?? configured.failureMode,
      legacyHeaders: options.legacyHeaders ?? configured.legacyHeaders,
    };
    return checkCall(c, store, settings, options);
  });
}

/**
 * Checks one call for a tenant the app has already identified, and returns the outcome
 * as data. `cost` 0 peeks.
 *
 * @example
 * ```ts
 * const result = await enforceRateLimit(env, "tnabcdefghijklmnop", "chat", 1);
 * if (result.outcome === "limited") return result.problem.response();
 * ```
 */
export function enforceRateLimit(
  env: LimiterBindings,
  tenantId: string,
  routeKey: string,
  cost: number,
): Promise<Enforcement> {
  const config = loadConfig(env);
  return enforce(defaultStore(env), tenantId, { route: routeKey, cost }, config.LEGACY_RATELIMIT_HEADERS);
}

/**
 * Records usage a tenant's job reported after the fact, for a tenant the app has
 * identified: it counts against today's quota and is recorded once per idempotency key.
 * The result is data; malformed input throws a 400 Problem.
 *
 * @example
 * ```ts
 * const result = await recordUsage(env, tenantId, { units: 1200, route: "batch", idempotencyKey: `job-${job.id}` });
 * if (result.outcome === "limited") return result.problem.response();
 * ```
 */
export function recordUsage(env: LimiterBindings, tenantId: string, usage: UsageInput): Promise<RecordOutcome> {
  return recordReportedUsage(defaultStore(env), tenantId, usage, {
    legacyHeaders: loadConfig(env).LEGACY_RATELIMIT_HEADERS,
  });
}
