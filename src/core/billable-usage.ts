// Which usage a tenant is billed for, and at whose price.
//
// Prices come in layers: the tenant's own prices (overrides), then the global book. A
// tenant's price replaces the global one for its dimension only, so an override of one
// model's output tokens leaves its input tokens at the global price. Under both lie the
// units prices of last resort: the tenant's `unitPrice`, then BILLING_UNIT_COST, each a
// `*` units price in force since always.
//
// Every token is billed once:
// - a model with a price for any token dimension on a day is billed by its tokens that day,
//   never also by its units (units count those same tokens);
// - with a cachedInputTokens price, cached tokens are billed at it and only the rest of the
//   input tokens at the inputTokens price (inputTokens counts cached ones too);
// - otherwise the model's units are billed at the units price in force.
// Requests are billed whenever they have a price, beside either.

import { type PriceDimension, type PriceEntry, priceInForce } from "./price-book";
import type { DayUsage, PriceLookup } from "./price-usage";

export interface UsageTotals {
  requests: bigint;
  inputTokens: bigint;
  outputTokens: bigint;
  cachedInputTokens: bigint;
  units: bigint;
}

/** Before any real day: the units prices of last resort have always been in force. */
const ALWAYS = "0001-01-01";

/**
 * One layer's prices: a book, over its units price of last resort (null: none), remembered
 * per model, dimension and day, since an invoice run asks the global layer the same
 * questions for every tenant.
 */
export function priceLayer(book: readonly PriceEntry[], unitsPrice: string | null): PriceLookup {
  const entries =
    unitsPrice === null
      ? book
      : [...book, { model: "*", dimension: "units", unitPrice: unitsPrice, effectiveFrom: ALWAYS } as const];
  if (entries.length === 0) return () => null;
  const known = new Map<string, PriceEntry | null>();
  return (model, dimension, day) => {
    const key = `${model}\u0000${dimension}\u0000${day}`;
    let price = known.get(key);
    if (price === undefined) {
      price = priceInForce(entries, model, dimension, day);
      known.set(key, price);
    }
    return price;
  };
}

/** The tenant's layer first, dimension by dimension, then the global one. */
export function layeredLookup(tenant: PriceLookup, global: PriceLookup): PriceLookup {
  return (model, dimension, day) => tenant(model, dimension, day) ?? global(model, dimension, day);
}

/** One model's usage on a day (or a run of days with the same prices) as billable quantities. */
export function billableUsage(model: string, day: string, totals: UsageTotals, lookup: PriceLookup): DayUsage[] {
  const billed: DayUsage[] = [];
  const bill = (dimension: PriceDimension, price: PriceEntry, quantity: bigint) => {
    if (quantity < 0n) throw new RangeError(`${dimension} of ${model || "no model"} on ${day} is negative`);
    if (quantity > 0n) billed.push({ day, model, dimension, quantity, price });
  };
  const requests = lookup(model, "requests", day);
  if (requests) bill("requests", requests, totals.requests);
  const input = lookup(model, "inputTokens", day);
  const output = lookup(model, "outputTokens", day);
  const cached = lookup(model, "cachedInputTokens", day);
  if (input || output || cached) {
    if (input) bill("inputTokens", input, cached ? totals.inputTokens - totals.cachedInputTokens : totals.inputTokens);
    if (output) bill("outputTokens", output, totals.outputTokens);
    if (cached) bill("cachedInputTokens", cached, totals.cachedInputTokens);
    return billed;
  }
  const units = lookup(model, "units", day);
  if (units) bill("units", units, totals.units);
  return billed;
}
