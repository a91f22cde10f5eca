// The price book's rules: which price is in force, what a well-formed book is, and how a
// quantity falls into graduated tiers (exact at every boundary, whatever came before).

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  bookProblems,
  type PriceEntry,
  patternMatches,
  patternProblem,
  priceInForce,
  sliceIntoTiers,
} from "../../src/core/price-book";

const price = (model: string, unitPrice: string, effectiveFrom = "2026-01-01", dimension = "outputTokens") =>
  ({ model, dimension, unitPrice, effectiveFrom }) as PriceEntry;

describe("which price is in force", () => {
  const book = [
    price("*", "0.000001"),
    price("gpt-4o*", "0.00001"),
    price("gpt-4o-mini*", "0.0000006"),
    price("gpt-4o-2024-08-06", "0.000012"),
    price("gpt-4o*", "0.000008", "2026-06-01"),
    price("gpt-4o*", "0.000003", "2026-01-01", "inputTokens"),
  ];
  it.each([
    ["gpt-4o-2024-08-06", "2026-03-01", "0.000012"], // an exact name beats every prefix
    ["gpt-4o-mini-2024", "2026-03-01", "0.0000006"], // the longer prefix beats the shorter
    ["gpt-4o-audio", "2026-03-01", "0.00001"], // the prefix beats *
    ["llama-3", "2026-03-01", "0.000001"], // * takes the rest
    ["gpt-4o-audio", "2026-06-01", "0.000008"], // of one pattern, the latest day in force
    ["gpt-4o-audio", "2026-05-31", "0.00001"],
  ])("%s on %s costs %s per output token", (model, day, expected) => {
    expect(priceInForce(book, model, "outputTokens", day)?.unitPrice).toBe(expected);
  });

  it("uses a less specific price on days before a more specific one starts, and none before any", () => {
    const later = [price("*", "0.000001", "2026-01-01"), price("m", "0.000002", "2026-02-01")];
    expect(priceInForce(later, "m", "outputTokens", "2026-01-31")?.unitPrice).toBe("0.000001");
    expect(priceInForce(later, "m", "outputTokens", "2026-02-01")?.unitPrice).toBe("0.000002");
    expect(priceInForce(later, "m", "outputTokens", "2025-12-31")).toBeNull();
    expect(priceInForce(later, "m", "inputTokens", "2026-03-01")).toBeNull();
  });

  it("matches patterns as names, prefixes or everything", () => {
    expect(patternMatches("gpt*", "gpt-4")).toBe(true);
    expect(patternMatches("gpt*", "gp")).toBe(false);
    expect(patternMatches("gpt-4", "gpt-4o")).toBe(false);
    expect(patternMatches("*", "")).toBe(true);
  });
});

describe("a well-formed book", () => {
  it("refuses patterns that could never match, and names each problem's place", () => {
    for (const bad of ["", "gpt*4", "*gpt", "g pt", "a**"]) expect(patternProblem(bad)).not.toBeNull();
    for (const good of ["*", "gpt*", "claude-3-5-sonnet-20241022"]) expect(patternProblem(good)).toBeNull();
    const problems = bookProblems([
      price("gpt*4", "0.1"),
      price("m1", "0.0000000000001"),
      price("m2", "-1"),
      price("m3", "1", "2026-02-30"),
      { ...price("m4", "1"), dimension: "tokens" as never },
      price("dup", "1"),
      price("dup", "2"),
    ]);
    expect(problems.map((p) => p.path)).toEqual([
      "0.model",
      "1.unitPrice",
      "2.unitPrice",
      "3.effectiveFrom",
      "4.dimension",
      "6.effectiveFrom",
    ]);
    expect(problems[1]?.message).toContain("at most 12 decimals");
  });

  it("refuses overlapping or unordered tiers, an open tier before the last, and a closed last tier", () => {
    let n = 0;
    const tiered = (tiers: PriceEntry["tiers"], unitPrice = "0.5") => ({ ...price(`m${n++}`, unitPrice), tiers });
    expect(
      bookProblems([
        tiered([
          { upTo: 100, unitPrice: "0.5" },
          { upTo: 100, unitPrice: "0.4" },
          { upTo: null, unitPrice: "0.3" },
        ]),
        tiered([
          { upTo: null, unitPrice: "0.5" },
          { upTo: null, unitPrice: "0.4" },
        ]),
        tiered([{ upTo: 10, unitPrice: "0.5" }]),
        tiered([{ upTo: null, unitPrice: "0.50" }], "0.5"),
        tiered([{ upTo: null, unitPrice: "0.4" }], "0.5"),
      ]).map((p) => p.path),
    ).toEqual(["0.tiers.1.upTo", "1.tiers.0.upTo", "2.tiers.0.upTo", "4.unitPrice"]);
  });
});

describe("graduated tiers", () => {
  const tiered: PriceEntry = {
    ...price("m", "3"),
    tiers: [
      { upTo: 10, unitPrice: "3" },
      { upTo: 25, unitPrice: "2" },
      { upTo: null, unitPrice: "1" },
    ],
  };
  const slices = (before: number, quantity: number) =>
    sliceIntoTiers(tiered, BigInt(before), BigInt(quantity)).map((s) => [s.tier, Number(s.quantity)]);

  it.each([
    [0, 10, [[0, 10]]],
    [
      0,
      11,
      [
        [0, 10],
        [1, 1],
      ],
    ],
    [
      9,
      2,
      [
        [0, 1],
        [1, 1],
      ],
    ],
    [10, 15, [[1, 15]]],
    [
      10,
      16,
      [
        [1, 15],
        [2, 1],
      ],
    ],
    [
      0,
      40,
      [
        [0, 10],
        [1, 15],
        [2, 15],
      ],
    ],
    [25, 1, [[2, 1]]],
    [30, 0, []],
  ])("after %i units, %i more fall into %j", (before, quantity, expected) => {
    expect(slices(before, quantity)).toEqual(expected);
  });

  it("prices a price without tiers at its unit price", () => {
    expect(sliceIntoTiers(price("m", "0.2"), 5n, 7n)).toEqual([{ quantity: 7n, unitPrice: "0.2" }]);
  });

  it("handles 10^12 units exactly", () => {
    const big = sliceIntoTiers(tiered, 0n, 10n ** 12n);
    expect(big.map((s) => s.quantity)).toEqual([10n, 15n, 10n ** 12n - 25n]);
  });

  it("splits usage billed in parts exactly as the same usage billed at once (late usage lands where it falls)", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 40 }), { maxLength: 8 }), (parts) => {
        const perTier = new Map<number, bigint>();
        let before = 0n;
        for (const q of parts) {
          for (const s of sliceIntoTiers(tiered, before, BigInt(q))) {
            perTier.set(s.tier ?? -1, (perTier.get(s.tier ?? -1) ?? 0n) + s.quantity);
          }
          before += BigInt(q);
        }
        const whole = new Map(sliceIntoTiers(tiered, 0n, before).map((s) => [s.tier ?? -1, s.quantity]));
        expect(perTier).toEqual(whole);
      }),
    );
  });
});
