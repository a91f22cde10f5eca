import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  divideHalfEven,
  formatMinor,
  lineAmountMinor,
  minorDigits,
  parsePrice,
  trimDecimal,
} from "../../src/core/money";

describe("money", () => {
  it.each([
    // [quantity, price, currency, expected minor units]
    [1, "0.0000015", "USD", 0n], // 0.00015 cents rounds to 0
    [1_000_000, "0.0000015", "USD", 150n], // $1.50
    [1_000_000_000, "0.0000015", "USD", 150_000n], // 10^9 tokens: $1,500.00
    [3_333_333, "0.0000015", "USD", 500n], // 499.99995 cents: up to 500
    [1, "0.005", "USD", 0n], // 0.5 cent: half to even, 0
    [3, "0.005", "USD", 2n], // 1.5 cents: half to even, 2
    [5, "0.005", "USD", 2n], // 2.5 cents: half to even, 2
    [7, "0.005", "USD", 4n], // 3.5 cents: 4
    [1, "0.015", "USD", 2n], // 1.5 cents: 2
    [1, "0.025", "USD", 2n], // 2.5 cents: 2
    [1_000_000_000_000, "0.000000000001", "USD", 100n], // tiny price, huge volume: exactly $1
    [10, "1.5", "JPY", 15n], // no minor unit
    [1, "0.0005", "KWD", 0n], // 0.5 fils: half to even, 0
    [3, "0.0005", "KWD", 2n], // 1.5 fils: 2
    [0, "9.99", "USD", 0n],
    [123, "0", "USD", 0n],
  ] as const)("%i units at %s %s is %i minor units", (quantity, price, currency, expected) => {
    expect(lineAmountMinor(quantity, parsePrice(price), currency)).toBe(expected);
  });

  it("agrees with exact rational arithmetic and never drifts by more than half a minor unit", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 13n }),
        fc.integer({ min: 0, max: 10 ** 9 }),
        fc.integer({ min: 0, max: 12 }),
        (quantity, digits, scale) => {
          const decimal =
            scale === 0
              ? String(digits)
              : `${Math.floor(digits / 10 ** scale)}.${String(digits % 10 ** scale).padStart(scale, "0")}`;
          const price = parsePrice(decimal);
          const amount = lineAmountMinor(quantity, price, "USD");
          // exact value in minor units = quantity * scaled * 100 / 10^scale
          const num = quantity * price.scaled * 100n;
          const den = 10n ** BigInt(price.scale);
          const diffTwice = (amount * den - num) * 2n;
          expect(diffTwice <= den && diffTwice >= -den).toBe(true);
        },
      ),
    );
  });

  it("rounds exact halves to the even neighbour", () => {
    expect([1n, 3n, 5n, 7n, 9n].map((n) => divideHalfEven(n, 2n))).toEqual([0n, 2n, 2n, 4n, 4n]);
    expect(divideHalfEven(5n, 3n)).toBe(2n);
    expect(divideHalfEven(4n, 3n)).toBe(1n);
  });

  it("reads decimal prices and refuses anything else", () => {
    expect(parsePrice("0.0000015")).toMatchObject({ scaled: 15n, scale: 7 });
    expect(parsePrice("2")).toMatchObject({ scaled: 2n, scale: 0 });
    for (const bad of ["", "-1", "1e-6", "0.1.2", ".5", "1,5", "abc"])
      expect(() => parsePrice(bad)).toThrow(RangeError);
  });

  it("drops trailing fractional zeros, and only those", () => {
    expect(["0.000002000000", "10.000", "0.000", "100.500", "100", "2.0"].map(trimDecimal)).toEqual([
      "0.000002",
      "10",
      "0",
      "100.5",
      "100",
      "2",
    ]);
  });

  it("knows minor units and writes amounts in major units", () => {
    expect([minorDigits("USD"), minorDigits("jpy"), minorDigits("KWD")]).toEqual([2, 0, 3]);
    // ISO 4217, not Intl's display digits, which show whole units for these.
    expect([minorDigits("HUF"), minorDigits("COP"), minorDigits("IDR"), minorDigits("IQD")]).toEqual([2, 2, 2, 3]);
    expect(formatMinor(123_456n, "USD")).toBe("1234.56");
    expect(formatMinor(5n, "USD")).toBe("0.05");
    expect(formatMinor(500n, "JPY")).toBe("500");
  });
});
