// The RESP values that fit on their header line: integers, doubles, big numbers, booleans,
// and the declared lengths of bulk strings and aggregates. Each decoder answers undefined for
// malformed input, and the parser turns that into a protocol error that says where.

import { ERROR } from "./reply";

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const SPECIAL_DOUBLES = new Map([
  ["inf", Infinity],
  ["+inf", Infinity],
  ["-inf", -Infinity],
  ["nan", NaN],
]);

/** A 64-bit integer: a number while it is exact, else a bigint. */
export function integerOf(text: string): number | bigint | undefined {
  if (!/^-?\d{1,19}$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}

export function doubleOf(text: string): number | undefined {
  const special = SPECIAL_DOUBLES.get(text.toLowerCase());
  if (special !== undefined) return special;
  return DECIMAL.test(text) ? Number(text) : undefined;
}

export function bigNumberOf(text: string): bigint | undefined {
  return /^[+-]?\d+$/.test(text) ? BigInt(text) : undefined;
}

/** `#t` or `#f`: the line [from, to) holds one letter. */
export function booleanOf(buf: Uint8Array, from: number, to: number): boolean | undefined {
  const b = buf[from];
  if (to - from !== 1 || (b !== 0x74 && b !== 0x66)) return undefined;
  return b === 0x74;
}

/** A declared length: digits only, or -1 (null) where RESP allows it. */
export function lengthOf(buf: Uint8Array, from: number, to: number, nullable: boolean): number | undefined {
  if (nullable && to - from === 2 && buf[from] === ERROR && buf[from + 1] === 0x31) return -1;
  if (to === from || to - from > 19) return undefined;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = (buf[i] as number) - 0x30;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  return n;
}
