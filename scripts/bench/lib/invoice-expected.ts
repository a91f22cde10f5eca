// What each of the bench's invoices must say, worked out apart from the code under test: the
// price each model pays resolved by hand from docs/pricing.md's rules (not by
// src/core/price-book.ts), quantities from plain SQL sums of the rollup split at the price
// change, amounts in bigint picodollars rounded once per line, half to even.

import type pg from "pg";
import { CHANGE_DAY, MODELS, type Model, OVERRIDE_EVERY, PERIOD, tenantId } from "./invoice-fixture";

type Dimension = "inputTokens" | "cachedInputTokens" | "outputTokens";
interface Rate {
  tiered: boolean;
  tiers: { upTo: bigint | null; price: string }[];
}

const flat = (price: string): Rate => ({ tiered: false, tiers: [{ upTo: null, price }] });
const tiered = (upTo: number, first: string, rest: string): Rate => ({
  tiered: true,
  tiers: [
    { upTo: BigInt(upTo), price: first },
    { upTo: null, price: rest },
  ],
});
const flats = (input: string, cached: string, output: string) => (d: Dimension) =>
  flat(d === "inputTokens" ? input : d === "cachedInputTokens" ? cached : output);

/**
 * The price of a model's dimension before CHANGE_DAY and from it, for a tenant with or
 * without its own prices: invoice-fixture.ts's books, resolved by hand.
 */
function rate(model: Model, dimension: Dimension, fromChange: boolean, override: boolean): Rate {
  switch (model) {
    case "gpt-4o":
      if (dimension === "inputTokens") return flat(override ? "0.000002" : "0.0000025");
      if (dimension === "cachedInputTokens") return flat("0.00000125");
      return fromChange ? tiered(1_500_000, "0.000009", "0.000007") : tiered(1_500_000, "0.00001", "0.000008");
    // Exact names beat the family's prefix, so gpt-4o*'s price cut does not reach gpt-4o-mini.
    case "gpt-4o-mini":
      return flats("0.00000015", "0.000000075", "0.0000006")(dimension);
    case "claude-sonnet-4":
      if (dimension !== "outputTokens") return flat(dimension === "inputTokens" ? "0.000003" : "0.0000003");
      return override ? tiered(500_000, "0.000012", "0.00001") : tiered(1_000_000, "0.000015", "0.000012");
    case "claude-haiku-4":
      return flats("0.0000008", "0.00000008", "0.000004")(dimension);
    case "llama-3.1-70b":
      return flats("0.00000088", "0.00000044", "0.00000088")(dimension);
  }
}

/** A decimal price in picodollars (the book has at most 12 decimals). */
export function pico(price: string): bigint {
  const [whole = "0", fraction = ""] = price.split(".");
  if (fraction.length > 12) throw new Error(`${price} has more than 12 decimals`);
  return BigInt(whole) * 10n ** 12n + BigInt(fraction.padEnd(12, "0"));
}

function halfEven(n: bigint, d: bigint): bigint {
  const q = n / d;
  const twice = (n % d) * 2n;
  return twice > d || (twice === d && q % 2n === 1n) ? q + 1n : q;
}

/** Cents of a line: picodollars are 10^10 to the cent. */
const cents = (quantity: bigint, picoPrice: bigint) => halfEven(quantity * picoPrice, 10n ** 10n);

export interface ExpectedLine {
  model: string;
  dimension: Dimension;
  tier: number | undefined;
  quantity: bigint;
  pico: bigint;
  amountMinor: bigint;
}

export interface ExpectedInvoice {
  units: bigint;
  amountMinor: bigint;
  /** By lineKey. */
  lines: Map<string, ExpectedLine>;
}

export const lineKey = (model: string, dimension: string, tier: number | undefined, picoPrice: bigint) =>
  `${model}|${dimension}|${tier ?? "-"}|${picoPrice}`;

type Sums = { tenant_id: string; model: Model; from_change: boolean; input: string; cached: string; output: string };

/** Every tenant's expected invoice for the bench's month. */
export async function expectedInvoices(pool: pg.Pool, tenants: number): Promise<Map<string, ExpectedInvoice>> {
  const { rows } = await pool.query<Sums>(
    `SELECT tenant_id, model, day >= $3::date AS from_change, sum(input_tokens)::text AS input,
            sum(cached_input_tokens)::text AS cached, sum(output_tokens)::text AS output
     FROM usage_daily WHERE day >= $1::date AND day < $2::date
     GROUP BY 1, 2, 3`,
    [PERIOD.start, PERIOD.end, CHANGE_DAY],
  );
  const { rows: units } = await pool.query<{ tenant_id: string; units: string }>(
    "SELECT tenant_id, sum(units)::text AS units FROM usage_daily WHERE day >= $1::date AND day < $2::date GROUP BY 1",
    [PERIOD.start, PERIOD.end],
  );
  const sums = new Map(rows.map((r) => [`${r.tenant_id}|${r.model}|${r.from_change}`, r]));
  const invoices = new Map<string, ExpectedInvoice>();
  for (let t = 0; t < tenants; t++) {
    const id = tenantId(t);
    const lines = new Map<string, ExpectedLine>();
    for (const model of MODELS) {
      // Tiers count a model's dimension through the whole period, across the price change.
      const used = new Map<Dimension, bigint>();
      for (const fromChange of [false, true]) {
        const s = sums.get(`${id}|${model}|${fromChange}`);
        if (!s) continue;
        const billed: [Dimension, bigint][] = [
          // With a cached price, input tokens are billed less the cached ones.
          ["inputTokens", BigInt(s.input) - BigInt(s.cached)],
          ["cachedInputTokens", BigInt(s.cached)],
          ["outputTokens", BigInt(s.output)],
        ];
        for (const [dimension, quantity] of billed) {
          const r = rate(model, dimension, fromChange, t % OVERRIDE_EVERY === 0);
          const from = used.get(dimension) ?? 0n;
          used.set(dimension, from + quantity);
          let at = from;
          const end = from + quantity;
          r.tiers.forEach((tier, i) => {
            const ceiling = tier.upTo ?? end;
            if (ceiling <= at || at >= end) return;
            const upTo = ceiling < end ? ceiling : end;
            const p = pico(tier.price);
            const key = lineKey(model, dimension, r.tiered ? i : undefined, p);
            const line = lines.get(key) ?? {
              model,
              dimension,
              tier: r.tiered ? i : undefined,
              quantity: 0n,
              pico: p,
              amountMinor: 0n,
            };
            line.quantity += upTo - at;
            lines.set(key, line);
            at = upTo;
          });
        }
      }
    }
    let amountMinor = 0n;
    for (const line of lines.values()) {
      line.amountMinor = cents(line.quantity, line.pico);
      amountMinor += line.amountMinor;
    }
    invoices.set(id, { units: 0n, amountMinor, lines });
  }
  for (const u of units) {
    const invoice = invoices.get(u.tenant_id);
    if (invoice) invoice.units = BigInt(u.units);
  }
  return invoices;
}
