// The schemas of usage: the daily usage a tenant or operator reads, and a reported usage.

import { z } from "@hono/zod-openapi";
import { routeKeySchema } from "../../config";
import { usageMetadataSchema } from "../../metering/messages";
import { MAX_REPORTED_UNITS } from "../record-usage";
import { InvoiceLineSchema } from "./billing";
import { isoDay } from "./common";

export const UsageQuerySchema = z.object({
  from: isoDay.optional().openapi({
    param: { name: "from", in: "query" },
    description: "First day, inclusive (UTC). Default: 30 days before `to`.",
  }),
  to: isoDay
    .optional()
    .openapi({ param: { name: "to", in: "query" }, description: "Last day, exclusive (UTC). Default: tomorrow." }),
  include: z
    .enum(["cost"])
    .optional()
    .openapi({
      param: { name: "include", in: "query" },
      description: "cost: add the cost so far in the open billing period, priced as its invoice will be.",
    }),
});

export const CostEstimateSchema = z
  .object({
    currency: z.string(),
    periodStart: z.string(),
    periodEnd: z.string().openapi({ description: "Exclusive: the open billing period." }),
    amountMinor: z.int().openapi({ description: "The sum of the lines, in the currency's minor unit." }),
    lines: z.array(InvoiceLineSchema),
  })
  .openapi("CostEstimate", {
    description:
      "The open period's usage in the rollup so far, priced by the invoice's code. Usage still on its way to Postgres is not in it, nor late usage of earlier periods.",
  });

const UsageTotalsSchema = z
  .object({
    requests: z.int().openapi({ description: "Calls." }),
    inputTokens: z.int().openapi({ description: "Every input token, cached ones included." }),
    outputTokens: z.int().openapi({ description: "Output tokens, reasoning included." }),
    cachedInputTokens: z.int().openapi({ description: "The part of the input served from a cache." }),
    units: z.int().openapi({ description: "What the limits count: input + output tokens on token routes." }),
    estimatedRequests: z.int().openapi({
      description:
        "Of `requests`, the calls whose upstream reported no usage, so that their usage is the gateway's estimate.",
    }),
    estimatedUnits: z.int().openapi({ description: "Of `units`, those that are the gateway's estimate." }),
  })
  .openapi("UsageTotals");

export const UsageSchema = z
  .object({
    tenantId: z.string(),
    from: z.string(),
    to: z.string(),
    days: z.array(
      UsageTotalsSchema.extend({
        day: z.string(),
        route: z.string(),
        model: z.string().nullable().openapi({ description: "The model the upstream named; null when unknown." }),
      }),
    ),
    totals: UsageTotalsSchema,
    totalUnits: z.int().openapi({ description: "totals.units." }),
    cost: CostEstimateSchema.optional().openapi({ description: "With include=cost." }),
  })
  .openapi("Usage");

const tokenCount = (description: string) => z.int().min(0).max(MAX_REPORTED_UNITS).optional().openapi({ description });

export const UsageReportSchema = z
  .strictObject({
    units: z
      .int()
      .min(1)
      .max(MAX_REPORTED_UNITS)
      .optional()
      .openapi({ description: "Units the job used. Default: inputTokens + outputTokens; one of the two is needed." }),
    inputTokens: tokenCount("Every input token, cached ones included."),
    outputTokens: tokenCount("Output tokens, reasoning included."),
    cachedInputTokens: tokenCount("The part of inputTokens served from a cache; at most inputTokens."),
    model: z.string().min(1).max(128).optional().openapi({ description: "The model the job used." }),
    route: routeKeySchema.optional().openapi({ description: 'The route to count them under. Default: "default".' }),
    idempotencyKey: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[\x21-\x7e]+$/, "printable ASCII without spaces")
      .openapi({ description: "Your id for this report: the same key is recorded once, however often it is sent." }),
    occurredAt: z.iso
      .datetime({ offset: true })
      .optional()
      .openapi({ description: "When the usage happened (ISO 8601). Default: now. At most 5 minutes ahead." }),
    metadata: usageMetadataSchema.optional().openapi({ description: "Kept with the usage record." }),
  })
  .refine((r) => r.units !== undefined || (r.inputTokens ?? 0) + (r.outputTokens ?? 0) > 0, {
    message: "send units, or inputTokens and outputTokens that add up to at least 1",
    path: ["units"],
  })
  .refine((r) => (r.cachedInputTokens ?? 0) <= (r.inputTokens ?? 0), {
    message: "cachedInputTokens cannot exceed inputTokens",
    path: ["cachedInputTokens"],
  })
  .openapi("UsageReport");

export const UsageReportResultSchema = z
  .object({ eventId: z.string(), duplicate: z.boolean() })
  .openapi("UsageReportResult");
