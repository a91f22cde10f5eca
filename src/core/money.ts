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

/** A decimal without trailing fractional zeros: numeric(30,12) hands back "0.000002000000". */
export function trimDecimal(decimal: string): string {
  return decimal.includes(".") ? decimal.replace(/\.?0+$/, "") : decimal;
}

export function isPrice(decimal: string): boolean {
  return PRICE_RE.test(decimal.trim());
}

/**
 * ISO 4217 minor units that are not 2. Intl's currency formatting is no guide: it shows
 * whole units for HUF, COP, IDR and others whose ISO exponent is 2, and would make an
 * amount in minor units off by a factor of 100.
 */
const MINOR_DIGITS: Record<string, number> = {
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  ISK: 0,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  PYG: 0,
  RWF: 0,
  UGX: 0,
  UYI: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
  BHD: 3,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
  CLF: 4,
  UYW: 4,
};
/** Codes that are not money one can invoice in: precious metals, units of account, tests. */
const NOT_MONEY = new Set(["XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX"]);
let known: Set<string> | undefined;

/** Digits of the currency's minor unit per ISO 4217: 2 for USD and EUR, 0 for JPY, 3 for KWD. */
export function minorDigits(currency: string): number {
  return MINOR_DIGITS[currency.toUpperCase()] ?? 2;
}

/** True for an ISO 4217 code of a currency this runtime knows and one can invoice in. */
export function isCurrency(currency: string): boolean {
  const code = currency.toUpperCase();
  known ??= new Set(Intl.supportedValuesOf("currency"));
  return /^[A-Z]{3}$/.test(code) && known.has(code) && !NOT_MONEY.has(code);
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
