// Reads OpenAI's rate-limit fields, which the gateway sends beside the IETF ones:
//   x-ratelimit-limit-requests: 60         x-ratelimit-limit-tokens: 150000
//   x-ratelimit-remaining-requests: 59     x-ratelimit-remaining-tokens: 149984
//   x-ratelimit-reset-requests: 1s         x-ratelimit-reset-tokens: 6m0s
// They are plain text, not Structured Fields, and OpenAI-compatible servers write the reset
// in several ways ("6m0s", "17ms", "7.66s", a bare number of seconds), so the reset is read
// leniently and the two counts strictly: a count that is not a whole number drops its trio.

/** One kind's trio: the policy of that kind with the least left. */
export interface OpenAiRateLimit {
  /** x-ratelimit-limit-*: the most the policy holds. */
  limit: number;
  /** x-ratelimit-remaining-*: what is left of it. */
  remaining: number;
  /** x-ratelimit-reset-* in seconds ("6m0s" is 360, "17ms" is 0.017), when it could be read. */
  resetSeconds?: number;
  /** The reset as sent. */
  reset?: string;
}

/**
 * `requests` from the request buckets; `tokens` from the units buckets and the daily quota
 * (the gateway's units are tokens on token routes). A kind the response has no trio of is
 * absent.
 */
export interface OpenAiRateLimits {
  requests?: OpenAiRateLimit;
  tokens?: OpenAiRateLimit;
}

const SECONDS_PER_UNIT: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, ns: 1e-9 };
// "ms" before "m" and "s", so that "17ms" is not read as 17 minutes and a stray "s".
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/y;

/** A Go-style duration as OpenAI writes it ("1h2m3s", "6m0s", "17ms"), or bare seconds, in seconds. */
export function parseOpenAiDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  let total = 0;
  for (let i = 0; i < s.length; ) {
    DURATION_PART.lastIndex = i;
    const m = DURATION_PART.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * (SECONDS_PER_UNIT[m[2] as string] as number);
    i = DURATION_PART.lastIndex;
  }
  // Whole milliseconds: the sum of fractional parts would otherwise carry float noise.
  return Math.round(total * 1000) / 1000;
}

function count(value: string | null): number | undefined {
  if (value === null || !/^\d{1,15}$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

function trio(headers: Headers, kind: "requests" | "tokens"): OpenAiRateLimit | undefined {
  const limit = count(headers.get(`x-ratelimit-limit-${kind}`));
  const remaining = count(headers.get(`x-ratelimit-remaining-${kind}`));
  if (limit === undefined || remaining === undefined) return undefined;
  const reset = headers.get(`x-ratelimit-reset-${kind}`) ?? undefined;
  const resetSeconds = reset === undefined ? undefined : parseOpenAiDuration(reset);
  return {
    limit,
    remaining,
    ...(reset === undefined ? {} : { reset }),
    ...(resetSeconds === undefined ? {} : { resetSeconds }),
  };
}

/** Both trios from a response's headers; undefined when it has neither. */
export function parseOpenAiRateLimit(headers: Headers): OpenAiRateLimits | undefined {
  const requests = trio(headers, "requests");
  const tokens = trio(headers, "tokens");
  if (!requests && !tokens) return undefined;
  return { ...(requests ? { requests } : {}), ...(tokens ? { tokens } : {}) };
}
