// The billing tables: invoices and their lines, the price book, and the webhook outbox.
// Exported through schema.ts, the module drizzle-kit reads.

import { sql } from "drizzle-orm";
import { bigint, check, date, index, integer, jsonb, numeric, pgTable, text, unique } from "drizzle-orm/pg-core";
import { PRICE_DIMENSIONS, type PriceDimension, type PriceTier } from "../core/price-book";
import { ts } from "./columns";
import { tenants } from "./schema";

/**
 * A line of an invoice (v2): one per model, dimension, tier and unit price, for the
 * invoice's own period or, with `adjustment`, for an earlier period whose usage came late.
 */
export interface InvoiceLine {
  /** null: usage with no model (a route that is not an AI one). */
  model: string | null;
  dimension: PriceDimension;
  /** The tier's index in its price's tiers; absent for a price without tiers. */
  tier?: number;
  quantity: number;
  unitPrice: string;
  amountMinor: number;
  /** The period the usage belongs to: the invoice's own, or the earlier one it was late for. */
  periodStart: string;
  periodEnd: string;
  adjustment?: true;
}

/** A line of an invoice issued before the price book (v1): one per route. Kept as issued. */
export interface InvoiceLineV1 {
  kind: "usage" | "adjustment";
  route: string;
  periodStart: string;
  periodEnd: string;
  units: number;
  requests: number;
  unitPrice: string;
  amountMinor: number;
}

export const invoices = pgTable(
  "invoices",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    periodStart: date("period_start", { mode: "string" }).notNull(),
    periodEnd: date("period_end", { mode: "string" }).notNull(),
    units: bigint("units", { mode: "number" }).notNull(),
    amountMinor: bigint("amount_minor", { mode: "number" }).notNull(),
    currency: text("currency").notNull(),
    status: text("status", { enum: ["draft", "issued", "paid", "void"] })
      .notNull()
      .default("issued"),
    lineItems: jsonb("line_items").$type<InvoiceLine[] | InvoiceLineV1[]>().notNull(),
    /** The tenant's billing details when the invoice was issued (v2), for the billing system. */
    billingAccountId: text("billing_account_id"),
    paymentMethodRef: text("payment_method_ref"),
    createdAt: ts("created_at").notNull().defaultNow(),
    paidAt: ts("paid_at"),
    voidedAt: ts("voided_at"),
  },
  (t) => [
    unique("invoices_tenant_period_unique").on(t.tenantId, t.periodStart, t.periodEnd),
    index("invoices_status_idx").on(t.status, t.createdAt),
    check("invoices_status_check", sql`${t.status} in ('draft', 'issued', 'paid', 'void')`),
    check("invoices_period_check", sql`${t.periodStart} < ${t.periodEnd}`),
  ],
);

/**
 * The price book (v2): the global book (tenant_id null) and tenants' own prices, which
 * override it dimension by dimension. A price is never edited in place: a new price for
 * the same model and dimension starts on a later `effective_from`.
 */
export const prices = pgTable(
  "prices",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    tenantId: text("tenant_id").references(() => tenants.id, { onDelete: "cascade" }),
    /** An exact model name, a prefix ending in *, or *. */
    model: text("model").notNull(),
    dimension: text("dimension", { enum: PRICE_DIMENSIONS }).notNull(),
    currency: text("currency").notNull(),
    /** Per single unit, exact; with tiers, the first tier's. */
    unitPrice: numeric("unit_price", { precision: 30, scale: 12 }).notNull(),
    effectiveFrom: date("effective_from", { mode: "string" }).notNull(),
    tiers: jsonb("tiers").$type<PriceTier[]>(),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  (t) => [
    unique("prices_scope_unique").on(t.tenantId, t.model, t.dimension, t.effectiveFrom).nullsNotDistinct(),
    check(
      "prices_dimension_check",
      sql`${t.dimension} in (${sql.raw(PRICE_DIMENSIONS.map((d) => `'${d}'`).join(", "))})`,
    ),
    check("prices_unit_price_check", sql`${t.unitPrice} >= 0`),
  ],
);

/** The webhook outbox: written in the transaction of the change it announces, sent with retries. */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    /** Also the `webhook-id` header: the same on every attempt. */
    id: text("id").primaryKey(),
    eventType: text("event_type").notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    status: text("status", { enum: ["pending", "delivered", "failed", "disabled"] })
      .notNull()
      .default("pending"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: ts("next_attempt_at"),
    lastStatus: integer("last_status"),
    lastError: text("last_error"),
    /** Set while a dispatcher holds the row; its outcome is written only if it still holds it. */
    claimToken: text("claim_token"),
    createdAt: ts("created_at").notNull().defaultNow(),
    deliveredAt: ts("delivered_at"),
  },
  (t) => [
    index("webhook_deliveries_due_idx").on(t.status, t.nextAttemptAt),
    index("webhook_deliveries_created_idx").on(t.createdAt),
    check("webhook_deliveries_status_check", sql`${t.status} in ('pending', 'delivered', 'failed', 'disabled')`),
  ],
);
