import { parseList } from "structured-headers";
import { describe, expect, it } from "vitest";
import { decide } from "../../src/core/limiter";
import { legacyRateLimitFields, rateLimitFields } from "../../src/core/ratelimit-headers";

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
});
