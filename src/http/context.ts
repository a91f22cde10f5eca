// What every gateway handler can reach: its dependencies, the parsed config, and helpers
// for work that outlives the response.

import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import type { Config } from "../config";
import type { MinuteCalls } from "../core/call-rates";
import { describeError } from "../core/errors";
import { type GatewayMetrics, NO_METRICS } from "../core/gateway-metrics";
import type { LimiterStore } from "../core/limiter-store";
import { type Logger, log } from "../core/log";
import type { RouteMatch } from "../core/route-table";
import type { Database, DatabaseHandle } from "../db/database";
import type { CallTrace } from "./call-trace";
import type { AegisVariables } from "./limit-call";
import { Problem } from "./problem";
import type { TokenCall } from "./token-call";

/**
 * The runtime-specific pieces the gateway is built from. `B` is the runtime's bindings as
 * Hono passes them in `c.env` (the Worker's `Env`, or the process's variables): only the
 * runtime's own deps know their shape, so the gateway passes them through untyped.
 */
export interface GatewayDeps<B extends object = object> {
  /** Opens a database handle for one request; closed when the request ends. */
  openDatabase(env: B): DatabaseHandle;
  /** The limiter store, already bounded by a timeout. */
  store(env: B): LimiterStore;
  /** The calling client's address as the runtime saw it, for the upstream's X-Forwarded-For. */
  clientAddress?(c: Context): string | undefined;
  /** Where the gateway's metrics go, or how to find them in the bindings (the Worker's dataset); none when absent. */
  metrics?: GatewayMetrics | ((env: B) => GatewayMetrics);
  /**
   * GET /metrics: the exposition text, where this runtime serves one. `afterResponse` runs
   * work after the response where the runtime allows it (a Worker's waitUntil).
   */
  renderMetrics?(
    env: B,
    afterResponse: (work: Promise<unknown>) => Promise<void>,
  ): Promise<{ contentType: string; body: string }>;
  /** This process's calls per minute by outcome, the last hour; only where one process sees every call it counts. */
  callRates?(): MinuteCalls[];
  /** Serve GET /metrics only while METRICS_TOKEN is set, else proxy the path (the Worker); else it answers 503. */
  metricsOnlyWithToken?: boolean;
  /**
   * GET /readyz: each dependency's state, "ok" or why not, where the runtime has probes to
   * answer (self-hosted); with it, GET /healthz too. Elsewhere both paths are the upstream's.
   */
  readiness?(): Promise<Record<string, string>>;
}

/**
 * The metrics port of this call: the front door's per-call trace, else the runtime's metrics,
 * else one that drops everything (an embedding app's own Hono app).
 */
export function metricsOf(c: Context): GatewayMetrics {
  const trace = c.get("callTrace") as CallTrace | undefined;
  if (trace) return trace;
  return runtimeMetrics(c);
}

/** The runtime's own metrics, whatever the call. */
export function runtimeMetrics(c: Context): GatewayMetrics {
  const metrics = (c.get("deps") as GatewayDeps | undefined)?.metrics;
  if (typeof metrics === "function") return metrics(c.env as object);
  return metrics ?? NO_METRICS;
}

export type GatewayEnv = {
  Bindings: object;
  Variables: AegisVariables & {
    config: Config;
    deps: GatewayDeps;
    db: Database;
    /** The route-table match of a front-door call. */
    route: RouteMatch;
    /** A front-door call on a token route: its body, read, and its estimate. */
    tokenCall?: TokenCall;
    /** The canonical path of a front-door call: the one matched, and the one forwarded. */
    path: string;
    /** The call's id (x-request-id): in its response, its upstream request, its logs and its usage. */
    requestId: string;
    /** A front-door call's metrics, gathered into its summary. */
    callTrace?: CallTrace;
    /** The logger of this call: every line carries its request id. */
    log: Logger;
    /** The console session's CSRF token and expiry (console pages only). */
    csrf: string;
    sessionExpiry: number;
    /** A console page's one-time notice after an action (console/flash.ts), if any. */
    notice?: string;
  };
};

/** Runs `work` after the response when the runtime allows it, else before returning. */
export async function afterResponse(c: Context, work: Promise<unknown>): Promise<void> {
  const logger = (c.get("log") as Logger | undefined) ?? log;
  const guarded = work.catch((err: unknown) => logger.error("background work failed", { error: describeError(err) }));
  let ctx: { waitUntil(p: Promise<unknown>): void } | undefined;
  try {
    ctx = c.executionCtx;
  } catch {
    ctx = undefined;
  }
  if (ctx) ctx.waitUntil(guarded);
  else await guarded;
}

/** Opens a database handle for the request (`c.get("db")`), closed once the response is out. */
export function withDatabase(): MiddlewareHandler<GatewayEnv> {
  return async function withDatabaseMiddleware(c, next) {
    const handle = c.get("deps").openDatabase(c.env);
    c.set("db", handle.db);
    try {
      await next();
    } finally {
      await afterResponse(c, handle.close());
    }
  };
}

/** An OpenAPIHono whose validation failures become 400 problems listing every issue. */
export function openApiApp() {
  return new OpenAPIHono<GatewayEnv>({
    defaultHook: (result) => {
      if (result.success) return;
      const errors = result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
      const where = result.target === "json" ? "body" : result.target;
      const detail = errors.map((e) => `${e.path || where}: ${e.message}`).join("; ");
      throw new Problem(400, "invalid-request", `invalid ${where}: ${detail}`, { errors });
    },
  });
}

/**
 * Sets a header on the response, whatever made it: a response whose headers are immutable
 * (one fetch() returned, passed on as it came) is copied first.
 */
export function withHeader(c: Context, name: string, value: string): void {
  try {
    c.res.headers.set(name, value);
  } catch {
    const res = new Response(c.res.body, c.res);
    res.headers.set(name, value);
    c.res = res;
  }
}
