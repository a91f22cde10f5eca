// Reads the IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers-11):
//   RateLimit-Policy: "default";q=100;w=60, "daily";q=100000;w=86400
//   RateLimit: "default";r=42;t=18, "daily";r=99000;t=3600
// Both are Structured-Field Lists (RFC 9651) of items with parameters. The SDK has no
// dependencies, so this is a small parser of that grammar: enough for these two fields,
// strict about what it accepts, and it skips what it does not understand rather than throw.
// OpenAI's x-ratelimit-* fields, sent beside them, are read by openai-fields.ts.

import { type OpenAiRateLimits, parseOpenAiRateLimit } from "./openai-fields";

export interface RateLimitPolicy {
  name: string;
  /** q: the quota, in units. */
  quota: number;
  /** w: the window, in seconds. */
  windowSeconds?: number;
  /** Parameters this SDK does not know (qu, pk, ...), as given. */
  extra: Record<string, string | number | boolean>;
}

export interface RateLimitState {
  name: string;
  /** r: units left. */
  remaining: number;
  /** t: seconds until the quota is restored. */
  resetSeconds?: number;
  extra: Record<string, string | number | boolean>;
}

export interface RateLimitInfo {
  policies: RateLimitPolicy[];
  limits: RateLimitState[];
  /** The policy with the fewest units left, joined with its state. */
  tightest?: RateLimitState & { quota?: number; windowSeconds?: number };
  /** OpenAI's `x-ratelimit-*` trios, for code written against OpenAI's; absent when there are none. */
  openai?: OpenAiRateLimits;
}

type BareItem = string | number | boolean;
type Member = { value: BareItem; params: Map<string, BareItem> };

class Cursor {
  i = 0;
  constructor(readonly s: string) {}
  peek(): string {
    return this.s[this.i] ?? "";
  }
  skipOws(): void {
    while (this.peek() === " " || this.peek() === "\t") this.i++;
  }
  skipSp(): void {
    while (this.peek() === " ") this.i++;
  }
}

function bareItem(c: Cursor): BareItem {
  const ch = c.peek();
  if (ch === '"') {
    c.i++;
    let out = "";
    for (;;) {
      const x = c.peek();
      if (x === "") throw new SyntaxError("unterminated string");
      c.i++;
      if (x === "\\") {
        const y = c.peek();
        if (y !== '"' && y !== "\\") throw new SyntaxError("bad escape");
        out += y;
        c.i++;
      } else if (x === '"') return out;
      else out += x;
    }
  }
  if (ch === "-" || (ch >= "0" && ch <= "9")) {
    const m = /^-?\d{1,15}(\.\d{1,3})?/.exec(c.s.slice(c.i));
    if (!m) throw new SyntaxError("bad number");
    c.i += m[0].length;
    return Number(m[0]);
  }
  if (ch === ":") {
    // A byte sequence, kept as its base64 text.
    const m = /^:([A-Za-z0-9+/=]*):/.exec(c.s.slice(c.i));
    if (!m) throw new SyntaxError("bad byte sequence");
    c.i += m[0].length;
    return m[1] as string;
  }
  if (ch === "?") {
    c.i++;
    const b = c.peek();
    c.i++;
    if (b === "1") return true;
    if (b === "0") return false;
    throw new SyntaxError("bad boolean");
  }
  const m = /^[A-Za-z*][A-Za-z0-9:/!#$%&'*+\-.^_`|~]*/.exec(c.s.slice(c.i));
  if (!m) throw new SyntaxError(`unexpected ${JSON.stringify(ch)}`);
  c.i += m[0].length;
  return m[0];
}

function params(c: Cursor): Map<string, BareItem> {
  const out = new Map<string, BareItem>();
  while (c.peek() === ";") {
    c.i++;
    c.skipSp();
    const m = /^[a-z*][a-z0-9_\-.*]*/.exec(c.s.slice(c.i));
    if (!m) throw new SyntaxError("bad parameter key");
    c.i += m[0].length;
    let value: BareItem = true;
    if (c.peek() === "=") {
      c.i++;
      value = bareItem(c);
    }
    out.set(m[0], value);
  }
  return out;
}

/** Parses a Structured-Field List of items; inner lists are skipped. */
export function parseList(field: string): Member[] {
  const c = new Cursor(field);
  const out: Member[] = [];
  c.skipSp();
  while (c.i < field.length) {
    if (c.peek() === "(") throw new SyntaxError("inner lists are not used by the RateLimit fields");
    const value = bareItem(c);
    out.push({ value, params: params(c) });
    c.skipOws();
    if (c.i >= field.length) break;
    if (c.peek() !== ",") throw new SyntaxError(`expected "," at ${c.i}`);
    c.i++;
    c.skipOws();
    if (c.i >= field.length) throw new SyntaxError("trailing comma");
  }
  return out;
}

function members(value: string | null): Member[] {
  if (!value) return [];
  try {
    return parseList(value);
  } catch {
    // A malformed field is as good as absent (RFC 9651: fail the whole field).
    return [];
  }
}

const num = (v: BareItem | undefined) => (typeof v === "number" ? v : undefined);

function extra(p: Map<string, BareItem>, known: string[]): Record<string, BareItem> {
  const out: Record<string, BareItem> = {};
  for (const [k, v] of p) if (!known.includes(k)) out[k] = v;
  return out;
}

/**
 * Reads both fields, and OpenAI's trios, from a response's headers. Missing or malformed
 * fields read as empty.
 */
export function parseRateLimit(headers: Headers): RateLimitInfo {
  const policies: RateLimitPolicy[] = [];
  for (const m of members(headers.get("ratelimit-policy"))) {
    const quota = num(m.params.get("q"));
    if (typeof m.value !== "string" || quota === undefined) continue;
    policies.push({ name: m.value, quota, windowSeconds: num(m.params.get("w")), extra: extra(m.params, ["q", "w"]) });
  }
  const limits: RateLimitState[] = [];
  for (const m of members(headers.get("ratelimit"))) {
    const remaining = num(m.params.get("r"));
    if (typeof m.value !== "string" || remaining === undefined) continue;
    limits.push({ name: m.value, remaining, resetSeconds: num(m.params.get("t")), extra: extra(m.params, ["r", "t"]) });
  }
  let tightest: RateLimitInfo["tightest"];
  for (const l of limits) {
    if (!tightest || l.remaining < tightest.remaining) {
      const p = policies.find((x) => x.name === l.name);
      tightest = { ...l, quota: p?.quota, windowSeconds: p?.windowSeconds };
    }
  }
  return { policies, limits, tightest, openai: parseOpenAiRateLimit(headers) };
}
