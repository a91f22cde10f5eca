import { parseList } from "structured-headers";
import { describe, expect, it } from "vitest";
import { decide } from "../../src/core/limiter";
import {
  legacyRateLimitFields,
  openAiDuration,
  openAiRateLimitFields,
  rateLimitFields,
} from "../../src/core/ratelimit-headers";

describe("RateLimit fields", () => {
  const limits = { ratePerMinute: 100, burst: 100, dailyUnits: 100_000, timeZone: "UTC", shadow: false, routes: {} };
  const now = Date.UTC(2026, 10, 29, 9, 50); // 14h10m before midnight UTC

  it("formats both fields as Structured-Field Lists with q, w, r and t per policy", () => {
    const { decision } = decide({ buckets: {}, daily: undefined }, limits, "default", 58, now);
    const fields = rateLimitFields(decision.policies);
    expect(fields["RateLimit-Policy"]).toBe('"default";q=100;w=60, "daily";q=100000;w=86400');

    const policy = parseList(fields["RateLimit-Policy"]);
    const limit = parseList(fields.RateLimit);
    expect(policy.map(([name, params]) => [name, Object.fromEntries(params)])).toEqual([
      ["default", { q: 100, w: 60 }],
      ["daily", { q: 100_000, w: 86_400 }],
    ]);
    expect(limit.map(([name, params]) => [name, Object.fromEntries(params)])).toEqual([
      // 58 tokens at 100/min take 34.8 s to come back: t rounds up.
      ["default", { r: 42, t: 35 }],
      ["daily", { r: 99_942, t: 51_000 }],
    ]);
  });

  it("gives the legacy trio for the policy with the fewest units left", () => {
    const { decision } = decide({ buckets: {}, daily: undefined }, limits, "default", 90, now);
    expect(legacyRateLimitFields(decision.policies)).toEqual({
      "X-RateLimit-Limit": "100",
      "X-RateLimit-Remaining": "10",
      "X-RateLimit-Reset": "54",
    });
  });

  it("quotes route names that are not tokens, and the result still parses", () => {
    const { decision } = decide({ buckets: {}, daily: undefined }, limits, "Chat.v2_beta", 1, now);
    const parsed = parseList(rateLimitFields(decision.policies)["RateLimit-Policy"]);
    expect(parsed[0]?.[0]).toBe("Chat.v2_beta");
  });

  it("names every v2 policy, and a calls-in-flight cap has q but no w", () => {
    const v2 = {
      ...limits,
      requestsPerMinute: 60,
      requestBurst: 10,
      maxConcurrent: 4,
      keys: { ["a".repeat(64)]: { requestsPerMinute: 5 } },
    };
    const { decision } = decide({ buckets: {}, daily: undefined }, v2, "chat", 7, now, {
      keyHash: "a".repeat(64),
      reserve: true,
      inFlight: { tenant: 1, route: 0 },
    });
    const fields = rateLimitFields(decision.policies);
    expect(fields["RateLimit-Policy"]).toBe(
      '"chat";q=100;w=60, "chat/requests";q=10;w=10, "key/chat/requests";q=5;w=60, "daily";q=100000;w=86400, "concurrency";q=4',
    );
    expect(fields.RateLimit).toBe(
      '"chat";r=93;t=5, "chat/requests";r=9;t=1, "key/chat/requests";r=4;t=12, "daily";r=99993;t=51000, "concurrency";r=2;t=0',
    );
  });

  it("gives OpenAI's request and token trios, each from the policy of its kind with the least left", () => {
    const v2 = { ...limits, requestsPerMinute: 60, requestBurst: 10, dailyUnits: 120 };
    const { decision } = decide({ buckets: {}, daily: undefined }, v2, "chat", 30, now, { reserve: true });
    expect(openAiRateLimitFields(decision.policies)).toEqual({
      "x-ratelimit-limit-requests": "10",
      "x-ratelimit-remaining-requests": "9",
      "x-ratelimit-reset-requests": "1s",
      // The day has 90 left, the bucket 70: the bucket is the tighter.
      "x-ratelimit-limit-tokens": "100",
      "x-ratelimit-remaining-tokens": "70",
      "x-ratelimit-reset-tokens": "18s",
    });
    const day = decide({ buckets: {}, daily: undefined }, { ...v2, dailyUnits: 40 }, "chat", 30, now);
    expect(openAiRateLimitFields(day.decision.policies)).toMatchObject({
      "x-ratelimit-limit-tokens": "40",
      "x-ratelimit-remaining-tokens": "10",
      "x-ratelimit-reset-tokens": "14h10m0s",
    });
    // A tenant with no request bucket gets no request trio.
    const plain = decide({ buckets: {}, daily: undefined }, limits, "chat", 1, now);
    expect(Object.keys(openAiRateLimitFields(plain.decision.policies))).toEqual([
      "x-ratelimit-limit-tokens",
      "x-ratelimit-remaining-tokens",
      "x-ratelimit-reset-tokens",
    ]);
  });

  it("writes durations as OpenAI does", () => {
    expect([0, 1, 59, 60, 61, 3_599, 3_600, 86_400].map(openAiDuration)).toEqual([
      "0s",
      "1s",
      "59s",
      "1m0s",
      "1m1s",
      "59m59s",
      "1h0m0s",
      "24h0m0s",
    ]);
  });
});
