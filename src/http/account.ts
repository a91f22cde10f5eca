// Tenant self-service routes, authenticated with the tenant's own API key.

import { createRoute } from "@hono/zod-openapi";
import { dailyPolicy, type PolicyReport } from "../core/limiter";
import { DEFAULT_ROUTE } from "../core/limits";
import { routeKeys } from "../core/route-table";
import { keyPolicyOf, presentedKey } from "./api-key";
import { openApiApp } from "./context";
import { limitHeaders } from "./limit-response";
import { askLimiter, assertVouched } from "./outcomes";
import { LimitsSchema, problems, TENANT_KEY_SECURITY } from "./schemas";

export const accountRoutes = openApiApp().openapi(
  createRoute({
    method: "get",
    path: "/limits",
    tags: ["Account"],
    security: TENANT_KEY_SECURITY,
    summary: "The caller's buckets and the quota remaining today",
    description: "Reads the limits without consuming anything.",
    responses: {
      200: {
        description: "Every bucket and the daily quota",
        content: { "application/json": { schema: LimitsSchema } },
      },
      ...problems(401, 403, 503),
    },
  }),
  async (c) => {
    const { tenantId, keyHash } = await presentedKey(c, keyPolicyOf(c.get("config")));
    const config = c.get("config");
    const store = c.get("deps").store(c.env);
    const result = await askLimiter(() => store.limits(tenantId, { keyHash, routes: routeKeys(config.ROUTES) }));
    assertVouched(result.status);
    if (result.status !== "ok") throw new Error(`unexpected limiter status ${result.status}`);
    const { limits } = result;
    // The headers describe the default route's buckets and the daily quota; the body has them all.
    const policies: PolicyReport[] = limits.buckets.filter(
      (b) => b.name === DEFAULT_ROUTE || b.name === `${DEFAULT_ROUTE}/requests`,
    );
    const daily = dailyPolicy(limits.daily);
    if (daily) policies.push(daily);
    for (const [k, v] of Object.entries(limitHeaders(policies, config.LEGACY_RATELIMIT_HEADERS))) c.header(k, v);
    c.header("Cache-Control", "no-store");
    return c.json(limits, 200);
  },
);
