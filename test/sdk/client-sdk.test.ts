// The SDK's pure parts: the RateLimit field parser, the retry rules, and that its types are
// the gateway's schema types (a type-level check: tsc fails if they drift).

import type { z } from "@hono/zod-openapi";
import { describe, expect, expectTypeOf, it } from "vitest";
import type { Limits, Tenant, UsageReportResult } from "../../src/client/index";
import { AegisAdmin, AegisClient, HTTPError, parseRateLimit, TimeoutError } from "../../src/client/index";
import { retryAfterMs } from "../../src/client/transport";
import { rateLimitFields } from "../../src/core/ratelimit-headers";
import type * as S from "../../src/http/schemas";

describe("RateLimit fields", () => {
  it("reads what the gateway writes, for any number of policies", () => {
    const policies = [
      { name: "chat", kind: "bucket" as const, quota: 10, windowSeconds: 60, remaining: 3, resetSeconds: 42 },
      { name: "embed.v2", kind: "bucket" as const, quota: 1, windowSeconds: 86_400, remaining: 0, resetSeconds: 9 },
      {
        name: "daily",
        kind: "daily" as const,
        quota: 100_000,
        windowSeconds: 86_400,
        remaining: 99_000,
        resetSeconds: 1,
      },
    ];
    const fields = rateLimitFields(policies);
    const info = parseRateLimit(new Headers({ ...fields }));
    expect(info.policies.map((p) => [p.name, p.quota, p.windowSeconds])).toEqual(
      policies.map((p) => [p.name, p.quota, p.windowSeconds]),
    );
    expect(info.limits.map((l) => [l.name, l.remaining, l.resetSeconds])).toEqual(
      policies.map((p) => [p.name, p.remaining, p.resetSeconds]),
    );
    expect(info.tightest).toMatchObject({ name: "embed.v2", remaining: 0, quota: 1 });
  });

  it("keeps unknown parameters, reads escapes, and treats a malformed field as absent", () => {
    const info = parseRateLimit(
      new Headers({
        "RateLimit-Policy": '"a\\"b";q=5;w=10;qu="requests";pk=:Zm9v:, burst;q=2',
        RateLimit: '"a\\"b";r=1;t=2, burst;r=0',
      }),
    );
    expect(info.policies[0]).toMatchObject({ name: 'a"b', quota: 5, windowSeconds: 10, extra: { qu: "requests" } });
    // A bare token names a policy as well as a string does.
    expect(info.policies[1]).toMatchObject({ name: "burst", quota: 2, windowSeconds: undefined });
    expect(info.limits.map((l) => [l.name, l.remaining])).toEqual([
      ['a"b', 1],
      ["burst", 0],
    ]);
    expect(info.tightest).toMatchObject({ name: "burst", quota: 2 });
    for (const bad of ['"x";q=1,', '"x";q=', "(1 2);q=3", '"x";r=1 "y"', '"unterminated;r=1']) {
      const parsed = parseRateLimit(new Headers({ "RateLimit-Policy": bad, RateLimit: bad }));
      expect(parsed.policies).toEqual([]);
      expect(parsed.limits).toEqual([]);
    }
    expect(parseRateLimit(new Headers())).toEqual({ policies: [], limits: [], tightest: undefined });
  });
});

describe("retries", () => {
  it("reads Retry-After as seconds or as an HTTP date", () => {
    const at = Date.UTC(2026, 0, 1, 0, 0, 0);
    expect(retryAfterMs(new Response(null, { headers: { "retry-after": "7" } }), at)).toBe(7_000);
    const date = new Date(at + 12_000).toUTCString();
    expect(retryAfterMs(new Response(null, { headers: { "retry-after": date } }), at)).toBe(12_000);
    expect(retryAfterMs(new Response(null), at)).toBeNull();
  });

  it("retries 503 with jitter within the budget, then reports the last answer", async () => {
    const waits: number[] = [];
    let calls = 0;
    const client = new AegisClient({
      baseUrl: "https://gw.test",
      apiKey: "ak_x",
      retry: { maxWaitMs: 12_000 },
      random: () => 0.999,
      sleep: async (ms) => {
        waits.push(ms);
      },
      fetch: async () => {
        calls++;
        return Response.json(
          {
            type: "urn:aegis-edge:problem:limiter-unavailable",
            title: "t",
            status: 503,
            detail: "d",
            code: "limiter-unavailable",
          },
          { status: 503, headers: { "retry-after": "3", "content-type": "application/problem+json" } },
        );
      },
    });
    const err = (await client.limits().catch((e: unknown) => e)) as HTTPError;
    expect(err).toBeInstanceOf(HTTPError);
    expect(err.problem.code).toBe("limiter-unavailable");
    // 3 s asked, plus at most min(1 s, 3 s / 4 + 100 ms) of jitter: 3 waits fit in 12 s, a 4th does not.
    expect(waits).toHaveLength(3);
    for (const w of waits) {
      expect(w).toBeGreaterThanOrEqual(3_000);
      expect(w).toBeLessThan(3_850);
    }
    expect(calls).toBe(4);
  });

  it("does not retry an operator's call, nor a body that can be sent only once", async () => {
    let calls = 0;
    const busy = async () => {
      calls++;
      return new Response("busy", { status: 503, headers: { "retry-after": "1" } });
    };
    const admin = new AegisAdmin({ baseUrl: "https://gw.test", token: "t", fetch: busy });
    await expect(admin.listTenants()).rejects.toBeInstanceOf(HTTPError);
    expect(calls).toBe(1);
    const client = new AegisClient({ baseUrl: "https://gw.test", apiKey: "ak_x", fetch: busy, sleep: async () => {} });
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode("{}"));
        c.close();
      },
    });
    const res = await client.fetch("/v1/x", { method: "POST", body: stream });
    expect(res.status).toBe(503);
    expect(calls).toBe(2);
  });
});

describe("retries and cancellation", () => {
  const gatewayBusy = () =>
    Response.json(
      {
        type: "urn:aegis-edge:problem:limiter-unavailable",
        title: "t",
        status: 503,
        detail: "d",
        code: "limiter-unavailable",
      },
      { status: 503, headers: { "retry-after": "1", "content-type": "application/problem+json" } },
    );

  it("sends a POST again after the gateway's 503, never after the upstream's", async () => {
    let calls = 0;
    const upstream = new AegisClient({
      baseUrl: "https://gw.test",
      apiKey: "ak_x",
      sleep: async () => {},
      fetch: async () => {
        calls++;
        return new Response("overloaded", { status: 503, headers: { "retry-after": "1" } });
      },
    });
    expect((await upstream.fetch("/v1/jobs", { method: "POST", body: "{}" })).status).toBe(503);
    expect(calls).toBe(1);

    calls = 0;
    const gateway = new AegisClient({
      baseUrl: "https://gw.test",
      apiKey: "ak_x",
      retry: { maxWaitMs: 5_000 },
      random: () => 0,
      sleep: async () => {},
      fetch: async () => {
        calls++;
        return calls < 3 ? gatewayBusy() : new Response("ok");
      },
    });
    expect((await gateway.fetch("/v1/jobs", { method: "POST", body: "{}" })).status).toBe(200);
    expect(calls).toBe(3);
  });

  it("honours the caller's signal: before sending, and while waiting to retry", async () => {
    let calls = 0;
    const counting = async () => {
      calls++;
      return gatewayBusy();
    };
    const client = new AegisClient({ baseUrl: "https://gw.test", apiKey: "ak_x", fetch: counting });
    await expect(
      client.fetch("/v1/x", { method: "POST", body: "{}", signal: AbortSignal.abort(new Error("stop")) }),
    ).rejects.toThrow("stop");
    expect(calls).toBe(0);

    const controller = new AbortController();
    const waiting = new AegisClient({
      baseUrl: "https://gw.test",
      apiKey: "ak_x",
      fetch: counting,
      sleep: (ms) => {
        controller.abort(new Error("gave up"));
        return new Promise((r) => setTimeout(r, ms));
      },
    });
    await expect(waiting.fetch("/v1/x", { method: "POST", body: "{}", signal: controller.signal })).rejects.toThrow(
      "gave up",
    );
    expect(calls).toBe(1);
  });

  it("bounds reading a JSON answer by the timeout too", async () => {
    const client = new AegisClient({
      baseUrl: "https://gw.test",
      apiKey: "ak_x",
      timeoutMs: 50,
      fetch: async (request) =>
        new Response(
          new ReadableStream({
            start(c) {
              c.enqueue(new TextEncoder().encode('{"tenantId":'));
              request.signal.addEventListener("abort", () => c.error(request.signal.reason));
            },
          }),
          { headers: { "content-type": "application/json" } },
        ),
    });
    const err = await client.limits().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
  });
});

describe("types", () => {
  it("are the gateway's schema types", () => {
    expectTypeOf<Tenant>().toEqualTypeOf<z.output<typeof S.TenantSchema>>();
    expectTypeOf<Limits>().toEqualTypeOf<z.output<typeof S.LimitsSchema>>();
    expectTypeOf<UsageReportResult>().toEqualTypeOf<z.output<typeof S.UsageReportResultSchema>>();
    expectTypeOf<Parameters<AegisAdmin["createTenant"]>[0]>().toEqualTypeOf<z.input<typeof S.CreateTenantSchema>>();
    expectTypeOf<Parameters<AegisAdmin["setQuota"]>[1]>().toEqualTypeOf<z.input<typeof S.QuotaSchema>>();
    expectTypeOf<Parameters<AegisAdmin["createKey"]>[1]>().toEqualTypeOf<
      z.input<typeof S.CreateKeySchema> | undefined
    >();
    expectTypeOf<Parameters<AegisAdmin["setKeyLimits"]>[2]>().toEqualTypeOf<z.input<typeof S.KeyLimitsSchema> | null>();
    expectTypeOf<Awaited<ReturnType<AegisAdmin["setKeyLimits"]>>>().toEqualTypeOf<z.output<typeof S.KeySchema>>();
    expectTypeOf<Awaited<ReturnType<AegisAdmin["payInvoice"]>>>().toEqualTypeOf<z.output<typeof S.InvoiceSchema>>();
    expectTypeOf<Awaited<ReturnType<AegisAdmin["runBilling"]>>>().toEqualTypeOf<
      z.output<typeof S.BillingRunResultSchema>
    >();
    // A field the gateway does not have is a type error.
    // @ts-expect-error: not a field of the tenant schema
    expectTypeOf<Tenant["plan"]>().toBeString();
  });
});

describe("packaging", () => {
  it("has no runtime dependencies: every value import stays inside src/client", async () => {
    const { readdirSync, readFileSync } = await import("node:fs");
    const dir = new URL("../../src/client/", import.meta.url);
    for (const file of readdirSync(dir)) {
      const source = readFileSync(new URL(file, dir), "utf8");
      for (const m of source.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+"([^"]+)"/gm)) {
        expect(m[1], `${file} imports ${m[1]}`).toMatch(/^\.\/[a-z-]+$/);
      }
    }
  });
});

describe("the /docs page's script", () => {
  it("is valid JavaScript that loads only /openapi.json and calls the gateway's own origin", async () => {
    const { DOCS_JS, DOCS_HTML } = await import("../../src/http/docs/assets");
    // Compiles (a syntax error throws here); it is not run.
    expect(() => new Function(DOCS_JS)).not.toThrow();
    expect(DOCS_JS).not.toMatch(/https?:\/\//);
    expect(DOCS_HTML).not.toMatch(/<script>(?!<\/script>)/);
  });
});
