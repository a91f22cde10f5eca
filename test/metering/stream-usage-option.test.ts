// Asking a streamed reply for its usage on the client's behalf, and taking back out what the
// client would not have received: the stream the client gets is byte for byte the one the
// upstream sends without the option, however the bytes are cut.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  MAX_HELD_EVENT_CHARS,
  strippedEvent,
  usageStripper,
  withStreamUsage,
} from "../../src/core/stream-usage-option";
import { sseBodyArb } from "../support/fuzz-bodies";

/** An OpenAI-style stream as the upstream sends it, with or without include_usage. */
function upstreamStream(withUsage: boolean, parts: string[], usage = { prompt_tokens: 9, completion_tokens: 3 }) {
  const chunk = (delta: object, finish: string | null) =>
    JSON.stringify({
      id: "chatcmpl-1",
      object: "chat.completion.chunk",
      created: 1,
      model: "m",
      choices: [{ index: 0, delta, finish_reason: finish }],
      ...(withUsage ? { usage: null } : {}),
    });
  const events = [
    chunk({ role: "assistant", content: "" }, null),
    ...parts.map((p) => chunk({ content: p }, null)),
    chunk({}, "stop"),
  ];
  if (withUsage) {
    events.push(
      JSON.stringify({
        id: "chatcmpl-1",
        object: "chat.completion.chunk",
        created: 1,
        model: "m",
        choices: [],
        usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
      }),
    );
  }
  return `${events.map((e) => `data: ${e}\n\n`).join("")}data: [DONE]\n\n`;
}

async function throughStripper(text: string, cuts: number[]): Promise<string> {
  const bytes = new TextEncoder().encode(text);
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let at = 0;
  for (const p of [...points, bytes.length]) {
    pieces.push(bytes.subarray(at, p));
    at = p;
  }
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const piece of pieces) controller.enqueue(piece);
      controller.close();
    },
  });
  return new Response(source.pipeThrough(usageStripper())).text();
}

describe("the request", () => {
  it("asks a stream for its usage, keeping the client's other stream options", () => {
    expect(JSON.parse(withStreamUsage('{"model":"m","stream":true}') ?? "")).toEqual({
      model: "m",
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(JSON.parse(withStreamUsage('{"stream":true,"stream_options":{"x":1}}') ?? "")).toEqual({
      stream: true,
      stream_options: { x: 1, include_usage: true },
    });
    expect(JSON.parse(withStreamUsage('{"stream":true,"stream_options":{"include_usage":false}}') ?? "")).toEqual({
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it("leaves alone a request that asked already, is not a stream, or is not a JSON object", () => {
    for (const body of [
      '{"stream":true,"stream_options":{"include_usage":true}}',
      '{"stream":false}',
      '{"model":"m"}',
      '{"stream":"true"}',
      '{"stream":true,"stream_options":"x"}',
      "[1]",
      "not json",
      "",
    ]) {
      expect(withStreamUsage(body), body).toBeNull();
    }
  });
});

describe("the reply", () => {
  it("drops the usage-only chunk and the usage:null members, and nothing else", () => {
    expect(strippedEvent('data: {"choices":[],"usage":{"prompt_tokens":1}}')).toBeNull();
    expect(strippedEvent('data: {"a":1,"usage":null}')).toBe('data: {"a":1}');
    expect(strippedEvent('data: {"usage":null,"a":1}')).toBe('data: {"a":1}');
    expect(strippedEvent("data: [DONE]")).toBe("data: [DONE]");
    // Spaced JSON, as Python's json.dumps writes it, loses the member and its joining comma.
    expect(strippedEvent('data: {"a": 1, "usage": null}')).toBe('data: {"a": 1}');
    expect(strippedEvent('data: {"usage": null, "a": 1}')).toBe('data: {"a": 1}');
    expect(strippedEvent('data: {"choices":[{"delta":{"content":"\\"usage\\":null"}}]}')).toBe(
      'data: {"choices":[{"delta":{"content":"\\"usage\\":null"}}]}',
    );
    expect(strippedEvent('data: {"choices":[],"usage":{"x":1}')).toBe('data: {"choices":[],"usage":{"x":1}');
  });

  it("gives the client, byte for byte, the stream the upstream sends without the option, however it is cut", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ maxLength: 12 }), { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        async (parts, cuts) => {
          const asked = upstreamStream(true, parts);
          const plain = upstreamStream(false, parts);
          expect(await throughStripper(asked, cuts)).toBe(plain);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("passes an event it leaves alone as it came, CRLF line endings and all", async () => {
    const text = 'event: ping\r\ndata: {"a":1}\r\n\r\ndata: {"choices":[{"delta":{}}],"usage":null}\r\n\r\n';
    expect(await throughStripper(text, [4, 30])).toBe(
      'event: ping\r\ndata: {"a":1}\r\n\r\ndata: {"choices":[{"delta":{}}]}\r\n\r\n',
    );
  });

  it("gives the same stream however the bytes are cut, around events too long to hold and broken ones too", async () => {
    await fc.assert(
      fc.asyncProperty(sseBodyArb, fc.array(fc.nat(), { maxLength: 8 }), async (body, cuts) => {
        expect(await throughStripper(body.text, cuts)).toBe(await throughStripper(body.text, []));
      }),
      { numRuns: 60 },
    );
  });

  it("passes on an event too long to hold before its end, untouched, and strips the events after it", async () => {
    const stripper = usageStripper();
    const writer = stripper.writable.getWriter();
    const reader = stripper.readable.getReader();
    const huge = `data: {"choices":[{"delta":{"content":"${"x".repeat(MAX_HELD_EVENT_CHARS)}"}}],"usage":null}`;
    const head = huge.slice(0, MAX_HELD_EVENT_CHARS + 4);
    // The end of the event is written only once the start has come out: held, this hangs.
    const first = reader.read();
    void writer.write(new TextEncoder().encode(head));
    expect(new TextDecoder().decode((await first).value)).toBe(head);
    const usage = 'data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}';
    void writer.write(new TextEncoder().encode(`${huge.slice(head.length)}\r\n\r\n${usage}\n\ndata: [DONE]\n\n`));
    void writer.close();
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
    expect(head + rest).toBe(`${huge}\r\n\r\ndata: [DONE]\n\n`);
  });

  it("passes a stream with nothing of the option's untouched, and an unterminated tail as it is", async () => {
    const plain = upstreamStream(false, ["a", "b"]);
    expect(await throughStripper(plain, [3, 50, 51])).toBe(plain);
    expect(await throughStripper('data: {"a":1}\n\ndata: {"b"', [5])).toBe('data: {"a":1}\n\ndata: {"b"');
  });
});
