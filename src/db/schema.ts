// The Postgres schema: tenants, keys and quotas (the source of truth), and metered usage.

import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  date,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
} from "drizzle-orm/pg-core";
import type { KeyLimits, OverrideQuota, RouteOverride } from "../core/limits";
import { PRICE_DIMENSIONS, type PriceDimension, type PriceTier } from "../core/price-book";

// Millisecond precision, so a timestamp survives the round trip through a JS Date exactly
// (keyset pagination cursors depend on it).
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date", precision: 3 });

const timestamps = {
  createdAt: ts("created_at").notNull().defaultNow(),
  updatedAt: ts("updated_at").notNull().defaultNow(),
};

export const tenants = pgTable(
  "tenants",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    status: text("status", { enum: ["active", "suspended"] })
      .notNull()
      .default("active"),
    billingAccountId: text("billing_account_id"),
    /** A billing provider's customer or payment-method id (v2). Never card data. */
    paymentMethodRef: text("payment_method_ref"),
    webhookUrl: text("webhook_url"),
    /** Bumped in the transaction of every change, so limiters can drop stale pushes. */
    configVersion: bigint("config_version", { mode: "number" }).notNull().default(1),
    ...timestamps,
  },
  (t) => [
    check("tenants_status_check", sql`${t.status} in ('active', 'suspended')`),
    // Keyset pagination walks tenants in creation order.
    index("tenants_created_idx").on(t.createdAt, t.id),
  ],
);

export const apiKeys = pgTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    /** The first characters of the key, for display. Not enough to use it. */
    prefix: text("prefix").notNull(),
    /** Lowercase hex SHA-256 of the whole key. The key itself is never stored. */
    keyHash: text("key_hash").notNull().unique(),
    name: text("name"),
    /** The key's own limits (v2), on top of the tenant's; null: none. */
    limits: jsonb("limits").$type<KeyLimits>(),
    createdAt: ts("created_at").notNull().defaultNow(),
    revokedAt: ts("revoked_at"),
  },
  (t) => [
    index("api_keys_tenant_idx").on(t.tenantId),
    check("api_keys_hash_check", sql`${t.keyHash} ~ '^[0-9a-f]{64}$'`),
  ],
);

export const tenantQuotas = pgTable(
  "tenant_quotas",
  {
    tenantId: text("tenant_id")
      .primaryKey()
      .references(() => tenants.id, { onDelete: "cascade" }),
    // The units bucket of every route; both null: none (v2; before it every tenant had one).
    ratePerMinute: integer("rate_per_minute"),
    burst: integer("burst"),
    // The request bucket of every route (v2); null: none, which is what every existing quota gets.
    requestsPerMinute: integer("requests_per_minute"),
    requestBurst: integer("request_burst"),
    /** Calls in flight for the whole tenant (v2); null: no cap. */
    maxConcurrent: integer("max_concurrent"),
    /** Units per day; null means no daily limit. */
    dailyUnits: bigint("daily_units", { mode: "number" }),
    timeZone: text("time_zone").notNull().default("UTC"),
    shadow: boolean("shadow").notNull().default(false),
    routes: jsonb("routes").$type<Record<string, RouteOverride>>().notNull().default({}),
    /** Fractions of the daily quota that send quota.threshold (v2); null: QUOTA_ALERT_THRESHOLDS. */
    alertThresholds: jsonb("alert_thresholds").$type<number[]>(),
    /** An operator's temporary change to these limits (v2), in force until override_until. */
    override: jsonb("override").$type<OverrideQuota>(),
    overrideUntil: ts("override_until"),
    /** Dollars per unit as an exact decimal; null uses BILLING_UNIT_COST. */
    unitPrice: numeric("unit_price", { precision: 30, scale: 12 }),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    check("tenant_quotas_rate_check", sql`${t.ratePerMinute} >= 0`),
    check("tenant_quotas_burst_check", sql`${t.burst} >= 1`),
    check("tenant_quotas_daily_check", sql`${t.dailyUnits} is null or ${t.dailyUnits} >= 0`),
    check("tenant_quotas_requests_check", sql`${t.requestsPerMinute} >= 0 and ${t.requestBurst} >= 1`),
    check("tenant_quotas_concurrency_check", sql`${t.maxConcurrent} >= 1`),
    check("tenant_quotas_override_check", sql`(${t.override} is null) = (${t.overrideUntil} is null)`),
  ],
);

/**
 * One row per usage event. `event_id` is the idempotency key of the whole pipeline: the
 * queue delivers at least once and the consumer inserts with ON CONFLICT DO NOTHING.
 * There is deliberately no foreign key to tenants: an event for a tenant deleted in the
 * meantime must not fail its whole batch forever.
 */
export const usageRecords = pgTable(
  "usage_records",
  {
    eventId: text("event_id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    route: text("route").notNull(),
    /** The model the upstream named; null when unknown. */
    model: text("model"),
    units: bigint("units", { mode: "number" }).notNull(),
    // The usage dimensions (v2). Rows from before them count one request and no tokens.
    requests: bigint("requests", { mode: "number" }).notNull().default(1),
    inputTokens: bigint("input_tokens", { mode: "number" }).notNull().default(0),
    outputTokens: bigint("output_tokens", { mode: "number" }).notNull().default(0),
    cachedInputTokens: bigint("cached_input_tokens", { mode: "number" }).notNull().default(0),
    /** True when the upstream reported nothing and the units are the gateway's estimate. */
    estimated: boolean("estimated").notNull().default(false),
    occurredAt: ts("occurred_at").notNull(),
    receivedAt: ts("received_at").notNull().defaultNow(),
    metadata: jsonb("metadata").$type<Record<string, unknown>>(),
  },
  (t) => [
    check("usage_records_units_check", sql`${t.units} >= 0`),
    check(
      "usage_records_dimensions_check",
      sql`${t.requests} >= 0 AND ${t.inputTokens} >= 0 AND ${t.outputTokens} >= 0 AND ${t.cachedInputTokens} >= 0 AND ${t.cachedInputTokens} <= ${t.inputTokens}`,
    ),
  ],
);

/**
 * Usage per tenant, UTC day, route and model, a column per dimension: the shape of both
 * rollup tables. `model` is '' when unknown, since a primary key's columns cannot be null;
 * reads turn it back into null.
 */
const dailyUsageColumns = () => ({
  tenantId: text("tenant_id").notNull(),
  day: date("day", { mode: "string" }).notNull(),
  route: text("route").notNull(),
  model: text("model").notNull().default(""),
  units: bigint("units", { mode: "number" }).notNull(),
  requests: bigint("requests", { mode: "number" }).notNull(),
  inputTokens: bigint("input_tokens", { mode: "number" }).notNull().default(0),
  outputTokens: bigint("output_tokens", { mode: "number" }).notNull().default(0),
  cachedInputTokens: bigint("cached_input_tokens", { mode: "number" }).notNull().default(0),
  /** Of `requests` and `units`, those the upstream reported nothing for: the gateway's estimate. */
  estimatedRequests: bigint("estimated_requests", { mode: "number" }).notNull().default(0),
  estimatedUnits: bigint("estimated_units", { mode: "number" }).notNull().default(0),
});

/** The daily rollup, maintained from newly inserted events only. */
export const usageDaily = pgTable("usage_daily", dailyUsageColumns(), (t) => [
  primaryKey({ columns: [t.tenantId, t.day, t.route, t.model] }),
]);

/**
 * How far invoicing has reached: every day before `billed_through` has been invoiced.
 * One row. The ingest reads it to tell late usage from usage still to be billed.
 */
export const billingState = pgTable(
  "billing_state",
  {
    id: integer("id").primaryKey(),
    billedThrough: date("billed_through", { mode: "string" }).notNull(),
  },
  (t) => [check("billing_state_single_row", sql`${t.id} = 1`)],
);

/**
 * Usage that arrived for days already invoiced (before billing_state.billed_through), kept
 * apart until the next invoice carries it as adjustment lines. The ingest adds to it in
 * the statement that updates the rollup.
 */
export const usageLate = pgTable("usage_late", dailyUsageColumns(), (t) => [
  primaryKey({ columns: [t.tenantId, t.day, t.route, t.model] }),
]);

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

export type TenantRow = typeof tenants.$inferSelect;
export type InvoiceRow = typeof invoices.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type PriceRow = typeof prices.$inferSelect;
export type TenantQuotaRow = typeof tenantQuotas.$inferSelect;
