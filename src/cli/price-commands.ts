// The `aegis prices` commands: read a price book, replace it from a JSON file, or add one
// price to it. Without --tenant they act on the global book; with it, on the tenant's own
// prices, which replace the global ones dimension by dimension (docs/pricing.md).

import { readFile } from "node:fs/promises";
import type { AegisAdmin } from "../client/index";
import type { Price, PriceBook, PriceBookInput, PriceTier } from "../client/types";
import type { Command } from "./commands";
import { type Flags, required, str, UsageError } from "./flags";
import { table } from "./table";

const scope = (tenant: string | undefined) => (tenant ? `the prices of ${tenant}` : "the global price book");

const readBook = (admin: AegisAdmin, tenant: string | undefined) =>
  tenant ? admin.getTenantPrices(tenant) : admin.getPrices();

const writeBook = (admin: AegisAdmin, tenant: string | undefined, book: PriceBookInput) =>
  tenant ? admin.setTenantPrices(tenant, book) : admin.setPrices(book);

/**
 * A tenant's prices are chosen with --tenant, never by a positional: `prices get tn...` would
 * otherwise show the global book to an operator who thinks it is the tenant's.
 */
function noArgs(args: string[], command: string): void {
  if (args.length > 0) {
    throw new UsageError(`${command} takes no arguments (got ${args.join(" ")}); a tenant's prices: --tenant TENANT`);
  }
}

/** A price's tiers as --tier takes them: "10000000:0.00001, rest:0.000008". */
const tiersCell = (tiers: PriceTier[] | undefined) =>
  tiers && tiers.length > 0 ? tiers.map((t) => `${t.upTo ?? "rest"}:${t.unitPrice}`).join(", ") : undefined;

export function describeBook(book: PriceBook, tenant: string | undefined): string {
  const fixed = book.fixedBefore
    ? `days before ${book.fixedBefore} are invoiced, and the prices in force on them fixed`
    : "nothing invoiced yet";
  const head = `${scope(tenant)}, in ${book.currency}; ${fixed}`;
  if (book.prices.length === 0) {
    const none = tenant
      ? `no prices of its own: ${tenant} is on the global book`
      : "no prices: usage is billed by units, at the tenant's unit price or BILLING_UNIT_COST";
    return `${head}\n${none}`;
  }
  const rows = book.prices.map((p) => [p.model, p.dimension, p.unitPrice, p.effectiveFrom, tiersCell(p.tiers)]);
  return `${head}\n${table(["model", "dimension", "unit price", "from", "tiers"], rows)}`;
}

/** `--tier 10000000:0.00001 --tier rest:0.000008`: graduated tiers, in order; rest is the last. */
function tiersOf(flags: Flags): PriceTier[] | undefined {
  const given = flags.tier;
  if (given === undefined) return undefined;
  const values = typeof given === "string" ? [given] : Array.isArray(given) ? given : [];
  return values.map((t) => {
    const m = /^(\d+|rest):(\S+)$/.exec(t);
    if (!m) {
      throw new UsageError(`--tier is UPTO:PRICE (10000000:0.00001), or rest:PRICE for the last tier; got ${t}`);
    }
    const upTo = m[1] === "rest" ? null : Number(m[1]);
    if (upTo !== null && !Number.isSafeInteger(upTo)) throw new UsageError(`--tier ${t}: ${m[1]} is too large`);
    // The price's own checks (decimals, tiers in order, one open tier last) are the gateway's.
    return { upTo, unitPrice: m[2] as string };
  });
}

/** `--file`: a book as JSON, `{"currency", "prices"}`; what `prices get --json` prints will do. */
async function bookFile(file: string): Promise<PriceBookInput> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let book: unknown;
  try {
    book = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file} is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof book !== "object" || book === null || Array.isArray(book)) {
    throw new UsageError(`${file} must hold a price book: {"currency": "USD", "prices": [...]}`);
  }
  // Its fields are the gateway's to check: it lists every problem with its place.
  return book as PriceBookInput;
}

export const priceCommands: Record<string, Command> = {
  async "prices get"(admin, args, flags) {
    noArgs(args, "prices get");
    const tenant = str(flags, "tenant");
    const book = await readBook(admin, tenant);
    return { json: book, text: describeBook(book, tenant) };
  },
  async "prices set"(admin, args, flags) {
    noArgs(args, "prices set");
    const tenant = str(flags, "tenant");
    const { file } = required(flags, ["file"], "prices set");
    const book = await writeBook(admin, tenant, await bookFile(file));
    return { json: book, text: `replaced ${scope(tenant)}\n${describeBook(book, tenant)}` };
  },
  async "prices add"(admin, args, flags) {
    noArgs(args, "prices add");
    const tenant = str(flags, "tenant");
    const tiers = tiersOf(flags);
    // With tiers, the price is the first tier's, so --price may be left out.
    const names = tiers
      ? (["model", "dimension", "from"] as const)
      : (["model", "dimension", "price", "from"] as const);
    const f = required(flags, names, "prices add");
    const price: Price = {
      model: f.model,
      // The dimension, the price and the day are checked by the gateway with the whole book.
      dimension: f.dimension as Price["dimension"],
      unitPrice: str(flags, "price") ?? (tiers?.[0]?.unitPrice as string),
      effectiveFrom: f.from,
      ...(tiers ? { tiers } : {}),
    };
    // The PUT replaces the whole book: the current one is read, and written back with the
    // new price after its others.
    const current = await readBook(admin, tenant);
    const book = await writeBook(admin, tenant, { currency: current.currency, prices: [...current.prices, price] });
    const added = `added the ${price.dimension} price of ${price.model} from ${price.effectiveFrom}`;
    return { json: book, text: `${added} to ${scope(tenant)}\n${describeBook(book, tenant)}` };
  },
};
