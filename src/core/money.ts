// Money: exact arithmetic on decimal prices, rounded half-even once, to minor units.
//
// Prices are decimal strings in major units per unit ("0.0000015" dollars per token). A
// price is held as an integer over a power of ten, every product is a bigint, and the
// only rounding is the final one of a line, half to even.

export interface Price {
  /** The price times 10^scale, as an integer. */
  scaled: bigint;
  scale: number;
  /** The decimal it was read from, for display and storage. */
  decimal: string;
}

const PRICE_RE = /^(\d{1,12})(?:\.(\d{1,18}))?$/;

/** Reads a non-negative decimal price ("0.0000015", "2", "0.5"); throws on anything else. */
export function parsePrice(decimal: string): Price {
  const m = PRICE_RE.exec(decimal.trim());
  if (!m) throw new RangeError(`not a decimal price: ${JSON.stringify(decimal)} (use digits and at most one '.')`);
  const whole = m[1] ?? "0";
  const fraction = m[2] ?? "";
  return { scaled: BigInt(whole + fraction), scale: fraction.length, decimal: decimal.trim() };
}

export function isPrice(decimal: string): boolean {
  return PRICE_RE.test(decimal.trim());
}

const minorCache = new Map<string, number>();

/** Digits of the currency's minor unit: 2 for USD and EUR, 0 for JPY, 3 for KWD. */
export function minorDigits(currency: string): number {
  const code = currency.toUpperCase();
  let digits = minorCache.get(code);
  if (digits === undefined) {
    digits =
      new Intl.NumberFormat("en", { style: "currency", currency: code }).resolvedOptions().maximumFractionDigits ?? 2;
    minorCache.set(code, digits);
  }
  return digits;
}

/** True for an ISO 4217 code this runtime knows. */
export function isCurrency(currency: string): boolean {
  if (!/^[A-Za-z]{3}$/.test(currency)) return false;
  try {
    minorDigits(currency);
    return true;
  } catch {
    return false;
  }
}

/** numerator / denominator, rounded half to even. Both non-negative, denominator > 0. */
export function divideHalfEven(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  const twice = (numerator % denominator) * 2n;
  if (twice > denominator || (twice === denominator && quotient % 2n === 1n)) return quotient + 1n;
  return quotient;
}

/** The amount of one line, in minor units: quantity x price, rounded half-even once. */
export function lineAmountMinor(quantity: bigint | number, price: Price, currency: string): bigint {
  const q = BigInt(quantity);
  if (q < 0n) throw new RangeError("a quantity is never negative");
  const minor = 10n ** BigInt(minorDigits(currency));
  return divideHalfEven(q * price.scaled * minor, 10n ** BigInt(price.scale));
}

/** A minor-unit amount written as a decimal in major units: 123456n USD is "1234.56". */
export function formatMinor(amountMinor: bigint, currency: string): string {
  const digits = minorDigits(currency);
  const negative = amountMinor < 0n;
  const abs = (negative ? -amountMinor : amountMinor).toString().padStart(digits + 1, "0");
  const whole = abs.slice(0, abs.length - digits);
  const fraction = digits > 0 ? `.${abs.slice(abs.length - digits)}` : "";
  return `${negative ? "-" : ""}${whole}${fraction}`;
}
