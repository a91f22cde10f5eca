// What a proxied reply settles to: its units, its metadata and its breakdown (the tokens, the
// model, and whether the units are the gateway's estimate), for each way an upstream reports.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesOver4 } from "../../src/core/prompt-estimate";
import type { UsageDimensions, UsageMetadata } from "../../src/core/usage-event";
import { type MeterFallback, meterResponse, type ReadBound } from "../../src/metering/meter-response";
import { cutPoints, jsonBodyArb, split, sseBodyArb } from "../support/fuzz-bodies";

const ESTIMATE = 25;

type Settled = { units: number; metadata?: UsageMetadata; usage?: UsageDimensions };

/** Sends `res` through the meter, reads the reply to its end, and returns what was settled. */
async function settledBy(res: Response, fallback: MeterFallback = { units: ESTIMATE }): Promise<Settled[]> {
  const settled: Settled[] = [];
  const background: Promise<unknown>[] = [];
  const out = meterResponse(
    res,
    fallback,
    (units, metadata, usage) => settled.push({ units, metadata, usage }),
    (work) => background.push(work),
  );
  await out.arrayBuffer();
  await Promise.all(background);
  return settled;
}

/**
 * An upstream stream the test writes event by event, metered as the proxy meters it: `out`
 * is what the client reads, `settled` what the call settled to, `background` the work left
 * to run after the response.
 */
function meteredStream(fallback: MeterFallback, bound?: ReadBound) {
  const encoder = new TextEncoder();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let cancelled = false;
  const upstream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      cancelled = true;
    },
  });
  const settled: Settled[] = [];
  const background: Promise<unknown>[] = [];
  const out = meterResponse(
    new Response(upstream, { headers: { "content-type": "text/event-stream" } }),
    fallback,
    (units, metadata, usage) => settled.push({ units, metadata, usage }),
    (work) => background.push(work),
    bound,
  );
  return {
    reader: out.body?.getReader() as ReadableStreamDefaultReader<Uint8Array>,
    settled,
    background,
    cancelled: () => cancelled,
    /** Sends one event: `data:` with the JSON, after an `event:` line when `type` is given. */
    send(data: object, type?: string) {
      controller.enqueue(encoder.encode(`${type ? `event: ${type}\n` : ""}data: ${JSON.stringify(data)}\n\n`));
    },
    close: () => controller.close(),
    error: (err: Error) => controller.error(err),
  };
}

const json = (body: unknown, init: ResponseInit = {}) =>
  new Response(JSON.stringify(body), { ...init, headers: { "content-type": "application/json", ...init.headers } });

const sse = (events: unknown[]) =>
  new Response(events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join(""), {
    headers: { "content-type": "text/event-stream" },
  });

describe("meterResponse", () => {
  it("settles a JSON reply to its input + output tokens, with the breakdown and the model", async () => {
    const usage = { prompt_tokens: 40, completion_tokens: 12, prompt_tokens_details: { cached_tokens: 30 } };
    expect(await settledBy(json({ model: "gpt-4o", usage }))).toEqual([
      {
        units: 52,
        metadata: { model: "gpt-4o" },
        usage: { model: "gpt-4o", inputTokens: 40, outputTokens: 12, cachedInputTokens: 30 },
      },
    ]);
  });

  it("settles a stream to the usage its events report (Anthropic: input at the start, output growing)", async () => {
    const res = sse([
      {
        type: "message_start",
        message: { model: "claude-x", usage: { input_tokens: 10, cache_read_input_tokens: 5, output_tokens: 1 } },
      },
      { type: "content_block_delta", delta: { text: "hi" } },
      { type: "message_delta", usage: { output_tokens: 9 } },
    ]);
    expect(await settledBy(res)).toEqual([
      {
        units: 24,
        metadata: { model: "claude-x" },
        usage: { model: "claude-x", inputTokens: 15, outputTokens: 9, cachedInputTokens: 5 },
      },
    ]);
  });

  it("settles to a reported total without a breakdown, not as an estimate", async () => {
    const [settled] = await settledBy(json({ model: "m", usage: { total_tokens: 7 } }));
    expect(settled).toEqual({ units: 7, metadata: { model: "m" }, usage: { model: "m" } });
  });

  it("takes the tokens of usage headers at once, whatever the body", async () => {
    const headers = { "x-usage-input-tokens": "8", "x-usage-output-tokens": "3" };
    expect(await settledBy(json({ usage: { total_tokens: 999 } }, { headers }))).toEqual([
      { units: 11, metadata: undefined, usage: { inputTokens: 8, outputTokens: 3, cachedInputTokens: 0 } },
    ]);
    // x-usage-units is a report too: its units, no tokens, not an estimate.
    const units = await settledBy(new Response("ok", { headers: { "x-usage-units": "4" } }));
    expect(units).toEqual([{ units: 4, metadata: undefined, usage: {} }]);
  });

  it("marks the route's estimate as estimated when the upstream reported nothing", async () => {
    expect(await settledBy(json({ choices: [] }))).toEqual([
      { units: ESTIMATE, metadata: undefined, usage: { estimated: true } },
    ]);
    expect(await settledBy(new Response(null, { status: 204 }))).toEqual([
      { units: ESTIMATE, metadata: undefined, usage: { estimated: true } },
    ]);
    expect(await settledBy(new Response("plain text"))).toEqual([
      { units: ESTIMATE, metadata: undefined, usage: { estimated: true } },
    ]);
  });

  it("settles a 5xx reply to 0, with no tokens and no estimate", async () => {
    const res = json({ model: "m", usage: { prompt_tokens: 5, completion_tokens: 5 } }, { status: 503 });
    expect(await settledBy(res)).toEqual([{ units: 0, metadata: undefined, usage: undefined }]);
  });

  describe("on a token route, when the reply reports no usage", () => {
    /** One token per word: simple enough to check by eye. */
    const words = (text: string) => text.split(/\s+/).filter(Boolean).length;
    const tokens: MeterFallback = { units: 5_000, tokens: { inputTokens: 30, model: "llama", count: words } };

    it("bills the input estimate and the output counted from the stream's chunks, not the reservation", async () => {
      const chunks = ["Hello there", " my friend", " and", " goodbye"].map((content) => ({
        choices: [{ index: 0, delta: { content } }],
      }));
      expect(await settledBy(sse(chunks), tokens)).toEqual([
        {
          units: 36,
          metadata: undefined,
          usage: { model: "llama", inputTokens: 30, outputTokens: 6, cachedInputTokens: 0, estimated: true },
        },
      ]);
    });

    it("counts the text of Anthropic deltas, Responses deltas and a whole JSON reply", async () => {
      const anthropic = sse([
        { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "one two" } },
        { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: " three" } },
      ]);
      const responses = sse([{ type: "response.output_text.delta", delta: "four five six" }]);
      const whole = json({ choices: [{ message: { content: "a b c d", tool_calls: [] } }] });
      const [a] = await settledBy(anthropic, tokens);
      const [r] = await settledBy(responses, tokens);
      const [w] = await settledBy(whole, tokens);
      expect([a?.usage?.outputTokens, r?.usage?.outputTokens, w?.usage?.outputTokens]).toEqual([3, 3, 4]);
      expect([a?.units, r?.units, w?.units]).toEqual([33, 33, 34]);
    });

    it("bills nothing for a refusal (4xx), and keeps the request's model", async () => {
      const refused = json({ error: { message: "bad request" } }, { status: 400 });
      expect(await settledBy(refused, tokens)).toEqual([{ units: 0, metadata: undefined, usage: { model: "llama" } }]);
    });

    it("still takes reported usage over any estimate, naming the request's model when the reply does not", async () => {
      const reported = sse([
        { choices: [{ delta: { content: "x" } }] },
        { choices: [], usage: { prompt_tokens: 7, completion_tokens: 2 } },
      ]);
      expect(await settledBy(reported, tokens)).toEqual([
        {
          units: 9,
          metadata: undefined,
          usage: { inputTokens: 7, outputTokens: 2, cachedInputTokens: 0, model: "llama" },
        },
      ]);
    });

    it("bills what it counted when the client leaves and the upstream then stops without usage", async () => {
      const m = meteredStream(tokens);
      m.send({ choices: [{ delta: { content: "one two" } }] });
      await m.reader.read();
      await m.reader.cancel();
      // The upstream goes on after the client has gone, then ends without reporting usage.
      m.send({ choices: [{ delta: { content: " three" } }] });
      m.close();
      await Promise.all(m.background);
      expect(m.settled).toEqual([
        {
          units: 33,
          metadata: undefined,
          usage: { model: "llama", inputTokens: 30, outputTokens: 3, cachedInputTokens: 0, estimated: true },
        },
      ]);
    });

    it("stops reading an abandoned stream at its bound, and bills what it had counted", async () => {
      // The bound is reached when the test says: the upstream never ends by itself.
      let reach!: () => void;
      const bound = () => ({
        reached: new Promise<void>((resolve) => {
          reach = resolve;
        }),
        clear() {},
      });
      const m = meteredStream(tokens, bound);
      m.send({ choices: [{ delta: { content: "one two four" } }] });
      await m.reader.read();
      await m.reader.cancel();
      expect(m.settled).toEqual([]);
      reach();
      await Promise.all(m.background);
      expect(m.cancelled()).toBe(true);
      expect(m.settled).toEqual([
        {
          units: 33,
          metadata: undefined,
          usage: { model: "llama", inputTokens: 30, outputTokens: 3, cachedInputTokens: 0, estimated: true },
        },
      ]);
    });

    it("bills an Anthropic stream cut off before its message_delta at the output counted, estimated", async () => {
      const m = meteredStream(tokens);
      // message_start reports the input, and 1 output token so far.
      const start = {
        type: "message_start",
        message: { model: "claude-x", usage: { input_tokens: 20, output_tokens: 1 } },
      };
      m.send(start, "message_start");
      for (const text of ["one two", " three four", " five"]) {
        m.send({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text } }, "content_block_delta");
      }
      // The client reads all four events, then the upstream resets the connection.
      for (let i = 0; i < 4; i++) await m.reader.read();
      m.error(new Error("connection reset"));
      await expect(m.reader.read()).rejects.toThrow("connection reset");
      expect(m.settled).toEqual([
        {
          units: 25,
          metadata: { model: "claude-x" },
          usage: { inputTokens: 20, outputTokens: 5, cachedInputTokens: 0, model: "claude-x", estimated: true },
        },
      ]);
    });

    it("settles any reply, malformed, truncated or huge, once, to whole non-negative tokens", async () => {
      const fallback: MeterFallback = { units: 5_000, tokens: { inputTokens: 30, model: "m", count: bytesOver4 } };
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            sseBodyArb.map((b) => ["text/event-stream", b.text]),
            jsonBodyArb.map((b) => ["application/json", b.text]),
          ),
          fc.array(fc.nat(), { maxLength: 6 }),
          fc.constantFrom(200, 400),
          async ([type, text], picks, status) => {
            const bytes = new TextEncoder().encode(text);
            const parts = split(bytes, cutPoints(bytes, picks));
            const body = new ReadableStream<Uint8Array>({
              start(c) {
                for (const part of parts) c.enqueue(part);
                c.close();
              },
            });
            const res = new Response(body, { status, headers: { "content-type": String(type) } });
            const [only, ...more] = await settledBy(res, fallback);
            expect(more).toEqual([]);
            const { units, usage } = only as Settled;
            const counts = [units, usage?.inputTokens ?? 0, usage?.outputTokens ?? 0, usage?.cachedInputTokens ?? 0];
            expect(counts.every((n) => Number.isSafeInteger(n) && n >= 0)).toBe(true);
            if (usage?.inputTokens !== undefined) expect(units).toBe(usage.inputTokens + (usage.outputTokens ?? 0));
          },
        ),
        { numRuns: 60 },
      );
    }, 60_000);
  });
});
