import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { Hono } from "hono";
import { parseList } from "structured-headers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { type AegisVariables, enforceRateLimit, Problem, rateLimit } from "../../src/hono";
import { env, newTenant } from "../support/workers/helpers";

async function request(
  app: Hono<{ Bindings: Env; Variables: AegisVariables }>,
  path: string,
  headers: Record<string, string> = {},
) {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://embedded.test${path}`, { headers }), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("embedding the limiter in another Hono app", () => {
  it("rateLimit() authenticates the key, exposes the tenant and limits the route", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 2, dailyUnits: null, routes: { search: { burst: 3 } } });
    const app = new Hono<{ Bindings: Env; Variables: AegisVariables }>();
    app.use("/search/*", rateLimit({ route: "search" }));
    app.get("/search/q", (c) =>
      c.json({ tenant: c.get("aegis").tenantId, remaining: c.get("aegis").decision?.policies[0]?.remaining }),
    );

    const auth = { authorization: `Bearer ${t.key}` };
    const first = await request(app, "/search/q", auth);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ tenant: t.id, remaining: 2 });
    expect(parseList(first.headers.get("ratelimit-policy") ?? "")[0]?.[0]).toBe("search");
    await request(app, "/search/q", auth);
    await request(app, "/search/q", auth);
    const limited = await request(app, "/search/q", auth);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("86400");
    expect((await request(app, "/search/q")).status).toBe(401);
  });

  it("rateLimit({ tenant }) trusts the app's own identification and checks only the limits", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 10, dailyUnits: 4 });
    const app = new Hono<{ Bindings: Env; Variables: AegisVariables }>();
    app.use("/jobs/*", rateLimit({ route: "jobs", cost: 2, tenant: () => t.id, legacyHeaders: true }));
    app.post("/jobs/run", (c) => c.text("ok"));
    app.get("/jobs/run", (c) => c.text("ok"));
    const ok = await request(app, "/jobs/run");
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-ratelimit-remaining")).toBe("2");
    expect((await request(app, "/jobs/run")).status).toBe(200);
    const limited = await request(app, "/jobs/run");
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as { "violated-policies": string[] })["violated-policies"]).toEqual(["daily"]);
  });

  it("rejects bad options when the middleware is built, not per request", () => {
    expect(() => rateLimit({ cost: -1 })).toThrow(/cost/);
    expect(() => rateLimit({ cost: 1.5 })).toThrow(/cost/);
    expect(() => rateLimit({ timeoutMs: 0 })).toThrow(/timeoutMs/);
  });

  it("enforceRateLimit() returns the outcome as data", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 5, dailyUnits: 3 });
    const first = await enforceRateLimit(env, t.id, "default", 3);
    expect(first.outcome).toBe("allowed");
    if (first.outcome === "allowed") expect(first.headers.RateLimit).toMatch(/"daily";r=0;/);
    const peek = await enforceRateLimit(env, t.id, "default", 0);
    expect(peek.outcome).toBe("allowed");
    const second = await enforceRateLimit(env, t.id, "default", 1);
    expect(second.outcome).toBe("limited");
    if (second.outcome === "limited") {
      const res = second.problem.response();
      expect(res.status).toBe(429);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
    expect((await enforceRateLimit(env, "tnaaaaaaaaaaaaaaaa", "default", 1)).outcome).toBe("unauthenticated");
  });

  it("enforceRateLimit() refuses a malformed route or cost with a 400 problem, before asking the limiter", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 5, dailyUnits: 3 });
    for (const [route, cost] of [
      ["default", -1],
      ["default", 1.5],
      ["default", Number.NaN],
      ["daily", 1],
      ["no spaces", 1],
    ] as const) {
      const err = await enforceRateLimit(env, t.id, route, cost).catch((e: unknown) => e);
      expect(err, `${route} ${cost}`).toBeInstanceOf(Problem);
      expect((err as Problem).status).toBe(400);
    }
  });
});
