// The SDK's reading of OpenAI's x-ratelimit-* fields: what the gateway writes reads back to
// the policy it came from, OpenAI's own duration forms are understood, and a malformed count
// drops its trio rather than inventing a number.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseOpenAiDuration, parseOpenAiRateLimit, parseRateLimit } from "../../src/client/index";
import type { PolicyReport } from "../../src/core/limiter";
import { openAiRateLimitFields } from "../../src/core/ratelimit-headers";

const policyArb: fc.Arbitrary<PolicyReport> = fc.record({
  name: fc.constantFrom("chat", "chat/requests", "key/chat", "key/chat/requests", "daily", "concurrency"),
  kind: fc.constantFrom("bucket", "requests", "daily", "concurrency"),
  quota: fc.integer({ min: 1, max: 1_000_000 }),
  windowSeconds: fc.integer({ min: 1, max: 86_400 }),
  remaining: fc.integer({ min: 0, max: 1_000_000 }),
  resetSeconds: fc.integer({ min: 0, max: 200_000 }),
}) as fc.Arbitrary<PolicyReport>;

const least = (ps: PolicyReport[]) =>
  ps.length === 0 ? undefined : ps.reduce((a, b) => (b.remaining < a.remaining ? b : a));

describe("OpenAI's x-ratelimit-* fields", () => {
  it("read back to the policy of each kind with the least left, for any set of policies", () => {
    fc.assert(
      fc.property(fc.array(policyArb, { maxLength: 7 }), (policies) => {
        const read = parseOpenAiRateLimit(new Headers(openAiRateLimitFields(policies)));
        const expected = {
          requests: least(policies.filter((p) => p.kind === "requests")),
          tokens: least(policies.filter((p) => p.kind === "bucket" || p.kind === "daily")),
        };
        for (const kind of ["requests", "tokens"] as const) {
          const p = expected[kind];
          if (!p) expect(read?.[kind]).toBeUndefined();
          else
            expect(read?.[kind]).toMatchObject({
              limit: p.quota,
              remaining: p.remaining,
              resetSeconds: p.resetSeconds,
            });
        }
        if (!expected.requests && !expected.tokens) expect(read).toBeUndefined();
      }),
    );
  });

  it("reads the reset as OpenAI and compatible servers write it", () => {
    expect(parseOpenAiDuration("0s")).toBe(0);
    expect(parseOpenAiDuration("1s")).toBe(1);
    expect(parseOpenAiDuration("6m0s")).toBe(360);
    expect(parseOpenAiDuration("1h2m3s")).toBe(3723);
    expect(parseOpenAiDuration("17ms")).toBe(0.017);
    expect(parseOpenAiDuration("2m59.56s")).toBe(179.56);
    expect(parseOpenAiDuration("7.66s")).toBe(7.66);
    expect(parseOpenAiDuration("12")).toBe(12);
    for (const bad of ["", "s", "1x", "1m 2s", "-1s", "1.s", "soon"])
      expect(parseOpenAiDuration(bad), bad).toBeUndefined();
  });

  it("drops a trio whose counts are not whole numbers, and keeps one whose reset it cannot read", () => {
    const read = parseOpenAiRateLimit(
      new Headers({
        "x-ratelimit-limit-requests": "60",
        "x-ratelimit-remaining-requests": "-1",
        "x-ratelimit-reset-requests": "1s",
        "x-ratelimit-limit-tokens": "1000",
        "x-ratelimit-remaining-tokens": "999",
        "x-ratelimit-reset-tokens": "later",
      }),
    );
    expect(read).toEqual({ tokens: { limit: 1000, remaining: 999, reset: "later" } });
    expect(parseOpenAiRateLimit(new Headers({ "x-ratelimit-limit-tokens": "5" }))).toBeUndefined();
  });

  it("come with the RateLimit fields in parseRateLimit, and are absent when not sent", () => {
    const headers = new Headers({
      "RateLimit-Policy": '"chat/requests";q=60;w=60',
      RateLimit: '"chat/requests";r=59;t=1',
      ...openAiRateLimitFields([
        { name: "chat/requests", kind: "requests", quota: 60, windowSeconds: 60, remaining: 59, resetSeconds: 1 },
      ]),
    });
    expect(parseRateLimit(headers).openai).toEqual({
      requests: { limit: 60, remaining: 59, reset: "1s", resetSeconds: 1 },
    });
    expect(parseRateLimit(new Headers({ RateLimit: '"a";r=1' })).openai).toBeUndefined();
  });
});
