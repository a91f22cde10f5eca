// The output text a token route counts when a reply reports no usage: found in a stream's
// events without parsing them, and in a whole reply by its shape.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TOKENIZE_CHARS } from "../../src/core/prompt-estimate";
import { deltaTextOf, replyText, TextTally } from "../../src/core/reply-text";

/** The text of an event, read the slow way: parsed, by its shape. The oracle for deltaTextOf. */
function parsedDeltaText(event: Record<string, unknown>): string[] {
  const nonEmpty = (v: unknown) => (typeof v === "string" && v.length > 0 ? [v] : []);
  if (Array.isArray(event.choices)) {
    return event.choices.flatMap((c: { delta?: Record<string, unknown>; text?: unknown }) => [
      ...nonEmpty(c.delta?.content),
      ...nonEmpty(c.delta?.reasoning_content),
      ...((c.delta?.tool_calls as { function?: { arguments?: unknown } }[] | undefined) ?? []).flatMap((t) =>
        nonEmpty(t.function?.arguments),
      ),
      ...nonEmpty(c.text),
    ]);
  }
  const delta = event.delta as Record<string, unknown> | string | undefined;
  if (event.type === "content_block_delta" && typeof delta === "object") {
    return [...nonEmpty(delta.text), ...nonEmpty(delta.partial_json), ...nonEmpty(delta.thinking)];
  }
  if (typeof event.type === "string" && event.type.endsWith(".delta")) return nonEmpty(delta);
  return [];
}

const text = fc.string({ unit: "binary", maxLength: 40 });
const events = fc.oneof(
  text.map((content) => ({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content } }] })),
  text.map((t) => ({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: t } }] } }] })),
  text.map((t) => ({ choices: [{ index: 0, text: t, logprobs: null }] })),
  text.map((t) => ({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: t } })),
  text.map((t) => ({ type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: t } })),
  text.map((t) => ({ type: "response.output_text.delta", item_id: "i", delta: t })),
  text.map((t) => ({ type: "response.output_text.done", item_id: "i", text: t })),
  fc.constant({ type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 9 } }),
);

describe("deltaTextOf", () => {
  it("finds the same text as parsing the event would, escapes, quotes and any Unicode included", () => {
    fc.assert(
      fc.property(events, (event) => {
        expect(deltaTextOf(JSON.stringify(event))).toEqual(parsedDeltaText(event));
      }),
      { numRuns: 2_000 },
    );
  });

  it("counts reasoning once when a server sends it as both reasoning_content and reasoning", () => {
    const both = { choices: [{ delta: { reasoning_content: "think", reasoning: "think" } }] };
    expect(deltaTextOf(JSON.stringify(both))).toEqual(["think"]);
    expect(deltaTextOf(JSON.stringify({ choices: [{ delta: { reasoning: "alone" } }] }))).toEqual(["alone"]);
    expect(replyText({ choices: [{ message: { reasoning_content: "r", reasoning: "r", content: "c" } }] })).toEqual([
      "c",
      "r",
    ]);
  });

  it("skips the Responses API's .done events, which repeat the deltas' text", () => {
    expect(deltaTextOf('{"type":"response.output_text.done","text":"all of it"}')).toEqual([]);
    expect(deltaTextOf('{"type":"response.output_text.delta","delta":"all"}')).toEqual(["all"]);
  });

  it("never throws on text that is not JSON", () => {
    fc.assert(fc.property(fc.string(), (data) => Array.isArray(deltaTextOf(data))));
    expect(deltaTextOf('"content":"bad \\x escape"')).toEqual([]);
  });
});

describe("replyText", () => {
  it("reads a whole Chat Completions, Completions, Anthropic or Responses reply", () => {
    expect(
      replyText({ choices: [{ message: { content: "a", tool_calls: [{ function: { arguments: "{}" } }] } }] }),
    ).toEqual(["a", "{}"]);
    expect(replyText({ choices: [{ text: "b" }] })).toEqual(["b"]);
    expect(
      replyText({
        content: [
          { type: "text", text: "c" },
          { type: "tool_use", input: {} },
        ],
      }),
    ).toEqual(["c"]);
    expect(replyText({ output: [{ type: "message", content: [{ type: "output_text", text: "d" }] }] })).toEqual(["d"]);
    expect(replyText("nope")).toEqual([]);
  });
});

describe("TextTally", () => {
  it("counts the pieces as one text, and past its bound at the rate of what it kept", () => {
    const words = (t: string) => t.split(/\s+/).filter(Boolean).length;
    const tally = new TextTally();
    tally.add(["Hel", "lo wor", "ld"]);
    expect(tally.tokens(words)).toBe(2);
    const long = new TextTally();
    const chunk = "word ".repeat(1000);
    for (let i = 0; i < 20; i++) long.add([chunk]);
    // 20,000 words in all, of which only TOKENIZE_CHARS characters were counted: the rest at
    // their rate, rounded up (a word cut at the bound counts whole, hence the few over).
    const counted = long.tokens(words);
    expect(counted).toBeGreaterThanOrEqual(20_000);
    expect(counted).toBeLessThanOrEqual(20_010);
    expect(TOKENIZE_CHARS).toBeLessThan(20 * chunk.length);
  });
});
