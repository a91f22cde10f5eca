// The invoice run: closed-period usage from the daily rollup into one invoice per tenant,
// priced exactly, with its webhook in the same transaction.

import { sql } from "drizzle-orm";
import type { BillingPeriodKind, Period } from "../core/billing-period";
import type { Price } from "../core/money";
import { type Database, rowsOf, type Transaction } from "../db/database";
import { BILLING_LOCK } from "../db/lock";
import type { InvoiceLine } from "../db/schema";
import { newInvoiceId } from "./ids";
import { assertBookCurrency, billedBefore, globalLayer, invoiceLines, tenantLookup } from "./invoice-lines";
import { invoiceEvent } from "./invoice-view";
import { billedThrough, loadAllPrices } from "./prices";
import {
  type BillingDetails,
  billedUsageOfLatePeriods,
  billingDetails,
  priceDaysOf,
  unbilledUsage,
} from "./unbilled-usage";
import { enqueueInvoiceEvents } from "./webhooks/outbox";

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
  units: number;
  lines: InvoiceLine[];
  details: BillingDetails | undefined;
}

/** The invoices' drafts: each tenant's usage priced at the prices in force on its days. */
async function draftInvoices(tx: Transaction, period: Period, settings: BillingSettings): Promise<Draft[]> {
  const all = await loadAllPrices(tx);
  assertBookCurrency(all, settings.currency);
  const days = priceDaysOf(all.days);
  const usage = await unbilledUsage(tx, period, settings.kind, await billedThrough(tx), days);
  const billed = await billedUsageOfLatePeriods(tx, period, settings.kind, days);
  const details = await billingDetails(tx, [...usage.keys()]);
  const global = globalLayer(all, settings);
  return [...usage].map(([tenantId, rows]) => {
    const lookup = tenantLookup(all, tenantId, details.get(tenantId)?.unitPrice ?? null, global);
    const before = billedBefore(billed.get(tenantId) ?? [], lookup);
    return {
      id: newInvoiceId(),
      tenantId,
      units: safeSum(rows.map((r) => r.totals.units)),
      lines: invoiceLines(rows, lookup, period, settings, before),
      details: details.get(tenantId),
    };
  });
}

/**
 * Invoices `period` for every tenant with usage left to bill.
 *
 * It reads the rollup, never raw events: the days from `billing_state.billed_through` (how
 * far the last run reached) to the period's end, and the late usage that arrived for days
 * already invoiced (usage_late), each day priced at the prices in force on it (the tenant's
 * own, the global book, then the units prices of last resort: invoice-lines.ts). Usage of the
 * period goes on lines of its own, one per model, dimension, tier and unit price; usage of
 * earlier days (late, or from periods no run covered) goes on adjustment lines that name
 * their own period, in the tiers after what that period already billed. Then billed_through
 * moves to the period's end.
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
      // The run sums a period of every tenant's rollup in one aggregate: room to do it in memory.
      await tx.execute(sql`SET LOCAL work_mem = '64MB'`);
      const drafts = await draftInvoices(tx, period, settings);
      if (settings.zeroInvoices) {
        const idle = rowsOf<{ id: string }>(
          await tx.execute(sql`
          SELECT t.id FROM tenants t
          WHERE t.status = 'active' AND t.created_at < ${period.end}::date AND t.id <> ALL(${`{${drafts.map((d) => d.tenantId).join(",")}}`}::text[])
            AND NOT EXISTS (
              SELECT 1 FROM invoices i
              WHERE i.tenant_id = t.id AND i.period_start = ${period.start}::date AND i.period_end = ${period.end}::date
            )`),
        );
        const details = await billingDetails(
          tx,
          idle.map(({ id }) => id),
        );
        for (const { id } of idle) {
          drafts.push({ id: newInvoiceId(), tenantId: id, units: 0, lines: [], details: details.get(id) });
        }
      }
      if (drafts.length === 0) {
        await advanceWatermark(tx, period);
        return { period, created: [], deliveries: [] };
      }

      const records = drafts.map((d) => ({
        id: d.id,
        tenant_id: d.tenantId,
        units: d.units,
        amount_minor: safeSum(d.lines.map((l) => BigInt(l.amountMinor))),
        line_items: d.lines,
        billing_account_id: d.details?.billingAccountId ?? null,
        payment_method_ref: d.details?.paymentMethodRef ?? null,
      }));
      const inserted = rowsOf<{ id: string; tenant_id: string; amount_minor: string }>(
        await tx.execute(sql`
        INSERT INTO invoices (id, tenant_id, period_start, period_end, units, amount_minor, currency, status, line_items,
                              billing_account_id, payment_method_ref)
        SELECT x.id, x.tenant_id, ${period.start}::date, ${period.end}::date, x.units, x.amount_minor, ${settings.currency}, 'issued',
               x.line_items, x.billing_account_id, x.payment_method_ref
        FROM jsonb_to_recordset(${JSON.stringify(records)}::jsonb)
          AS x(id text, tenant_id text, units bigint, amount_minor bigint, line_items jsonb, billing_account_id text,
               payment_method_ref text)
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
      const deliveries = await enqueueInvoiceEvents(
        tx,
        inserted.map(({ id }) => {
          const record = recordById.get(id);
          if (!record) throw new Error(`invoice ${id} was inserted but never drafted`);
          const event = invoiceEvent(
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
              // Filled in from the stored invoice by enqueueInvoiceEvents.
              lineItems: [],
              billingAccountId: record.billing_account_id,
              paymentMethodRef: record.payment_method_ref,
            },
            now,
          );
          return { ...event, invoiceId: id };
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
function safeSum(values: bigint[]): number {
  const total = values.reduce((sum, v) => sum + v, 0n);
  if (total > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`an invoice total of ${total} is too large`);
  return Number(total);
}
