// The IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers-11), one item per policy.

import { type Item, serializeList } from "structured-headers";
import type { PolicyReport } from "./limiter";

export interface RateLimitFields {
  "RateLimit-Policy": string;
  RateLimit: string;
}

/**
 * Formats policy reports as the two Structured-Field Lists:
 * `RateLimit-Policy: "default";q=100;w=60` and `RateLimit: "default";r=42;t=18`.
 */
export function rateLimitFields(policies: PolicyReport[]): RateLimitFields {
  // A calls-in-flight cap has no window: it has q, and no w.
  const policy: Item[] = policies.map((p) => [
    p.name,
    new Map(
      p.kind === "concurrency"
        ? [["q", p.quota]]
        : [
            ["q", p.quota],
            ["w", p.windowSeconds],
          ],
    ),
  ]);
  const limit: Item[] = policies.map((p) => [
    p.name,
    new Map([
      ["r", p.remaining],
      ["t", p.resetSeconds],
    ]),
  ]);
  return { "RateLimit-Policy": serializeList(policy), RateLimit: serializeList(limit) };
}

/**
 * The pre-standard `X-RateLimit-*` trio, for clients that still read it. It can describe
 * only one policy, so it describes the one with the fewest units left.
 */
export function legacyRateLimitFields(policies: PolicyReport[]): Record<string, string> {
  const p = tightest(policies);
  if (!p) return {};
  return {
    "X-RateLimit-Limit": String(p.quota),
    "X-RateLimit-Remaining": String(p.remaining),
    "X-RateLimit-Reset": String(p.resetSeconds),
  };
}

/** A duration as OpenAI writes its reset fields: "0s", "45s", "6m0s", "1h2m3s". */
export function openAiDuration(totalSeconds: number): string {
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

const tightest = (policies: PolicyReport[]) =>
  policies.length === 0 ? null : policies.reduce((a, b) => (b.remaining < a.remaining ? b : a));

/**
 * OpenAI's `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, which OpenAI-compatible
 * clients and dashboards read: each trio from the policy of its kind with the least left.
 * Requests are the request buckets; tokens are the units buckets and the daily quota (units
 * are tokens on token routes). A kind the call meets no policy of is left out.
 */
export function openAiRateLimitFields(policies: PolicyReport[]): Record<string, string> {
  const out: Record<string, string> = {};
  const kinds = [
    ["requests", tightest(policies.filter((p) => p.kind === "requests"))],
    ["tokens", tightest(policies.filter((p) => p.kind === "bucket" || p.kind === "daily"))],
  ] as const;
  for (const [kind, p] of kinds) {
    if (!p) continue;
    out[`x-ratelimit-limit-${kind}`] = String(p.quota);
    out[`x-ratelimit-remaining-${kind}`] = String(p.remaining);
    out[`x-ratelimit-reset-${kind}`] = openAiDuration(p.resetSeconds);
  }
  return out;
}
