// One call checked against its tenant's limits, for a middleware: the key, the route, the
// store's answer, and the headers for an admitted call. createAegis() and the gateway's
// front door both run it; neither reads the runtime's bindings here.

import type { Context } from "hono";
import type { Config } from "../config";
import type { CallOutcome, GatewayMetrics } from "../core/gateway-metrics";
import type { Decision } from "../core/limiter";
import { type LimiterStore, TenantLoadError } from "../core/limiter-store";
import { DEFAULT_ROUTE } from "../core/limits";
import { type Logger, log } from "../core/log";
import type { RouteMatch } from "../core/route-table";
import { type KeyPolicy, keyPolicyOf, presentedKey } from "./api-key";
import { afterResponse, metricsOf } from "./context";
import { type Enforcement, enforce } from "./enforce";
import { NOT_ENFORCED_HEADER } from "./gateway-headers";
import { refusalProblem } from "./outcomes";
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

/** The least a Hono env must offer for the middleware: its own variable, no bindings. */
export type AegisEnv = { Variables: AegisVariables };

/** Per route: what a call costs, whose it is, and whether its units are held. */
export interface RouteLimitOptions<E extends AegisEnv = AegisEnv> {
  /** The route key, or a route match whose cost is the default. Default: `"default"`. */
  route?: string | ((c: Context<E>) => string | RouteMatch);
  /**
   * Units to take, overriding the tenant's route cost. 0 peeks. A function is called once
   * the key has passed its own checks (format, signature), so that what it costs (reading
   * and estimating a body) is not spent on calls that carry no plausible key.
   */
  cost?: number | ((c: Context<E>) => number | Promise<number | undefined>);
  /**
   * How the tenant is identified. Default: the tenant's key (`Authorization: Bearer`,
   * `x-api-key` or `api-key`), verified
   * by the limiter. A function returns the tenant id of a call the app has already
   * authenticated, and the limiter then checks only the limits.
   */
  tenant?: (c: Context<E>) => string | Promise<string>;
  /** Hold the units as a reservation to settle later with `store.settle`. */
  reserve?: boolean;
}

/** How calls are judged when the limiter is out of reach, and which headers and keys are accepted. */
export interface LimitSettings {
  failureMode: "open" | "closed";
  legacyHeaders: boolean;
  keys: KeyPolicy;
}

export { NOT_ENFORCED_HEADER } from "./gateway-headers";

/** Throws a TypeError for options that could never work, when the middleware is built. */
export function validateRouteOptions(options: { cost?: unknown }, where: string): void {
  const { cost } = options;
  if (typeof cost === "number" && !(Number.isSafeInteger(cost) && cost >= 0)) {
    throw new TypeError(`${where}: cost must be a non-negative integer, got ${cost}`);
  }
}

/** Throws a TypeError for a bound that is set but not a positive number. */
export function validatePositive(value: number | undefined, name: string, where: string): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
    throw new TypeError(`${where}: ${name} must be positive, got ${value}`);
  }
}

/** The settings the gateway's config gives every check. */
export function limitSettingsOf(config: Config): LimitSettings {
  return {
    failureMode: config.LIMITER_FAILURE_MODE,
    legacyHeaders: config.LEGACY_RATELIMIT_HEADERS,
    keys: keyPolicyOf(config),
  };
}

export function validateFailureMode(failureMode: unknown, where: string): void {
  if (failureMode !== undefined && failureMode !== "open" && failureMode !== "closed") {
    throw new TypeError(`${where}: failureMode must be "open" or "closed", got ${String(failureMode)}`);
  }
}

/** Runs the check for one call; returns the headers for an admitted call, throws a Problem otherwise. */
export async function checkCall<E extends AegisEnv>(
  c: Context<E>,
  store: LimiterStore,
  settings: LimitSettings,
  options: RouteLimitOptions<E>,
): Promise<Record<string, string>> {
  const routeOption = typeof options.route === "function" ? options.route(c) : (options.route ?? DEFAULT_ROUTE);
  const match = typeof routeOption === "string" ? { route: routeOption, cost: undefined } : routeOption;

  const metrics = metricsOf(c);
  let tenantId: string;
  let keyHash: string | undefined;
  try {
    if (options.tenant) tenantId = await options.tenant(c);
    else ({ tenantId, keyHash } = await presentedKey(c, settings.keys));
  } catch (err) {
    if (err instanceof Problem && err.status === 401) metrics.call(match.route, "unauthorized");
    throw err;
  }
  let cost: number | undefined;
  try {
    cost = typeof options.cost === "function" ? await options.cost(c) : options.cost;
  } catch (err) {
    // A body the estimate refuses (not JSON, too large) is a call refused before the limiter.
    if (err instanceof Problem && err.status < 500) metrics.call(match.route, "rejected");
    throw err;
  }

  const started = performance.now();
  const result = await enforce(
    store,
    tenantId,
    { keyHash, route: match.route, cost, defaultCost: match.cost, reserve: options.reserve },
    settings.legacyHeaders,
    (work) => void afterResponse(c, work),
  );
  metrics.limiterDecision((performance.now() - started) / 1000);
  countOutcome(metrics, match.route, result);
  // An app that identified the tenant itself has no key for the limiter to verify.
  // An embedding app's own Hono app has no gateway logger: the process's serves it.
  const logger = (c.get("log" as never) as Logger | undefined) ?? log;
  const headers = respond(result, settings.failureMode, keyHash !== undefined, logger);
  c.set("aegis", {
    tenantId,
    enforced: result.outcome === "allowed",
    decision: result.outcome === "allowed" ? result.decision : null,
    reservation: result.outcome === "allowed" ? result.reservation : undefined,
  });
  return headers;
}

const OUTCOMES: Record<Exclude<Enforcement["outcome"], "limited">, CallOutcome> = {
  allowed: "admitted",
  unauthenticated: "unauthorized",
  suspended: "suspended",
  unavailable: "limiter_unavailable",
};

function countOutcome(metrics: GatewayMetrics, route: string, result: Enforcement): void {
  // The tenant is named only when the limiter verified its key: any key can name any tenant.
  if (result.outcome !== "limited") {
    const verified = result.outcome === "allowed" || result.outcome === "suspended";
    metrics.call(route, OUTCOMES[result.outcome], undefined, verified ? result.tenantId : undefined);
    return;
  }
  // The first policy the call broke names the limit in the metric; there may be several.
  const violated = result.problem.extensions["violated-policies"];
  metrics.call(route, "limited", Array.isArray(violated) ? String(violated[0]) : undefined, result.tenantId);
}

/** The headers for an admitted call; throws the problem for any other outcome. */
function respond(
  result: Enforcement,
  failureMode: "open" | "closed",
  verifyingKey: boolean,
  logger: Logger,
): Record<string, string> {
  switch (result.outcome) {
    case "allowed":
      return result.headers;
    case "limited":
    case "unauthenticated":
    case "suspended":
      throw refusalProblem(result);
    case "unavailable":
      logger.error("limiter unavailable", { tenant: result.tenantId, failureMode, error: result.error.message });
      // Fail open only when the limiter itself is out of reach. A key whose tenant it could
      // not load is a key nobody verified: letting it through would let anyone with a
      // made-up key, or a slow Postgres, switch enforcement off.
      if (failureMode === "open" && !(verifyingKey && result.error instanceof TenantLoadError)) {
        return { [NOT_ENFORCED_HEADER]: "false" };
      }
      throw refusalProblem(result);
  }
}

/** Sets the check's headers on the response the rest of the chain produced. */
export function setHeaders(c: Context, headers: Record<string, string>): void {
  try {
    for (const [k, v] of Object.entries(headers)) c.res.headers.set(k, v);
  } catch {
    // A response passed through from fetch() has immutable headers: copy it once.
    c.res = new Response(c.res.body, c.res);
    for (const [k, v] of Object.entries(headers)) c.res.headers.set(k, v);
  }
}

/** A middleware around checkCall: answers a refusal itself, so the app needs no onError that knows Problem. */
export function limitMiddleware<E extends AegisEnv>(
  run: (c: Context<E>) => Promise<Record<string, string>>,
): (c: Context<E>, next: () => Promise<void>) => Promise<Response | undefined> {
  return async function rateLimitMiddleware(c, next) {
    let headers: Record<string, string>;
    try {
      headers = await run(c);
    } catch (err) {
      if (err instanceof Problem) return err.response();
      throw err;
    }
    await next();
    setHeaders(c, headers);
    return undefined;
  };
}
