// Tenant usage routes: report a job's usage, and read back the tenant's own usage.

import { createRoute } from "@hono/zod-openapi";
import { dailyUsage, usageRange } from "../metering/usage-query";
import { keyPolicyOf, presentedKey } from "./api-key";
import { openApiApp, withDatabase } from "./context";
import { askLimiter, assertVouched, refusalProblem } from "./outcomes";
import { Problem } from "./problem";
import { recordReportedUsage } from "./record-usage";
import {
  json,
  problems,
  TENANT_KEY_SECURITY,
  UsageQuerySchema,
  UsageReportResultSchema,
  UsageReportSchema,
  UsageSchema,
} from "./schemas";
import { withCost } from "./usage-cost";

const tags = ["Account"];
const security = TENANT_KEY_SECURITY;

export const accountUsageRoutes = openApiApp()
  .openapi(
    createRoute({
      method: "post",
      path: "/usage",
      tags,
      security,
      summary: "Report the usage of a job",
      description:
        "The units count against today's quota (429 if they do not fit, and nothing is recorded). The same idempotencyKey is recorded once: a repeat answers 200 with duplicate: true.",
      request: { body: { ...json(UsageReportSchema), required: true } },
      responses: {
        202: { description: "Recorded", ...json(UsageReportResultSchema) },
        200: { description: "Already recorded under this idempotency key", ...json(UsageReportResultSchema) },
        ...problems(400, 401, 403, 413, 429, 503),
      },
    }),
    async (c) => {
      const { tenantId, keyHash } = await presentedKey(c, keyPolicyOf(c.get("config")));
      const body = c.req.valid("json");
      const config = c.get("config");
      const result = await recordReportedUsage(
        c.get("deps").store(c.env),
        tenantId,
        { ...body, occurredAt: body.occurredAt === undefined ? undefined : Date.parse(body.occurredAt) },
        { keyHash, legacyHeaders: config.LEGACY_RATELIMIT_HEADERS },
      );
      switch (result.outcome) {
        case "recorded":
          for (const [k, v] of Object.entries(result.headers)) c.header(k, v);
          return c.json({ eventId: result.eventId, duplicate: false }, 202);
        case "duplicate":
          return c.json({ eventId: result.eventId, duplicate: true }, 200);
        default:
          throw refusalProblem(result);
      }
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/usage",
      tags,
      security,
      summary: "The caller's own usage per day and route",
      description: "With include=cost, also the cost so far in the open billing period, priced as its invoice will be.",
      request: { query: UsageQuerySchema },
      middleware: [withDatabase()] as const,
      responses: { 200: { description: "Daily usage", ...json(UsageSchema) }, ...problems(400, 401, 403, 503) },
    }),
    async (c) => {
      const { tenantId, keyHash } = await presentedKey(c, keyPolicyOf(c.get("config")));
      const query = c.req.valid("query");
      const now = Date.now();
      const range = usageRange(query, now);
      if (typeof range === "string") throw new Problem(400, "invalid-range", range);
      // The limiter vouches for the key, so a revoked key reads nothing from the next call on.
      const auth = await askLimiter(() => c.get("deps").store(c.env).limits(tenantId, { keyHash, routes: [] }));
      assertVouched(auth.status);
      const usage = await dailyUsage(c.get("db"), tenantId, range.from, range.to);
      return c.json(await withCost(c, tenantId, query.include, usage, now), 200);
    },
  );
