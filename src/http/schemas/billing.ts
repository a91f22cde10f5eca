// The schemas of invoices, billing runs and webhook deliveries.

import { z } from "@hono/zod-openapi";
import { DELIVERY_ID_PATTERN } from "../../billing/ids";
import { PRICE_DIMENSIONS } from "../../core/price-book";
import { TENANT_ID_PATTERN } from "../../core/secrets";
import { isoDay, ListQuerySchema } from "./common";

export const InvoiceLineSchema = z
  .object({
    model: z.string().nullable().openapi({ description: "null: usage with no model (not an AI route)." }),
    dimension: z.enum(PRICE_DIMENSIONS),
    tier: z.int().optional().openapi({ description: "The tier's index in its price's tiers; absent without tiers." }),
    quantity: z.int(),
    unitPrice: z.string().openapi({ example: "0.0000025" }),
    amountMinor: z.int().openapi({ description: "quantity x unitPrice, rounded once, half to even." }),
    periodStart: z.string(),
    periodEnd: z.string(),
    adjustment: z
      .literal(true)
      .optional()
      .openapi({ description: "Late usage of the earlier period named by periodStart and periodEnd." }),
  })
  .openapi("InvoiceLine", { description: "One model, dimension, tier and unit price of a period." });

/** The lines of invoices issued before the price book: one per route. */
export const InvoiceLineV1Schema = z
  .object({
    kind: z.enum(["usage", "adjustment"]),
    route: z.string(),
    periodStart: z.string(),
    periodEnd: z.string(),
    units: z.int(),
    requests: z.int(),
    unitPrice: z.string().openapi({ example: "0.000002" }),
    amountMinor: z.int(),
  })
  .openapi("InvoiceLineV1", { description: "A line of an invoice issued before the price book (v1)." });

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
    lineItems: z.union([z.array(InvoiceLineSchema), z.array(InvoiceLineV1Schema)]).openapi({
      description: "The invoice's lines; invoices issued before the price book keep their v1 lines.",
    }),
    billingAccountId: z.string().nullable(),
    paymentMethodRef: z
      .string()
      .nullable()
      .openapi({ description: "The tenant's payment-method reference when the invoice was issued." }),
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
    .regex(TENANT_ID_PATTERN, "not a tenant id")
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
  tenantId: z
    .string()
    .regex(TENANT_ID_PATTERN, "not a tenant id")
    .optional()
    .openapi({
      param: { name: "tenantId", in: "query" },
      description: "Only the deliveries about this tenant (the payload's data.tenantId).",
    }),
});

export const DeliveryIdParamSchema = z.object({
  id: z
    .string()
    .regex(DELIVERY_ID_PATTERN, "not a delivery id")
    .openapi({ param: { name: "id", in: "path" } }),
});
