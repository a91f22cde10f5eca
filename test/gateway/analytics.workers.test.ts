// The Worker's per-call Analytics Engine data points (src/core/analytics-metrics.ts).
//
// Miniflare binds wrangler.toml's AEGIS_ANALYTICS to a local simulator whose writeDataPoint
// drops every point (it forwards them only to a remote dataset, which these machines have
// none of), so no written point can be read back from the real binding. The tests check that
// the real binding takes the gateway's writes without failing a call, and read the points
// from a recording dataset passed as AEGIS_ANALYTICS to the Worker's own fetch handler.

import { createExecutionContext, SELF, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { DATA_POINT_BLOBS, DATA_POINT_DOUBLES, type DataPointWriter } from "../../src/core/analytics-metrics";
import { counterFor } from "../../src/core/tokenizer";
import worker from "../../src/index";
import { BASE, env, newTenant } from "../support/workers/helpers";

type Point = Parameters<DataPointWriter["writeDataPoint"]>[0];

/** A data point by name, as docs/http-api.md lays the positions out. */
function named(point: Point) {
  const blobs = Object.fromEntries(DATA_POINT_BLOBS.map((name, i) => [name, point.blobs?.[i]]));
  const doubles = Object.fromEntries(DATA_POINT_DOUBLES.map((name, i) => [name, point.doubles?.[i]]));
  return { indexes: point.indexes, ...blobs, ...doubles } as unknown as Record<string, unknown> & {
    limiter_ms: number;
    upstream_ms: number;
    total_ms: number;
    output_tokens: number;
  };
}

/**
 * Calls the Worker with a dataset that records (or the bindings of `overrides`); resolves
 * once the call and its after-response work are done.
 */
async function recorded(
  path: string,
  init: RequestInit = {},
  key?: string,
  beforeBody?: (points: Point[]) => void,
  overrides: Partial<typeof env> = {},
) {
  const points: Point[] = [];
  const dataset = { writeDataPoint: (point: Point) => void points.push(structuredClone(point)) };
  const headers = new Headers(init.headers);
  if (key) headers.set("authorization", `Bearer ${key}`);
  const ctx = createExecutionContext();
  const request = new Request(`${BASE}${path}`, { method: "POST", body: "{}", ...init, headers });
  const res = await worker.fetch(
    request as Request<unknown, IncomingRequestCfProperties>,
    { ...env, AEGIS_ANALYTICS: dataset as unknown as AnalyticsEngineDataset, ...overrides },
    ctx,
  );
  beforeBody?.(points);
  const body = await res.text();
  await waitOnExecutionContext(ctx);
  return { res, body, points };
}

describe("Analytics Engine data points", () => {
  // The prompt tokenizer loads once per isolate, for seconds: before the calls, so that no
  // call waits on it with an idle upstream connection the echo server may close meanwhile.
  beforeAll(async () => {
    await counterFor("gpt-4o", "tokenizer");
  }, 30_000);

  it("writes a streamed call's point once the stream has ended and been metered, with its tokens", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 10_000, dailyUnits: null });
    // The stream reports no usage: the gateway bills the prompt's estimate (o200k_base: 10
    // tokens and 4 for the message) and counts the output it carried.
    const body = JSON.stringify({
      model: "gpt-4o",
      stream: true,
      messages: [{ role: "user", content: "The quick brown fox jumps over the lazy dog." }],
    });
    let beforeBody: Point[] | null = null;
    const {
      res,
      body: text,
      points,
    } = await recorded(
      "/v1/messages?sse=1&usage=asked",
      { body, headers: { "content-type": "application/json" } },
      t.key,
      (sofar) => {
        beforeBody = [...sofar];
      },
    );
    // Nothing was written when the response began: the call is over once its stream is.
    expect(beforeBody).toEqual([]);
    expect(res.status).toBe(200);
    expect(text).toContain("[DONE]");
    expect(points).toHaveLength(1);
    const point = named(points[0] as Point);
    expect(point).toMatchObject({
      tenant: t.id,
      route: "msgs",
      model: "gpt-4o",
      outcome: "admitted",
      input_tokens: 14,
      status: 200,
    });
    expect(point.output_tokens).toBeGreaterThan(0);
  });

  it("writes one point for an admitted call, with its tenant, route, model, tokens and latency", async () => {
    const t = await newTenant({ ratePerMinute: 60, burst: 10, dailyUnits: 1000 });
    const { res, points } = await recorded("/v1/chat/completions?tokens=5", {}, t.key);
    expect(res.status).toBe(200);
    expect(points).toHaveLength(1);
    const point = named(points[0] as Point);
    expect(point).toMatchObject({
      indexes: [t.id],
      tenant: t.id,
      route: "chat",
      model: "echo-1",
      outcome: "admitted",
      policy: "",
      upstream_error: "",
      input_tokens: 3,
      output_tokens: 2,
      cached_input_tokens: 0,
      status: 200,
    });
    // workerd's clock moves only across I/O: the upstream fetch is some, the limiter's call another.
    expect(point.upstream_ms).toBeGreaterThan(0);
    expect(point.total_ms).toBeGreaterThanOrEqual(point.upstream_ms + point.limiter_ms);
    expect(points[0]?.blobs).toHaveLength(DATA_POINT_BLOBS.length);
    expect(points[0]?.doubles).toHaveLength(DATA_POINT_DOUBLES.length);
  });

  it("writes one point for a limited call, naming the policy it broke, and none for the upstream", async () => {
    const t = await newTenant({ ratePerMinute: 60, burst: 1, dailyUnits: 1000 });
    expect((await recorded("/v1/chat/completions", {}, t.key)).res.status).toBe(200);
    const { res, points } = await recorded("/v1/chat/completions", {}, t.key);
    expect(res.status).toBe(429);
    expect(points.map(named)).toEqual([
      expect.objectContaining({
        indexes: [t.id],
        tenant: t.id,
        route: "chat",
        outcome: "limited",
        policy: "chat",
        status: 429,
        input_tokens: 0,
        output_tokens: 0,
        upstream_ms: 0,
      }),
    ]);
  });

  it("writes one point without a tenant for an unauthorized call", async () => {
    const { res, points } = await recorded("/v1/embeddings", {}, "ak_tnnobodynobodynob_notakey");
    expect(res.status).toBe(401);
    expect(points).toHaveLength(1);
    const point = named(points[0] as Point);
    expect(point).toMatchObject({ tenant: "", route: "embed", outcome: "unauthorized", status: 401, limiter_ms: 0 });
    expect(point.indexes).toBeUndefined();
  });

  it("writes one point for a call the upstream failed, naming how", async () => {
    const t = await newTenant({ ratePerMinute: 60, burst: 10, dailyUnits: 1000 });
    const { res, points } = await recorded("/v1/chat/completions?status=503", {}, t.key);
    expect(res.status).toBe(503);
    expect(points.map(named)).toEqual([
      expect.objectContaining({ tenant: t.id, outcome: "admitted", upstream_error: "5xx", status: 503 }),
    ]);
  });

  it("writes one point for a call whose upstream can't be reached, with the 502 the client got", async () => {
    const t = await newTenant({ ratePerMinute: 60, burst: 10, dailyUnits: 1000 });
    // Port 9 (discard) on loopback: nothing listens there.
    const unreachable = { UPSTREAM_URL: "http://127.0.0.1:9" };
    const { res, body, points } = await recorded("/v1/chat/completions", {}, t.key, undefined, unreachable);
    expect(res.status).toBe(502);
    expect((JSON.parse(body) as { code: string }).code).toBe("upstream-unavailable");
    expect(points.map(named)).toEqual([
      expect.objectContaining({ tenant: t.id, outcome: "admitted", upstream_error: "unreachable", status: 502 }),
    ]);
  });

  it("answers the call when writing its point throws", async () => {
    const t = await newTenant({ ratePerMinute: 60, burst: 10, dailyUnits: 1000 });
    let tried = 0;
    const failing = {
      writeDataPoint: () => {
        tried++;
        throw new Error("dataset unavailable");
      },
    } as unknown as AnalyticsEngineDataset;
    const { res } = await recorded("/v1/chat/completions", {}, t.key, undefined, { AEGIS_ANALYTICS: failing });
    expect(res.status).toBe(200);
    expect(tried).toBe(1);
  });

  it("writes none for a public route, which is no call at the limiter", async () => {
    const { res, points } = await recorded("/health", { method: "GET", body: null });
    expect(res.status).toBe(200);
    expect(points).toEqual([]);
  });

  it("calls through the binding wrangler.toml declares, and without any binding, are answered as usual", async () => {
    expect(typeof env.AEGIS_ANALYTICS?.writeDataPoint).toBe("function");
    const t = await newTenant({ ratePerMinute: 60, burst: 10, dailyUnits: 1000 });
    const res = await SELF.fetch(`${BASE}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.key}` },
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const ctx = createExecutionContext();
    const unbound = await worker.fetch(
      new Request(`${BASE}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${t.key}` },
      }) as Request<unknown, IncomingRequestCfProperties>,
      { ...env, AEGIS_ANALYTICS: undefined },
      ctx,
    );
    expect(unbound.status).toBe(200);
    await unbound.arrayBuffer();
    await waitOnExecutionContext(ctx);
  });
});
