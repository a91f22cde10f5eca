// The schemas of tenants, their quotas and keys, and the limits a tenant reads.

import { z } from "@hono/zod-openapi";
import { routeKeySchema } from "../../config";
import { isValidTimeZone } from "../../core/calendar";
import { TENANT_ID_PATTERN } from "../../core/secrets";
import { billingAccountId, burst, callUnits, concurrent, name, paymentMethodRef, rate, units } from "./common";

const bucketFields = {
  ratePerMinute: rate.nullable().optional().openapi({
    description: "Units bucket: units (tokens on token routes) added per minute; 0: no refill.",
  }),
  burst: burst.nullable().optional().openapi({ description: "Units bucket: capacity." }),
  requestsPerMinute: rate.nullable().optional().openapi({
    description: "Request bucket: calls added per minute. Each call takes 1 at admission; it is never settled.",
  }),
  requestBurst: burst.nullable().optional().openapi({ description: "Request bucket: capacity." }),
};

const BUCKET_RULE =
  "A bucket given only one of its two numbers uses it for both (a minute's worth); given neither, there is none. A rate of 0 (no refill) with a null burst is refused.";

type BucketFields = { ratePerMinute?: number | null; burst?: number | null } & {
  requestsPerMinute?: number | null;
  requestBurst?: number | null;
};

/**
 * A rate of 0 alone would make no bucket at all (src/core/limits.ts bucketOf: its burst would
 * be 0), the opposite of the block an operator setting it means: refused where this object
 * alone says the bucket has no burst. `absentIsNone` says, per bucket, whether a burst left out
 * here is none (a key's limits, a quota's request bucket) or comes from elsewhere (the
 * gateway's default, the quota under an override); a null burst is none in both. Not used on
 * a route's entry, where null and absent both mean the tenant's number.
 */
const zeroRateNeedsBurst =
  (absentIsNone: { units: boolean; requests: boolean }) => (b: BucketFields, ctx: z.RefinementCtx) => {
    const check = (rate: number | null | undefined, burst: number | null | undefined, absentNone: boolean) =>
      rate === 0 && (burst === null || (burst === undefined && absentNone));
    const refuse = (field: string, path: string) =>
      ctx.addIssue({
        code: "custom",
        path: [path],
        message: `${field} 0 never refills, so it needs a ${path} (the units the bucket holds); without one there would be no limit at all`,
      });
    if (check(b.ratePerMinute, b.burst, absentIsNone.units)) refuse("ratePerMinute", "burst");
    if (check(b.requestsPerMinute, b.requestBurst, absentIsNone.requests)) refuse("requestsPerMinute", "requestBurst");
  };

export const AlertsSchema = z
  .strictObject({
    thresholds: z
      .array(
        z
          .number()
          .gt(0)
          .max(1)
          .refine((t) => Math.abs(t * 10_000 - Math.round(t * 10_000)) < 1e-6, "at most 4 decimals"),
      )
      .max(10)
      .refine((t) => new Set(t).size === t.length, "each threshold once"),
    inherited: z.boolean().optional().openapi({
      description:
        "In a tenant: true while the tenant follows QUOTA_ALERT_THRESHOLDS (its quota was written without alerts). In a quota written back: true keeps following them (the thresholds sent are then ignored).",
    }),
  })
  .openapi("QuotaAlerts", {
    description:
      "Fractions of the daily quota whose crossing sends a quota.threshold webhook, once per day each. Left out: QUOTA_ALERT_THRESHOLDS (default 0.8 and 1). []: none.",
    example: { thresholds: [0.8, 1] },
  });

export const KeyLimitsSchema = z
  .strictObject(bucketFields)
  .superRefine(zeroRateNeedsBurst({ units: true, requests: true }))
  .openapi("KeyLimits", {
    description: `A key's own buckets, applied to each route apart (policies key/<route> and key/<route>/requests), on top of the tenant's. ${BUCKET_RULE}`,
  });

export const RouteOverrideSchema = z
  .strictObject({
    ...bucketFields,
    maxConcurrent: concurrent.nullable().optional().openapi({ description: "Calls to this route in flight at once." }),
    cost: callUnits.optional(),
  })
  .openapi("RouteOverride", {
    description: `Per-route buckets, cost and cap; unset fields use the tenant's. ${BUCKET_RULE}`,
  });

// The mechanics are docs/architecture.md's "Token leases" (issue 18); the field is only the opt-in.
const LEASES_DESCRIPTION =
  "Lease mode: gateways may admit this tenant's calls from units leased from the limiter, without a round trip per call; changes reach every gateway within 1 s. Default false (exact mode).";

export const QuotaSchema = z
  .strictObject({
    ...bucketFields,
    maxConcurrent: concurrent.nullable().optional().openapi({
      description: "Calls in flight at once for the whole tenant (reserved calls: every proxied call). null: no cap.",
    }),
    dailyUnits: units
      .nullable()
      .optional()
      .openapi({ description: "Units per calendar day; null for no daily limit." }),
    alerts: AlertsSchema.optional(),
    timeZone: z
      .string()
      .refine(isValidTimeZone, "not an IANA time zone name")
      .optional()
      .openapi({ description: "Time zone whose midnight resets the daily quota.", example: "UTC" }),
    shadow: z.boolean().optional().openapi({ description: "Evaluate and report, but never block." }),
    leases: z.boolean().optional().openapi({ description: LEASES_DESCRIPTION }),
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
  // Left out, a units burst is the gateway's default; a request burst has none.
  .superRefine(zeroRateNeedsBurst({ units: false, requests: true }))
  .openapi("Quota", {
    description: `Every route's buckets, the calls-in-flight cap and the daily quota. A field left out takes the gateway's default; null means none. ${BUCKET_RULE}`,
  });

export const ResolvedQuotaSchema = z
  .object({
    ratePerMinute: z.int().nullable(),
    burst: z.int().nullable(),
    requestsPerMinute: z.int().nullable(),
    requestBurst: z.int().nullable(),
    maxConcurrent: z.int().nullable(),
    alerts: AlertsSchema,
    dailyUnits: z.int().nullable(),
    timeZone: z.string(),
    shadow: z.boolean(),
    leases: z.boolean().openapi({ description: LEASES_DESCRIPTION }),
    routes: z.record(z.string(), RouteOverrideSchema),
    unitPrice: z.string().nullable(),
  })
  .openapi("ResolvedQuota");

/** Longest an override may last: a temporary change that outlives a year is a quota. */
export const MAX_OVERRIDE_DAYS = 366;

export const OverrideQuotaSchema = z
  .strictObject({
    ...bucketFields,
    maxConcurrent: concurrent.nullable().optional(),
    dailyUnits: units.nullable().optional(),
    shadow: z.boolean().optional(),
    routes: z
      .record(routeKeySchema, RouteOverrideSchema)
      .refine((r) => Object.keys(r).length <= 100, "at most 100 route overrides")
      .optional(),
  })
  .refine((q) => Object.keys(q).length > 0, "an override changes at least one limit")
  // Left out, a burst is the quota's.
  .superRefine(zeroRateNeedsBurst({ units: false, requests: false }))
  .openapi("OverrideQuota", {
    description:
      "The limits to use instead of the quota's while the override lasts: a field given replaces the quota's (null: none); in a route given, the fields it gives replace that route's (so raising a route's burst keeps its cost); the rest stay.",
  });

export const OverrideSchema = z
  .strictObject({
    quota: OverrideQuotaSchema,
    until: z.iso.datetime({ offset: true }).openapi({
      description: `When the quota's own limits apply again, by themselves: in the future, at most ${MAX_OVERRIDE_DAYS} days ahead.`,
      example: "2026-12-01T18:00:00Z",
    }),
  })
  .openapi("Override");

export const TenantStatusSchema = z.enum(["active", "suspended"]);

/** Free text that Postgres will store: no control characters (a NUL is not even storable). */
export const TenantSchema = z
  .object({
    id: z.string().openapi({ example: "tnq3v7k2m4x5c6b7n8p9" }),
    name: z.string(),
    status: TenantStatusSchema,
    billingAccountId: z.string().nullable(),
    paymentMethodRef: z.string().nullable(),
    quota: ResolvedQuotaSchema,
    override: OverrideSchema.nullable().openapi({
      description: "The operator's temporary change to the quota while it lasts, and when it ends; null: none.",
    }),
    createdAt: z.string().openapi({ format: "date-time" }),
    updatedAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Tenant");

export const CreateTenantSchema = z
  .strictObject({
    name,
    status: TenantStatusSchema.optional(),
    billingAccountId: billingAccountId.optional(),
    paymentMethodRef: paymentMethodRef.optional(),
    quota: QuotaSchema.optional(),
  })
  .openapi("CreateTenant");

export const UpdateTenantSchema = z
  .strictObject({
    name: name.optional(),
    status: TenantStatusSchema.optional(),
    billingAccountId: billingAccountId.optional(),
    paymentMethodRef: paymentMethodRef.optional(),
  })
  .openapi("UpdateTenant");

export const TenantListSchema = z
  .object({ tenants: z.array(TenantSchema), nextCursor: z.string().nullable() })
  .openapi("TenantList");

export const TenantIdParamSchema = z.object({
  id: z
    .string()
    .regex(TENANT_ID_PATTERN, "not a tenant id")
    .openapi({ param: { name: "id", in: "path" }, example: "tnq3v7k2m4x5c6b7n8p9" }),
});

export const KeyIdParamSchema = TenantIdParamSchema.extend({
  keyId: z
    .string()
    .regex(/^key[a-z2-7]{16}$/, "not a key id")
    .openapi({ param: { name: "keyId", in: "path" } }),
});

export const CreateKeySchema = z
  .strictObject({ name: z.string().trim().min(1).max(200).optional(), limits: KeyLimitsSchema.nullable().optional() })
  .openapi("CreateKey");

export const UpdateKeySchema = z.strictObject({ limits: KeyLimitsSchema.nullable() }).openapi("UpdateKey");

export const KeySchema = z
  .object({
    id: z.string(),
    prefix: z.string().openapi({ description: "The key's first characters, for display." }),
    name: z.string().nullable(),
    limits: KeyLimitsSchema.nullable(),
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
  kind: z.enum(["bucket", "requests", "daily", "concurrency"]),
  quota: z.int(),
  windowSeconds: z.int(),
  remaining: z.int(),
  resetSeconds: z.int(),
});

export const LimitsSchema = z
  .object({
    tenantId: z.string(),
    shadow: z.boolean(),
    buckets: z.array(PolicySchema.extend({ ratePerMinute: z.int(), burst: z.int() })).openapi({
      description:
        "Each route's units bucket (kind bucket) and request bucket (kind requests); with a key, the key's own.",
    }),
    concurrency: z
      .array(z.object({ name: z.string(), limit: z.int(), inFlight: z.int() }))
      .openapi({ description: "Each calls-in-flight cap, the tenant's first, with the calls holding a slot." }),
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
