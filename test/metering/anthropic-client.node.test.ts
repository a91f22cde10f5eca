// The official @anthropic-ai/sdk client as a tenant's client, through the self-hosted
// gateway, to an upstream that answers as Anthropic's Messages API does
// (anthropic-upstream.ts): a plain message, `messages.stream()` with `finalMessage()`, and
// `messages.create({stream: true})`. The client gets what the upstream sent, and the
// tenant's usage read shows exactly the tokens the upstream served, in the contract's
// terms: input = input_tokens + cache_read_input_tokens + cache_creation_input_tokens,
// cached = cache_read_input_tokens, output = the last running total; none estimated.
//
// Each test has a tenant of its own, and the tests run concurrently: the consumer finds a
// new tenant's usage stream when it next reads the tenant registry (every 5 s), and these
// waits overlap instead of adding up.

import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, type ExpectStatic, it } from "vitest";
import { type AnthropicServed, type AnthropicUpstream, startAnthropicUpstream } from "../support/anthropic-upstream";
import { expectStored, newTenant, servedCall, storedUsage, type Tenant } from "../support/metered-tenant";
import { startTestGateway, type TestGateway } from "../support/test-gateway";

let upstream: AnthropicUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startAnthropicUpstream();
  gateway = await startTestGateway("anthropic_client", {
    UPSTREAM_URL: upstream.url,
    KEY_SIGNING_SECRET: "anthropic-client-signing-secret-0123456789",
    ROUTES: JSON.stringify([{ method: "POST", path: "/v1/messages", route: "messages", cost: 1 }]),
  });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

/**
 * A new tenant and the SDK pointed at the gateway with its key. The SDK sends the key as
 * `Authorization: Bearer`; with `xApiKey` it sends it in `x-api-key` alone, as the 0.x SDK
 * and Anthropic's curl examples do. `sent` keeps the headers of each request it made;
 * `served`, what the upstream served the tenant.
 */
async function tenantClient(name: string, options: { xApiKey?: boolean } = {}) {
  const tenant = await newTenant(gateway, name);
  const sent: Headers[] = [];
  const client = new Anthropic({
    apiKey: tenant.key,
    baseURL: gateway.url,
    maxRetries: 0,
    ...(options.xApiKey ? { defaultHeaders: { "x-api-key": tenant.key, authorization: null } } : {}),
    fetch: (url: string | URL | Request, init?: RequestInit) => {
      sent.push(new Headers(init?.headers));
      return fetch(url, init);
    },
  });
  return { tenant, client, sent, served: () => upstream.served.filter((s) => s.tenant === tenant.id) };
}

/** Stored usage per route and model is exactly what was served; no event is an estimate; the key never reached the upstream. */
async function expectMetered(expect: ExpectStatic, tenant: Tenant, served: AnthropicServed[]) {
  expect(served.flatMap((s) => s.credentials)).toEqual([]);
  const calls = served.map((s) =>
    servedCall("messages", s.model, {
      inputTokens: s.inputTokens + s.cacheReadTokens + s.cacheCreationTokens,
      outputTokens: s.outputTokens,
      cachedInputTokens: s.cacheReadTokens,
    }),
  );
  await expectStored(expect, gateway, tenant, calls);
}

const params = {
  model: "claude-sonnet-4-5",
  max_tokens: 256,
  system: "you are a terse assistant",
  messages: [{ role: "user" as const, content: "say hello to the gateway please" }],
};
/** What the upstream reports for `params`: 6 uncached, 5 read from the cache, 2 written to it; 5 out. */
const USAGE = { input_tokens: 6, cache_read_input_tokens: 5, cache_creation_input_tokens: 2, output_tokens: 5 };

describe.concurrent("@anthropic-ai/sdk messages through the gateway", () => {
  it("a plain message: all 13 input tokens stored, the 5 read from the cache as cached", async ({ expect }) => {
    const { tenant, client, sent, served } = await tenantClient("messages-plain");
    const message = await client.messages.create(params);
    expect(message.content).toEqual([{ type: "text", text: "Hello from the upstream!" }]);
    expect(message.model).toBe("claude-sonnet-4-5-20250929");
    expect(message.usage).toMatchObject(USAGE);
    expect(sent[0]?.get("authorization")).toBe(`Bearer ${tenant.key}`);
    expect(served()).toMatchObject([{ stream: false, inputTokens: 6, cacheReadTokens: 5, cacheCreationTokens: 2 }]);
    await expectMetered(expect, tenant, served());
    expect((await storedUsage(gateway, tenant, 1)).totals).toEqual({
      requests: 1,
      inputTokens: 13,
      outputTokens: 5,
      cachedInputTokens: 5,
      units: 18,
      // All of it reported by the upstream: none of it the gateway's estimate.
      estimatedRequests: 0,
      estimatedUnits: 0,
    });
  });

  it("messages.stream(), key in x-api-key: finalMessage() and the metering agree", async ({ expect }) => {
    const { tenant, client, sent, served } = await tenantClient("messages-stream", { xApiKey: true });
    const stream = client.messages.stream(params);
    const deltas: string[] = [];
    stream.on("text", (text) => deltas.push(text));
    const final = await stream.finalMessage();
    expect(deltas.join("")).toBe("Hello from the upstream!");
    expect(final.content).toEqual([{ type: "text", text: "Hello from the upstream!" }]);
    expect(final.stop_reason).toBe("end_turn");
    // The running output total replaced message_start's 1.
    expect(final.usage).toMatchObject(USAGE);
    expect([sent[0]?.get("x-api-key"), sent[0]?.has("authorization")]).toEqual([tenant.key, false]);
    expect(served()).toMatchObject([{ stream: true, outputTokens: 5 }]);
    await expectMetered(expect, tenant, served());
  });

  it("messages.create({stream: true}): Anthropic's events in order, the call metered", async ({ expect }) => {
    const { tenant, client, served } = await tenantClient("messages-raw");
    const stream = await client.messages.create({ ...params, stream: true });
    const types: string[] = [];
    let text = "";
    let outputTokens = 0;
    let startUsage: Anthropic.Usage | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "message_start") startUsage = event.message.usage;
      if (event.type === "content_block_delta" && event.delta.type === "text_delta") text += event.delta.text;
      if (event.type === "message_delta") outputTokens = event.usage.output_tokens;
    }
    expect(text).toBe("Hello from the upstream!");
    // The SDK passes on every event but ping.
    expect(types).toEqual([
      "message_start",
      "content_block_start",
      ...Array(5).fill("content_block_delta"),
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(startUsage).toMatchObject({ ...USAGE, output_tokens: 1 });
    expect(outputTokens).toBe(5);
    await expectMetered(expect, tenant, served());
  });

  it("one tenant's calls of each kind add up, call by call", async ({ expect }) => {
    const { tenant, client, served } = await tenantClient("messages-mixed");
    const longer = { ...params, system: "you are a terse assistant who answers in one line" };
    await client.messages.create(params);
    await client.messages.stream(longer).finalMessage();
    for await (const _ of await client.messages.create({ ...longer, stream: true })) {
      // drained: the call is metered once its stream ends
    }
    expect(served().map((s) => s.cacheReadTokens)).toEqual([5, 10, 10]);
    await expectMetered(expect, tenant, served());
    expect((await storedUsage(gateway, tenant, 3)).totals).toMatchObject({
      inputTokens: 13 + 18 + 18,
      cachedInputTokens: 25,
    });
  });
});
