// Request and response types, inferred from the same zod schemas the gateway validates and
// documents with, so that they cannot drift. Type-only imports: nothing of zod or the
// server reaches the SDK's runtime.

import type { z } from "@hono/zod-openapi";
import type * as S from "../http/schemas";

export type Tenant = z.output<typeof S.TenantSchema>;
export type TenantList = z.output<typeof S.TenantListSchema>;
export type CreateTenant = z.input<typeof S.CreateTenantSchema>;
export type UpdateTenant = z.input<typeof S.UpdateTenantSchema>;
/** A quota as set: a field left out takes the gateway's default; null means none. */
export type Quota = z.input<typeof S.QuotaSchema>;
/** A quota as shown in a tenant: every field, null where there is none. */
export type ResolvedQuota = z.output<typeof S.ResolvedQuotaSchema>;
export type RouteOverride = z.input<typeof S.RouteOverrideSchema>;
/** A temporary change to a tenant's limits, and when it ends (ISO 8601). */
export type Override = z.input<typeof S.OverrideSchema>;
export type ListQuery = z.input<typeof S.ListQuerySchema>;
export type CreateKey = z.input<typeof S.CreateKeySchema>;
/** A key's own buckets, on top of the tenant's. */
export type KeyLimits = z.input<typeof S.KeyLimitsSchema>;
export type UpdateKey = z.input<typeof S.UpdateKeySchema>;
export type Key = z.output<typeof S.KeySchema>;
export type CreatedKey = z.output<typeof S.CreatedKeySchema>;
export type KeyList = z.output<typeof S.KeyListSchema>;
export type Limits = z.output<typeof S.LimitsSchema>;
/** One bucket in a limits read: kind `bucket` (units) or `requests` (calls). */
export type LimitsBucket = Limits["buckets"][number];
/** One calls-in-flight cap in a limits read, with the calls holding a slot now. */
export type ConcurrencyCap = Limits["concurrency"][number];
export type UsageQuery = z.input<typeof S.UsageQuerySchema>;
export type Usage = z.output<typeof S.UsageSchema>;
export type UsageReport = z.input<typeof S.UsageReportSchema>;
export type UsageReportResult = z.output<typeof S.UsageReportResultSchema>;
export type Invoice = z.output<typeof S.InvoiceSchema>;
/** A line of an invoice priced with the price book: one model, dimension, tier and unit price. */
export type InvoiceLine = z.output<typeof S.InvoiceLineSchema>;
/** A line of an invoice issued before the price book: one route's units. */
export type InvoiceLineV1 = z.output<typeof S.InvoiceLineV1Schema>;
export type InvoiceList = z.output<typeof S.InvoiceListSchema>;
export type InvoiceQuery = z.input<typeof S.InvoiceQuerySchema>;
export type BillingRun = z.input<typeof S.BillingRunSchema>;
export type BillingRunResult = z.output<typeof S.BillingRunResultSchema>;
/** A price book as sent: the global book, or a tenant's own prices. */
export type PriceBookInput = z.input<typeof S.PriceBookInputSchema>;
/** A price book as read: its prices, and `fixedBefore`, the first day whose prices can still change. */
export type PriceBook = z.output<typeof S.PriceBookSchema>;
/** One price of a book: a model pattern's dimension from a day, with optional graduated tiers. */
export type Price = PriceBook["prices"][number];
export type PriceTier = NonNullable<Price["tiers"]>[number];
export type Delivery = z.output<typeof S.DeliverySchema>;
export type DeliveryList = z.output<typeof S.DeliveryListSchema>;
export type DeliveryQuery = z.input<typeof S.DeliveryQuerySchema>;
