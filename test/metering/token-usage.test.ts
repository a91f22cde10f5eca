// Token usage in the reply shapes in use, JSON and streamed, read into one breakdown:
// input (cached included), output (reasoning included), cached input. The payloads are
// the providers' documented shapes; the figures are written out, not computed.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StreamUsage, usageFromBody, usageFromHeaders } from "../../src/core/token-usage";
import { UsageSniffer } from "../../src/core/usage-sniffer";

const enc = new TextEncoder();

/** Feeds a reply to the sniffer in chunks of `size` bytes, as a proxy would see it. */
function sniff(contentType: string, text: string, size = 7) {
  const sniffer = new UsageSniffer(contentType);
  const bytes = enc.encode(text);
  for (let i = 0; i < bytes.length; i += size) sniffer.push(bytes.subarray(i, i + size));
  const usage = sniffer.finish();
  return { ...usage, tokens: sniffer.tokens() };
}

const sse = (events: [string | null, unknown][]) =>
  events
    .map(
      ([event, data]) =>
        `${event ? `event: ${event}\n` : ""}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`,
    )
    .join("");

describe("token usage from a JSON reply", () => {
  it("OpenAI Chat Completions: prompt, completion (reasoning inside it) and cached prompt tokens", () => {
    const body = {
      object: "chat.completion",
      model: "gpt-4o-mini",
      choices: [{ index: 0, message: { role: "assistant", content: "hi" } }],
      usage: {
        prompt_tokens: 19,
        completion_tokens: 10,
        total_tokens: 29,
        prompt_tokens_details: { cached_tokens: 4 },
        completion_tokens_details: { reasoning_tokens: 6 },
      },
    };
    expect(usageFromBody(body)).toEqual({
      units: 29,
      tokens: { inputTokens: 19, outputTokens: 10, cachedInputTokens: 4 },
      model: "gpt-4o-mini",
    });
    expect(sniff("application/json", JSON.stringify(body))).toEqual({
      units: 29,
      tokens: { inputTokens: 19, outputTokens: 10, cachedInputTokens: 4 },
      metadata: { model: "gpt-4o-mini" },
    });
  });

  it("OpenAI Embeddings: prompt tokens only", () => {
    const body = {
      object: "list",
      data: [{ object: "embedding", index: 0, embedding: [0.1, 0.2] }],
      model: "text-embedding-3-small",
      usage: { prompt_tokens: 8, total_tokens: 8 },
    };
    expect(usageFromBody(body)).toEqual({
      units: 8,
      tokens: { inputTokens: 8, outputTokens: 0, cachedInputTokens: 0 },
      model: "text-embedding-3-small",
    });
  });

  it("OpenAI Responses: input (cached inside it) and output tokens", () => {
    const body = {
      object: "response",
      model: "gpt-4.1",
      status: "completed",
      usage: {
        input_tokens: 36,
        input_tokens_details: { cached_tokens: 12 },
        output_tokens: 87,
        output_tokens_details: { reasoning_tokens: 40 },
        total_tokens: 123,
      },
    };
    expect(usageFromBody(body)).toEqual({
      units: 123,
      tokens: { inputTokens: 36, outputTokens: 87, cachedInputTokens: 12 },
      model: "gpt-4.1",
    });
  });

  it("Anthropic Messages: input counts uncached, cache-read and cache-write tokens; cached is the read part", () => {
    const body = {
      id: "msg_1",
      type: "message",
      model: "claude-sonnet-4-5",
      content: [{ type: "text", text: "hi" }],
      usage: { input_tokens: 12, cache_creation_input_tokens: 100, cache_read_input_tokens: 50, output_tokens: 30 },
    };
    expect(usageFromBody(body)).toEqual({
      units: 192,
      tokens: { inputTokens: 162, outputTokens: 30, cachedInputTokens: 50 },
      model: "claude-sonnet-4-5",
    });
  });

  it("a total alone gives units without a breakdown; no usage, or malformed counts, give nothing", () => {
    expect(usageFromBody({ usage: { total_tokens: 7 } })).toEqual({ units: 7 });
    expect(usageFromBody({ model: "m" })).toBeUndefined();
    expect(usageFromBody({ usage: { prompt_tokens: -1, total_tokens: "3" } })).toBeUndefined();
    expect(usageFromBody({ usage: { prompt_tokens: 1.5 } })).toBeUndefined();
    // A count that is there but malformed makes the breakdown untrustworthy: the total, if
    // sound, is used instead, else nothing.
    expect(usageFromBody({ usage: { input_tokens: 2e9, output_tokens: 1 } })).toBeUndefined();
    expect(usageFromBody({ usage: { prompt_tokens: 3, completion_tokens: -2, total_tokens: 1 } })).toEqual({
      units: 1,
    });
    expect(usageFromBody({ usage: { input_tokens: 3, output_tokens: "x", total_tokens: 9 } })).toEqual({ units: 9 });
    expect(
      usageFromBody({
        usage: { prompt_tokens: 3, completion_tokens: 1, prompt_tokens_details: { cached_tokens: -1 } },
      }),
    ).toBeUndefined();
    expect(usageFromBody({ usage: { input_tokens: 600_000_000, output_tokens: 600_000_000 } })).toBeUndefined();
  });
});

describe("token usage from a stream", () => {
  it("OpenAI Chat Completions with include_usage: the usage-only chunk before [DONE]", () => {
    const chunk = (content: string) => ({
      object: "chat.completion.chunk",
      model: "gpt-4o-mini",
      choices: [{ index: 0, delta: { content } }],
      usage: null,
    });
    const text = sse([
      [null, chunk("Hel")],
      [null, chunk("lo")],
      [
        null,
        {
          object: "chat.completion.chunk",
          model: "gpt-4o-mini",
          choices: [],
          usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 },
        },
      ],
      [null, "[DONE]"],
    ]);
    expect(sniff("text/event-stream", text)).toEqual({
      units: 11,
      tokens: { inputTokens: 9, outputTokens: 2, cachedInputTokens: 0 },
      metadata: { model: "gpt-4o-mini" },
    });
  });

  it("OpenAI Responses: response.completed carries the usage, under response", () => {
    const response = (status: string, usage: unknown) => ({
      id: "resp_1",
      object: "response",
      model: "gpt-4.1",
      status,
      usage,
    });
    const text = sse([
      ["response.created", { type: "response.created", response: response("in_progress", null) }],
      ["response.output_text.delta", { type: "response.output_text.delta", delta: "Hi" }],
      [
        "response.completed",
        {
          type: "response.completed",
          response: response("completed", {
            input_tokens: 20,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: 5,
            total_tokens: 25,
          }),
        },
      ],
    ]);
    expect(sniff("text/event-stream; charset=utf-8", text)).toEqual({
      units: 25,
      tokens: { inputTokens: 20, outputTokens: 5, cachedInputTokens: 0 },
      metadata: { model: "gpt-4.1" },
    });
  });

  it("Anthropic Messages: input from message_start, the last running output total from message_delta", () => {
    const text = sse([
      [
        "message_start",
        {
          type: "message_start",
          message: {
            id: "msg_1",
            type: "message",
            model: "claude-sonnet-4-5",
            usage: { input_tokens: 25, cache_read_input_tokens: 5, cache_creation_input_tokens: 0, output_tokens: 1 },
          },
        },
      ],
      ["content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hi" } }],
      ["message_delta", { type: "message_delta", delta: { stop_reason: null }, usage: { output_tokens: 8 } }],
      ["message_delta", { type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 15 } }],
      ["message_stop", { type: "message_stop" }],
    ]);
    expect(sniff("text/event-stream", text, 3)).toEqual({
      units: 45,
      tokens: { inputTokens: 30, outputTokens: 15, cachedInputTokens: 5 },
      metadata: { model: "claude-sonnet-4-5" },
    });
  });

  it("a stream without usage gives nothing, so the route's estimate applies", () => {
    const text = sse([
      [null, { object: "chat.completion.chunk", model: "m", choices: [{ delta: { content: "x" } }] }],
      [null, "[DONE]"],
    ]);
    expect(sniff("text/event-stream", text)).toEqual({ tokens: undefined });
  });
});

describe("token usage from headers", () => {
  it("x-usage-input-tokens and x-usage-output-tokens, else x-usage-units", () => {
    const from = (h: Record<string, string>) => usageFromHeaders((name) => h[name] ?? null);
    expect(from({ "x-usage-input-tokens": "7", "x-usage-output-tokens": "5" })).toEqual({
      units: 12,
      tokens: { inputTokens: 7, outputTokens: 5, cachedInputTokens: 0 },
    });
    expect(from({ "x-usage-output-tokens": "5", "x-usage-units": "99" })).toMatchObject({ units: 5 });
    expect(from({ "x-usage-units": " 17 " })).toEqual({ units: 17 });
    expect(from({ "x-usage-units": "1.5" })).toBeUndefined();
    expect(from({})).toBeUndefined();
  });
});

describe("extractors never throw, and what they return adds up", () => {
  it("any JSON body or event sequence: units = input + output, cached ≤ input, all in range", () => {
    const usageLike = fc.record(
      {
        prompt_tokens: fc.oneof(fc.integer({ min: -5, max: 2e9 }), fc.string(), fc.constant(null)),
        completion_tokens: fc.integer({ min: -5, max: 2e9 }),
        input_tokens: fc.integer({ min: -5, max: 2e9 }),
        output_tokens: fc.oneof(fc.integer({ min: 0, max: 1e6 }), fc.double()),
        cache_read_input_tokens: fc.integer({ min: 0, max: 1e6 }),
        total_tokens: fc.integer({ min: 0, max: 2e9 }),
        prompt_tokens_details: fc.record({ cached_tokens: fc.integer({ min: 0, max: 1e7 }) }),
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record({ usage: usageLike, model: fc.string() }, { requiredKeys: [] }),
      fc.record(
        {
          type: fc.constantFrom("message_start", "message_delta", "response.completed"),
          usage: usageLike,
          message: fc.record({ usage: usageLike }),
          response: fc.record({ usage: usageLike }),
        },
        { requiredKeys: [] },
      ),
    );
    const check = (u: ReturnType<typeof usageFromBody>) => {
      if (!u) return;
      expect(Number.isSafeInteger(u.units) && u.units >= 0 && u.units <= 1_000_000_000).toBe(true);
      if (u.tokens) {
        expect(u.units).toBe(u.tokens.inputTokens + u.tokens.outputTokens);
        expect(u.tokens.cachedInputTokens).toBeLessThanOrEqual(u.tokens.inputTokens);
      }
    };
    fc.assert(
      fc.property(fc.array(body, { maxLength: 6 }), (events) => {
        const stream = new StreamUsage();
        for (const e of events) {
          check(usageFromBody(e));
          stream.event(e);
        }
        check(stream.result());
      }),
      { numRuns: 500 },
    );
  });

  it("truncated, malformed and huge streams and bodies: the sniffer never throws", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("text/event-stream", "application/json"),
        fc.array(
          fc.oneof(
            fc.string(),
            fc.constantFrom(
              'data: {"usage":',
              "data: [DONE]\n\n",
              "\n\n",
              'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":3}}}\n\n',
            ),
          ),
          { maxLength: 30 },
        ),
        fc.integer({ min: 1, max: 50 }),
        (type, parts, size) => {
          const result = sniff(type, parts.join(""), size);
          if (result.units !== undefined) expect(result.units).toBeGreaterThanOrEqual(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
