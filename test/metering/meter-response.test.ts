// What a proxied reply settles to: its units, its metadata and its breakdown (the tokens, the
// model, and whether the units are the gateway's estimate), for each way an upstream reports.

import { describe, expect, it } from "vitest";
import type { UsageDimensions, UsageMetadata } from "../../src/core/usage-event";
import { meterResponse } from "../../src/metering/meter-response";

const ESTIMATE = 25;

type Settled = { units: number; metadata?: UsageMetadata; usage?: UsageDimensions };

/** Sends `res` through the meter, reads the reply to its end, and returns what was settled. */
async function settledBy(res: Response): Promise<Settled[]> {
  const settled: Settled[] = [];
  const background: Promise<unknown>[] = [];
  const out = meterResponse(
    res,
    ESTIMATE,
    (units, metadata, usage) => settled.push({ units, metadata, usage }),
    (work) => background.push(work),
  );
  await out.arrayBuffer();
  await Promise.all(background);
  return settled;
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
});
