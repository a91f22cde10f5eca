// What crosses the proxy in workerd: compressed replies arrive whole and metered, a path is
// charged to the route the upstream serves it as, and the client cannot tell the upstream
// who it is.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { canonicalPath } from "../../src/core/canonical-path";
import { matchRoute } from "../../src/core/route-table";
import { call, env, eventually, newTenant, usedToday } from "../support/workers/helpers";

type Echo = { echo: { url: string; headers: Record<string, string> }; usage?: { total_tokens: number } };

describe("compressed upstream replies", () => {
  it.each(["gzip", "x-gzip", "deflate", "br"])(
    "%s: the body arrives decoded, with no stale Content-Encoding or Content-Length, and is metered",
    async (encoding) => {
      const t = await newTenant({ ratePerMinute: 0, burst: 1_000, dailyUnits: 10_000 });
      let expected = 0;
      // Negotiated (the upstream compresses only when asked) and forced (it always does).
      for (const [i, force] of [
        [1, ""],
        [2, "&force=1"],
      ] as const) {
        const res = await call(t.key, `/v1/chat/completions?tokens=${10 * i}&encoding=${encoding}${force}`);
        expect(res.status).toBe(200);
        expect(res.headers.get("content-encoding")).toBeNull();
        const text = await res.text();
        const length = res.headers.get("content-length");
        if (length !== null) expect(Number(length)).toBe(new TextEncoder().encode(text).length);
        const body = JSON.parse(text) as Echo;
        expect(body.usage?.total_tokens).toBe(10 * i);
        // The gateway asks for the plain body, so a negotiating upstream does not compress.
        expect(body.echo.headers["accept-encoding"]).toBe("identity");
        expected += 10 * i;
      }
      const sse = await call(t.key, `/v1/chat/completions?sse=1&tokens=5&encoding=${encoding}&force=1`);
      expect(sse.headers.get("content-encoding")).toBeNull();
      expect(await sse.text()).toContain("data: [DONE]");
      expected += 5;
      await eventually(async () => expect(await usedToday(t.id)).toBe(expected));
    },
  );

  it("refuses a coding it cannot decode with a 502 problem, and bills nothing for it", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 1_000, dailyUnits: 10_000 });
    const res = await call(t.key, "/v1/chat/completions?tokens=10&encoding=zstd&force=1");
    expect(res.status).toBe(502);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(((await res.json()) as { code: string }).code).toBe("upstream-encoding");
    await eventually(async () => expect(await usedToday(t.id)).toBe(0));
  });
});

describe("percent-encoded paths", () => {
  const routes = loadConfig(env).ROUTES;

  it("charges /v1/%63hat/completions to the chat route, and forwards the path it matched", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 1_000, dailyUnits: 10_000 });
    const res = await call(t.key, "/v1/%63hat/completions?tokens=9");
    expect(res.status).toBe(200);
    const body = (await res.json()) as Echo;
    expect(body.echo.url).toBe("/v1/chat/completions?tokens=9");
    expect(body.echo.headers["x-aegis-route"]).toBe("chat");
  });

  it("for any spelling, the upstream gets the canonical path, and the route is that path's", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 1_000_000, dailyUnits: null });
    const char = fc.oneof(
      fc.constantFrom(..."abcdehmstv19-._~"),
      fc.constantFrom(..."!$&'()*+,=:@"),
      fc.constantFrom("%63", "%68", "%61", "%74", "%2d", "%7E", "%20", "%C3%A9", "%25"),
    );
    const segment = fc.oneof(
      fc.constantFrom("v1", "chat", "completions", "embeddings", "%63hat", "embe%64dings", "v%31"),
      fc.array(char, { minLength: 1, maxLength: 6 }).map((a) => a.join("")),
    );
    const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join("/")}`);
    await fc.assert(
      fc.asyncProperty(path, fc.constantFrom("GET", "POST"), async (raw, method) => {
        const res = await call(t.key, raw, { method, body: method === "GET" ? null : "{}" });
        const canonical = canonicalPath(new URL(`http://x${raw}`).pathname);
        if ("refused" in canonical) {
          expect(res.status).toBe(400);
          await res.arrayBuffer();
          return;
        }
        expect(res.status, raw).toBe(200);
        const body = (await res.json()) as Echo;
        expect(body.echo.url).toBe(canonical.path);
        expect(body.echo.headers["x-aegis-route"]).toBe(matchRoute(routes, method, canonical.decoded).route);
      }),
      { numRuns: 60 },
    );
  });
});

describe("forwarding headers", () => {
  it("drops the client's forwarding and hop-by-hop headers, and sets its own", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 1_000, dailyUnits: 10_000 });
    const res = await call(t.key, "/v1/chat/completions", {
      headers: {
        // What Cloudflare's edge sets from the connection.
        "cf-connecting-ip": "203.0.113.9",
        "x-forwarded-for": "6.6.6.6",
        forwarded: "for=6.6.6.6;host=evil.example",
        "x-real-ip": "6.6.6.6",
        "x-forwarded-host": "evil.example",
        "x-forwarded-proto": "gopher",
        connection: "keep-alive, x-secret-hop",
        "x-secret-hop": "must not pass",
        "x-kept": "passes",
        "x-request-id": "req-edge-9",
        traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      },
    });
    expect(res.status).toBe(200);
    // The request id comes back, and reaches the upstream with the trace context unchanged.
    expect(res.headers.get("x-request-id")).toBe("req-edge-9");
    const { headers } = ((await res.json()) as Echo).echo;
    expect(headers["x-request-id"]).toBe("req-edge-9");
    expect(headers.traceparent).toBe("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    expect(headers["x-forwarded-for"]).toBe("203.0.113.9");
    expect(headers["x-real-ip"]).toBe("203.0.113.9");
    expect(headers["x-forwarded-host"]).toBe("gateway.test");
    expect(headers["x-forwarded-proto"]).toBe("http");
    expect(headers.forwarded).toBe('for=203.0.113.9;proto=http;host="gateway.test"');
    expect(headers["x-secret-hop"]).toBeUndefined();
    expect(headers["x-kept"]).toBe("passes");
    expect(JSON.stringify(headers)).not.toContain("6.6.6.6");
    expect(JSON.stringify(headers)).not.toContain("evil.example");
  });
});
