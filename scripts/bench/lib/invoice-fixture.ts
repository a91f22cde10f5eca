// The invoice bench's data: tenants, a month of AI usage in the daily rollup, raw usage rows
// as ballast, and a price book with tiers, a change mid-month and tenants' own prices.
//
// Everything is made with generate_series in Postgres: 1.5 million rollup rows and 10
// million raw rows would take minutes to send from Node.

import type pg from "pg";
import { replaceBook } from "../../../src/billing/prices";
import { bookProblems, type PriceEntry } from "../../../src/core/price-book";
import type { Database } from "../../../src/db/database";

export const PERIOD = { start: "2031-01-01", end: "2031-02-01" };
export const DAYS = 31;
export const MODELS = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "claude-haiku-4", "llama-3.1-70b"] as const;
export type Model = (typeof MODELS)[number];
/** The day the gpt-4o* output price changes: the run must price the month as two runs of days. */
export const CHANGE_DAY = "2031-01-16";
/** One tenant in this many has prices of its own. */
export const OVERRIDE_EVERY = 10;
const BOOK_FROM = "2030-12-01";
const M = (model: string) => `'${model}'`;
const MODEL_ARRAY = `ARRAY[${MODELS.map(M).join(",")}]`;

export const tenantId = (t: number) => `tn${String(t).padStart(16, "0")}`;
const tenantSql = (t: string) => `'tn' || lpad((${t})::text, 16, '0')`;

const tiers = (upTo: number, first: string, rest: string) => ({
  unitPrice: first,
  tiers: [
    { upTo, unitPrice: first },
    { upTo: null, unitPrice: rest },
  ],
});

/**
 * The global book: prefixes for the families, exact names that must win over them, tiers on
 * output tokens, and a gpt-4o* output price cut from CHANGE_DAY whose tiers keep counting.
 */
export const GLOBAL_BOOK: PriceEntry[] = [
  { model: "gpt-4o*", dimension: "inputTokens", unitPrice: "0.0000025", effectiveFrom: BOOK_FROM },
  { model: "gpt-4o*", dimension: "cachedInputTokens", unitPrice: "0.00000125", effectiveFrom: BOOK_FROM },
  { model: "gpt-4o*", dimension: "outputTokens", effectiveFrom: BOOK_FROM, ...tiers(1_500_000, "0.00001", "0.000008") },
  {
    model: "gpt-4o*",
    dimension: "outputTokens",
    effectiveFrom: CHANGE_DAY,
    ...tiers(1_500_000, "0.000009", "0.000007"),
  },
  { model: "gpt-4o-mini", dimension: "inputTokens", unitPrice: "0.00000015", effectiveFrom: BOOK_FROM },
  { model: "gpt-4o-mini", dimension: "cachedInputTokens", unitPrice: "0.000000075", effectiveFrom: BOOK_FROM },
  { model: "gpt-4o-mini", dimension: "outputTokens", unitPrice: "0.0000006", effectiveFrom: BOOK_FROM },
  { model: "claude-*", dimension: "inputTokens", unitPrice: "0.000003", effectiveFrom: BOOK_FROM },
  { model: "claude-*", dimension: "cachedInputTokens", unitPrice: "0.0000003", effectiveFrom: BOOK_FROM },
  {
    model: "claude-*",
    dimension: "outputTokens",
    effectiveFrom: BOOK_FROM,
    ...tiers(1_000_000, "0.000015", "0.000012"),
  },
  { model: "claude-haiku-4", dimension: "inputTokens", unitPrice: "0.0000008", effectiveFrom: BOOK_FROM },
  { model: "claude-haiku-4", dimension: "cachedInputTokens", unitPrice: "0.00000008", effectiveFrom: BOOK_FROM },
  { model: "claude-haiku-4", dimension: "outputTokens", unitPrice: "0.000004", effectiveFrom: BOOK_FROM },
  { model: "llama-*", dimension: "inputTokens", unitPrice: "0.00000088", effectiveFrom: BOOK_FROM },
  { model: "llama-*", dimension: "cachedInputTokens", unitPrice: "0.00000044", effectiveFrom: BOOK_FROM },
  { model: "llama-*", dimension: "outputTokens", unitPrice: "0.00000088", effectiveFrom: BOOK_FROM },
];

/** Negotiated exceptions: one dimension of one model each, the rest stays on the global book. */
export const TENANT_BOOK: PriceEntry[] = [
  { model: "gpt-4o", dimension: "inputTokens", unitPrice: "0.000002", effectiveFrom: BOOK_FROM },
  {
    model: "claude-sonnet-4",
    dimension: "outputTokens",
    effectiveFrom: BOOK_FROM,
    ...tiers(500_000, "0.000012", "0.00001"),
  },
];

export async function insertTenants(pool: pg.Pool, tenants: number): Promise<void> {
  await pool.query(`
    INSERT INTO tenants (id, name, billing_account_id)
    SELECT ${tenantSql("t")}, 'bench tenant ' || t, CASE WHEN t % 2 = 0 THEN 'acct_' || t END
    FROM generate_series(0, ${tenants - 1}) t`);
}

/**
 * One row per tenant, day and model. Tenants differ in size by up to 100x so that some cross
 * the output tiers early in the month, some after the price change and some never; cached
 * input is 0-30% of input and units count input and output tokens, as the ingest does.
 */
export async function insertRollup(pool: pg.Pool, tenants: number): Promise<number> {
  const result = await pool.query(`
    INSERT INTO usage_daily (tenant_id, day, route, model, units, requests, input_tokens, output_tokens, cached_input_tokens)
    SELECT ${tenantSql("t")}, date '${PERIOD.start}' + d, 'chat', x.model, i + o, 1 + o / 400, i, o, i * c / 10
    FROM (
      SELECT t, d, m.model, s.o, s.o * (3 + (t + d + m.k) % 5) AS i, (t + d) % 4 AS c
      FROM generate_series(0, ${tenants - 1}) t, generate_series(0, ${DAYS - 1}) d,
           unnest(${MODEL_ARRAY}) WITH ORDINALITY m(model, k),
           LATERAL (SELECT (1 + t % 100)::bigint * (500 + (t * 7 + d * 13 + m.k * 31) % 2000) AS o) s
    ) x`);
  await pool.query("ANALYZE usage_daily");
  return result.rowCount ?? 0;
}

/**
 * Raw usage rows up to `total`, spread over the tenants, models and the month. They are
 * ballast: the run must not read them, so they need not add up to the rollup.
 */
export async function rawRowsUpTo(pool: pg.Pool, tenants: number, total: number): Promise<void> {
  const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM usage_records");
  const have = Number(rows[0]?.n);
  if (have >= total) return;
  await pool.query(`
    INSERT INTO usage_records (event_id, tenant_id, route, model, units, requests, input_tokens, output_tokens,
                               cached_input_tokens, occurred_at)
    SELECT 'ev_' || g, ${tenantSql(`g % ${tenants}`)}, 'chat', (${MODEL_ARRAY})[1 + g % ${MODELS.length}], i + o, 1, i, o,
           i * (g % 4) / 10, timestamptz '${PERIOD.start}' + (g % ${DAYS * 86_400}) * interval '1 second'
    FROM (SELECT g, 100 + g % 4000 AS i, 10 + g % 1000 AS o FROM generate_series(${have + 1}, ${total}) g) x`);
  await pool.query("ANALYZE usage_records");
}

/** The global book through the admin API's own store path; the tenants' prices in one statement. */
export async function storePriceBook(db: Database, pool: pg.Pool, tenants: number, currency: string): Promise<number> {
  for (const [name, book] of [
    ["global", GLOBAL_BOOK],
    ["tenant", TENANT_BOOK],
  ] as const) {
    const problems = bookProblems(book);
    if (problems.length > 0) throw new Error(`the bench's ${name} book is wrong: ${JSON.stringify(problems)}`);
  }
  const stored = await replaceBook(db, null, currency, GLOBAL_BOOK);
  if (stored.result !== "replaced") throw new Error(`storing the global book: ${stored.result}`);
  const own = await pool.query(
    `INSERT INTO prices (tenant_id, model, dimension, currency, unit_price, effective_from, tiers)
     SELECT ${tenantSql("t")}, p.model, p.dimension, $2, p."unitPrice", p."effectiveFrom", p.tiers
     FROM generate_series(0, ${tenants - 1}, ${OVERRIDE_EVERY}) t,
          jsonb_to_recordset($1::jsonb) AS p(model text, dimension text, "unitPrice" numeric, "effectiveFrom" date, tiers jsonb)`,
    [JSON.stringify(TENANT_BOOK), currency],
  );
  return GLOBAL_BOOK.length + (own.rowCount ?? 0);
}
