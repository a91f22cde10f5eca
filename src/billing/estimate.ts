// A tenant's cost so far in the open billing period, priced by the code that prices its
// invoice (invoice-lines.ts), over the same rollup rows the invoice run will read.

import { type Period, periodContaining } from "../core/billing-period";
import type { Database } from "../db/database";
import type { InvoiceLine } from "../db/schema";
import { assertBookCurrency, globalLayer, invoiceLines, tenantLookup } from "./invoice-lines";
import type { BillingSettings } from "./invoice-run";
import { loadAllPrices } from "./prices";
import { billingDetails, periodUsageOf, priceDaysOf } from "./unbilled-usage";

export interface CostEstimate {
  currency: string;
  periodStart: string;
  periodEnd: string;
  /** The sum of the lines, as the invoice will add them. */
  amountMinor: number;
  lines: InvoiceLine[];
}

/**
 * What the open period's invoice would say now, for its own usage. Usage still in flight
 * (in the queue or the stream) is not in the rollup yet; late usage of earlier periods goes
 * on that invoice too, as adjustments, and is not part of this period's estimate.
 */
export async function estimateOpenPeriod(
  db: Database,
  tenantId: string,
  settings: BillingSettings,
  now: number,
): Promise<CostEstimate> {
  const period: Period = periodContaining(now, settings.kind);
  // One after the other: a Workers request's database handle is one connection.
  const all = await loadAllPrices(db, tenantId);
  const rows = await periodUsageOf(db, tenantId, period, settings.kind, priceDaysOf(all.days));
  const details = await billingDetails(db, [tenantId]);
  assertBookCurrency(all, settings.currency);
  const lookup = tenantLookup(all, tenantId, details.get(tenantId)?.unitPrice ?? null, globalLayer(all, settings));
  const lines = invoiceLines(rows, lookup, period, settings);
  return {
    currency: settings.currency,
    periodStart: period.start,
    periodEnd: period.end,
    amountMinor: Number(lines.reduce((sum, l) => sum + BigInt(l.amountMinor), 0n)),
    lines,
  };
}
