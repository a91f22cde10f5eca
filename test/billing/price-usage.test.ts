// A period's usage priced line by line: tiers and their boundaries, currencies with 0, 2
// and 3 minor digits, 12-decimal prices on 10^12 tokens, a price change mid-period, and late
// usage after it. Each line is rounded once, half to even; the total is the sum of the lines.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { minorDigits, parsePrice } from "../../src/core/money";
import type { PriceEntry } from "../../src/core/price-book";
import { type DayUsage, priceUsage } from "../../src/core/price-usage";

const out = (model: string, day: string, quantity: bigint | number): DayUsage => ({
  day,
  model,
  dimension: "outputTokens",
  quantity: BigInt(quantity),
});
const entry = (model: string, unitPrice: string, effectiveFrom = "2026-01-01", tiers?: PriceEntry["tiers"]) =>
  ({ model, dimension: "outputTokens", unitPrice, effectiveFrom, ...(tiers ? { tiers } : {}) }) as PriceEntry;
const brief = (r: ReturnType<typeof priceUsage>) =>
  r.lines.map((l) => [l.model, l.tier ?? null, Number(l.quantity), l.unitPrice, l.amountMinor]);

describe("pricing a period's usage", () => {
  it.each([
    // currency, price, quantity, amount in minor units
    ["USD", "0.000015", 1_000_000, 1_500n], // $15.00
    ["USD", "0.000000000001", 10n ** 12n, 100n], // 12 decimals x 10^12 tokens = $1.00
    ["USD", "0.005", 1, 0n], // half a cent rounds to even: 0
    ["USD", "0.015", 1, 2n], // 1.5 cents rounds to even: 2
    ["JPY", "0.5", 3, 2n], // 1.5 yen to even: 2
    ["JPY", "0.5", 5, 2n], // 2.5 yen to even: 2
    ["KWD", "0.0005", 3, 2n], // 1.5 fils to even: 2
    ["KWD", "0.000001", 10n ** 12n, 1_000_000_000n], // 1,000,000 KWD in fils
  ])("%s at %s x %s is %s minor units", (currency, price, quantity, amount) => {
    const r = priceUsage([out("m", "2026-03-01", quantity)], [entry("*", price)], currency);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]?.amountMinor).toBe(amount);
    expect(r.totalMinor).toBe(amount);
  });

  const tiers = [
    { upTo: 10_000_000, unitPrice: "0.00001" },
    { upTo: null, unitPrice: "0.000008" },
  ];

  it("graduates across a tier boundary within one day and across days", () => {
    const usage = [out("m", "2026-03-01", 9_999_999), out("m", "2026-03-02", 2), out("m", "2026-03-03", 1_000_000)];
    expect(brief(priceUsage(usage, [entry("*", "0.00001", "2026-01-01", tiers)], "USD"))).toEqual([
      ["m", 0, 10_000_000, "0.00001", 10_000n], // $100.00
      ["m", 1, 1_000_001, "0.000008", 800n], // $8.000008 -> $8.00
    ]);
  });

  it("keeps tiers apart per model, and prices each model by its own pattern", () => {
    const book = [entry("*", "0.00001", "2026-01-01", tiers), entry("cheap*", "0.000001")];
    const usage = [
      out("a", "2026-03-01", 6_000_000),
      out("b", "2026-03-01", 6_000_000),
      out("cheap-1", "2026-03-01", 5),
    ];
    expect(brief(priceUsage(usage, book, "USD"))).toEqual([
      ["a", 0, 6_000_000, "0.00001", 6_000n],
      ["b", 0, 6_000_000, "0.00001", 6_000n],
      ["cheap-1", null, 5, "0.000001", 0n],
    ]);
  });

  it("prices each day at the price in force that day: a change mid-period makes its own line", () => {
    const book = [entry("m", "0.00002"), entry("m", "0.00001", "2026-03-15")];
    const usage = [out("m", "2026-03-01", 1_000), out("m", "2026-03-14", 1_000), out("m", "2026-03-15", 1_000)];
    expect(brief(priceUsage(usage, book, "USD"))).toEqual([
      ["m", null, 2_000, "0.00002", 4n],
      ["m", null, 1_000, "0.00001", 1n],
    ]);
  });

  it("prices late usage at the price of its own day, in the tier it falls in after what was billed", () => {
    const book = [entry("*", "0.00001", "2026-01-01", tiers), entry("*", "0.00002", "2026-03-20", tiers)];
    // 9,999,000 units were billed already this period; 2,000 more arrive late for March 10.
    const late = priceUsage(
      [out("m", "2026-03-10", 2_000)],
      book,
      "USD",
      new Map([["m\u0000outputTokens", 9_999_000n]]),
    );
    expect(brief(late)).toEqual([
      ["m", 0, 1_000, "0.00001", 1n],
      ["m", 1, 1_000, "0.000008", 1n],
    ]);
  });

  it("reports usage no price covers instead of billing it at 0", () => {
    const r = priceUsage([out("m", "2026-03-01", 7)], [entry("other", "1")], "USD");
    expect(r.lines).toEqual([]);
    expect(r.unpriced).toEqual([{ model: "m", dimension: "outputTokens", quantity: 7n }]);
  });

  it("for any usage and book, each line is its exact amount rounded once, and the total is their sum", () => {
    const priceArb = fc
      .tuple(fc.bigInt({ min: 0n, max: 10n ** 9n }), fc.integer({ min: 0, max: 12 }))
      .map(([n, scale]) =>
        scale === 0
          ? n.toString()
          : `${n / 10n ** BigInt(scale)}.${(n % 10n ** BigInt(scale)).toString().padStart(scale, "0")}`,
      );
    const tiersArb = fc
      .uniqueArray(fc.integer({ min: 1, max: 5_000 }), { maxLength: 3 })
      .chain((ups) =>
        fc.tuple(
          ...[...ups.sort((a, b) => a - b), null].map((upTo) => priceArb.map((unitPrice) => ({ upTo, unitPrice }))),
        ),
      );
    const dayArb = fc.integer({ min: 1, max: 28 }).map((d) => `2026-03-${String(d).padStart(2, "0")}`);
    fc.assert(
      fc.property(
        fc.constantFrom("USD", "JPY", "KWD"),
        fc.array(fc.tuple(fc.constantFrom("*", "a*", "ab"), dayArb, tiersArb), { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.constantFrom("a", "ab", "b"), dayArb, fc.bigInt({ min: 0n, max: 10n ** 7n })), {
          maxLength: 12,
        }),
        (currency, prices, uses) => {
          const book = prices.map(([model, day, t]) => entry(model, t[0]?.unitPrice ?? "0", day, t));
          const usage = uses.map(([model, day, q]) => out(model, day, q));
          const r = priceUsage(usage, book, currency);
          const minor = 10n ** BigInt(minorDigits(currency));
          for (const l of r.lines) {
            const p = parsePrice(l.unitPrice);
            const exact = l.quantity * p.scaled * minor; // the amount times 10^scale
            const scaled = l.amountMinor * 10n ** BigInt(p.scale);
            const twiceError = 2n * (scaled > exact ? scaled - exact : exact - scaled);
            const unit = 10n ** BigInt(p.scale);
            expect(twiceError <= unit).toBe(true); // within half a minor unit
            if (twiceError === unit) expect(l.amountMinor % 2n).toBe(0n); // a tie goes to even
          }
          expect(r.totalMinor).toBe(r.lines.reduce((s, l) => s + l.amountMinor, 0n));
          const billed = r.lines.reduce((s, l) => s + l.quantity, 0n) + r.unpriced.reduce((s, u) => s + u.quantity, 0n);
          expect(billed).toBe(usage.reduce((s, u) => s + u.quantity, 0n));
        },
      ),
    );
  });
});
