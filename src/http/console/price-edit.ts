// The console's price editor, for the global book and a tenant's own prices alike: the
// add-price form as typed, read into a price, and the book it makes checked as
// PUT /admin/v1/prices checks one (bookProblems, the API's schema, the billing currency),
// then stored with replaceBook. Removing a price is the same replace, less that price.
//
// The book is read when a form is posted, not when its page was shown, so a price added from
// another tab meanwhile is kept. Two posts in the same instant can still lose one, as two
// PUTs can: a book is replaced whole.

import type { Context } from "hono";
import { readBook, replaceBook, type StoredBook, storedCurrencies } from "../../billing/prices";
import { bookProblems, type PriceDimension, type PriceEntry, type PriceTier } from "../../core/price-book";
import type { GatewayEnv } from "../context";
import { MAX_PRICES, PriceBookInputSchema } from "../schemas";
import { tenantNotFound } from "../tenant-admin";
import { type ConsoleForm, textField } from "./form";

const FIELDS = ["model", "dimension", "unitPrice", "effectiveFrom", "tiers"] as const;
type PriceField = (typeof FIELDS)[number];

/** The add-price form's fields as text, as they are shown in it. */
export type PriceFormValues = Record<PriceField, string>;

/** A problem, and where it is: a field of the form ("Unit price", "Tier 2, up to") or "Book". */
export interface PlacedProblem {
  place: string;
  message: string;
}

/** A refused edit: every problem, and what the add form had typed (absent for a removal). */
export interface RefusedPrices {
  values?: PriceFormValues;
  problems: PlacedProblem[];
}

export type PriceEdit = { saved: true } | { saved: false; status: 400 | 404 | 409; refused: RefusedPrices };

/** A scope's book as its section shows it, with the warning that stops edits, if any. */
export interface LoadedPrices {
  book: StoredBook;
  warning: PlacedProblem | null;
}

const MAX_TIERS = 20;
const TIER_SYNTAX =
  "write each tier as upTo:price, separated by commas, the last one as rest:price (10000000:0.00001, rest:0.000008)";

/** An empty add form: from today, or from the first day not invoiced when that is later. */
export function newPriceValues(today: string, fixedBefore: string | null): PriceFormValues {
  const from = fixedBefore !== null && fixedBefore > today ? fixedBefore : today;
  return { model: "", dimension: "outputTokens", unitPrice: "", effectiveFrom: from, tiers: "" };
}

/** What the add form sent, as typed; a field it did not send is empty. */
export function sentPriceValues(form: ConsoleForm): PriceFormValues {
  return Object.fromEntries(FIELDS.map((f) => [f, textField(form, f) ?? ""])) as PriceFormValues;
}

/** Tiers as the form writes them: "10000000:0.00001, rest:0.000008". */
export const tiersText = (tiers: readonly PriceTier[] | undefined): string =>
  (tiers ?? []).map((t) => `${t.upTo ?? "rest"}:${t.unitPrice}`).join(", ");

function readTiers(text: string): { tiers: PriceTier[]; problems: PlacedProblem[] } {
  const parts = text
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  const tiers: PriceTier[] = [];
  const problems: PlacedProblem[] = [];
  if (parts.length > MAX_TIERS) problems.push({ place: "Tiers", message: `at most ${MAX_TIERS} tiers` });
  parts.forEach((part, i) => {
    const m = /^(\d{1,15}|rest)\s*:\s*(\S+)$/i.exec(part);
    if (!m) {
      const shown = part.length > 40 ? `${part.slice(0, 40)}…` : part;
      problems.push({ place: `Tier ${i + 1}`, message: `"${shown}": ${TIER_SYNTAX}` });
      return;
    }
    tiers.push({ upTo: m[1]?.toLowerCase() === "rest" ? null : Number(m[1]), unitPrice: m[2] as string });
  });
  return { tiers, problems };
}

/**
 * The price the form describes, and what is wrong with how it is written. With tiers, an
 * empty unit price is the first tier's, as the API requires it to be.
 */
function priceOf(values: PriceFormValues): { entry: PriceEntry; problems: PlacedProblem[] } {
  const { tiers, problems } = readTiers(values.tiers);
  const typed = values.unitPrice.trim();
  const entry: PriceEntry = {
    model: values.model.trim(),
    // Anything but a dimension is refused by bookProblems, in the words the API uses.
    dimension: values.dimension.trim() as PriceDimension,
    unitPrice: typed === "" && tiers[0] ? tiers[0].unitPrice : typed,
    effectiveFrom: values.effectiveFrom.trim(),
    // Tiers that could not all be read are left out: checking the rest would misplace them.
    ...(tiers.length > 0 && problems.length === 0 ? { tiers } : {}),
  };
  return { entry, problems };
}

const LABELS: Record<string, string> = {
  model: "Model pattern",
  dimension: "Dimension",
  unitPrice: "Unit price",
  effectiveFrom: "Effective from",
  tiers: "Tiers",
};

const describe = (p: PriceEntry) => `${p.dimension} price of ${p.model} from ${p.effectiveFrom}`;

/**
 * A problem of the book (a path such as "5.tiers.1.upTo", index 5 being the new price) in
 * the form's words: "Tier 2, up to". bookProblems names an earlier price by its index in the
 * book, which the page does not show, so that becomes the price itself.
 */
function placed(path: string, message: string, stored: readonly PriceEntry[]): PlacedProblem {
  const [index = "", ...rest] = path.split(".");
  const named = message.replace(/ as price (\d+)$/, (whole, k: string) => {
    const p = stored[Number(k)];
    return p ? ` as the book's ${describe(p)}` : whole;
  });
  if (!/^\d+$/.test(index)) return { place: "Book", message: named };
  const earlier = stored[Number(index)];
  if (earlier) return { place: `The ${describe(earlier)}`, message: named };
  const field = rest.join(".");
  const tier = /^tiers\.(\d+)\.(upTo|unitPrice)$/.exec(field);
  if (tier) return { place: `Tier ${Number(tier[1]) + 1}, ${tier[2] === "upTo" ? "up to" : "price"}`, message: named };
  return { place: LABELS[field] ?? field, message: named };
}

const apiPath = (tenantId: string | null) =>
  tenantId === null ? "/admin/v1/prices" : `/admin/v1/tenants/${tenantId}/prices`;

/**
 * The currency rule. The console writes a book in BILLING_CURRENCY, as the API requires; a
 * book stored in another (BILLING_CURRENCY changed since) is not changed here, since keeping
 * its prices would relabel them in the new currency without converting them.
 */
async function currencyWarning(c: Context<GatewayEnv>, tenantId: string | null): Promise<PlacedProblem | null> {
  const currency = c.get("config").BILLING_CURRENCY;
  const others = (await storedCurrencies(c.get("db"), tenantId)).filter((x) => x !== currency);
  if (others.length === 0) return null;
  return {
    place: "Book",
    message: `these prices are stored in ${others.join(", ")}, but this gateway invoices in ${currency} (BILLING_CURRENCY): put the whole book again in ${currency} with PUT ${apiPath(tenantId)} before changing it here`,
  };
}

export async function loadPrices(c: Context<GatewayEnv>, tenantId: string | null): Promise<LoadedPrices> {
  const book = await readBook(c.get("db"), tenantId, c.get("config").BILLING_CURRENCY);
  return { book, warning: await currencyWarning(c, tenantId) };
}

async function store(
  c: Context<GatewayEnv>,
  tenantId: string | null,
  book: PriceEntry[],
  values?: PriceFormValues,
): Promise<PriceEdit> {
  const result = await replaceBook(c.get("db"), tenantId, c.get("config").BILLING_CURRENCY, book);
  if (result.result === "missing-tenant") throw tenantNotFound(tenantId ?? "");
  if (result.result === "history") {
    // The API's 409 price-history-fixed: the path is "prices" or "prices.<new>.effectiveFrom".
    const problem = placed(result.path.replace(/^prices\.?/, ""), result.message, []);
    return { saved: false, status: 409, refused: { values, problems: [problem] } };
  }
  return { saved: true };
}

/** Adds the typed price to the scope's book, or says everything wrong with it. */
export async function addPrice(
  c: Context<GatewayEnv>,
  tenantId: string | null,
  values: PriceFormValues,
): Promise<PriceEdit> {
  const { book: stored, warning } = await loadPrices(c, tenantId);
  const { entry, problems } = priceOf(values);
  if (warning) problems.unshift(warning);
  if (stored.prices.length >= MAX_PRICES) {
    problems.push({ place: "Book", message: `a book holds at most ${MAX_PRICES} prices: remove one first` });
  }
  const book = [...stored.prices, entry];
  problems.push(...bookProblems(book).map((p) => placed(p.path, p.message, stored.prices)));
  if (problems.length === 0) {
    // What bookProblems does not say (lengths, counts) the API's own schema does.
    const parsed = PriceBookInputSchema.safeParse({ currency: stored.currency, prices: book });
    if (!parsed.success) {
      problems.push(...parsed.error.issues.map((i) => placed(i.path.slice(1).join("."), i.message, stored.prices)));
    }
  }
  if (problems.length > 0) return { saved: false, status: 400, refused: { values, problems } };
  return store(c, tenantId, book, values);
}

/** Removes the price the row's form names (model, dimension, effectiveFrom) from the scope's book. */
export async function removePrice(
  c: Context<GatewayEnv>,
  tenantId: string | null,
  form: ConsoleForm,
): Promise<PriceEdit> {
  const [model, dimension, effectiveFrom] = ["model", "dimension", "effectiveFrom"].map(
    (f) => textField(form, f) ?? "",
  );
  const { book, warning } = await loadPrices(c, tenantId);
  if (warning) return { saved: false, status: 400, refused: { problems: [warning] } };
  const kept = book.prices.filter(
    (p) => !(p.model === model && p.dimension === dimension && p.effectiveFrom === effectiveFrom),
  );
  if (kept.length === book.prices.length) {
    const message = `no price here has model "${model}", dimension "${dimension}" and effective from "${effectiveFrom}": it may have been removed already`;
    return { saved: false, status: 404, refused: { problems: [{ place: "Book", message }] } };
  }
  return store(c, tenantId, kept);
}
