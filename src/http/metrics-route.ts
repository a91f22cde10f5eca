// GET /metrics: the Prometheus exposition of this runtime's metrics, for a scraper that
// sends `Authorization: Bearer $METRICS_TOKEN`. On the gateway's own port it is off until
// METRICS_TOKEN is set (503, or on the Worker proxied to the upstream): the metrics name
// routes, models and traffic, which is not for everyone to read. On a port of its own
// (METRICS_PORT) the port is the boundary the operator chose, so the token is asked for
// only when one is set.

import { type Context, type Handler, Hono } from "hono";
import { secretsEqual } from "../core/secrets";
import { bearerToken, unauthorized } from "./api-key";
import { afterResponse, type GatewayDeps, type GatewayEnv } from "./context";
import { notFound, Problem, problemFromError } from "./problem";

export type RenderMetrics = NonNullable<GatewayDeps["renderMetrics"]>;

async function authorize(c: Context, expected: string | undefined): Promise<void> {
  if (!expected) return;
  const presented = bearerToken(c);
  if (!presented) throw unauthorized("send the metrics token as 'Authorization: Bearer <METRICS_TOKEN>'");
  if (!(await secretsEqual(presented, expected))) throw unauthorized("the metrics token is wrong");
}

async function exposition(c: Context, render: RenderMetrics, env: unknown): Promise<Response> {
  const { contentType, body } = await render(env as never, (work) => afterResponse(c, work));
  return c.body(body, 200, { "content-type": contentType, "cache-control": "no-store" });
}

export function metricsRoute(deps: GatewayDeps, render: RenderMetrics): Handler<GatewayEnv> {
  return async function metrics(c, next) {
    const expected = c.get("config").METRICS_TOKEN;
    // Where the runtime claims /metrics only with a token (the Worker), the path is otherwise
    // the upstream's, proxied like any other, as it was before metrics existed.
    if (!expected && deps.metricsOnlyWithToken) {
      await next();
      return c.res;
    }
    if (!expected) {
      throw new Problem(
        503,
        "metrics-disabled",
        "metrics are off: set METRICS_TOKEN, and scrape with it as a bearer token",
      );
    }
    await authorize(c, expected);
    return exposition(c, render, c.env);
  };
}

/** The app of a port that serves only GET /metrics: the token is asked for when `token` is set. */
export function metricsOnlyApp(render: RenderMetrics, token: string | undefined): Hono {
  const app = new Hono();
  app.get("/metrics", async (c) => {
    await authorize(c, token);
    return exposition(c, render, c.env);
  });
  app.notFound(notFound);
  app.onError(problemFromError);
  return app;
}
