import { SELF } from "cloudflare:test";
import { parseList } from "structured-headers";
import { describe, expect, it } from "vitest";
import { noonZone } from "../support/noon-zone";
import { BASE, call, newTenant } from "../support/workers/helpers";

const params = (field: string | null) =>
  parseList(field ?? "").map(([name, p]) => [name, Object.fromEntries(p)] as [string, Record<string, unknown>]);

describe("front door", () => {
  it("admits a call with a valid key, forwards it without the key, and adds RateLimit fields", async () => {
    const t = await newTenant({ ratePerMinute: 60, burst: 10, dailyUnits: 1000 });
    const res = await call(t.key, "/v1/chat/completions?model=m1", { headers: { "x-aegis-tenant-id": "spoofed" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-upstream")).toBe("echo");
    const body = (await res.json()) as { echo: { url: string; headers: Record<string, string> } };
    expect(body.echo.url).toBe("/v1/chat/completions?model=m1");
    expect(body.echo.headers.authorization).toBeUndefined();
    expect(body.echo.headers["x-aegis-tenant-id"]).toBe(t.id);
    expect(body.echo.headers["x-aegis-route"]).toBe("chat");
    expect(params(res.headers.get("ratelimit-policy"))).toEqual([
      ["chat", { q: 10, w: 10 }],
      ["daily", { q: 1000, w: 86_400 }],
    ]);
    const [bucket, daily] = params(res.headers.get("ratelimit"));
    expect(bucket?.[0]).toBe("chat");
    expect(bucket?.[1]).toEqual({ r: 9, t: 1 });
    expect(daily?.[0]).toBe("daily");
    expect(daily?.[1].r).toBe(999);
    expect(res.headers.get("x-ratelimit-limit")).toBeNull();
  });

  it("names the tenant and route to the upstream under Aegis-*, and the deprecated x-aegis-* too, whatever the client sent", async () => {
    const t = await newTenant({ ratePerMinute: 60, burst: 10, dailyUnits: 1000 });
    const spoofed = {
      "Aegis-Tenant-Id": "tnspoofedspoofedsp",
      "aegis-route": "free",
      "Aegis-Unenforced": "true",
      "x-aegis-route": "free",
      "Aegis-Anything": "x",
    };
    const res = await call(t.key, "/v1/chat/completions", { headers: spoofed });
    expect(res.status).toBe(200);
    const sent = ((await res.json()) as { echo: { headers: Record<string, string> } }).echo.headers;
    const gateway = Object.fromEntries(Object.entries(sent).filter(([name]) => /^(x-)?aegis-/.test(name)));
    expect(gateway).toEqual({
      "aegis-tenant-id": t.id,
      "aegis-route": "chat",
      "x-aegis-tenant-id": t.id,
      "x-aegis-route": "chat",
    });
  });

  it("takes the key from x-api-key or api-key as well, and forwards none of the three key headers", async () => {
    const t = await newTenant({ ratePerMinute: 60, burst: 10, dailyUnits: 1000 });
    for (const header of ["x-api-key", "api-key"]) {
      const res = await SELF.fetch(`${BASE}/v1/chat/completions`, { method: "POST", headers: { [header]: t.key } });
      expect(res.status).toBe(200);
      const sent = ((await res.json()) as { echo: { headers: Record<string, string> } }).echo.headers;
      expect(sent["aegis-tenant-id"]).toBe(t.id);
      expect([sent.authorization, sent["x-api-key"], sent["api-key"]]).toEqual([undefined, undefined, undefined]);
    }
  });

  it("answers 429 problem+json with violated-policies, Retry-After and parseable fields", async () => {
    const t = await newTenant({ ratePerMinute: 6, burst: 2, dailyUnits: 1000 });
    expect((await call(t.key, "/v1/other")).status).toBe(200);
    expect((await call(t.key, "/v1/other")).status).toBe(200);
    const res = await call(t.key, "/v1/other");
    expect(res.status).toBe(429);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      status: 429,
      code: "quota-exceeded",
      "violated-policies": ["default"],
      route: "default",
    });
    expect(String(body.type).endsWith("quota-exceeded")).toBe(true);
    // 6 per minute is one token every 10 s.
    expect(res.headers.get("retry-after")).toBe("10");
    expect(params(res.headers.get("ratelimit-policy"))).toEqual([
      ["default", { q: 2, w: 20 }],
      ["daily", { q: 1000, w: 86_400 }],
    ]);
    expect(params(res.headers.get("ratelimit"))[0]).toEqual(["default", { r: 0, t: 20 }]);
  });

  it("charges a route's cost from the route table, and the tenant's override over it", async () => {
    const t = await newTenant({
      ratePerMinute: 0,
      burst: 100,
      dailyUnits: 100,
      routes: { chat: { cost: 5 } },
    });
    const embed = await call(t.key, "/v1/embeddings", { method: "GET", body: null });
    expect(params(embed.headers.get("ratelimit"))[1]?.[1].r).toBe(98);
    const chat = await call(t.key, "/v1/chat/completions");
    expect(params(chat.headers.get("ratelimit"))[1]?.[1].r).toBe(93);
  });

  it("names a cost the quota can never admit, and still says when to retry", async () => {
    const t = await newTenant({ ratePerMinute: 60, burst: 1, dailyUnits: null, routes: { embed: { cost: 3 } } });
    const res = await call(t.key, "/v1/embeddings", { method: "GET", body: null });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await res.json()) as { detail: string }).detail).toContain("can ever admit");
  });

  it("forwards public routes without a key or a limit", async () => {
    const res = await SELF.fetch(`${BASE}/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit")).toBeNull();
  });

  it("reports the caller's own limits at /account/v1/limits without consuming", async () => {
    const timeZone = noonZone();
    const quota = { ratePerMinute: 60, burst: 10, dailyUnits: 500, timeZone, routes: { special: { burst: 3 } } };
    const t = await newTenant(quota);
    await call(t.key, "/v1/chat/completions");
    const get = () => SELF.fetch(`${BASE}/account/v1/limits`, { headers: { authorization: `Bearer ${t.key}` } });
    const first = (await (await get()).json()) as {
      tenantId: string;
      buckets: { name: string; remaining: number; burst: number }[];
      daily: Record<string, unknown>;
    };
    expect(first.tenantId).toBe(t.id);
    expect(first.buckets.map((b) => b.name)).toEqual(["default", "chat", "embed", "msgs", "special"]);
    expect(first.buckets.find((b) => b.name === "chat")?.remaining).toBe(9);
    expect(first.buckets.find((b) => b.name === "special")?.burst).toBe(3);
    expect(first.daily).toMatchObject({ units: 500, used: 1, remaining: 499, timeZone });
    const again = await get();
    expect(params(again.headers.get("ratelimit"))).toEqual([
      ["default", { r: 10, t: 0 }],
      ["daily", { r: 499, t: expect.any(Number) }],
    ]);
    expect(((await again.json()) as typeof first).daily.used).toBe(1);
    expect((await SELF.fetch(`${BASE}/account/v1/limits`)).status).toBe(401);
  });

  it("keeps the gateway's namespaces out of the proxy", async () => {
    const t = await newTenant({ ratePerMinute: 60, burst: 10, dailyUnits: 500 });
    const res = await SELF.fetch(`${BASE}/account/v1/nothing`, { headers: { authorization: `Bearer ${t.key}` } });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
  });
});

describe("paths", () => {
  it("matches and forwards one canonical path: slashes collapse, a trailing slash matches", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 100, dailyUnits: 100 });
    const res = await call(t.key, "//v1//embeddings/", { method: "GET", body: null });
    expect(res.status).toBe(200);
    expect(params(res.headers.get("ratelimit"))[0]?.[0]).toBe("embed");
    const body = (await res.json()) as { echo: { url: string } };
    expect(body.echo.url).toBe("/v1/embeddings/");
  });

  it("refuses an encoded slash, so a public prefix cannot reach a limited route", async () => {
    const res = await SELF.fetch(`${BASE}/health/..%2Fv1%2Fchat%2Fcompletions`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe("invalid-path");
    // Dot segments, plain or encoded, resolve before matching: this is the limited chat route.
    const dots = await SELF.fetch(`${BASE}/health/%2e%2e/v1/chat/completions`, { method: "POST", body: "{}" });
    expect(dots.status).toBe(401);
  });
});
