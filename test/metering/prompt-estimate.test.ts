// The estimate a token route reserves before forwarding: the prompt of each API's request
// shape, counted with the model family's real tokenizer or at bytes/4, and the output the
// request allows.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { utf8Length } from "../../src/core/bytes";
import { MAX_CALL_UNITS } from "../../src/core/limits";
import {
  bytesOver4,
  countTexts,
  MEDIA_PART_TOKENS,
  MESSAGE_OVERHEAD_TOKENS,
  promptParts,
  promptTokens,
  TOKENIZE_CHARS,
} from "../../src/core/prompt-estimate";
import { counterFor, encodingOf } from "../../src/core/tokenizer";

describe("promptParts", () => {
  it("reads an OpenAI chat request: message texts, parts, tool calls and tools, media at a fixed allowance", () => {
    const parts = promptParts({
      model: "gpt-4o",
      max_completion_tokens: 300,
      max_tokens: 999,
      messages: [
        { role: "system", content: "be brief" },
        {
          role: "user",
          content: [
            { type: "text", text: "what is this?" },
            { type: "image_url", image_url: { url: `data:image/png;base64,${"A".repeat(10_000)}` } },
          ],
        },
        { role: "assistant", tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }] },
      ],
      tools: [{ type: "function", function: { name: "f" } }],
    });
    expect(parts.model).toBe("gpt-4o");
    // max_completion_tokens is the newer name, and wins over the deprecated max_tokens.
    expect(parts.maxOutputTokens).toBe(300);
    expect(parts.texts).toEqual([
      "be brief",
      "what is this?",
      "{}",
      JSON.stringify([{ type: "function", function: { name: "f" } }]),
    ]);
    // Three messages' overhead and one image: never the image's base64 length.
    expect(parts.fixedTokens).toBe(3 * MESSAGE_OVERHEAD_TOKENS + MEDIA_PART_TOKENS);
  });

  it("reads Anthropic Messages, the Responses API, Completions and Embeddings", () => {
    const anthropic = promptParts({
      model: "claude-sonnet-4-5",
      max_tokens: 1024,
      system: [{ type: "text", text: "sys" }],
      messages: [
        {
          role: "user",
          content: [
            { type: "image", source: { type: "base64", data: "xx" } },
            { type: "text", text: "hi" },
          ],
        },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "t", content: "42" }] },
      ],
    });
    expect([anthropic.texts, anthropic.fixedTokens, anthropic.maxOutputTokens]).toEqual([
      ["hi", "42", "sys"],
      2 * MESSAGE_OVERHEAD_TOKENS + MEDIA_PART_TOKENS,
      1024,
    ]);
    const responses = promptParts({
      model: "o3",
      instructions: "think",
      input: [{ role: "user", content: [{ type: "input_text", text: "q" }] }],
      max_output_tokens: 50,
    });
    expect([responses.texts, responses.maxOutputTokens]).toEqual([["q", "think"], 50]);
    expect(promptParts({ model: "davinci-002", prompt: ["a", "b"] }).texts).toEqual(["a", "b"]);
    // Embeddings given as token ids count one token per id.
    expect(promptParts({ input: [[1, 2, 3], [4]] }).fixedTokens).toBe(4);
  });

  it("ignores an output allowance that is not a whole number, and anything that is not a request", () => {
    expect(promptParts({ max_tokens: -1 }).maxOutputTokens).toBeUndefined();
    expect(promptParts({ max_tokens: 1.5, max_output_tokens: "9" }).maxOutputTokens).toBeUndefined();
    expect(promptParts([1, 2])).toEqual({ model: null, texts: [], fixedTokens: 0 });
    expect(promptParts({ model: "x".repeat(200) }).model).toBeNull();
  });

  it("never throws, and always estimates a whole number of tokens within what one call may carry", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 12 }), (body) => {
        const tokens = promptTokens(promptParts(body), bytesOver4);
        expect(Number.isSafeInteger(tokens) && tokens >= 0 && tokens <= MAX_CALL_UNITS).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe("counting", () => {
  it("uses OpenAI's encodings for OpenAI model families, and bytes/4 for any other model", () => {
    expect(
      ["gpt-4o-mini", "ft:gpt-4.1:acme::x", "openai/gpt-5", "o3-mini", "o1", "gpt-oss-120b"].map(encodingOf),
    ).toEqual(Array(6).fill("o200k_base"));
    expect(["gpt-4-turbo", "gpt-3.5-turbo", "text-embedding-3-small"].map(encodingOf)).toEqual(
      Array(3).fill("cl100k_base"),
    );
    expect(["llama-3.1-8b", "claude-sonnet-4-5", "o", "omni", null, ""].map(encodingOf)).toEqual(Array(6).fill(null));
  });

  it("counts with the real tokenizer where known: the counts differ from bytes/4, and by encoding", async () => {
    const text = "Tokenization: 東京は日本の首都です。";
    const o200k = await counterFor("gpt-4o", "tokenizer");
    const cl100k = await counterFor("gpt-4", "tokenizer");
    const other = await counterFor("llama-3", "tokenizer");
    expect([o200k.method, cl100k.method, other.method]).toEqual(["o200k_base", "cl100k_base", "bytes/4"]);
    expect([o200k.count(text), cl100k.count(text), other.count(text)]).toEqual([11, 14, 12]);
    // A special token's text in a prompt is text: counted, never a throw.
    expect(o200k.count("<|endoftext|> hello")).toBe(8);
    // PROMPT_TOKENIZER=bytes turns the tokenizers off.
    expect((await counterFor("gpt-4o", "bytes")).method).toBe("bytes/4");
  });

  it("counts bytes/4 on UTF-8 bytes, rounded up", () => {
    expect([bytesOver4(""), bytesOver4("abcde"), bytesOver4("é"), bytesOver4("😀😀")]).toEqual([0, 2, 1, 2]);
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (s) => utf8Length(s) === new TextEncoder().encode(s).length),
    );
  });

  it("counts past TOKENIZE_CHARS at the rate of what it counted, calling the counter on a bounded length", () => {
    let seen = 0;
    const half = (t: string) => {
      seen += t.length;
      return Math.ceil(t.length / 2);
    };
    const long = ["ab".repeat(TOKENIZE_CHARS), "cd".repeat(1000)];
    expect(countTexts(long, half)).toBe((2 * TOKENIZE_CHARS + 2000) / 2);
    expect(seen).toBe(TOKENIZE_CHARS);
    expect(countTexts(["abcd", "ef"], half)).toBe(3);
  });
});
