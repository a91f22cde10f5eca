// The rateLimit() Hono middleware and enforceRateLimit(): the gateway's check, for embedding apps.

import type { Context, MiddlewareHandler } from "hono";
import { loadConfig } from "../config";
import { guardedStore } from "../core/guarded-store";
import type { Decision } from "../core/limiter";
import { type LimiterStore, TenantLoadError } from "../core/limiter-store";
import { DEFAULT_ROUTE } from "../core/limits";
import type { RouteMatch } from "../core/route-table";
import { durableObjectStore } from "../durable/durable-object-store";
import type { Env } from "../env";
import { type RecordOutcome, recordReportedUsage, type UsageInput } from "../metering/record-usage";
import { invalidKey, presentedKey, suspended } from "./api-key";
import { type Enforcement, enforce } from "./enforce";
import { limiterUnavailable } from "./limit-response";
import { Problem } from "./problem";

/** What the middleware leaves on the context for later handlers (`c.get("aegis")`). */
export interface AegisContext {
  /** The tenant. When `enforced` is false it comes from a key nobody could verify. */
  tenantId: string;
  /** False when the limiter was unreachable and the call went through in fail-open mode. */
  enforced: boolean;
  /** Null when not enforced. */
  decision: Decision | null;
  reservation?: { id: string; expiresAt: number };
}

export type AegisVariables = { aegis: AegisContext };

/** The least a Hono env must offer for the middleware. */
export type RateLimitEnv = { Bindings: Env; Variables: AegisVariables };

export interface RateLimitOptions<E extends RateLimitEnv = RateLimitEnv> {
  /** The route key, or a route match whose cost is the default. Default: `"default"`. */
  route?: string | ((c: Context<E>) => string | RouteMatch);
  /** Units to take, overriding the tenant's route cost. 0 peeks. */
  cost?: number | ((c: Context<E>) => number);
  /**
   * How the tenant is identified. Default: the `Authorization: Bearer ak_...` key, verified
   * by the limiter. A function returns the tenant id of a call the app has already
   * authenticated, and the limiter then checks only the limits.
   */
  tenant?: (c: Context<E>) => string | Promise<string>;
  /** Hold the units as a reservation to settle later with `store.settle`. */
  reserve?: boolean;
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
export function defaultStore(env: Env, timeoutMs?: number): LimiterStore {
  if (!env.TENANT_LIMITER) throw new Error("the TENANT_LIMITER Durable Object binding is missing");
  const config = loadConfig(env);
  return guardedStore(
    durableObjectStore(env.TENANT_LIMITER),
    timeoutMs ?? config.LIMITER_TIMEOUT_MS,
    config.LIMITER_LOAD_TIMEOUT_MS,
  );
}

/** Response header set when the limiter was unreachable and the call went through unchecked. */
export const NOT_ENFORCED_HEADER = "Aegis-Limit-Enforced";

function validate<E extends RateLimitEnv>(options: RateLimitOptions<E>): void {
  const { cost, failureMode, timeoutMs } = options;
  if (typeof cost === "number" && !(Number.isSafeInteger(cost) && cost >= 0)) {
    throw new TypeError(`rateLimit(): cost must be a non-negative integer, got ${cost}`);
  }
  if (failureMode !== undefined && failureMode !== "open" && failureMode !== "closed") {
    throw new TypeError(`rateLimit(): failureMode must be "open" or "closed", got ${String(failureMode)}`);
  }
  if (timeoutMs !== undefined && !(timeoutMs > 0)) throw new TypeError("rateLimit(): timeoutMs must be positive");
}

/**
 * Checks each call against its tenant's limits. Admitted calls continue with
 * `c.get("aegis")` set and leave with RateLimit headers; rejected ones get a 429.
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
  validate(options);
  return async function rateLimitMiddleware(c, next) {
    let headers: Record<string, string>;
    try {
      headers = await check(c, options);
    } catch (err) {
      // Answer here rather than throw: an embedding app may have no onError that knows Problem.
      if (err instanceof Problem) return err.response();
      throw err;
    }
    await next();
    setHeaders(c, headers);
  };
}

/** Runs the check for one call; returns the headers for an admitted call, throws a Problem otherwise. */
async function check<E extends RateLimitEnv>(
  c: Context<E>,
  options: RateLimitOptions<E>,
): Promise<Record<string, string>> {
  const config = loadConfig(c.env);
  const legacy = options.legacyHeaders ?? config.LEGACY_RATELIMIT_HEADERS;
  const failureMode = options.failureMode ?? config.LIMITER_FAILURE_MODE;
  const store = options.store ? options.store(c) : defaultStore(c.env, options.timeoutMs);

  const routeOption = typeof options.route === "function" ? options.route(c) : (options.route ?? DEFAULT_ROUTE);
  const match = typeof routeOption === "string" ? { route: routeOption, cost: undefined } : routeOption;
  const cost = typeof options.cost === "function" ? options.cost(c) : options.cost;

  let tenantId: string;
  let keyHash: string | undefined;
  if (options.tenant) tenantId = await options.tenant(c);
  else ({ tenantId, keyHash } = await presentedKey(c));

  const result = await enforce(
    store,
    tenantId,
    { keyHash, route: match.route, cost, defaultCost: match.cost, reserve: options.reserve },
    legacy,
  );
  // An app that identified the tenant itself has no key for the limiter to verify.
  const headers = respond(result, failureMode, keyHash !== undefined);
  c.set("aegis", {
    tenantId,
    enforced: result.outcome === "allowed",
    decision: result.outcome === "allowed" ? result.decision : null,
    reservation: result.outcome === "allowed" ? result.reservation : undefined,
  });
  return headers;
}

/** The headers for an admitted call; throws the problem for any other outcome. */
function respond(result: Enforcement, failureMode: "open" | "closed", verifyingKey: boolean): Record<string, string> {
  switch (result.outcome) {
    case "allowed":
      return result.headers;
    case "limited":
      throw result.problem;
    case "unauthenticated":
      throw invalidKey();
    case "suspended":
      throw suspended();
    case "unavailable":
      console.error(
        JSON.stringify({
          msg: "limiter unavailable",
          tenant: result.tenantId,
          failureMode,
          error: result.error.message,
        }),
      );
      // Fail open only when the limiter itself is out of reach. A key whose tenant it could
      // not load is a key nobody verified: letting it through would let anyone with a
      // made-up key, or a slow Postgres, switch enforcement off.
      if (failureMode === "open" && !(verifyingKey && result.error instanceof TenantLoadError)) {
        return { [NOT_ENFORCED_HEADER]: "false" };
      }
      throw limiterUnavailable();
  }
}

function setHeaders(c: Context, headers: Record<string, string>): void {
  try {
    for (const [k, v] of Object.entries(headers)) c.res.headers.set(k, v);
  } catch {
    // A response passed through from fetch() has immutable headers: copy it once.
    c.res = new Response(c.res.body, c.res);
    for (const [k, v] of Object.entries(headers)) c.res.headers.set(k, v);
  }
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
export function enforceRateLimit(env: Env, tenantId: string, routeKey: string, cost: number): Promise<Enforcement> {
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
export function recordUsage(env: Env, tenantId: string, usage: UsageInput): Promise<RecordOutcome> {
  return recordReportedUsage(defaultStore(env), tenantId, usage, {
    legacyHeaders: loadConfig(env).LEGACY_RATELIMIT_HEADERS,
  });
}
