// The invoice run: closed-period usage from the daily rollup into one invoice per tenant,
// priced exactly, with its webhook in the same transaction.

import { sql } from "drizzle-orm";
import { type BillingPeriodKind, dayStart, type Period, periodContaining } from "../core/billing-period";
import { lineAmountMinor, type Price, parsePrice, trimDecimal } from "../core/money";
import { type Database, rowsOf, type Transaction } from "../db/database";
import { BILLING_LOCK } from "../db/lock";
import type { InvoiceLine } from "../db/schema";
import { newInvoiceId } from "./ids";
import { invoiceEvent } from "./invoice-view";
import { enqueueWebhooks } from "./webhooks/outbox";

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

function linesOf(rows: UnbilledRow[], period: Period, settings: BillingSettings): InvoiceLine[] {
  return rows.map((r) => {
    const price = r.unit_price ? parsePrice(trimDecimal(r.unit_price)) : settings.unitPrice;
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
      unitPrice: trimDecimal(price.decimal),
      amountMinor: Number(amount),
    };
  });
}

/**
 * Invoices `period` for every tenant with usage left to bill.
 *
 * It reads the rollup, never raw events: the days from `billing_state.billed_through` (how
 * far the last run reached) to the period's end, and the late usage that arrived for days
 * already invoiced (usage_late). Usage of the period goes on usage lines, one per route;
 * usage of earlier days (late, or from periods no run covered) goes on adjustment lines
 * that name their own period. Then billed_through moves to the period's end.
 *
 * Safe to repeat and to run concurrently: runs take an exclusive advisory lock (which also
 * holds ingests back for the moment, so none can slip between what the run read and the
 * watermark it sets), a tenant that already has the period's invoice is skipped (its late
 * usage waits for its next invoice), and UNIQUE(tenant, period) backs both up.
 */
export async function runInvoicing(
  db: Database,
  period: Period,
  settings: BillingSettings,
  options: RunOptions = {},
): Promise<InvoiceRunResult> {
  const now = options.now ?? new Date();
  // READ COMMITTED, whatever the database's default: each statement after the lock sees
  // every ingest that finished before the run got it.
  return db.transaction(
    async (tx) => {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(${BILLING_LOCK})`);
      const periodOf =
        settings.kind === "month"
          ? sql`CASE WHEN x.day >= ${period.start}::date THEN ${period.start}::date ELSE date_trunc('month', x.day)::date END`
          : sql`CASE WHEN x.day >= ${period.start}::date THEN ${period.start}::date ELSE x.day END`;
      const rows = rowsOf<UnbilledRow>(
        await tx.execute(sql`
        WITH since AS (
          SELECT coalesce((SELECT billed_through FROM billing_state WHERE id = 1), date '1970-01-01') AS day
        ), x AS (
          SELECT u.tenant_id, u.day, u.route, u.units, u.requests
          FROM usage_daily u, since
          WHERE u.day >= since.day AND u.day < ${period.end}::date
          UNION ALL
          SELECT l.tenant_id, l.day, l.route, l.units, l.requests FROM usage_late l WHERE l.day < ${period.end}::date
        )
        SELECT x.tenant_id, x.route, to_char(${periodOf}, 'YYYY-MM-DD') AS period_start,
               sum(x.units)::text AS units, sum(x.requests)::text AS requests, q.unit_price::text AS unit_price
        FROM x LEFT JOIN tenant_quotas q ON q.tenant_id = x.tenant_id
        WHERE NOT EXISTS (
          SELECT 1 FROM invoices i
          WHERE i.tenant_id = x.tenant_id AND i.period_start = ${period.start}::date AND i.period_end = ${period.end}::date
        )
        GROUP BY x.tenant_id, x.route, 3, q.unit_price
        ORDER BY x.tenant_id, 3 DESC, x.route`),
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
          WHERE t.status = 'active' AND t.created_at < ${period.end}::date AND t.id <> ALL(${`{${[...byTenant.keys()].join(",")}}`}::text[])
            AND NOT EXISTS (
              SELECT 1 FROM invoices i
              WHERE i.tenant_id = t.id AND i.period_start = ${period.start}::date AND i.period_end = ${period.end}::date
            )`),
        );
        for (const { id } of idle) drafts.push({ id: newInvoiceId(), tenantId: id, lines: [] });
      }
      if (drafts.length === 0) {
        await advanceWatermark(tx, period);
        return { period, created: [], deliveries: [] };
      }

      const records = drafts.map((d) => ({
        id: d.id,
        tenant_id: d.tenantId,
        units: safeSum(d.lines.map((l) => l.units)),
        amount_minor: safeSum(d.lines.map((l) => l.amountMinor)),
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
      // Every drafted tenant was free of an invoice for the period under the lock, so every
      // insert lands; if one did not, its usage would be skipped past: refuse to commit.
      if (inserted.length !== drafts.length) {
        throw new Error(`invoice run for ${period.start}: ${drafts.length} drafted but ${inserted.length} inserted`);
      }
      // The late usage these invoices carry is billed now.
      const tenantIds = `{${inserted.map((r) => r.tenant_id).join(",")}}`;
      await tx.execute(
        sql`DELETE FROM usage_late WHERE day < ${period.end}::date AND tenant_id = ANY(${tenantIds}::text[])`,
      );
      await advanceWatermark(tx, period);
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
    },
    { isolationLevel: "read committed" },
  );
}

/** Every day before the period's end is now invoiced; the watermark never moves back. */
async function advanceWatermark(tx: Transaction, period: Period): Promise<void> {
  await tx.execute(sql`
    INSERT INTO billing_state (id, billed_through) VALUES (1, ${period.end}::date)
    ON CONFLICT (id) DO UPDATE SET billed_through = greatest(billing_state.billed_through, excluded.billed_through)`);
}

/** A sum that refuses to lose precision: totals are exact or the run fails loudly. */
function safeSum(values: number[]): number {
  const total = values.reduce((sum, v) => sum + BigInt(v), 0n);
  if (total > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`an invoice total of ${total} is too large`);
  return Number(total);
}
