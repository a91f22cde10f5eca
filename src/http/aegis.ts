// createAegis(): the limiter for an embedding app, with its store passed in. Nothing here
// reads the runtime's bindings, so it works the same on Workers, Node, Bun and Deno, with
// the Durable Object store, the Redis store or memoryStore().

import type { MiddlewareHandler } from "hono";
import { guardedStore } from "../core/guarded-store";
import { DEFAULT_LIMITER_TIMEOUT_MS, DEFAULT_LOAD_TIMEOUT_MS } from "../core/limiter-rules";
import type { LimiterStore } from "../core/limiter-store";
import { type Enforcement, enforce } from "./enforce";
import {
  type AegisEnv,
  checkCall,
  type LimitSettings,
  limitMiddleware,
  type RouteLimitOptions,
  validateFailureMode,
  validatePositive,
  validateRouteOptions,
} from "./limit-call";
import { type RecordOutcome, recordReportedUsage, type UsageInput } from "./record-usage";

export interface AegisOptions {
  /** The limiter backend: a Redis store, memoryStore(), or a Durable Object store. */
  store: LimiterStore;
  /** What to do when the limiter can't be reached. Default: "closed" (503). */
  failureMode?: "open" | "closed";
  /** Bound on each limiter call. Default: 1500 ms. */
  timeoutMs?: number;
  /** Bound on loading a cold tenant's config. Default: 5000 ms. */
  loadTimeoutMs?: number;
  /** Also send `X-RateLimit-*`. Default: false. */
  legacyHeaders?: boolean;
  /** KEY_SIGNING_SECRET's secrets, current first. Default: none (only unsigned keys can pass). */
  keySigningSecrets?: readonly string[];
  /** Keys issued before signing. Default: "accept". */
  unsignedKeys?: "accept" | "refuse";
}

export interface Aegis {
  /** The store, every call bounded by `timeoutMs`. Settle reservations with it. */
  store: LimiterStore;
  /**
   * Checks each call against its tenant's limits. Admitted calls continue with
   * `c.get("aegis")` set and leave with RateLimit headers; refused ones get a problem+json.
   */
  rateLimit<E extends AegisEnv = AegisEnv>(options?: RouteLimitOptions<E>): MiddlewareHandler<E>;
  /** One check for a tenant the app has identified, as data. `cost` 0 peeks. */
  enforce(tenantId: string, route: string, cost: number): Promise<Enforcement>;
  /**
   * Records usage a tenant's job reported after the fact: it counts against today's quota
   * and is recorded once per idempotency key. Malformed input throws a 400 Problem.
   */
  recordUsage(tenantId: string, usage: UsageInput): Promise<RecordOutcome>;
}

/**
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { createAegis, memoryStore } from "aegis-edge/hono";
 *
 * const aegis = createAegis({ store: memoryStore() });
 * const app = new Hono();
 * app.use("/v1/chat/*", aegis.rateLimit({ route: "chat" }));
 * app.post("/v1/chat/completions", (c) => c.json({ tenant: c.get("aegis").tenantId }));
 * ```
 */
export function createAegis(options: AegisOptions): Aegis {
  if (!options || typeof options.store?.check !== "function") {
    throw new TypeError("createAegis(): store is required: a Redis store, memoryStore(), or a Durable Object store");
  }
  const { settings, bound } = aegisSettings(options, "createAegis()");
  const store = bound(options.store);
  const { legacyHeaders } = settings;
  return {
    store,
    rateLimit<E extends AegisEnv = AegisEnv>(route: RouteLimitOptions<E> = {}): MiddlewareHandler<E> {
      validateRouteOptions(route, "rateLimit()");
      return limitMiddleware<E>((c) => checkCall(c, store, settings, route));
    },
    enforce: (tenantId, route, cost) => enforce(store, tenantId, { route, cost }, legacyHeaders),
    recordUsage: (tenantId, usage) => recordReportedUsage(store, tenantId, usage, { legacyHeaders }),
  };
}

/**
 * The options other than the store, validated once: the settings every check uses, and how
 * a store is bounded by the timeouts (for rateLimit() with a store chosen per request).
 */
export function aegisSettings(
  options: Omit<AegisOptions, "store">,
  where: string,
): { settings: LimitSettings; bound: (store: LimiterStore) => LimiterStore } {
  validateFailureMode(options.failureMode, where);
  validatePositive(options.timeoutMs, "timeoutMs", where);
  validatePositive(options.loadTimeoutMs, "loadTimeoutMs", where);
  const timeoutMs = options.timeoutMs ?? DEFAULT_LIMITER_TIMEOUT_MS;
  const loadTimeoutMs = options.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS;
  return {
    settings: {
      failureMode: options.failureMode ?? "closed",
      legacyHeaders: options.legacyHeaders ?? false,
      keys: { signingSecrets: options.keySigningSecrets ?? [], unsignedKeys: options.unsignedKeys ?? "accept" },
    },
    bound: (store) => guardedStore(store, timeoutMs, loadTimeoutMs),
  };
}
