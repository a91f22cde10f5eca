// What a tenant is billed for, and at whose price: its own prices over the global book,
// dimension by dimension, over the units prices of last resort; and every token once.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { billableUsage, layeredLookup, priceLayer, type UsageTotals } from "../../src/core/billable-usage";
import { looksLikeCardNumber, paymentReferenceProblem } from "../../src/core/payment-reference";
import type { PriceDimension, PriceEntry } from "../../src/core/price-book";

const p = (model: string, dimension: PriceDimension, unitPrice: string, effectiveFrom = "2031-01-01"): PriceEntry => ({
  model,
  dimension,
  unitPrice,
  effectiveFrom,
});
const totals = (t: Partial<Record<keyof UsageTotals, number>>): UsageTotals => ({
  requests: BigInt(t.requests ?? 0),
  inputTokens: BigInt(t.inputTokens ?? 0),
  outputTokens: BigInt(t.outputTokens ?? 0),
  cachedInputTokens: BigInt(t.cachedInputTokens ?? 0),
  units: BigInt(t.units ?? 0),
});
/** A tenant's prices over the global book, each over its units price of last resort. */
const layers = (l: { tenant: PriceEntry[]; tenantUnitPrice: string | null; global: PriceEntry[]; unitCost: string }) =>
  layeredLookup(priceLayer(l.tenant, l.tenantUnitPrice), priceLayer(l.global, l.unitCost));
const brief = (usage: ReturnType<typeof billableUsage>) => usage.map((u) => [u.dimension, Number(u.quantity)]);

describe("layered prices", () => {
  const global = [p("gpt-4o*", "inputTokens", "0.0000025"), p("gpt-4o*", "outputTokens", "0.00001")];

  it("takes the tenant's price for its dimension only, the global book for the rest", () => {
    const lookup = layers({
      tenant: [p("gpt-4o-mini", "outputTokens", "0.0000006")],
      tenantUnitPrice: null,
      global,
      unitCost: "0.000002",
    });
    expect(lookup("gpt-4o-mini", "outputTokens", "2031-01-05")?.unitPrice).toBe("0.0000006");
    expect(lookup("gpt-4o-mini", "inputTokens", "2031-01-05")?.unitPrice).toBe("0.0000025");
    expect(lookup("gpt-4o", "outputTokens", "2031-01-05")?.unitPrice).toBe("0.00001");
  });

  it("has the tenant's unitPrice over BILLING_UNIT_COST as the units price of any model, since always", () => {
    const own = layers({ tenant: [], tenantUnitPrice: "0.01", global, unitCost: "0.000002" });
    const fallback = layers({ tenant: [], tenantUnitPrice: null, global, unitCost: "0.000002" });
    expect(own("anything", "units", "1999-01-01")?.unitPrice).toBe("0.01");
    expect(fallback("", "units", "1999-01-01")?.unitPrice).toBe("0.000002");
    // A units price in the tenant's book from a day wins over its unitPrice from that day on.
    const later = layers({
      tenant: [p("*", "units", "0.02", "2031-02-01")],
      tenantUnitPrice: "0.01",
      global,
      unitCost: "0.000002",
    });
    expect([later("m", "units", "2031-01-31")?.unitPrice, later("m", "units", "2031-02-01")?.unitPrice]).toEqual([
      "0.01",
      "0.02",
    ]);
  });

  it("does not price a dimension nobody priced", () => {
    const lookup = layers({ tenant: [], tenantUnitPrice: null, global, unitCost: "0.000002" });
    expect(lookup("gpt-4o", "requests", "2031-01-05")).toBeNull();
    expect(lookup("gpt-4o", "inputTokens", "2030-12-31")).toBeNull();
  });
});

describe("what is billed", () => {
  const day = "2031-01-05";
  const usage = totals({ requests: 3, inputTokens: 1000, cachedInputTokens: 300, outputTokens: 200, units: 1200 });
  const lookupOf = (book: PriceEntry[]) =>
    layers({ tenant: [], tenantUnitPrice: null, global: book, unitCost: "0.000002" });

  it.each([
    ["no token price: the units", [], [["units", 1200]]],
    [
      "input and output priced: every input token at the input price",
      [p("*", "inputTokens", "1"), p("*", "outputTokens", "1")],
      [
        ["inputTokens", 1000],
        ["outputTokens", 200],
      ],
    ],
    [
      "a cached price: cached tokens at it, only the rest at the input price",
      [p("*", "inputTokens", "1"), p("*", "cachedInputTokens", "1"), p("*", "outputTokens", "1")],
      [
        ["inputTokens", 700],
        ["outputTokens", 200],
        ["cachedInputTokens", 300],
      ],
    ],
    ["output only: input is not billed, and neither are units", [p("*", "outputTokens", "1")], [["outputTokens", 200]]],
    [
      "requests beside units",
      [p("*", "requests", "1")],
      [
        ["requests", 3],
        ["units", 1200],
      ],
    ],
    [
      "requests beside tokens",
      [p("*", "requests", "1"), p("*", "outputTokens", "1")],
      [
        ["requests", 3],
        ["outputTokens", 200],
      ],
    ],
  ])("%s", (_what, book, expected) => {
    expect(brief(billableUsage("m", day, usage, lookupOf(book as PriceEntry[])))).toEqual(expected);
  });

  it("bills every token once, whatever is priced (property)", () => {
    const dims = ["inputTokens", "outputTokens", "cachedInputTokens"] as const;
    fc.assert(
      fc.property(
        fc.subarray([...dims]),
        fc.nat({ max: 1_000_000 }),
        fc.nat({ max: 1_000_000 }),
        fc.nat({ max: 1_000_000 }),
        (priced, cachedRaw, uncached, output) => {
          // Units count input and output, as on a token route.
          const u = totals({
            inputTokens: cachedRaw + uncached,
            cachedInputTokens: cachedRaw,
            outputTokens: output,
            units: cachedRaw + uncached + output,
          });
          const billed = new Map(
            billableUsage("m", day, u, lookupOf(priced.map((d) => p("*", d, "1")))).map((b) => [
              b.dimension,
              b.quantity,
            ]),
          );
          const count = (d: (typeof dims)[number]) => billed.get(d) ?? 0n;
          // No token is billed twice: what is billed is at most every token, once.
          expect(count("inputTokens") + count("cachedInputTokens") + count("outputTokens")).toBeLessThanOrEqual(
            u.inputTokens + u.outputTokens,
          );
          // Priced input and cached input together bill every input token exactly once.
          if (priced.includes("inputTokens") && priced.includes("cachedInputTokens")) {
            expect(count("inputTokens") + count("cachedInputTokens")).toBe(u.inputTokens);
          }
          expect(billed.has("units")).toBe(priced.length === 0 && u.units > 0n);
        },
      ),
    );
  });
});

describe("payment-method references", () => {
  it.each([
    ["pm_1NzQ8x2eZvKYlo2C", null],
    ["cus_9s6XKzkNRiz8i3", null],
    ["adyen:8415718415172200", null],
    ["4242424242424242", "card"],
    ["4242-4242-4242-4242", "card"],
    ["378282246310005", "card"],
    ["4242424242424241", null], // fails Luhn: not a card number
    ["4242 4242 4242 4242", "spaces"],
    ["4242.4242.4242.4242", "card"],
    ["4242_4242_4242_4242", "card"],
    ["card:4242424242424242", "card"],
    ["", "spaces"],
  ])("%s", (value, expected) => {
    const problem = paymentReferenceProblem(value);
    if (expected === null) expect(problem).toBeNull();
    else expect(problem).toContain(expected === "card" ? "card number" : "no spaces");
  });

  it("knows a card number by Luhn's check", () => {
    expect([looksLikeCardNumber("5555555555554444"), looksLikeCardNumber("5555555555554445")]).toEqual([true, false]);
  });
});
