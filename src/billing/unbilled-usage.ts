// What an invoice run reads from the rollup, never from raw events: the usage left to bill,
// the part of earlier periods already billed (for the tiers late usage falls in), and the
// tenants' billing details.
//
// Rows are per tenant, model, period and run of days between two effectiveFrom days of any
// stored price: a price can only change on such a day, so a run of days has one price per
// dimension and is priced as one. Without price changes in a period, that is one row per
// tenant and model, whatever the number of days or events.

import { type SQL, sql } from "drizzle-orm";
import type { BillingPeriodKind, Period } from "../core/billing-period";
import { type Database, rowsOf, type Transaction } from "../db/database";
import type { UsageRow } from "./invoice-lines";

type SqlRow = {
  tenant_id: string;
  model: string;
  period_start: string;
  day: string;
  units: string;
  requests: string;
  input_tokens: string;
  output_tokens: string;
  cached_input_tokens: string;
};

const SUMS = sql.raw(`sum(x.units) AS units, sum(x.requests) AS requests,
  sum(x.input_tokens) AS input_tokens, sum(x.output_tokens) AS output_tokens,
  sum(x.cached_input_tokens) AS cached_input_tokens`);
const COLUMNS = sql.raw("units, requests, input_tokens, output_tokens, cached_input_tokens");

/** The days a stored price starts on, for the SQL: where runs of days with one price end. */
export function priceDaysOf(effectiveFrom: Iterable<string>): string {
  return `{${[...new Set(effectiveFrom)].sort().join(",")}}`;
}

/** The first day of the period `x.day` is in; `current` for every day from its start on. */
function periodOf(kind: BillingPeriodKind, current: Period | null): SQL {
  if (current === null) return kind === "month" ? sql`date_trunc('month', x.day)::date` : sql`x.day`;
  return kind === "month"
    ? sql`CASE WHEN x.day >= ${current.start}::date THEN ${current.start}::date ELSE date_trunc('month', x.day)::date END`
    : sql`CASE WHEN x.day >= ${current.start}::date THEN ${current.start}::date ELSE x.day END`;
}

/**
 * `source`'s rows summed per tenant, model, period and run of days. The price days come as a
 * value, not a subquery, so the planner sizes the aggregate right; the text is made after
 * grouping, once per group, and `where` filters groups, not rows.
 */
function grouped(
  source: SQL,
  kind: BillingPeriodKind,
  period: Period | null,
  priceDays: string,
  where: SQL = sql`true`,
): SQL {
  return sql`
    SELECT g.tenant_id, g.model, to_char(g.period_start, 'YYYY-MM-DD') AS period_start,
           to_char(g.day, 'YYYY-MM-DD') AS day, g.units::text AS units, g.requests::text AS requests,
           g.input_tokens::text AS input_tokens, g.output_tokens::text AS output_tokens,
           g.cached_input_tokens::text AS cached_input_tokens
    FROM (
      SELECT x.tenant_id, x.model, ${periodOf(kind, period)} AS period_start, min(x.day) AS day, ${SUMS}
      FROM (${source}) x
      GROUP BY x.tenant_id, x.model, 3, width_bucket(x.day, ${priceDays}::date[])
    ) g
    WHERE ${where}`;
}

function byTenant(rows: SqlRow[]): Map<string, UsageRow[]> {
  const tenants = new Map<string, UsageRow[]>();
  for (const r of rows) {
    const list = tenants.get(r.tenant_id) ?? [];
    list.push({
      model: r.model,
      periodStart: r.period_start,
      day: r.day,
      totals: {
        units: BigInt(r.units),
        requests: BigInt(r.requests),
        inputTokens: BigInt(r.input_tokens),
        outputTokens: BigInt(r.output_tokens),
        cachedInputTokens: BigInt(r.cached_input_tokens),
      },
    });
    tenants.set(r.tenant_id, list);
  }
  return tenants;
}

/**
 * Usage to bill on `period`'s invoices: the days from `billedThrough` (how far the last run
 * reached; null: nothing invoiced yet) to the period's end, and late usage of days already
 * invoiced (usage_late), for tenants without the period's invoice yet.
 */
export async function unbilledUsage(
  tx: Transaction,
  period: Period,
  kind: BillingPeriodKind,
  billedThrough: string | null,
  priceDays: string,
) {
  const source = sql`
    SELECT u.tenant_id, u.day, u.model, ${COLUMNS} FROM usage_daily u
    WHERE u.day >= ${billedThrough ?? "1970-01-01"}::date AND u.day < ${period.end}::date
    UNION ALL
    SELECT l.tenant_id, l.day, l.model, ${COLUMNS} FROM usage_late l WHERE l.day < ${period.end}::date`;
  const notInvoiced = sql`NOT EXISTS (
    SELECT 1 FROM invoices i
    WHERE i.tenant_id = g.tenant_id AND i.period_start = ${period.start}::date AND i.period_end = ${period.end}::date)`;
  return byTenant(rowsOf<SqlRow>(await tx.execute(grouped(source, kind, period, priceDays, notInvoiced))));
}

/**
 * The billed part of each period that has late usage waiting, per tenant: the period's
 * invoiced days (before billed_through) less what still waits in usage_late. Late usage is
 * sliced into tiers after it.
 */
export async function billedUsageOfLatePeriods(
  tx: Transaction,
  period: Period,
  kind: BillingPeriodKind,
  priceDays: string,
): Promise<Map<string, UsageRow[]>> {
  const firstPeriodDay = kind === "month" ? sql`date_trunc('month', f.first_day)::date` : sql`f.first_day`;
  const source = sql`
    WITH late AS (
      SELECT tenant_id, min(day) AS first_day FROM usage_late WHERE day < ${period.end}::date GROUP BY tenant_id
    )
    SELECT d.tenant_id, d.day, d.model,
           d.units - coalesce(l.units, 0) AS units, d.requests - coalesce(l.requests, 0) AS requests,
           d.input_tokens - coalesce(l.input_tokens, 0) AS input_tokens,
           d.output_tokens - coalesce(l.output_tokens, 0) AS output_tokens,
           d.cached_input_tokens - coalesce(l.cached_input_tokens, 0) AS cached_input_tokens
    FROM late f
    JOIN usage_daily d ON d.tenant_id = f.tenant_id AND d.day >= ${firstPeriodDay}
    LEFT JOIN usage_late l ON l.tenant_id = d.tenant_id AND l.day = d.day AND l.route = d.route AND l.model = d.model
    WHERE d.day < (SELECT billed_through FROM billing_state WHERE id = 1)`;
  return byTenant(rowsOf<SqlRow>(await tx.execute(grouped(source, kind, null, priceDays))));
}

/** One tenant's usage of an open period so far, for its estimate: the invoice run's rows. */
export async function periodUsageOf(
  db: Database | Transaction,
  tenantId: string,
  period: Period,
  kind: BillingPeriodKind,
  priceDays: string,
): Promise<UsageRow[]> {
  const source = sql`
    SELECT u.tenant_id, u.day, u.model, ${COLUMNS} FROM usage_daily u
    WHERE u.tenant_id = ${tenantId} AND u.day >= ${period.start}::date AND u.day < ${period.end}::date`;
  return byTenant(rowsOf<SqlRow>(await db.execute(grouped(source, kind, period, priceDays)))).get(tenantId) ?? [];
}

export interface BillingDetails {
  unitPrice: string | null;
  billingAccountId: string | null;
  paymentMethodRef: string | null;
}

/** Each tenant's unit price and billing references; a tenant deleted since has none. */
export async function billingDetails(
  tx: Database | Transaction,
  tenantIds: string[],
): Promise<Map<string, BillingDetails>> {
  const rows = rowsOf<{
    id: string;
    unit_price: string | null;
    billing_account_id: string | null;
    payment_method_ref: string | null;
  }>(
    await tx.execute(sql`
      SELECT t.id, q.unit_price::text AS unit_price, t.billing_account_id, t.payment_method_ref
      FROM tenants t LEFT JOIN tenant_quotas q ON q.tenant_id = t.id
      WHERE t.id = ANY(${`{${tenantIds.join(",")}}`}::text[])`),
  );
  return new Map(
    rows.map((r) => [
      r.id,
      { unitPrice: r.unit_price, billingAccountId: r.billing_account_id, paymentMethodRef: r.payment_method_ref },
    ]),
  );
}
