// The official openai client as a tenant's client, through the self-hosted gateway, to an
// upstream that answers as OpenAI's API does (ai-upstream.ts, "openai"): chat completions
// streamed and not, the Responses API streamed and not, embeddings. The client gets what
// the upstream sent, and the tenant's usage read shows exactly the tokens the upstream
// served, per dimension and model, none of them estimated. (The same client against a
// vLLM-like upstream: stream-usage.node.test.ts.)
//
// Each test has a tenant of its own, and the tests run concurrently: the consumer finds a
// new tenant's usage stream when it next reads the tenant registry (every 5 s), and these
// waits overlap instead of adding up.

import OpenAI from "openai";
import { afterAll, beforeAll, describe, type ExpectStatic, it } from "vitest";
import { type AiUpstream, type Served, startAiUpstream } from "../support/ai-upstream";
import { expectStored, newTenant, servedCall, storedUsage, type Tenant } from "../support/metered-tenant";
import { startTestGateway, type TestGateway } from "../support/test-gateway";

let upstream: AiUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startAiUpstream({ flavor: "openai" });
  gateway = await startTestGateway("openai_clients", {
    UPSTREAM_URL: upstream.url,
    KEY_SIGNING_SECRET: "openai-clients-signing-secret-0123456789",
    ROUTES: JSON.stringify([
      { method: "POST", path: "/v1/chat/completions", route: "chat", cost: 1 },
      { method: "POST", path: "/v1/responses", route: "responses", cost: 1 },
      { method: "POST", path: "/v1/embeddings", route: "embed", cost: 1 },
    ]),
  });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

/** A new tenant, the openai client with its key pointed at the gateway, and what the upstream served that tenant. */
async function tenantClient(name: string): Promise<{ tenant: Tenant; client: OpenAI; served: () => Served[] }> {
  const tenant = await newTenant(gateway, name);
  const client = new OpenAI({ apiKey: tenant.key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  return { tenant, client, served: () => upstream.served.filter((s) => s.tenant === tenant.id) };
}

/**
 * The tenant's stored usage, per route and model, is exactly the tokens the upstream
 * served it (cached ones in the input, reasoning ones in the output), and no stored event
 * is an estimate. The upstream never saw the tenant's key.
 */
async function expectMetered(expect: ExpectStatic, tenant: Tenant, route: string, served: Served[]) {
  expect(served.flatMap((s) => s.credentials)).toEqual([]);
  const calls = served.map((s) =>
    servedCall(route, s.model, {
      inputTokens: s.promptTokens,
      outputTokens: s.completionTokens,
      cachedInputTokens: s.cachedTokens,
    }),
  );
  await expectStored(expect, gateway, tenant, calls);
}

const messages = [
  { role: "system" as const, content: "you are a terse assistant" },
  { role: "user" as const, content: "say hello to the gateway please" },
];

const request = {
  model: "gpt-5",
  instructions: "answer in one short line",
  input: "say hello to the gateway please",
};

describe.concurrent("the openai client through the gateway", () => {
  describe("chat completions", () => {
    it("a plain reply: its cached tokens stored as cached input, its reasoning as output", async ({ expect }) => {
      const { tenant, client, served } = await tenantClient("chat-plain");
      const reply = await client.chat.completions.create({ model: "gpt-4.1", messages });
      expect(reply.choices[0]?.message.content).toBe("Hello from the upstream!");
      expect(reply.model).toBe("gpt-4.1-2025-04-14");
      // 5 + 6 prompt tokens, the system prompt's 5 from the cache; 5 + 3 reasoning tokens out.
      expect(reply.usage).toMatchObject({
        prompt_tokens: 11,
        completion_tokens: 8,
        prompt_tokens_details: { cached_tokens: 5 },
        completion_tokens_details: { reasoning_tokens: 3 },
      });
      expect(served()).toMatchObject([{ stream: false, promptTokens: 11, completionTokens: 8, cachedTokens: 5 }]);
      await expectMetered(expect, tenant, "chat", served());
      expect((await storedUsage(gateway, tenant, 1)).totals).toEqual({
        requests: 1,
        inputTokens: 11,
        outputTokens: 8,
        cachedInputTokens: 5,
        units: 19,
        // All of it reported by the upstream: none of it the gateway's estimate.
        estimatedRequests: 0,
        estimatedUnits: 0,
      });
    });

    it("streams: one that did not ask gets no usage and is metered; one that asked gets it", async ({ expect }) => {
      const { tenant, client, served } = await tenantClient("chat-streams");
      const silent = await client.chat.completions.create({ model: "gpt-4.1", messages, stream: true });
      const chunks = [];
      for await (const chunk of silent) chunks.push(chunk);
      expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("Hello from the upstream!");
      expect(chunks.some((c) => "usage" in c)).toBe(false);
      expect(chunks.every((c) => c.model === "gpt-4.1-2025-04-14" && c.choices.length === 1)).toBe(true);

      const asked = await client.chat.completions.create({
        model: "gpt-4.1",
        messages,
        stream: true,
        stream_options: { include_usage: true },
      });
      const withUsage = [];
      for await (const chunk of asked) withUsage.push(chunk);
      expect(withUsage.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("Hello from the upstream!");
      expect(withUsage.at(-1)?.choices).toEqual([]);
      expect(withUsage.at(-1)?.usage).toMatchObject({
        prompt_tokens: 11,
        completion_tokens: 8,
        total_tokens: 19,
        prompt_tokens_details: { cached_tokens: 5 },
        completion_tokens_details: { reasoning_tokens: 3 },
      });
      // The gateway asked for the usage of the stream that did not.
      expect(served().map((s) => [s.stream, s.includeUsage])).toEqual([
        [true, true],
        [true, true],
      ]);
      await expectMetered(expect, tenant, "chat", served());
    });
  });

  describe("the Responses API", () => {
    it("a plain reply: input with its cached instructions, output with its reasoning", async ({ expect }) => {
      const { tenant, client, served } = await tenantClient("responses-plain");
      const response = await client.responses.create(request);
      expect(response.output_text).toBe("Hello from the upstream!");
      // 5 instruction tokens (cached) + 6 input tokens; 5 + 3 reasoning tokens out.
      expect(response.usage).toMatchObject({
        input_tokens: 11,
        input_tokens_details: { cached_tokens: 5 },
        output_tokens: 8,
        output_tokens_details: { reasoning_tokens: 3 },
      });
      expect(served()).toMatchObject([{ stream: false, model: "gpt-5-2025-04-14", promptTokens: 11, cachedTokens: 5 }]);
      await expectMetered(expect, tenant, "responses", served());
    });

    it("streamed, by the stream helper and as raw events: metered from response.completed", async ({ expect }) => {
      const { tenant, client, served } = await tenantClient("responses-streams");
      const helper = client.responses.stream(request);
      const deltas: string[] = [];
      helper.on("response.output_text.delta", (event) => deltas.push(event.delta));
      const final = await helper.finalResponse();
      expect(deltas.join("")).toBe("Hello from the upstream!");
      expect(final.output_text).toBe("Hello from the upstream!");
      expect(final.usage).toMatchObject({
        input_tokens: 11,
        output_tokens: 8,
        input_tokens_details: { cached_tokens: 5 },
      });

      const raw = await client.responses.create({ ...request, stream: true });
      const types: string[] = [];
      let text = "";
      let usage: OpenAI.Responses.ResponseUsage | null | undefined;
      for await (const event of raw) {
        types.push(event.type);
        if (event.type === "response.output_text.delta") text += event.delta;
        if (event.type === "response.completed") usage = event.response.usage;
      }
      expect(text).toBe("Hello from the upstream!");
      expect(types[0]).toBe("response.created");
      expect(types.at(-1)).toBe("response.completed");
      expect(usage?.total_tokens).toBe(19);
      expect(served().map((s) => s.stream)).toEqual([true, true]);
      await expectMetered(expect, tenant, "responses", served());
    });
  });

  describe("embeddings", () => {
    it("vectors as asked (base64 by default, or floats); input tokens stored, no output", async ({ expect }) => {
      const { tenant, client, served } = await tenantClient("embeddings");
      const model = "text-embedding-3-small";
      const batch = await client.embeddings.create({ model, input: ["hello gateway", "count these three"] });
      // Each vector is [tokens, index, 0.5]; the client asks for base64 unless told otherwise, and decodes it.
      expect(batch.data.map((d) => Array.from(d.embedding))).toEqual([
        [2, 0, 0.5],
        [3, 1, 0.5],
      ]);
      expect(batch.usage).toEqual({ prompt_tokens: 5, total_tokens: 5 });
      const floats = await client.embeddings.create({ model, input: "one more", encoding_format: "float" });
      expect(floats.data[0]?.embedding).toEqual([2, 0, 0.5]);
      expect(served().map((s) => [s.model, s.promptTokens, s.completionTokens])).toEqual([
        [model, 5, 0],
        [model, 2, 0],
      ]);
      await expectMetered(expect, tenant, "embed", served());
    });

    it("a batch whose reply is over the 1 MB read whole: metered from its end, model included", async ({ expect }) => {
      const { tenant, client, served } = await tenantClient("embeddings-batch");
      const model = "text-embedding-3-large";
      const input = Array.from({ length: 40 }, (_, i) => `passage number ${i}`);
      const batch = await client.embeddings.create({ model, input, dimensions: 8192 });
      // 40 vectors of 8192 float32s in base64: about 1.75 MB, with `model` and `usage` after them.
      expect(batch.data).toHaveLength(40);
      expect(batch.data.every((d, i) => d.embedding.length === 8192 && d.embedding[1] === i)).toBe(true);
      expect(batch.model).toBe(model);
      expect(batch.usage).toEqual({ prompt_tokens: 120, total_tokens: 120 });
      await expectMetered(expect, tenant, "embed", served());
    });
  });
});
