// The gateway: operator API, tenant API, OpenAPI document, and the metered front door.

import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { ConfigError, loadConfig } from "../config";
import { canonicalPath } from "../core/canonical-path";
import { log } from "../core/log";
import { REQUEST_ID_HEADER, requestIdOf } from "../core/request-id";
import { matchRoute } from "../core/route-table";
import { accountRoutes } from "./account";
import { accountUsageRoutes } from "./account-usage";
import { adminAuth } from "./admin/auth";
import { billingRoutes } from "./admin/billing";
import { keyRoutes } from "./admin/keys";
import { priceRoutes } from "./admin/prices";
import { tenantRoutes } from "./admin/tenants";
import { usageRoutes } from "./admin/usage";
import { CallTrace } from "./call-trace";
import { consoleRoutes } from "./console/routes";
import { type GatewayDeps, type GatewayEnv, runtimeMetrics, withDatabase, withHeader } from "./context";
import { DOCS_CSS, DOCS_HTML, DOCS_JS } from "./docs/assets";
import { healthRoutes } from "./health-routes";
import { checkCall, limitMiddleware, limitSettingsOf } from "./limit-call";
import { metricsRoute } from "./metrics-route";
import { notFound, Problem, problemFromError } from "./problem";
import { proxyToUpstream } from "./proxy";
import { reservationOf, tokenCallOf } from "./token-call";

/** Largest operator request body. */
const ADMIN_BODY_LIMIT = 64 * 1024;
/** Largest tenant API body (a usage report). Proxied bodies are not limited here. */
const ACCOUNT_BODY_LIMIT = 16 * 1024;

export const API_VERSION = "1.0.0";

/** A body limit whose refusal is a 413 problem naming what was limited. */
const limitBody = (maxSize: number, what: string) =>
  bodyLimit({
    maxSize,
    onError: () => {
      throw new Problem(413, "body-too-large", `${what} are limited to ${maxSize} bytes`);
    },
  });

export function createGateway<B extends object>(runtimeDeps: GatewayDeps<B>) {
  const deps = runtimeDeps as unknown as GatewayDeps;
  const app = new OpenAPIHono<GatewayEnv>();
  app.onError(problemFromError);
  app.notFound(notFound);

  app.use("*", async function gatewayContext(c, next) {
    const requestId = requestIdOf(c.req.header(REQUEST_ID_HEADER));
    c.set("requestId", requestId);
    c.set("log", log.child({ requestId }));
    try {
      c.set("config", loadConfig(c.env));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      c.var.log.error("invalid configuration", { error: err.message });
      throw new Problem(500, "misconfigured", `the gateway is misconfigured: ${err.message}`);
    }
    c.set("deps", deps);
    await next();
    withHeader(c, REQUEST_ID_HEADER, requestId);
  });

  app.use("/admin/v1/*", limitBody(ADMIN_BODY_LIMIT, "operator request bodies"), adminAuth(), withDatabase());
  app.route("/admin/v1", tenantRoutes);
  app.route("/admin/v1", keyRoutes);
  app.route("/admin/v1", usageRoutes);
  app.route("/admin/v1", billingRoutes);
  app.route("/admin/v1", priceRoutes);
  app.use("/account/v1/*", limitBody(ACCOUNT_BODY_LIMIT, "tenant request bodies"));
  app.route("/account/v1", accountRoutes);
  app.route("/account/v1", accountUsageRoutes);
  app.use("/admin/ui/*", limitBody(ACCOUNT_BODY_LIMIT, "console forms"));
  app.route("/admin/ui", consoleRoutes);
  // The gateway's own namespaces are never proxied.
  app.all("/admin/*", notFound);
  app.all("/account/*", notFound);

  app.openAPIRegistry.registerComponent("securitySchemes", "adminToken", {
    type: "http",
    scheme: "bearer",
    description: "The operator token (ADMIN_TOKEN).",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "http",
    scheme: "bearer",
    description:
      "A tenant API key, `ak_<tenantId>_<secret>_<mac>` (keys issued before signing: `ak_<tenantId>_<secret>`).",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "xApiKey", {
    type: "apiKey",
    in: "header",
    name: "x-api-key",
    description: "The same tenant API key, as Anthropic's clients send it.",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "azureApiKey", {
    type: "apiKey",
    in: "header",
    name: "api-key",
    description: "The same tenant API key, as Azure OpenAI's clients send it.",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Aegis Edge",
      version: API_VERSION,
      description:
        "Per-tenant rate limiting, quotas and metering. Errors are RFC 9457 problem+json. Every path outside /admin, /account, /openapi.json and /docs (and /healthz, /readyz and /metrics self-hosted, /metrics on Workers once METRICS_TOKEN is set) is proxied to the upstream and limited. An interactive reference is at /docs.",
    },
  });

  // Only where this runtime serves metrics (on the Worker, only once METRICS_TOKEN is set):
  // elsewhere /metrics is the upstream's, as vLLM's is.
  if (deps.renderMetrics) app.get("/metrics", metricsRoute(deps, deps.renderMetrics));
  // Probes, where the runtime has them to answer (self-hosted): elsewhere the upstream's paths.
  if (deps.readiness) healthRoutes(app, deps.readiness);

  // The API reference: a page of our own and its two assets, strict about what may run.
  const docsHeaders = {
    "content-security-policy":
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "cache-control": "no-cache",
  };
  app.get("/docs", (c) => c.html(DOCS_HTML, 200, docsHeaders));
  app.get("/docs/app.js", (c) =>
    c.body(DOCS_JS, 200, { ...docsHeaders, "content-type": "text/javascript; charset=utf-8" }),
  );
  app.get("/docs/app.css", (c) => c.body(DOCS_CSS, 200, { ...docsHeaders, "content-type": "text/css; charset=utf-8" }));

  // Proxied calls reserve the route's estimate (on a token route, the prompt's estimate and
  // its whole output allowance); the proxy settles it to the units used.
  const limiter = limitMiddleware<GatewayEnv>((c) => {
    const settings = limitSettingsOf(c.get("config"));
    // A token route's body is read and estimated only once the key has passed its checks.
    const cost = async (ctx: typeof c) => {
      const call = await tokenCallOf(ctx);
      return call ? reservationOf(call) : undefined;
    };
    return checkCall(c, deps.store(c.env), settings, { route: (ctx) => ctx.get("route"), reserve: true, cost });
  });
  app.all(
    "*",
    async function resolveRoute(c, next) {
      const canonical = canonicalPath(new URL(c.req.url).pathname);
      if ("refused" in canonical) throw new Problem(400, "invalid-path", canonical.refused);
      // The route is judged on the decoded path, and the canonical encoding of that same
      // path is what the upstream gets.
      c.set("path", canonical.path);
      c.set("route", matchRoute(c.get("config").ROUTES, c.req.method, canonical.decoded));
      await next();
    },
    async function limitUnlessPublic(c, next) {
      if (c.get("route").public) return next();
      // One summary per call at the limiter: a refusal's is told here, a forwarded call's
      // by the proxy once its reply is metered.
      const trace = new CallTrace(runtimeMetrics(c));
      c.set("callTrace", trace);
      let res: Response | undefined;
      try {
        res = await limiter(c, next);
      } finally {
        // An error that escaped the check is answered 500 by onError.
        if (!trace.isForwarded) trace.finish(res?.status ?? 500, c.get("tokenCall")?.model);
      }
      return res;
    },
    proxyToUpstream,
  );
  return app;
}
