// GET /metrics: the Prometheus exposition of this runtime's metrics, for a scraper that
// sends `Authorization: Bearer $METRICS_TOKEN`. Off until METRICS_TOKEN is set (503, or on
// the Worker proxied to the upstream): the metrics name routes, models and traffic, which is
// not for everyone to read.

import type { Handler } from "hono";
import { secretsEqual } from "../core/secrets";
import { bearerToken, unauthorized } from "./api-key";
import type { GatewayDeps, GatewayEnv } from "./context";
import { Problem } from "./problem";

export function metricsRoute(deps: GatewayDeps): Handler<GatewayEnv> {
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
    const presented = bearerToken(c);
    if (!presented) throw unauthorized("send the metrics token as 'Authorization: Bearer <METRICS_TOKEN>'");
    if (!(await secretsEqual(presented, expected))) throw unauthorized("the metrics token is wrong");
    const render = deps.renderMetrics;
    if (!render) throw new Problem(404, "not-found", "this runtime does not serve /metrics");
    const { contentType, body } = await render(c.env);
    return c.body(body, 200, { "content-type": contentType, "cache-control": "no-store" });
  };
}
