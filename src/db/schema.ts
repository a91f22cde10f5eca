// The Postgres schema: tenants, their API keys and their quotas. Postgres is the source of truth.

import { sql } from "drizzle-orm";
import { bigint, boolean, check, index, integer, jsonb, numeric, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import type { RouteOverride } from "../core/limits";

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
    ratePerMinute: integer("rate_per_minute").notNull(),
    burst: integer("burst").notNull(),
    /** Units per day; null means no daily limit. */
    dailyUnits: bigint("daily_units", { mode: "number" }),
    timeZone: text("time_zone").notNull().default("UTC"),
    shadow: boolean("shadow").notNull().default(false),
    routes: jsonb("routes").$type<Record<string, RouteOverride>>().notNull().default({}),
    /** Dollars per unit as an exact decimal; null uses BILLING_UNIT_COST. */
    unitPrice: numeric("unit_price", { precision: 30, scale: 12 }),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    check("tenant_quotas_rate_check", sql`${t.ratePerMinute} >= 0`),
    check("tenant_quotas_burst_check", sql`${t.burst} >= 1`),
    check("tenant_quotas_daily_check", sql`${t.dailyUnits} is null or ${t.dailyUnits} >= 0`),
  ],
);

export type TenantRow = typeof tenants.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type TenantQuotaRow = typeof tenantQuotas.$inferSelect;
