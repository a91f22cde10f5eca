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
  const policy: Item[] = policies.map((p) => [
    p.name,
    new Map([
      ["q", p.quota],
      ["w", p.windowSeconds],
    ]),
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
  if (policies.length === 0) return {};
  const tightest = policies.reduce((a, b) => (b.remaining < a.remaining ? b : a));
  return {
    "X-RateLimit-Limit": String(tightest.quota),
    "X-RateLimit-Remaining": String(tightest.remaining),
    "X-RateLimit-Reset": String(tightest.resetSeconds),
  };
}
