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

export interface PriceLayers {
  /** The tenant's own prices: consulted first, dimension by dimension. */
  tenant: readonly PriceEntry[];
  /** The tenant's `unitPrice` from its quota; null: none. */
  tenantUnitPrice: string | null;
  global: readonly PriceEntry[];
  /** BILLING_UNIT_COST. */
  unitCost: string;
}

/** Before any real day: the units prices of last resort have always been in force. */
const ALWAYS = "0001-01-01";
const unitsEverywhere = (unitPrice: string): PriceEntry => ({
  model: "*",
  dimension: "units",
  unitPrice,
  effectiveFrom: ALWAYS,
});

/** The price in force for a tenant: its own layer first, then the global one. */
export function layeredLookup(layers: PriceLayers): PriceLookup {
  const tenant =
    layers.tenantUnitPrice === null ? layers.tenant : [...layers.tenant, unitsEverywhere(layers.tenantUnitPrice)];
  const global = [...layers.global, unitsEverywhere(layers.unitCost)];
  return (model, dimension, day) =>
    priceInForce(tenant, model, dimension, day) ?? priceInForce(global, model, dimension, day);
}

/** One model's usage on a day (or a run of days with the same prices) as billable quantities. */
export function billableUsage(model: string, day: string, totals: UsageTotals, lookup: PriceLookup): DayUsage[] {
  const priced = (dimension: PriceDimension) => lookup(model, dimension, day) !== null;
  const billed: DayUsage[] = [];
  const bill = (dimension: PriceDimension, quantity: bigint) => {
    if (quantity < 0n) throw new RangeError(`${dimension} of ${model || "no model"} on ${day} is negative`);
    if (quantity > 0n) billed.push({ day, model, dimension, quantity });
  };
  if (priced("requests")) bill("requests", totals.requests);
  const input = priced("inputTokens");
  const output = priced("outputTokens");
  const cached = priced("cachedInputTokens");
  if (input || output || cached) {
    if (input) bill("inputTokens", cached ? totals.inputTokens - totals.cachedInputTokens : totals.inputTokens);
    if (output) bill("outputTokens", totals.outputTokens);
    if (cached) bill("cachedInputTokens", totals.cachedInputTokens);
  } else if (priced("units")) {
    bill("units", totals.units);
  }
  return billed;
}
