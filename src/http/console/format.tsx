// How the console shows numbers, money and dates. The server cannot know the reader's locale,
// so it renders each value in a form readable without a script (1,234; 12.34 USD; ISO dates),
// marked up with the exact value, and assets.ts's script re-renders it in the browser's
// locale. The ISO timestamp stays in each date's title.

import { formatMinor, minorDigits } from "../../core/money";

/** A whole number with thousands separators, as the server shows it: "1,234,567". */
export const count = (n: number): string => n.toLocaleString("en-US");

/** "1234567.50" as "1,234,567.50": grouping added to a decimal string, its digits untouched. */
export const groupDecimal = (decimal: string): string => {
  const [whole = "", fraction] = decimal.split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
};

/** A count, re-rendered in the reader's locale. */
export function Count(props: { n: number }) {
  return (
    <data class="count" value={String(props.n)}>
      {count(props.n)}
    </data>
  );
}

/**
 * An amount in the currency's minor unit as money: "1,234.50 USD" from the server, "$1,234.50"
 * (or "1.234,50 $") in the browser. A stored value that is not an amount is shown as it is.
 */
export function Money(props: { minor: unknown; currency: string }) {
  const { minor, currency } = props;
  if (typeof minor !== "number" || !Number.isSafeInteger(minor)) return <>{String(minor)}</>;
  const decimal = formatMinor(BigInt(minor), currency);
  return (
    <data class="money" value={decimal} data-currency={currency} data-digits={String(minorDigits(currency))}>
      {`${groupDecimal(decimal)} ${currency}`}
    </data>
  );
}

/**
 * An exact decimal such as a unit price ("0.000009"), re-rendered in the reader's locale from
 * the string itself ("0,000009" in German), never through a float. Anything else is shown as is.
 */
export function Decimal(props: { value: string }) {
  if (!/^-?\d+(\.\d+)?$/.test(props.value)) return <>{props.value}</>;
  return (
    <data class="decimal" value={props.value}>
      {groupDecimal(props.value)}
    </data>
  );
}

/** A timestamp or a day (ISO 8601), with the ISO form in its title; empty for none. */
export function When(props: { iso: string | null | undefined }) {
  if (!props.iso) return null;
  return (
    <time datetime={props.iso} title={props.iso}>
      {props.iso}
    </time>
  );
}
