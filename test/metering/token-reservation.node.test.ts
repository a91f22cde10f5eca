// Token routes through the self-hosted gateway: a call reserves its prompt estimate plus the
// output it allows before it is forwarded, a call whose worst case does not fit is refused
// before the upstream sees it, bodies are read within a stated bound, and a reply that
// reports no usage (a stream the client left included) is billed the input estimate plus the
// output counted from what the upstream sent, marked estimated.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AiUpstream, startAiUpstream } from "../support/ai-upstream";
import { HELD_REPLY, type HeldUpstream, startHeldUpstream } from "../support/held-upstream";
import { newTenant, storedUsage, type Tenant } from "../support/metered-tenant";
import { startTestGateway, type TestGateway } from "../support/test-gateway";

const BODY_LIMIT = 4096;
let ai: AiUpstream;
let held: HeldUpstream;
let reported: TestGateway;
let unreported: TestGateway;

const ROUTES = JSON.stringify([
  { method: "POST", path: "/v1/chat/completions", route: "chat", tokens: true },
  { method: "POST", path: "/v1/embeddings", route: "embed", tokens: true },
]);

beforeAll(async () => {
  [ai, held] = await Promise.all([startAiUpstream(), startHeldUpstream()]);
  const env = { ROUTES, DEFAULT_MAX_TOKENS: "100", TOKEN_ROUTE_MAX_BODY_BYTES: String(BODY_LIMIT) };
  [reported, unreported] = await Promise.all([
    startTestGateway("tokres_ai", { ...env, UPSTREAM_URL: ai.url }),
    // The held upstream never reports usage; the gateway is not to ask for it either.
    startTestGateway("tokres_held", {
      ...env,
      UPSTREAM_URL: held.url,
      ROUTES: JSON.stringify([
        { method: "POST", path: "/v1/chat/completions", route: "chat", tokens: true, injectStreamUsage: false },
      ]),
    }),
  ]);
}, 60_000);

afterAll(async () => {
  held?.release();
  await Promise.all([reported?.stop(), unreported?.stop()]);
  await Promise.all([ai?.close(), held?.close()]);
});

/** A tenant whose bucket never refills: what it holds is exactly what can be reserved. */
const tenantOn = (gateway: TestGateway, burst: number) => newTenant(gateway, "tokens", burst);

const chat = (gateway: TestGateway, key: string, body: object, init: RequestInit = {}) =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    ...init,
  });

/** What the `chat` policy had left after this call's reservation. */
const remaining = (res: Response) => Number(/"chat";r=(\d+)/.exec(res.headers.get("ratelimit") ?? "")?.[1]);

/** The tenant's usage read once exactly `calls` calls are stored. */
async function usageOf(gateway: TestGateway, tenant: Tenant, calls: number) {
  const usage = await storedUsage(gateway, tenant, calls);
  expect(usage.totals.requests).toBe(calls);
  return usage;
}

const PROMPT = "The quick brown fox jumps over the lazy dog.";
const messages = [{ role: "user", content: PROMPT }];

describe("reservations sized by the request", () => {
  it("reserves the prompt, counted by the model's tokenizer or at bytes/4, plus max_tokens, then settles to the usage", async () => {
    const t = await tenantOn(reported, 10_000);
    // gpt-4o: o200k_base counts the prompt at 10 tokens, and a message adds 4.
    const first = await chat(reported, t.key, { model: "gpt-4o", messages, max_tokens: 50 });
    expect(first.status).toBe(200);
    await first.arrayBuffer();
    expect(remaining(first)).toBe(10_000 - (10 + 4 + 50));
    await reported.server.flushUsage();
    // Settled to what the upstream reported (9 prompt words, 5 reply words): the rest came back.
    // A model with no known tokenizer is counted at bytes/4 (44 bytes: 11), and with no
    // max_tokens the route reserves DEFAULT_MAX_TOKENS.
    const second = await chat(reported, t.key, { model: "llama-3.1-8b", messages });
    await second.arrayBuffer();
    expect(remaining(second)).toBe(10_000 - 14 - (11 + 4 + 100));
    const usage = await usageOf(reported, t, 2);
    expect(usage.totals).toMatchObject({ units: 28, estimatedRequests: 0, estimatedUnits: 0 });
  });

  it("reserves no output for embeddings", async () => {
    const t = await tenantOn(reported, 1_000);
    const res = await fetch(`${reported.url}/v1/embeddings`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "text-embedding-3-small", input: PROMPT }),
    });
    await res.arrayBuffer();
    // cl100k_base counts the prompt at 10 tokens; nothing else is reserved.
    expect(Number(/"embed";r=(\d+)/.exec(res.headers.get("ratelimit") ?? "")?.[1])).toBe(990);
  });

  it("refuses before the upstream a call whose worst case can never fit, and says what it would reserve", async () => {
    const t = await tenantOn(reported, 1_000);
    const before = ai.served.length;
    const res = await chat(reported, t.key, { model: "gpt-4o", messages, max_tokens: 2_000 });
    expect(res.status).toBe(429);
    const problem = (await res.json()) as { code: string; detail: string };
    expect(problem.code).toBe("quota-exceeded");
    expect(problem.detail).toContain("2014");
    expect(ai.served.length).toBe(before);
  });

  it("admits only the calls whose worst cases fit together: no overshoot while they are in flight", async () => {
    // Each call reserves 11 + 4 + 200 = 215 tokens: 4 fit in 1,000, a 5th does not.
    const t = await tenantOn(unreported, 1_000);
    held.hold();
    const base = held.arrivals();
    let refused = 0;
    let allRefused: () => void = () => {};
    const sixRefused = new Promise<void>((resolve) => {
      allRefused = resolve;
    });
    const calls = Array.from({ length: 10 }, () =>
      chat(unreported, t.key, { model: "llama", messages, max_tokens: 200 }).then(async (r) => {
        if (r.status === 429 && ++refused === 6) allRefused();
        await r.arrayBuffer();
        return r.status;
      }),
    );
    // Four calls reach the upstream and wait there; the six others are refused meanwhile.
    await Promise.all([held.arrived(base + 4), sixRefused]);
    held.release();
    const statuses = await Promise.all(calls);
    expect(statuses.filter((s) => s === 200)).toHaveLength(4);
    expect(held.arrivals() - base).toBe(4);
  });

  it("refuses a body over TOKEN_ROUTE_MAX_BODY_BYTES with 413, with or without a Content-Length, once the key passed", async () => {
    const t = await tenantOn(reported, 1_000_000);
    const before = ai.served.length;
    const big = { model: "gpt-4o", messages: [{ role: "user", content: "x".repeat(BODY_LIMIT) }] };
    const declared = await chat(reported, t.key, big);
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { detail: string }).detail).toContain(`${BODY_LIMIT} bytes`);
    const text = new TextEncoder().encode(JSON.stringify(big));
    const chunked = await fetch(`${reported.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.key}`, "content-type": "application/json" },
      body: new ReadableStream({
        start(c) {
          c.enqueue(text.subarray(0, 1000));
          c.enqueue(text.subarray(1000));
          c.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(chunked.headers.get("content-type")).toContain("application/problem+json");
    // The key is checked before the body is read: without a plausible one, 401, not 413.
    for (const authorization of [undefined, "Bearer not-a-key"]) {
      const res = await fetch(`${reported.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
        body: JSON.stringify(big),
      });
      expect(res.status).toBe(401);
    }
    expect(ai.served.length).toBe(before);
  });
});

describe("a reply that reports no usage", () => {
  it("is billed the input estimate plus the output counted, marked estimated, not the reservation", async () => {
    const t = await tenantOn(unreported, 10_000);
    const res = await chat(unreported, t.key, { model: "gpt-4o", messages, max_tokens: 500 });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const usage = await usageOf(unreported, t, 1);
    // "Hello from the held upstream!" is 6 tokens in o200k_base; the prompt 10 + 4.
    expect(usage.days).toMatchObject([{ route: "chat", model: "gpt-4o", inputTokens: 14, outputTokens: 6, units: 20 }]);
    expect(usage.totals).toMatchObject({ units: 20, estimatedRequests: 1, estimatedUnits: 20 });
  });

  it("when the client leaves mid-stream: the rest is read, and the output counted from every chunk", async () => {
    const t = await tenantOn(unreported, 10_000);
    held.hold();
    const controller = new AbortController();
    const res = await chat(
      unreported,
      t.key,
      { model: "gpt-4o", messages, stream: true, max_tokens: 500 },
      { signal: controller.signal },
    );
    const reader = res.body?.getReader();
    const first = await reader?.read();
    expect(new TextDecoder().decode(first?.value)).toContain(`"content":"${HELD_REPLY[0]}"`);
    controller.abort();
    // The upstream sends the rest only after the client has gone.
    held.release();
    const usage = await usageOf(unreported, t, 1);
    expect(usage.days).toMatchObject([{ model: "gpt-4o", inputTokens: 14, outputTokens: 6, units: 20 }]);
    expect(usage.totals).toMatchObject({ estimatedRequests: 1, estimatedUnits: 20 });
  });
});
