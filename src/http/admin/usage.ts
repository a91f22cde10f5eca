// Operator route for a tenant's usage.

import { createRoute } from "@hono/zod-openapi";
import { dailyUsage, usageRange } from "../../metering/usage-query";
import { openApiApp } from "../context";
import { Problem } from "../problem";
import { problems, TenantIdParamSchema, UsageQuerySchema, UsageSchema } from "../schemas";
import { tenantAdmin } from "../tenant-admin";
import { withCost } from "../usage-cost";

export const usageRoutes = openApiApp().openapi(
  createRoute({
    method: "get",
    path: "/tenants/{id}/usage",
    tags: ["Usage"],
    security: [{ adminToken: [] }],
    summary: "A tenant's usage per day and route",
    request: { params: TenantIdParamSchema, query: UsageQuerySchema },
    responses: {
      200: { description: "Daily usage", content: { "application/json": { schema: UsageSchema } } },
      ...problems(400, 401, 404),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const query = c.req.valid("query");
    const now = Date.now();
    const range = usageRange(query, now);
    if (typeof range === "string") throw new Problem(400, "invalid-range", range);
    await tenantAdmin(c).get(id);
    const usage = await dailyUsage(c.get("db"), id, range.from, range.to);
    return c.json(await withCost(c, id, query.include, usage, now), 200);
  },
);
