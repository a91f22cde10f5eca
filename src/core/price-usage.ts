// A billing period's usage priced by a price book: one line per model, dimension, tier and
// unit price, each rounded once, half to even; the total is the sum of the lines.
//
// Each day's usage is priced at the price in force on that day (src/core/price-book.ts), so
// a price that changes mid-period gives the days before and after their own lines. Tiers are
// graduated per model and dimension over the period, in day order: a unit's tier is its place
// among the period's units of that model and dimension.

import { lineAmountMinor, type Price, parsePrice, trimDecimal } from "./money";
import { type PriceDimension, type PriceEntry, priceInForce, sliceIntoTiers } from "./price-book";

/** The price of a model's dimension on a day: a book's, or several books' layered. */
export type PriceLookup = (model: string, dimension: PriceDimension, day: string) => PriceEntry | null;

export interface DayUsage {
  /** YYYY-MM-DD. */
  day: string;
  model: string;
  dimension: PriceDimension;
  quantity: bigint;
  /** The price in force that day, when the caller has already looked it up. */
  price?: PriceEntry;
}

/** Prices as read once: a book holds a handful, and a run prices them thousands of times. */
const parsed = new Map<string, Price>();
function priceOf(decimal: string): Price {
  let price = parsed.get(decimal);
  if (!price) {
    if (parsed.size > 10_000) parsed.clear();
    price = parsePrice(decimal);
    parsed.set(decimal, price);
  }
  return price;
}

export interface PricedLine {
  model: string;
  dimension: PriceDimension;
  /** The tier's index in its price's tiers; absent for a price without tiers. */
  tier?: number;
  quantity: bigint;
  unitPrice: string;
  amountMinor: bigint;
}

export interface PricedUsage {
  lines: PricedLine[];
  totalMinor: bigint;
  /** Usage no price in the book covers, by model and dimension: never billed silently at 0. */
  unpriced: { model: string; dimension: PriceDimension; quantity: bigint }[];
}

/**
 * Prices `usage` with `book` (or a lookup over several) in `currency`. `before` gives, per "model\u0000dimension", the
 * units already billed earlier in the same period (for late usage: it falls in the tiers
 * after them).
 */
export function priceUsage(
  usage: readonly DayUsage[],
  book: readonly PriceEntry[] | PriceLookup,
  currency: string,
  before: ReadonlyMap<string, bigint> = new Map(),
): PricedUsage {
  const lookup: PriceLookup =
    typeof book === "function" ? book : (model, dimension, day) => priceInForce(book, model, dimension, day);
  const sorted = [...usage].sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
  const used = new Map(before);
  const quantities = new Map<string, Omit<PricedLine, "amountMinor">>();
  const unpriced = new Map<string, { model: string; dimension: PriceDimension; quantity: bigint }>();
  for (const u of sorted) {
    if (u.quantity < 0n) throw new RangeError("a quantity is never negative");
    if (u.quantity === 0n) continue;
    const series = `${u.model}\u0000${u.dimension}`;
    const price = u.price ?? lookup(u.model, u.dimension, u.day);
    if (!price) {
      const gap = unpriced.get(series) ?? { model: u.model, dimension: u.dimension, quantity: 0n };
      gap.quantity += u.quantity;
      unpriced.set(series, gap);
      continue;
    }
    const already = used.get(series) ?? 0n;
    for (const slice of sliceIntoTiers(price, already, u.quantity)) {
      // The same tier at another price (a change mid-period) is a line of its own.
      const key = `${series}\u0000${slice.tier ?? ""}\u0000${trimDecimal(priceOf(slice.unitPrice).decimal)}`;
      let line = quantities.get(key);
      if (!line) {
        line = { model: u.model, dimension: u.dimension, quantity: 0n, unitPrice: slice.unitPrice };
        if (slice.tier !== undefined) line.tier = slice.tier;
        quantities.set(key, line);
      }
      line.quantity += slice.quantity;
    }
    used.set(series, already + u.quantity);
  }
  const lines: PricedLine[] = [];
  for (const l of quantities.values()) {
    lines.push(Object.assign(l, { amountMinor: lineAmountMinor(l.quantity, priceOf(l.unitPrice), currency) }));
  }
  return {
    lines,
    totalMinor: lines.reduce((sum, l) => sum + l.amountMinor, 0n),
    unpriced: [...unpriced.values()],
  };
}
