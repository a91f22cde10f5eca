// The new user's run from issue 13: the official openai client streams chat completions
// through the gateway to an upstream that behaves as vLLM does (usage only when the request
// asks). Every token the upstream served is metered, and a client that did not ask for
// usage gets exactly the stream it would have got from the upstream directly.

import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AiUpstream, startAiUpstream } from "../support/ai-upstream";
import { newTenant, storedUsage } from "../support/metered-tenant";
import { startTestGateway, type TestGateway } from "../support/test-gateway";

let upstream: AiUpstream;
let gateway: TestGateway;
let server: TestGateway["server"];

beforeAll(async () => {
  upstream = await startAiUpstream();
  gateway = await startTestGateway("stream_usage", {
    UPSTREAM_URL: upstream.url,
    KEY_SIGNING_SECRET: "stream-usage-signing-secret-0123456789",
    ROUTES: JSON.stringify([{ method: "POST", path: "/v1/chat/completions", route: "chat", cost: 1 }]),
  });
  server = gateway.server;
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

describe("streamed usage the client did not ask for", () => {
  it("meters every token the upstream served: three streams that did not ask, one that did, one plain call", async () => {
    const tenant = await newTenant(gateway, "streams");
    const client = new OpenAI({ apiKey: tenant.key, baseURL: `${server.url}/v1`, maxRetries: 0 });
    const before = upstream.served.length;
    const messages = [{ role: "user" as const, content: "say hello to the gateway please" }];
    for (let i = 0; i < 3; i++) {
      const stream = await client.chat.completions.create({ model: "llama", messages, stream: true });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      // Exactly what it asked for: content, and no usage anywhere.
      expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("Hello from the upstream!");
      expect(chunks.some((c) => "usage" in c)).toBe(false);
    }
    const asked = await client.chat.completions.create({
      model: "llama",
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const withUsage = [];
    for await (const chunk of asked) withUsage.push(chunk);
    expect(withUsage.at(-1)?.usage).toEqual({ prompt_tokens: 6, completion_tokens: 5, total_tokens: 11 });
    const plain = await client.chat.completions.create({ model: "llama", messages });
    expect(plain.usage?.total_tokens).toBe(11);

    // The upstream was asked for usage on every stream, and served 5 × (6 + 5) tokens.
    const served = upstream.served.slice(before);
    expect(served.map((s) => [s.stream, s.includeUsage])).toEqual([
      [true, true],
      [true, true],
      [true, true],
      [true, true],
      [false, false],
    ]);
    const input = served.reduce((n, s) => n + s.promptTokens, 0);
    const output = served.reduce((n, s) => n + s.completionTokens, 0);
    expect([input, output]).toEqual([30, 25]);

    const usage = await storedUsage(gateway, tenant, 5);
    expect(usage.totals).toMatchObject({
      requests: 5,
      inputTokens: input,
      outputTokens: output,
      units: input + output,
    });
  }, 60_000);

  it("gives a client that did not ask, byte for byte, the stream the upstream sends such a request", async () => {
    const tenant = await newTenant(gateway, "streams");
    const body = JSON.stringify({ model: "llama", stream: true, messages: [{ role: "user", content: "hi there" }] });
    const direct = await fetch(`${upstream.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    const viaGateway = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${tenant.key}`, "content-type": "application/json" },
      body,
    });
    expect(viaGateway.status).toBe(200);
    const [expected, got] = [await direct.text(), await viaGateway.text()];
    expect(expected).not.toContain('"usage"');
    expect(got).toBe(expected);
    // The gateway's own request was the one that asked.
    expect(upstream.served.at(-1)?.includeUsage).toBe(true);
  });
});
