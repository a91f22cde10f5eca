// A tenant's usage priced into invoice lines: the same code for the invoice run and for
// the tenant's estimate of its open period (GET /account/v1/usage?include=cost).

import { billableUsage, layeredLookup, priceLayer, type UsageTotals } from "../core/billable-usage";
import { dayStart, type Period, periodContaining } from "../core/billing-period";
import { trimDecimal } from "../core/money";
import { PRICE_DIMENSIONS } from "../core/price-book";
import { type DayUsage, type PriceLookup, priceUsage } from "../core/price-usage";
import type { InvoiceLine } from "../db/schema";
import type { BillingSettings } from "./invoice-run";
import type { AllPrices } from "./prices";

/**
 * Usage of one tenant and model over days that share their prices (the SQL groups a
 * period's days between two effectiveFrom days of any price), from the rollup.
 */
export interface UsageRow {
  /** '' when unknown. */
  model: string;
  /** The first day of the period the usage belongs to. */
  periodStart: string;
  /** The first day of the run of days: their prices are this day's. */
  day: string;
  totals: UsageTotals;
}

/** The global book over BILLING_UNIT_COST: made once per run and shared by every tenant. */
export function globalLayer(all: AllPrices, settings: BillingSettings): PriceLookup {
  return priceLayer(all.global, trimDecimal(settings.unitPrice.decimal));
}

/** The prices a tenant pays: its own, over the global layer, over the units prices of last resort. */
export function tenantLookup(all: AllPrices, tenantId: string, unitPrice: string | null, global: PriceLookup) {
  // numeric(30,12) hands back "0.010000000000": lines show prices as the book does.
  const own = priceLayer(all.byTenant.get(tenantId) ?? [], unitPrice === null ? null : trimDecimal(unitPrice));
  return layeredLookup(own, global);
}

/** A price book left in an earlier BILLING_CURRENCY: an operator's mistake, never priced. */
export class BookCurrencyError extends Error {
  override name = "BookCurrencyError";
}

/** Refuses to price with a book in another currency than the invoices'. */
export function assertBookCurrency(all: AllPrices, currency: string): void {
  const other = [...all.currencies].find((c) => c !== currency);
  if (other) {
    throw new BookCurrencyError(
      `the price book has prices in ${other} but BILLING_CURRENCY is ${currency}: put the book again in ${currency} before invoicing`,
    );
  }
}

const series = (model: string, dimension: string) => `${model}\u0000${dimension}`;

/**
 * Units of each model and dimension already billed in each earlier period, from the billed
 * part of those periods' usage: late usage is sliced into tiers after them.
 */
export function billedBefore(rows: readonly UsageRow[], lookup: PriceLookup): Map<string, Map<string, bigint>> {
  const byPeriod = new Map<string, Map<string, bigint>>();
  for (const row of rows) {
    const totals = byPeriod.get(row.periodStart) ?? new Map<string, bigint>();
    for (const u of billableUsage(row.model, row.day, row.totals, lookup)) {
      const key = series(u.model, u.dimension);
      totals.set(key, (totals.get(key) ?? 0n) + u.quantity);
    }
    byPeriod.set(row.periodStart, totals);
  }
  return byPeriod;
}

const DIMENSION_ORDER: Record<string, number> = Object.fromEntries(PRICE_DIMENSIONS.map((d, i) => [d, i]));
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The lines of `rows` (one tenant's): the invoice's own period first, then each earlier
 * period with late usage as adjustment lines naming it, latest first. In a period, lines go
 * by model, dimension and tier, a mid-period price change after the price it replaced.
 */
export function invoiceLines(
  rows: readonly UsageRow[],
  lookup: PriceLookup,
  period: Period,
  settings: BillingSettings,
  before: ReadonlyMap<string, ReadonlyMap<string, bigint>> = new Map(),
): InvoiceLine[] {
  const byPeriod = new Map<string, DayUsage[]>();
  for (const row of rows) {
    const usage = byPeriod.get(row.periodStart) ?? [];
    usage.push(...billableUsage(row.model, row.day, row.totals, lookup));
    byPeriod.set(row.periodStart, usage);
  }
  const starts = [...byPeriod.keys()].sort().reverse();
  return starts.flatMap((start) => {
    const own = start === period.start;
    const bounds = own ? period : periodContaining(dayStart(start) as number, settings.kind);
    const priced = priceUsage(byPeriod.get(start) ?? [], lookup, settings.currency, before.get(start));
    // Every model has a units price of last resort, so nothing billable goes unpriced.
    if (priced.unpriced.length > 0) throw new Error(`usage of ${start} has no price: ${priced.unpriced[0]?.model}`);
    // Stable: a mid-period price change keeps its lines in day order.
    const lines = priced.lines
      .slice()
      .sort(
        (a, b) =>
          (a.model < b.model ? -1 : a.model > b.model ? 1 : 0) ||
          (DIMENSION_ORDER[a.dimension] ?? 0) - (DIMENSION_ORDER[b.dimension] ?? 0) ||
          (a.tier ?? 0) - (b.tier ?? 0),
      );
    return lines.map((l): InvoiceLine => {
      if (l.quantity > MAX_SAFE || l.amountMinor > MAX_SAFE) {
        throw new RangeError(`a line of ${l.quantity} ${l.dimension} for ${l.amountMinor} minor units is too large`);
      }
      const line: InvoiceLine = {
        model: l.model === "" ? null : l.model,
        dimension: l.dimension,
        quantity: Number(l.quantity),
        unitPrice: l.unitPrice,
        amountMinor: Number(l.amountMinor),
        periodStart: bounds.start,
        periodEnd: bounds.end,
      };
      if (l.tier !== undefined) line.tier = l.tier;
      if (!own) line.adjustment = true;
      return line;
    });
  });
}
