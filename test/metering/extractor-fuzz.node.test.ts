// Issue 13, the extractor fuzz: malformed, truncated and huge SSE and JSON replies, cut at
// any byte, go through a real gateway (self-hosted, Postgres, Redis) to a scripted upstream.
// Whatever the reply, the gateway never answers 500, never holds the first byte back, gives
// the client the upstream's bytes (less only what the usage stripper takes out), meters
// every call as the bytes report however they were cut, and keeps serving.

import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { concat } from "../../src/core/bytes";
import { usageStripper } from "../../src/core/stream-usage-option";
import { modelName } from "../../src/core/token-usage";
import { UsageSniffer } from "../../src/core/usage-sniffer";
import { cutPoints, isPrefix, jsonBodyArb, split, sseBodyArb } from "../support/fuzz-bodies";
import { type FuzzUpstream, type Scripted, startFuzzUpstream } from "../support/fuzz-upstream";
import { startTestGateway, type TestGateway } from "../support/test-gateway";
import { until } from "../support/wait";

/** Only a failure guard: a gateway that forwards its first byte answers in milliseconds. */
const DEADLINE_MS = 10_000;
const RUNS = 40;
const enc = new TextEncoder();
/** A stream the stripper edits starts with one whole event: it holds an event (up to 1 MB) until its end. */
const FIRST_EVENT = enc.encode('data: {"id":"c0","choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\n');

let upstream: FuzzUpstream;
let gateway: TestGateway;
let tenant: { id: string; key: string };
const logs: string[] = [];

async function admin<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${gateway.url}/admin/v1${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${gateway.token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await res.json()) as T;
}

async function newTenant(): Promise<{ id: string; key: string }> {
  const t = await admin<{ id: string }>("/tenants", {
    name: "fuzz",
    // Room for every fuzzed call's sound usage (up to 300k units each): the limiter is not under test.
    quota: { ratePerMinute: 1_000_000_000, burst: 1_000_000_000, dailyUnits: null },
  });
  return { id: t.id, key: (await admin<{ key: string }>(`/tenants/${t.id}/keys`, {})).key };
}

type Totals = { requests: number; inputTokens: number; outputTokens: number; cachedInputTokens: number; units: number };
type Usage = { days: (Totals & { model: string | null })[]; totals: Totals };
const totals = async (id: string) => (await admin<Usage>(`/tenants/${id}/usage`)).totals;

/** The route's cost: what a call whose reply reports no usage is billed. */
const COST = 1;
const zero = (): Totals => ({ requests: 0, inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, units: 0 });

/** Adds usage to the sum of its model (null: none known). */
function add(into: Map<string | null, Totals>, model: string | null, usage: Totals): void {
  const row = into.get(model) ?? zero();
  for (const k of Object.keys(row) as (keyof Totals)[]) row[k] += usage[k];
  into.set(model, row);
}

/**
 * The usage the upstream's bytes report, read whole by a fresh sniffer: the gateway, which
 * read them in whatever pieces they came (and before stripping), must have metered the same.
 */
function reported(contentType: string, bytes: Uint8Array): [string | null, Totals] {
  const sniffer = new UsageSniffer(contentType);
  sniffer.push(bytes);
  const usage = sniffer.finish();
  if (usage.units === undefined) return [null, { ...zero(), requests: 1, units: COST }];
  const tokens = sniffer.tokens() ?? { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 };
  return [modelName(usage.metadata?.model) ?? null, { requests: 1, ...tokens, units: usage.units }];
}

beforeAll(async () => {
  // Every log line, to look for the tenant's key in; errors and warnings still show.
  for (const level of ["log", "info", "warn", "error"] as const) {
    const original = console[level].bind(console);
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      logs.push(args.map(String).join(" "));
      if (level === "warn" || level === "error") original(...args);
    });
  }
  upstream = await startFuzzUpstream();
  gateway = await startTestGateway("extractor_fuzz", {
    UPSTREAM_URL: upstream.url,
    KEY_SIGNING_SECRET: "extractor-fuzz-signing-secret-0123456789",
    // One route: a path ending in /chat/completions gets stream usage injected, any other not.
    ROUTES: JSON.stringify([{ path: "/v1/*", route: "ai", cost: COST }]),
  });
  tenant = await newTenant();
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
  vi.restoreAllMocks();
});

/** What the client gets once the stripper has read `bytes`: cut anywhere, it gives the same. */
async function stripped(bytes: Uint8Array): Promise<Uint8Array> {
  const out = new Response(new Blob([bytes]).stream().pipeThrough(usageStripper()));
  return new Uint8Array(await out.arrayBuffer());
}

interface Answer {
  status: number;
  bytes: Uint8Array;
  /** Set when the body broke off rather than ended. */
  error?: unknown;
}

/**
 * Calls the gateway and reads the answer; the scripted upstream's rest is released only when
 * the first byte has arrived here. A gateway that held that byte would wait for the rest,
 * which waits for it: the deadline turns that deadlock into a failure that says so.
 */
async function call(path: string, body: string, scripted: Scripted): Promise<Answer> {
  const controller = new AbortController();
  let phase = "no response headers";
  const guard = setTimeout(() => controller.abort(), DEADLINE_MS);
  try {
    const res = await fetch(`${gateway.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${tenant.key}`, "content-type": "application/json" },
      body,
      signal: controller.signal,
    });
    phase = "the gateway held the first byte back: none reached the client while the upstream waited for it";
    const parts: Uint8Array[] = [];
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (value.length === 0) continue;
        parts.push(value);
        phase = "the body stalled after its first byte";
        scripted.release();
      }
      return { status: res.status, bytes: concat(parts) };
    } catch (error) {
      if (controller.signal.aborted) throw error;
      return { status: res.status, bytes: concat(parts), error };
    }
  } catch (error) {
    if (controller.signal.aborted) throw new Error(`${path}: after ${DEADLINE_MS} ms, ${phase}`);
    throw error;
  } finally {
    clearTimeout(guard);
    scripted.release();
  }
}

const replyArb = fc.record({
  body: fc.oneof(sseBodyArb, jsonBodyArb),
  contentType: fc.constantFrom(
    "text/event-stream",
    "text/event-stream; charset=utf-8",
    "Text/Event-Stream",
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
  ),
  contentLength: fc.boolean(),
  picks: fc.array(fc.nat(), { maxLength: 10 }),
  // Half the replies whole; else cut off mid-body, or before any header.
  cut: fc.option(fc.constantFrom<"body" | "headers">("body", "body", "headers"), { nil: undefined, freq: 2 }),
  keep: fc.nat(),
  asked: fc.boolean(),
  status: fc.constantFrom(200, 200, 200, 201, 400, 429),
});

let calls = 0;
/** Per model, the usage every call so far should have recorded. */
const expectedUsage = new Map<string | null, Totals>();

describe("the extractor fuzz, through the proxy", () => {
  it("never throws out of the proxy, never holds the first byte, passes the bytes on, meters sanely", async () => {
    await fc.assert(
      fc.asyncProperty(replyArb, async (r) => {
        const bytes = enc.encode(r.body.text);
        // A body cut mid-stream keeps at least one byte and loses at least one.
        const cut = r.cut === "body" && bytes.length < 2 ? undefined : r.cut;
        const keep = cut === "body" ? 1 + (r.keep % (bytes.length - 1)) : bytes.length;
        const sent = bytes.subarray(0, keep);
        for (const route of ["plain", "inject"] as const) {
          const streamed = r.contentType.toLowerCase().includes("text/event-stream");
          const strips = route === "inject" && !r.asked && streamed;
          const head = strips ? [FIRST_EVENT] : [];
          const scripted = upstream.serve({
            status: r.status,
            contentType: r.contentType,
            contentLength: r.contentLength ? bytes.length + (strips ? FIRST_EVENT.length : 0) : undefined,
            chunks: [...head, ...split(sent, cutPoints(sent, r.picks))],
            cut,
          });
          const request = JSON.stringify({
            model: "fuzz",
            stream: true,
            messages: [{ role: "user", content: "hi" }],
            ...(r.asked ? { stream_options: { include_usage: true } } : {}),
          });
          const path = `/v1/fuzz/${scripted.id}/${route === "inject" ? "chat/completions" : "generate"}`;
          calls++;
          const answer = await call(path, request, scripted);
          const seen = scripted.seen();
          if (!seen) expect.fail(`${path}: the gateway answered ${answer.status} without calling the upstream`);

          // The upstream never learns the tenant's key, and is asked for usage only when the
          // gateway will strip it again.
          expect(JSON.stringify(seen.headers)).not.toContain(tenant.key);
          const options = (JSON.parse(seen.body) as { stream_options?: { include_usage?: boolean } }).stream_options;
          expect(options?.include_usage === true).toBe(route === "inject" || r.asked);

          const whole = concat([...head, sent]);
          if (cut === "headers") {
            // The upstream failed before answering: the call is recorded, and costs nothing.
            expect(answer.status).toBe(502);
            add(expectedUsage, null, { ...zero(), requests: 1 });
            continue;
          }
          expect(answer.status).toBe(r.status);
          const [model, usage] = reported(r.contentType, whole);
          // Whatever the bytes say, what is read is whole tokens: never negative, NaN or fractional.
          for (const [name, value] of Object.entries(usage))
            expect(Number.isSafeInteger(value) && value >= 0, `read ${name} = ${value}`).toBe(true);
          add(expectedUsage, model, usage);
          // Only what mentions usage can be stripped: anything else reaches the client as sent.
          const expected = strips && r.body.text.includes('"usage"') ? await stripped(whole) : whole;
          if (cut === "body") {
            // Cut off upstream is cut off at the client: a prefix, and an error, never a clean end.
            expect(answer.error, "a cut-off body ended cleanly at the client").toBeDefined();
            expect(isPrefix(answer.bytes, expected), "the client got bytes the upstream never sent").toBe(true);
          } else {
            expect(answer.error).toBeUndefined();
            expect(Buffer.from(answer.bytes).equals(Buffer.from(expected)), "the client's bytes differ").toBe(true);
          }
        }
      }),
      { numRuns: RUNS, endOnFailure: true },
    );

    // Every call settled once, into usage the store accepted: whole, non-negative numbers,
    // and per model exactly what the upstream's bytes reported, however they were cut.
    await until("every fuzzed call's usage to be stored", async () => (await totals(tenant.id)).requests >= calls);
    const usage = await admin<Usage>(`/tenants/${tenant.id}/usage`);
    expect(usage.totals.requests).toBe(calls);
    for (const [name, value] of Object.entries(usage.totals)) {
      expect(Number.isSafeInteger(value) && value >= 0, `${name} = ${value}`).toBe(true);
    }
    expect(usage.totals.cachedInputTokens).toBeLessThanOrEqual(usage.totals.inputTokens);
    const recorded = new Map<string | null, Totals>();
    for (const day of usage.days) add(recorded, day.model, day);
    expect(recorded).toEqual(expectedUsage);

    // The tenant's key never reaches a log line, whatever the reply did to the gateway.
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.filter((line) => line.includes(tenant.key)).length, "log lines carrying the tenant's key").toBe(0);
  }, 120_000);

  it("forwards an unfinished event over 1 MB in a stream it strips, before the event ends", async () => {
    // The stripper holds an event until its end to edit it; the upstream here holds the end
    // until the client has a byte. An event this long is no usage chunk: it must flow.
    const start = enc.encode(`data: {"choices":[{"delta":{"content":"${"x".repeat(1536 * 1024)}`);
    const end = enc.encode('"}}]}\n\ndata: [DONE]\n\n');
    const scripted = upstream.serve({ status: 200, contentType: "text/event-stream", chunks: [start, end] });
    const request = JSON.stringify({ model: "m", stream: true, messages: [] });
    calls++;
    const answer = await call(`/v1/fuzz/${scripted.id}/chat/completions`, request, scripted);
    expect(answer.status).toBe(200);
    expect(Buffer.from(answer.bytes).equals(Buffer.from(concat([start, end])))).toBe(true);
  });

  it("still meters a well-formed stream exactly after the fuzz", async () => {
    // The fuzzed tenant, whose stream the usage consumer already reads (it finds a new
    // tenant's only every few seconds): what this call adds is exactly its usage.
    await until("the fuzzed calls' usage to be stored", async () => (await totals(tenant.id)).requests >= calls);
    const before = await totals(tenant.id);
    const usage = { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 };
    const body = `data: {"choices":[{"delta":{"content":"ok"}}],"usage":null}\n\ndata: {"model":"llama","choices":[],"usage":${JSON.stringify(usage)}}\n\ndata: [DONE]\n\n`;
    const scripted = upstream.serve({ status: 200, contentType: "text/event-stream", chunks: [enc.encode(body)] });
    const request = JSON.stringify({ model: "llama", stream: true, messages: [] });
    const answer = await call(`/v1/fuzz/${scripted.id}/chat/completions`, request, scripted);
    expect(answer.status).toBe(200);
    expect(new TextDecoder().decode(answer.bytes)).toBe(
      'data: {"choices":[{"delta":{"content":"ok"}}]}\n\ndata: [DONE]\n\n',
    );
    await until("the stream's usage to be stored", async () => (await totals(tenant.id)).requests > before.requests);
    const after = await totals(tenant.id);
    expect([after.requests, after.inputTokens, after.outputTokens, after.units]).toEqual([
      before.requests + 1,
      before.inputTokens + 7,
      before.outputTokens + 5,
      before.units + 12,
    ]);
  });
});
