// The invoice run: closed-period usage from the daily rollup into one invoice per tenant,
// priced exactly, with its webhook in the same transaction.

import { sql } from "drizzle-orm";
import { type BillingPeriodKind, dayStart, type Period, periodContaining } from "../core/billing-period";
import { lineAmountMinor, type Price, parsePrice } from "../core/money";
import { type Database, rowsOf } from "../db/database";
import type { InvoiceLine } from "../db/schema";
import { newInvoiceId } from "./ids";
import { invoiceEvent } from "./invoice-view";
import { enqueueWebhooks } from "./webhooks/outbox";

/** Runs are serialized with this transaction-scoped advisory lock ("aegis" in ASCII). */
const BILLING_LOCK = 0x6165676973;

export interface BillingSettings {
  kind: BillingPeriodKind;
  /** BILLING_UNIT_COST: the price of a unit unless the tenant has its own. */
  unitPrice: Price;
  currency: string;
  /** Invoice tenants that used nothing, too. */
  zeroInvoices: boolean;
}

export interface RunOptions {
  /** The run's time: the cron's scheduled time, or now. Webhook deliveries are due from it. */
  now?: Date;
}

export interface InvoiceRunResult {
  period: Period;
  /** Invoices this run created. */
  created: { id: string; tenantId: string; amountMinor: number }[];
  /** Deliveries written for them (ids), to send at once. */
  deliveries: string[];
}

interface Draft {
  id: string;
  tenantId: string;
  lines: InvoiceLine[];
}

type UnbilledRow = {
  tenant_id: string;
  route: string;
  period_start: string;
  units: string;
  requests: string;
  unit_price: string | null;
};

/** "0.000002000000" as stored by numeric(30,12) reads as "0.000002". */
const normalized = (decimal: string) => (decimal.includes(".") ? decimal.replace(/\.?0+$/, "") : decimal);

function linesOf(rows: UnbilledRow[], period: Period, settings: BillingSettings): InvoiceLine[] {
  return rows.map((r) => {
    const price = r.unit_price ? parsePrice(normalized(r.unit_price)) : settings.unitPrice;
    const own = r.period_start === period.start;
    const periodOfRow = own ? period : periodContaining(dayStart(r.period_start) as number, settings.kind);
    const amount = lineAmountMinor(BigInt(r.units), price, settings.currency);
    if (amount > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`a line of ${amount} minor units is too large`);
    return {
      kind: own ? "usage" : "adjustment",
      route: r.route,
      periodStart: periodOfRow.start,
      periodEnd: periodOfRow.end,
      units: Number(r.units),
      requests: Number(r.requests),
      unitPrice: normalized(price.decimal),
      amountMinor: Number(amount),
    };
  });
}

/**
 * Invoices `period` for every tenant with usage left to bill. Safe to repeat and to run
 * concurrently: runs take an advisory lock, a tenant that already has an invoice for the
 * period is skipped, and UNIQUE(tenant, period) backs both up.
 *
 * It reads the rollup (usage_daily), never raw events. Usage of the period goes on usage
 * lines, one per route; unbilled usage of earlier days (late events, or periods never
 * invoiced) goes on adjustment lines that name their own period. Only the units an invoice
 * carries are marked billed, by increments, so events landing while the run works are
 * billed next time, never lost and never twice.
 */
export async function runInvoicing(
  db: Database,
  period: Period,
  settings: BillingSettings,
  options: RunOptions = {},
): Promise<InvoiceRunResult> {
  const now = options.now ?? new Date();
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(${BILLING_LOCK})`);
    // What is left to bill, row by row, frozen for this run: the marks below add exactly these.
    await tx.execute(sql`
      CREATE TEMP TABLE bill_rows ON COMMIT DROP AS
      SELECT u.tenant_id, u.day, u.route, u.units - u.billed_units AS units, u.requests - u.billed_requests AS requests
      FROM usage_daily u
      WHERE u.day < ${period.end}::date
        AND (u.units > u.billed_units OR u.requests > u.billed_requests)
        AND NOT EXISTS (
          SELECT 1 FROM invoices i
          WHERE i.tenant_id = u.tenant_id AND i.period_start = ${period.start}::date AND i.period_end = ${period.end}::date
        )`);
    const periodStartOf =
      settings.kind === "month"
        ? sql`CASE WHEN b.day >= ${period.start}::date THEN ${period.start}::date ELSE date_trunc('month', b.day)::date END`
        : sql`CASE WHEN b.day >= ${period.start}::date THEN ${period.start}::date ELSE b.day END`;
    const rows = rowsOf<UnbilledRow>(
      await tx.execute(sql`
        SELECT b.tenant_id, b.route, to_char(${periodStartOf}, 'YYYY-MM-DD') AS period_start,
               sum(b.units)::text AS units, sum(b.requests)::text AS requests, q.unit_price::text AS unit_price
        FROM bill_rows b LEFT JOIN tenant_quotas q ON q.tenant_id = b.tenant_id
        GROUP BY b.tenant_id, b.route, 3, q.unit_price
        ORDER BY b.tenant_id, 3 DESC, b.route`),
    );

    const byTenant = new Map<string, UnbilledRow[]>();
    for (const row of rows) {
      const list = byTenant.get(row.tenant_id) ?? [];
      list.push(row);
      byTenant.set(row.tenant_id, list);
    }
    const drafts: Draft[] = [...byTenant].map(([tenantId, tenantRows]) => ({
      id: newInvoiceId(),
      tenantId,
      lines: linesOf(tenantRows, period, settings),
    }));
    if (settings.zeroInvoices) {
      const idle = rowsOf<{ id: string }>(
        await tx.execute(sql`
          SELECT t.id FROM tenants t
          WHERE t.status = 'active' AND NOT EXISTS (SELECT 1 FROM bill_rows b WHERE b.tenant_id = t.id)
            AND NOT EXISTS (
              SELECT 1 FROM invoices i
              WHERE i.tenant_id = t.id AND i.period_start = ${period.start}::date AND i.period_end = ${period.end}::date
            )`),
      );
      for (const { id } of idle) drafts.push({ id: newInvoiceId(), tenantId: id, lines: [] });
    }
    if (drafts.length === 0) return { period, created: [], deliveries: [] };

    const records = drafts.map((d) => ({
      id: d.id,
      tenant_id: d.tenantId,
      units: d.lines.reduce((n, l) => n + l.units, 0),
      amount_minor: d.lines.reduce((n, l) => n + l.amountMinor, 0),
      line_items: d.lines,
    }));
    const inserted = rowsOf<{ id: string; tenant_id: string; amount_minor: string }>(
      await tx.execute(sql`
        INSERT INTO invoices (id, tenant_id, period_start, period_end, units, amount_minor, currency, status, line_items)
        SELECT x.id, x.tenant_id, ${period.start}::date, ${period.end}::date, x.units, x.amount_minor, ${settings.currency}, 'issued', x.line_items
        FROM jsonb_to_recordset(${JSON.stringify(records)}::jsonb)
          AS x(id text, tenant_id text, units bigint, amount_minor bigint, line_items jsonb)
        ON CONFLICT (tenant_id, period_start, period_end) DO NOTHING
        RETURNING id, tenant_id, amount_minor`),
    );
    const tenantIds = inserted.map((r) => r.tenant_id);
    await tx.execute(sql`
      UPDATE usage_daily u
      SET billed_units = u.billed_units + b.units, billed_requests = u.billed_requests + b.requests
      FROM bill_rows b
      WHERE u.tenant_id = b.tenant_id AND u.day = b.day AND u.route = b.route
        AND b.tenant_id = ANY(${`{${tenantIds.join(",")}}`}::text[])`);

    const recordById = new Map(records.map((r) => [r.id, r]));
    const deliveries = await enqueueWebhooks(
      tx,
      inserted.map(({ id }) => {
        const record = recordById.get(id);
        if (!record) throw new Error(`invoice ${id} was inserted but never drafted`);
        return invoiceEvent(
          "invoice.created",
          {
            id,
            tenantId: record.tenant_id,
            periodStart: period.start,
            periodEnd: period.end,
            units: record.units,
            amountMinor: record.amount_minor,
            currency: settings.currency,
            status: "issued",
            lineItems: record.line_items,
          },
          now,
        );
      }),
      now,
    );
    return {
      period,
      created: inserted.map((r) => ({ id: r.id, tenantId: r.tenant_id, amountMinor: Number(r.amount_minor) })),
      deliveries,
    };
  });
}
