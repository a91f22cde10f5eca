// Request and response schemas of the HTTP API. The OpenAPI document and validation both
// come from these, and the client SDK takes its types from them.

import { z } from "@hono/zod-openapi";
import { MAX_RATE, MAX_UNITS, routeKeySchema } from "../config";
import { isValidTimeZone } from "../core/calendar";
import { MAX_CALL_UNITS } from "../core/limits";
import { usageMetadataSchema } from "../metering/messages";
import { MAX_REPORTED_UNITS } from "./record-usage";

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: "urn:aegis-edge:problem:quota-exceeded" }),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    code: z.string().openapi({ example: "quota-exceeded" }),
  })
  .catchall(z.unknown())
  .openapi("Problem", { description: "RFC 9457 problem details." });

const rate = z.int().min(0).max(MAX_RATE);
const burst = z.int().min(1).max(MAX_RATE);
const units = z.int().min(0).max(MAX_UNITS);
const callUnits = z.int().min(0).max(MAX_CALL_UNITS);

export const RouteOverrideSchema = z
  .strictObject({ ratePerMinute: rate.optional(), burst: burst.optional(), cost: callUnits.optional() })
  .openapi("RouteOverride", { description: "Per-route bucket and cost; unset fields use the tenant's defaults." });

export const QuotaSchema = z
  .strictObject({
    ratePerMinute: rate.openapi({ description: "Tokens added to each route's bucket per minute. 0: no refill." }),
    burst: burst.openapi({ description: "Capacity of each route's bucket." }),
    dailyUnits: units.nullable().openapi({ description: "Units per calendar day; null for no daily limit." }),
    timeZone: z
      .string()
      .refine(isValidTimeZone, "not an IANA time zone name")
      .optional()
      .openapi({ description: "Time zone whose midnight resets the daily quota.", example: "UTC" }),
    shadow: z.boolean().optional().openapi({ description: "Evaluate and report, but never block." }),
    routes: z
      .record(routeKeySchema, RouteOverrideSchema)
      .refine((r) => Object.keys(r).length <= 100, "at most 100 route overrides")
      .optional(),
    // The column keeps 12 decimals: a finer price would be rounded silently when stored.
    unitPrice: z
      .string()
      .regex(/^\d{1,12}(\.\d{1,12})?$/, "a decimal price with at most 12 decimals, such as 0.000002")
      .nullable()
      .optional()
      .openapi({
        description: "This tenant's price per unit, in BILLING_CURRENCY; null or absent: BILLING_UNIT_COST.",
      }),
  })
  .openapi("Quota");

export const ResolvedQuotaSchema = QuotaSchema.required().openapi("ResolvedQuota");

export const TenantStatusSchema = z.enum(["active", "suspended"]);

/** Free text that Postgres will store: no control characters (a NUL is not even storable). */
const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\p{Cc}]*$/u, "must not contain control characters");

const name = text(200);
const billingAccountId = text(200).nullable();

export const TenantSchema = z
  .object({
    id: z.string().openapi({ example: "tnq3v7k2m4x5c6b7n8p9" }),
    name: z.string(),
    status: TenantStatusSchema,
    billingAccountId: z.string().nullable(),
    quota: ResolvedQuotaSchema,
    createdAt: z.string().openapi({ format: "date-time" }),
    updatedAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Tenant");

export const CreateTenantSchema = z
  .strictObject({
    name,
    status: TenantStatusSchema.optional(),
    billingAccountId: billingAccountId.optional(),
    quota: QuotaSchema.optional(),
  })
  .openapi("CreateTenant");

export const UpdateTenantSchema = z
  .strictObject({
    name: name.optional(),
    status: TenantStatusSchema.optional(),
    billingAccountId: billingAccountId.optional(),
  })
  .openapi("UpdateTenant");

export const TenantListSchema = z
  .object({ tenants: z.array(TenantSchema), nextCursor: z.string().nullable() })
  .openapi("TenantList");

export const ListQuerySchema = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(50)
    .openapi({ param: { name: "limit", in: "query" } }),
  cursor: z
    .string()
    .max(200)
    .optional()
    .openapi({ param: { name: "cursor", in: "query" } }),
});

export const TenantIdParamSchema = z.object({
  id: z
    .string()
    .regex(/^tn[a-z2-7]{16}$/, "not a tenant id")
    .openapi({ param: { name: "id", in: "path" }, example: "tnq3v7k2m4x5c6b7n8p9" }),
});

export const KeyIdParamSchema = TenantIdParamSchema.extend({
  keyId: z
    .string()
    .regex(/^key[a-z2-7]{16}$/, "not a key id")
    .openapi({ param: { name: "keyId", in: "path" } }),
});

export const CreateKeySchema = z
  .strictObject({ name: z.string().trim().min(1).max(200).optional() })
  .openapi("CreateKey");

export const KeySchema = z
  .object({
    id: z.string(),
    prefix: z.string().openapi({ description: "The key's first characters, for display." }),
    name: z.string().nullable(),
    createdAt: z.string().openapi({ format: "date-time" }),
    revokedAt: z.string().nullable().openapi({ format: "date-time" }),
  })
  .openapi("ApiKey");

export const CreatedKeySchema = KeySchema.extend({
  key: z.string().openapi({ description: "The API key. It is shown only once; only its hash is stored." }),
}).openapi("CreatedApiKey");

export const KeyListSchema = z.object({ keys: z.array(KeySchema), nextCursor: z.null() }).openapi("ApiKeyList");

const PolicySchema = z.object({
  name: z.string(),
  kind: z.enum(["bucket", "daily"]),
  quota: z.int(),
  windowSeconds: z.int(),
  remaining: z.int(),
  resetSeconds: z.int(),
});

export const LimitsSchema = z
  .object({
    tenantId: z.string(),
    shadow: z.boolean(),
    buckets: z.array(PolicySchema.extend({ ratePerMinute: z.int(), burst: z.int() })),
    daily: z.object({
      units: z.int().nullable(),
      used: z.int(),
      remaining: z.int().nullable(),
      resetSeconds: z.int(),
      timeZone: z.string(),
    }),
  })
  .openapi("Limits");

/** problem+json responses, for route definitions. */
export function problems(...statuses: number[]) {
  const descriptions: Record<number, string> = {
    400: "Invalid request",
    401: "Missing or wrong credentials",
    403: "Tenant suspended",
    404: "Not found",
    413: "Body too large",
    429: "Quota exceeded",
    502: "Saved, but the limiter did not confirm the change",
    503: "Service unavailable",
  };
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: descriptions[s] ?? "Error", content: { "application/problem+json": { schema: ProblemSchema } } },
    ]),
  );
}

const isoDay = z
  .string()
  .regex(/^(19|2\d)\d{2}-\d{2}-\d{2}$/, "a day is written YYYY-MM-DD, in the years 1900 to 2999")
  .refine(
    (d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d),
    "not a calendar day",
  );

export const UsageQuerySchema = z.object({
  from: isoDay.optional().openapi({
    param: { name: "from", in: "query" },
    description: "First day, inclusive (UTC). Default: 30 days before `to`.",
  }),
  to: isoDay
    .optional()
    .openapi({ param: { name: "to", in: "query" }, description: "Last day, exclusive (UTC). Default: tomorrow." }),
});

export const UsageSchema = z
  .object({
    tenantId: z.string(),
    from: z.string(),
    to: z.string(),
    days: z.array(z.object({ day: z.string(), route: z.string(), units: z.int(), requests: z.int() })),
    totalUnits: z.int(),
  })
  .openapi("Usage");

export const UsageReportSchema = z
  .strictObject({
    units: z.int().min(1).max(MAX_REPORTED_UNITS).openapi({ description: "Units the job used." }),
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
    metadata: usageMetadataSchema.optional().openapi({ description: "Kept with the usage record, e.g. the model." }),
  })
  .openapi("UsageReport");

export const UsageReportResultSchema = z
  .object({ eventId: z.string(), duplicate: z.boolean() })
  .openapi("UsageReportResult");

const InvoiceLineSchema = z.object({
  kind: z.enum(["usage", "adjustment"]),
  route: z.string(),
  periodStart: z.string(),
  periodEnd: z.string(),
  units: z.int(),
  requests: z.int(),
  unitPrice: z.string().openapi({ example: "0.000002" }),
  amountMinor: z.int(),
});

export const InvoiceStatusSchema = z.enum(["draft", "issued", "paid", "void"]);

export const InvoiceSchema = z
  .object({
    id: z.string().openapi({ example: "inv_3k2m4x5c6b7n8p9q2r3s" }),
    tenantId: z.string(),
    periodStart: z.string(),
    periodEnd: z.string().openapi({ description: "Exclusive." }),
    units: z.int(),
    amountMinor: z.int().openapi({ description: "In the currency's minor unit (cents for USD)." }),
    currency: z.string(),
    status: InvoiceStatusSchema,
    lineItems: z.array(InvoiceLineSchema),
    createdAt: z.string().optional(),
    paidAt: z.string().nullable().optional(),
    voidedAt: z.string().nullable().optional(),
  })
  .openapi("Invoice");

export const InvoiceListSchema = z
  .object({ invoices: z.array(InvoiceSchema), nextCursor: z.string().nullable() })
  .openapi("InvoiceList");

export const InvoiceQuerySchema = ListQuerySchema.extend({
  status: InvoiceStatusSchema.optional().openapi({ param: { name: "status", in: "query" } }),
  tenantId: z
    .string()
    .regex(/^tn[a-z2-7]{16}$/, "not a tenant id")
    .optional()
    .openapi({ param: { name: "tenantId", in: "query" } }),
});

export const InvoiceIdParamSchema = z.object({
  id: z
    .string()
    .regex(/^inv_[a-z2-7]{20}$/, "not an invoice id")
    .openapi({ param: { name: "id", in: "path" } }),
});

export const BillingRunSchema = z
  .strictObject({
    periodStart: isoDay.optional().openapi({ description: "First day of the period (UTC), inclusive." }),
    periodEnd: isoDay.optional().openapi({ description: "Day after the period, exclusive." }),
  })
  .refine(
    (b) => (b.periodStart === undefined) === (b.periodEnd === undefined),
    "give both periodStart and periodEnd, or neither",
  )
  .openapi("BillingRun");

export const BillingRunResultSchema = z
  .object({
    periodStart: z.string(),
    periodEnd: z.string(),
    created: z.int(),
    invoices: z.array(z.object({ id: z.string(), tenantId: z.string(), amountMinor: z.int() })),
  })
  .openapi("BillingRunResult");

export const DeliveryStatusSchema = z.enum(["pending", "delivered", "failed", "disabled"]);

export const DeliverySchema = z
  .object({
    id: z.string().openapi({ description: "Also the webhook-id header, the same on every attempt." }),
    eventType: z.string(),
    status: DeliveryStatusSchema,
    attempts: z.int(),
    nextAttemptAt: z.string().nullable(),
    lastStatus: z.int().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    deliveredAt: z.string().nullable(),
    payload: z.record(z.string(), z.unknown()),
  })
  .openapi("WebhookDelivery");

export const DeliveryListSchema = z
  .object({ deliveries: z.array(DeliverySchema), nextCursor: z.string().nullable() })
  .openapi("WebhookDeliveryList");

export const DeliveryQuerySchema = ListQuerySchema.extend({
  status: DeliveryStatusSchema.optional().openapi({ param: { name: "status", in: "query" } }),
});

export const DeliveryIdParamSchema = z.object({
  id: z
    .string()
    .regex(/^msg_[a-z2-7]{20}$/, "not a delivery id")
    .openapi({ param: { name: "id", in: "path" } }),
});
