// The gateway when its limiter cannot be reached: a store that fails every call stands in
// for the outage (the Redis adapter's tests stop a real server, issue 5).

import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { guardedStore } from "../../src/core/guarded-store";
import type { LimiterStore } from "../../src/core/limiter-store";
import { openNeonDatabase } from "../../src/db/neon";
import { createGateway } from "../../src/http/app";
import { env, newTenant } from "./helpers";

const unreachable: LimiterStore = {
  check: () => Promise.reject(new Error("connect ETIMEDOUT")),
  settle: () => Promise.reject(new Error("connect ETIMEDOUT")),
  limits: () => Promise.reject(new Error("connect ETIMEDOUT")),
  record: () => Promise.reject(new Error("connect ETIMEDOUT")),
  apply: () => Promise.reject(new Error("connect ETIMEDOUT")),
};

const gateway = createGateway({
  openDatabase: (e) => openNeonDatabase(e.DATABASE_URL ?? "", e.NEON_WS_PROXY),
  store: () => guardedStore(unreachable, 1_000, 1_000),
});

async function callWith(mode: "open" | "closed", key: string) {
  const ctx = createExecutionContext();
  const res = await gateway.fetch(
    new Request("http://gateway.test/v1/completions", {
      method: "POST",
      body: "{}",
      headers: { authorization: `Bearer ${key}` },
    }),
    { ...env, LIMITER_FAILURE_MODE: mode },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

describe("limiter outage", () => {
  it("closed: answers 503 limiter-unavailable, never 429", async () => {
    const t = await newTenant({ ratePerMinute: 60, burst: 10, dailyUnits: null });
    const res = await callWith("closed", t.key);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(((await res.json()) as { code: string }).code).toBe("limiter-unavailable");
  });

  it("open: forwards the call, says it was not enforced, and does not vouch for the tenant upstream", async () => {
    const t = await newTenant({ ratePerMinute: 60, burst: 10, dailyUnits: null });
    const res = await callWith("open", t.key);
    expect(res.status).toBe(200);
    expect(res.headers.get("aegis-limit-enforced")).toBe("false");
    expect(res.headers.get("ratelimit")).toBeNull();
    const seen = ((await res.json()) as { echo: { headers: Record<string, string> } }).echo.headers;
    expect(seen["x-aegis-tenant-id"]).toBeUndefined();
    expect(seen["x-aegis-unenforced"]).toBe("true");
    expect(seen.authorization).toBeUndefined();
  });
});
