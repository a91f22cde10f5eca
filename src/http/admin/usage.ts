// Operator route for a tenant's usage.

import { createRoute } from "@hono/zod-openapi";
import { getTenant } from "../../db/tenants";
import { defaultLimits } from "../../defaults";
import { dailyUsage, usageRange } from "../../metering/usage-query";
import { openApiApp } from "../context";
import { Problem } from "../problem";
import { problems, TenantIdParamSchema, UsageQuerySchema, UsageSchema } from "../schemas";
import { noSuchTenant } from "./tenants";

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
    const range = usageRange(c.req.valid("query"), Date.now());
    if (typeof range === "string") throw new Problem(400, "invalid-range", range);
    if (!(await getTenant(c.get("db"), id, defaultLimits(c.get("config"))))) throw noSuchTenant(id);
    return c.json(await dailyUsage(c.get("db"), id, range.from, range.to), 200);
  },
);
