// One policy's figures, as the RateLimit fields, the OpenAI-style headers and
// `/account/v1/limits` report them.

import { DAILY_POLICY } from "./limits";
import type { BucketLimits } from "./token-bucket";

export interface PolicyReport {
  name: string;
  /** bucket: units (tokens on token routes); requests: calls; daily: units a day; concurrency: calls in flight. */
  kind: "bucket" | "requests" | "daily" | "concurrency";
  /** q: the policy's quota (units, calls, or calls in flight). */
  quota: number;
  /** w: the policy's window in seconds; 0 for concurrency, which has none. */
  windowSeconds: number;
  /** r: what is left. */
  remaining: number;
  /** t: seconds until the policy is fully restored (for concurrency, a retry hint). */
  resetSeconds: number;
}

/** The longest Retry-After we announce, for calls the current limits can never admit. */
export const NEVER_RETRY_SECONDS = 86_400;
/**
 * What a call refused for want of a free slot is told to wait. A slot frees when some call
 * ends, which nothing can foresee: this is a hint to retry soon, not a promise.
 */
export const CONCURRENCY_RETRY_SECONDS = 1;

export const seconds = (ms: number) => Math.ceil(ms / 1000);

function bucketWindowSeconds(b: BucketLimits): number {
  // The time a full bucket takes to refill from empty; equals 60 when burst == rate.
  return b.ratePerMinute === 0 ? NEVER_RETRY_SECONDS : Math.max(1, seconds((b.burst * 60_000) / b.ratePerMinute));
}

export function bucketReport(
  name: string,
  kind: "bucket" | "requests",
  b: BucketLimits,
  remaining: number,
  resetMs: number | null,
): PolicyReport {
  const windowSeconds = bucketWindowSeconds(b);
  return {
    name,
    kind,
    quota: b.burst,
    windowSeconds,
    remaining,
    resetSeconds: resetMs === null ? windowSeconds : seconds(resetMs),
  };
}

/** The policy report of the daily quota for the RateLimit fields, or null without a daily limit. */
export function dailyPolicy(daily: {
  units: number | null;
  remaining: number | null;
  resetSeconds: number;
}): PolicyReport | null {
  if (daily.units === null) return null;
  return {
    name: DAILY_POLICY,
    kind: "daily",
    quota: daily.units,
    windowSeconds: 86_400,
    remaining: daily.remaining ?? 0,
    resetSeconds: daily.resetSeconds,
  };
}

/** A calls-in-flight cap with `inFlight` calls holding slots. */
export function concurrencyReport(name: string, max: number, inFlight: number): PolicyReport {
  const remaining = Math.max(0, max - inFlight);
  return {
    name,
    kind: "concurrency",
    quota: max,
    windowSeconds: 0,
    remaining,
    resetSeconds: remaining > 0 ? 0 : CONCURRENCY_RETRY_SECONDS,
  };
}
