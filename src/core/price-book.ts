// The price book's rules, without storage: which price applies to a model's dimension on a
// day, whether a book is well formed, and how a quantity falls into graduated tiers.
//
// A price names a model pattern: an exact model name, a prefix ending in `*` ("gpt-4o*"),
// or `*` for every model. The most specific pattern in force wins: an exact name over any
// prefix, a longer prefix over a shorter one, any prefix over `*`. "In force" means its
// `effectiveFrom` day is on or before the usage's day; of one pattern's prices, the latest
// such day wins. So a new exact price does not hide a prefix's price on days before it.

import { dayStart } from "./billing-period";
import { isPrice, parsePrice } from "./money";

export const PRICE_DIMENSIONS = ["requests", "inputTokens", "outputTokens", "cachedInputTokens", "units"] as const;
export type PriceDimension = (typeof PRICE_DIMENSIONS)[number];

/** One step of a graduated price: units up to `upTo` in the period (null: the rest). */
export interface PriceTier {
  upTo: number | null;
  unitPrice: string;
}

export interface PriceEntry {
  model: string;
  dimension: PriceDimension;
  /** Per single unit, a decimal string; with tiers it must equal the first tier's. */
  unitPrice: string;
  /** YYYY-MM-DD: the first day this price applies to. */
  effectiveFrom: string;
  tiers?: PriceTier[];
}

/** Prices carry at most this many decimals (the column is numeric(30,12)). */
export const PRICE_DECIMALS = 12;
const MAX_PATTERN = 200;
/** Prices start on a day of the Unix era: Postgres refuses year 0, and no usage is older. */
const FIRST_DAY = "1970-01-01";

/** Why a model pattern can never be used as one, or null when it is a good one. */
export function patternProblem(pattern: string): string | null {
  if (pattern.length === 0) return "a model pattern is a name, a prefix ending in *, or *";
  if (pattern.length > MAX_PATTERN) return `a model pattern has at most ${MAX_PATTERN} characters`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\s\u0000-\u001f\u007f]/.test(pattern)) return "a model pattern has no spaces or control characters";
  const star = pattern.indexOf("*");
  if (star !== -1 && star !== pattern.length - 1) {
    return "a * may only end a model pattern (a prefix such as gpt-4o*), so this one could never match";
  }
  return null;
}

/** Whether `pattern` covers `model`. */
export function patternMatches(pattern: string, model: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith("*")) return model.startsWith(pattern.slice(0, -1));
  return pattern === model;
}

/** Higher is more specific: `*` lowest, then prefixes by length, an exact name highest. */
export function patternSpecificity(pattern: string): number {
  if (pattern === "*") return 0;
  if (pattern.endsWith("*")) return pattern.length; // prefix length + 1, so "a*" (2) beats "*" (0)
  return Number.MAX_SAFE_INTEGER;
}

/** The price of `model`'s `dimension` in force on `day`, or null when the book has none. */
export function priceInForce(
  book: readonly PriceEntry[],
  model: string,
  dimension: PriceDimension,
  day: string,
): PriceEntry | null {
  let best: PriceEntry | null = null;
  for (const p of book) {
    if (p.dimension !== dimension || p.effectiveFrom > day || !patternMatches(p.model, model)) continue;
    if (!best) {
      best = p;
      continue;
    }
    const a = patternSpecificity(p.model);
    const b = patternSpecificity(best.model);
    if (a > b || (a === b && p.effectiveFrom > best.effectiveFrom)) best = p;
  }
  return best;
}

export interface BookProblem {
  /** Where, as a path into the book's list: "3.tiers.1.upTo". */
  path: string;
  message: string;
}

/** Two decimal prices are the same number ("0.50" and "0.5"). */
function samePrice(a: string, b: string): boolean {
  const x = parsePrice(a);
  const y = parsePrice(b);
  const scale = Math.max(x.scale, y.scale);
  return x.scaled * 10n ** BigInt(scale - x.scale) === y.scaled * 10n ** BigInt(scale - y.scale);
}

function priceProblem(price: string): string | null {
  if (!isPrice(price)) return "a decimal price such as 0.000002 (digits, at most one '.')";
  const decimals = price.split(".")[1]?.length ?? 0;
  return decimals > PRICE_DECIMALS ? `at most ${PRICE_DECIMALS} decimals` : null;
}

/** Everything wrong with a book, each with its place; empty when it can be stored. */
export function bookProblems(book: readonly PriceEntry[]): BookProblem[] {
  const problems: BookProblem[] = [];
  const seen = new Map<string, number>();
  book.forEach((p, i) => {
    const at = (field: string, message: string) => problems.push({ path: `${i}.${field}`, message });
    const pattern = patternProblem(p.model);
    if (pattern) at("model", pattern);
    if (!(PRICE_DIMENSIONS as readonly string[]).includes(p.dimension)) {
      at("dimension", `one of ${PRICE_DIMENSIONS.join(", ")}`);
    }
    const price = priceProblem(p.unitPrice);
    if (price) at("unitPrice", price);
    if (dayStart(p.effectiveFrom) === null || p.effectiveFrom < FIRST_DAY) {
      at("effectiveFrom", `a day that exists, written YYYY-MM-DD, from ${FIRST_DAY} on`);
    }
    const key = `${p.model}\u0000${p.dimension}\u0000${p.effectiveFrom}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) at("effectiveFrom", `the same model, dimension and day as price ${earlier}`);
    else seen.set(key, i);
    const tiers = p.tiers ?? [];
    for (const problem of tierProblems(tiers)) at(`tiers.${problem.path}`, problem.message);
    const first = tiers[0];
    if (first && !price && !priceProblem(first.unitPrice) && !samePrice(first.unitPrice, p.unitPrice)) {
      at("unitPrice", "with tiers, unitPrice is the first tier's price");
    }
  });
  return problems;
}

function tierProblems(tiers: readonly PriceTier[]): BookProblem[] {
  const problems: BookProblem[] = [];
  let last = 0;
  tiers.forEach((t, i) => {
    const price = priceProblem(t.unitPrice);
    if (price) problems.push({ path: `${i}.unitPrice`, message: price });
    const final = i === tiers.length - 1;
    if (t.upTo === null) {
      if (!final) problems.push({ path: `${i}.upTo`, message: "only the last tier is open (upTo null)" });
      return;
    }
    if (final) problems.push({ path: `${i}.upTo`, message: "the last tier has upTo null: it takes the rest" });
    if (!Number.isSafeInteger(t.upTo) || t.upTo <= last) {
      problems.push({
        path: `${i}.upTo`,
        message: `tiers must not overlap: upTo is a whole number above the tier before's (${last})`,
      });
      return;
    }
    last = t.upTo;
  });
  return problems;
}

/** A part of a quantity priced at one tier (`tier` absent for a price without tiers). */
export interface TierSlice {
  tier?: number;
  quantity: bigint;
  unitPrice: string;
}

/**
 * How `quantity` units fall into the tiers, when `before` units of the same model and
 * dimension were already used earlier in the period: graduated, so each unit is priced at
 * the tier its place in the period falls in. Late usage is placed after everything billed
 * before it, so it is priced at the tier it falls in then, never re-pricing what was billed.
 */
export function sliceIntoTiers(price: PriceEntry, before: bigint, quantity: bigint): TierSlice[] {
  if (quantity < 0n || before < 0n) throw new RangeError("quantities are never negative");
  const tiers = price.tiers ?? [];
  if (tiers.length === 0) return quantity === 0n ? [] : [{ quantity, unitPrice: price.unitPrice }];
  const slices: TierSlice[] = [];
  // `from` is the place in the period reached so far; a tier takes what lies below its ceiling.
  let from = before;
  const end = before + quantity;
  for (let i = 0; i < tiers.length && from < end; i++) {
    const t = tiers[i] as PriceTier;
    const ceiling = t.upTo === null ? end : BigInt(t.upTo);
    if (ceiling <= from) continue;
    const upTo = ceiling < end ? ceiling : end;
    slices.push({ tier: i, quantity: upTo - from, unitPrice: t.unitPrice });
    from = upTo;
  }
  // Only a book whose last tier is closed could leave units over; bookProblems refuses it.
  if (from < end) throw new RangeError("the last tier must have upTo null");
  return slices;
}
