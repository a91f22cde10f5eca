// The gateway on Workers coalesces the settles of a tenant's concurrent calls: separate
// requests to the Worker, in one isolate, whose replies end together, settle in fewer
// Durable Object calls than there are calls, and each call is still billed its own usage.

import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TenantLimiter } from "../../src/tenant-limiter";
import { call, env, eventually, limiterStub, newTenant, usedToday } from "../support/workers/helpers";

const CALLS = 20;

describe("settle batching through the Worker", () => {
  it("settles 20 concurrent calls of one tenant in fewer round trips than calls, each at its own tokens", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 100_000, dailyUnits: 1_000_000 });
    const holds = Array.from({ length: CALLS }, (_, i) => `batch-${t.id}-${i}`);
    // Streams the upstream holds open until released, so that every reply ends at once.
    const responses = await Promise.all(
      holds.map((hold, i) => call(t.key, `/v1/chat/completions?sse=1&tokens=${i + 1}&hold=${hold}`)),
    );
    expect(responses.map((r) => r.status)).toEqual(holds.map(() => 200));
    const bodies = responses.map((r) => r.text());
    await Promise.all(holds.map((hold) => fetch(`${env.UPSTREAM_URL}/release?id=${hold}`)));
    await Promise.all(bodies);

    const calls = await eventually(async () => {
      const seen = await runInDurableObject(limiterStub(t.id), (limiter: TenantLimiter) => ({
        ...limiter.settleCalls,
      }));
      expect(seen.items).toBe(CALLS);
      return seen;
    });
    expect(calls.calls).toBeGreaterThanOrEqual(1);
    expect(calls.calls).toBeLessThan(CALLS);
    // Each call was settled to its own reply's tokens: 1 + 2 + … + 20.
    expect(await usedToday(t.id)).toBe((CALLS * (CALLS + 1)) / 2);
  });
});
