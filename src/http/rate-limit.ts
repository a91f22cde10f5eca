// The one-call forms of createAegis() for a store the app passes in: rateLimit({ store }),
// enforceRateLimit(store, ...) and recordUsage(store, ...). They never read bindings; on
// Workers, `aegis-edge` and `aegis-edge/hono` export forms that default to the
// TENANT_LIMITER Durable Object binding instead (src/hono.ts).

import type { Context, MiddlewareHandler } from "hono";
import type { LimiterStore } from "../core/limiter-store";
import { type AegisOptions, aegisSettings, createAegis } from "./aegis";
import type { Enforcement } from "./enforce";
import { type AegisEnv, checkCall, limitMiddleware, type RouteLimitOptions, validateRouteOptions } from "./limit-call";
import type { RecordOutcome, UsageInput } from "./record-usage";

/** Everything createAegis() and one route take, with the store possibly chosen per request. */
export interface RateLimitOptions<E extends AegisEnv = AegisEnv>
  extends RouteLimitOptions<E>,
    Omit<AegisOptions, "store"> {
  /** The limiter backend, or one per request. */
  store: LimiterStore | ((c: Context<E>) => LimiterStore);
}

/** Checks each call against its tenant's limits in `options.store`; see createAegis(). */
export function rateLimit<E extends AegisEnv = AegisEnv>(options: RateLimitOptions<E>): MiddlewareHandler<E> {
  const { store } = options ?? {};
  if (typeof store !== "function" && typeof store?.check !== "function") {
    throw new TypeError(
      "rateLimit(): store is required outside Workers: a Redis store or memoryStore() (see createAegis())",
    );
  }
  validateRouteOptions(options, "rateLimit()");
  // The options are checked once; a store chosen per request is bounded per request.
  const { settings, bound } = aegisSettings(options, "rateLimit()");
  let storeOf: (c: Context<E>) => LimiterStore;
  if (typeof store === "function") storeOf = (c) => bound(store(c));
  else {
    const bounded = bound(store);
    storeOf = () => bounded;
  }
  return limitMiddleware<E>((c) => checkCall(c, storeOf(c), settings, options));
}

/** One check for a tenant the app has identified, as data. `cost` 0 peeks. */
export function enforceRateLimit(
  store: LimiterStore,
  tenantId: string,
  routeKey: string,
  cost: number,
  options: Omit<AegisOptions, "store"> = {},
): Promise<Enforcement> {
  return createAegis({ ...options, store }).enforce(tenantId, routeKey, cost);
}

/** Usage a tenant's job reported after the fact, counted once per idempotency key. */
export function recordUsage(
  store: LimiterStore,
  tenantId: string,
  usage: UsageInput,
  options: Omit<AegisOptions, "store"> = {},
): Promise<RecordOutcome> {
  return createAegis({ ...options, store }).recordUsage(tenantId, usage);
}
