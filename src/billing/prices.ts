// The price book in Postgres: the global book (tenant_id null) and each tenant's own prices.
//
// A PUT replaces a whole book, but never its history: a price for days already invoiced
// (before billing_state.billed_through) is what those days' late usage is priced at, so it
// can be neither changed nor removed, and no new price may start on such a day. A price
// changes by adding one with a later effectiveFrom.

import { asc, eq, isNull, or, sql } from "drizzle-orm";
import { parsePrice, trimDecimal } from "../core/money";
import type { PriceEntry } from "../core/price-book";
import { type Database, rowsOf, type Transaction } from "../db/database";
import { BILLING_LOCK } from "../db/lock";
import { type PriceRow, prices, tenants } from "../db/schema";

export interface StoredBook {
  currency: string;
  prices: PriceEntry[];
  /** Days before this one are invoiced: their prices are fixed. Null: nothing invoiced yet. */
  fixedBefore: string | null;
}

/** Every stored price, by scope, for an invoice run or an estimate. */
export interface AllPrices {
  global: PriceEntry[];
  byTenant: Map<string, PriceEntry[]>;
  /** The currencies the stored prices are in (one, the billing currency, unless it changed). */
  currencies: Set<string>;
  /** Every day a loaded price starts on: a price can change on no other. */
  days: Set<string>;
}

/** "00.50" and "0.5" are one price: written without leading or trailing zeros. */
const decimal = (d: string) => trimDecimal(parsePrice(d).decimal).replace(/^0+(?=\d)/, "");

/** A price as stored and shown: decimals without trailing zeros, tiers only when given. */
export function canonicalPrice(p: PriceEntry): PriceEntry {
  return {
    model: p.model,
    dimension: p.dimension,
    unitPrice: decimal(p.unitPrice),
    effectiveFrom: p.effectiveFrom,
    ...(p.tiers?.length ? { tiers: p.tiers.map((t) => ({ upTo: t.upTo, unitPrice: decimal(t.unitPrice) })) } : {}),
  };
}

function entryOf(row: Pick<PriceRow, "model" | "dimension" | "unitPrice" | "effectiveFrom" | "tiers">): PriceEntry {
  return canonicalPrice({
    model: row.model,
    dimension: row.dimension,
    unitPrice: row.unitPrice,
    effectiveFrom: row.effectiveFrom,
    ...(row.tiers ? { tiers: row.tiers } : {}),
  });
}

const scope = (tenantId: string | null) =>
  tenantId === null ? isNull(prices.tenantId) : eq(prices.tenantId, tenantId);

/** The first day not invoiced yet (billing_state.billed_through); null before any run. */
export async function billedThrough(db: Database | Transaction): Promise<string | null> {
  const [row] = rowsOf<{ day: string }>(
    await db.execute(sql`SELECT to_char(billed_through, 'YYYY-MM-DD') AS day FROM billing_state WHERE id = 1`),
  );
  return row?.day ?? null;
}

async function scopeEntries(db: Database | Transaction, tenantId: string | null): Promise<PriceEntry[]> {
  const rows = await db
    .select()
    .from(prices)
    .where(scope(tenantId))
    .orderBy(asc(prices.model), asc(prices.dimension), asc(prices.effectiveFrom));
  return rows.map(entryOf);
}

/**
 * A book as the API shows it: in the currency its prices were put in, which is the billing
 * currency unless BILLING_CURRENCY changed since (then invoice runs refuse it until it is
 * put again, and this shows why).
 */
export async function readBook(db: Database, tenantId: string | null, currency: string): Promise<StoredBook> {
  const [stored] = await storedCurrencies(db, tenantId);
  return {
    currency: stored ?? currency,
    prices: await scopeEntries(db, tenantId),
    fixedBefore: await billedThrough(db),
  };
}

/**
 * The currencies a scope's stored prices are in: none for an empty book, else one, the
 * billing currency, unless BILLING_CURRENCY changed since the book was put. readBook shows
 * them in the billing currency, so an editor that keeps them must check this first.
 */
export async function storedCurrencies(db: Database | Transaction, tenantId: string | null): Promise<string[]> {
  const rows = await db.selectDistinct({ currency: prices.currency }).from(prices).where(scope(tenantId));
  return rows.map((r) => r.currency).sort();
}

/** The global book and every tenant's prices; with `tenantId`, that tenant's only. */
export async function loadAllPrices(db: Database | Transaction, tenantId?: string): Promise<AllPrices> {
  const rows = await db
    .select()
    .from(prices)
    .where(tenantId === undefined ? undefined : or(isNull(prices.tenantId), eq(prices.tenantId, tenantId)));
  const all: AllPrices = { global: [], byTenant: new Map(), currencies: new Set(), days: new Set() };
  for (const row of rows) {
    all.currencies.add(row.currency);
    all.days.add(row.effectiveFrom);
    if (row.tenantId === null) {
      all.global.push(entryOf(row));
      continue;
    }
    const list = all.byTenant.get(row.tenantId) ?? [];
    list.push(entryOf(row));
    all.byTenant.set(row.tenantId, list);
  }
  return all;
}

export type ReplaceResult =
  | { result: "replaced"; book: StoredBook }
  | { result: "missing-tenant" }
  | { result: "history"; path: string; message: string; fixedBefore: string };

const keyOf = (p: PriceEntry) => JSON.stringify(canonicalPrice(p));

/** Why `next` would rewrite prices of invoiced days, or null when it keeps them as they are. */
function historyProblem(current: PriceEntry[], next: PriceEntry[], fixedBefore: string) {
  const kept = new Set(next.filter((p) => p.effectiveFrom < fixedBefore).map(keyOf));
  const had = new Set(current.filter((p) => p.effectiveFrom < fixedBefore).map(keyOf));
  const removed = current.find((p) => p.effectiveFrom < fixedBefore && !kept.has(keyOf(p)));
  if (removed) {
    return {
      path: "prices",
      message: `the ${removed.dimension} price of ${removed.model} from ${removed.effectiveFrom} prices days already invoiced (before ${fixedBefore}): keep it as it is, and add a price from ${fixedBefore} or later to change it`,
    };
  }
  const index = next.findIndex((p) => p.effectiveFrom < fixedBefore && !had.has(keyOf(p)));
  if (index === -1) return null;
  return {
    path: `prices.${index}.effectiveFrom`,
    message: `${next[index]?.effectiveFrom} is a day already invoiced (before ${fixedBefore}): a new price starts on ${fixedBefore} or later`,
  };
}

/**
 * Replaces the global book (tenantId null) or a tenant's own prices with `entries`, already
 * checked with bookProblems. Under the billing lock, so no invoice run prices with half a book
 * or moves the invoiced days while it is checked.
 */
export async function replaceBook(
  db: Database,
  tenantId: string | null,
  currency: string,
  entries: readonly PriceEntry[],
): Promise<ReplaceResult> {
  const next = entries.map(canonicalPrice);
  return db.transaction(async (tx): Promise<ReplaceResult> => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(${BILLING_LOCK})`);
    if (tenantId !== null) {
      const [tenant] = await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId));
      if (!tenant) return { result: "missing-tenant" };
    }
    const fixedBefore = await billedThrough(tx);
    const [stored] = await storedCurrencies(tx, tenantId);
    const current = fixedBefore === null ? [] : await scopeEntries(tx, tenantId);
    if (fixedBefore !== null && stored !== undefined && stored !== currency) {
      // Kept as they are, prices of invoiced days would be relabelled, not converted.
      const fixed = current.some((p) => p.effectiveFrom < fixedBefore);
      if (fixed) {
        return {
          result: "history",
          path: "currency",
          message: `this book prices days already invoiced (before ${fixedBefore}) in ${stored}, and BILLING_CURRENCY is now ${currency}: prices can't be relabelled without converting them; set BILLING_CURRENCY back to ${stored}`,
          fixedBefore,
        };
      }
    }
    if (fixedBefore !== null) {
      const problem = historyProblem(current, next, fixedBefore);
      if (problem) return { result: "history", ...problem, fixedBefore };
    }
    await tx.delete(prices).where(scope(tenantId));
    if (next.length > 0) {
      await tx.insert(prices).values(
        next.map((p) => ({
          tenantId,
          model: p.model,
          dimension: p.dimension,
          currency,
          unitPrice: p.unitPrice,
          effectiveFrom: p.effectiveFrom,
          tiers: p.tiers ?? null,
        })),
      );
    }
    return { result: "replaced", book: { currency, prices: await scopeEntries(tx, tenantId), fixedBefore } };
  });
}
