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
} from "drizzle-orm/pg-core";
import type { KeyLimits, OverrideQuota, RouteOverride } from "../core/limits";
import type { invoices, prices, webhookDeliveries } from "./billing-schema";
import { ts } from "./columns";

// The billing tables (invoices, prices, webhook deliveries) live in billing-schema.ts; this
// module is the one drizzle-kit reads, so it exports them too.
export * from "./billing-schema";

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
    /** Lease mode (issue 18, docs/architecture.md "Token leases"); false: exact mode, the default. */
    leases: boolean("leases").notNull().default(false),
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
    // The console's fleet page reads the last hour of calls, and the newest one, by it.
    index("usage_records_occurred_idx").on(t.occurredAt),
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
  // The Worker's /metrics and the console's fleet page read one day of every tenant; the
  // primary key leads with the tenant, so without this each read scans the whole history.
  index("usage_daily_day_idx").on(t.day),
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

export type TenantRow = typeof tenants.$inferSelect;
export type InvoiceRow = typeof invoices.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type PriceRow = typeof prices.$inferSelect;
export type TenantQuotaRow = typeof tenantQuotas.$inferSelect;
