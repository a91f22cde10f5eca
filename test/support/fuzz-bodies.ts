// fast-check arbitraries for AI replies as an extractor meets them: valid OpenAI, Responses
// and Anthropic usage mixed with malformed, truncated and huge events and JSON bodies,
// counts of every wrong kind, NUL and lone surrogates in model names, CRLF line endings.
// Used through the proxy (test/metering/extractor-fuzz.node.test.ts) and by the sniffer's
// and the stripper's unit properties.

import fc from "fast-check";

/** A generated body; a counterexample shows it with long runs of one character collapsed. */
export interface Body {
  text: string;
}

function body(text: string): Body {
  const shown = {
    text,
    [fc.toStringMethod]: () =>
      JSON.stringify(text).replace(/(.)\1{63,}/gu, (run, ch: string) => `${ch}…×${run.length}…`),
  };
  return shown;
}

/** Past the sniffer's 1 MB line and full-parse limits, so both skip modes are reached. */
const HUGE_MIN = 1024 * 1024 + 1;

/** A token count, mostly sound, else negative, fractional, huge, a string, null... */
export const countArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: fc.nat({ max: 100_000 }) },
  fc.integer({ min: -1_000_000, max: -1 }),
  fc.double(),
  fc.constantFrom(0.5, 12.75, 1e300, 2 ** 53 + 1, 1_000_000_001, -0, "12", null, true, {}, [3]),
);

/** Model names, including what must never be stored: NUL, lone surrogates, overlong. */
export const modelArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("gpt-4o", "claude-sonnet-4", "llama-3.1-8b", "ümlaut-模型-🚀", "a\u0000b", "x\uD800y", "\uDC00"),
  fc.string({ unit: "binary", maxLength: 24 }),
  fc.constant("m".repeat(300)),
);

const text = fc.string({ unit: "binary", maxLength: 30 });

/** A usage object in one of the shapes, with counts of any kind, maybe nested in itself. */
const usageArb = fc.oneof(
  fc.record({ prompt_tokens: countArb, completion_tokens: countArb, total_tokens: countArb }),
  fc.record({
    input_tokens: countArb,
    output_tokens: countArb,
    input_tokens_details: fc.record({ cached_tokens: countArb }),
  }),
  fc.record({ input_tokens: countArb, cache_read_input_tokens: countArb, output_tokens: countArb }),
  fc.record({ total_tokens: countArb }),
  fc.record({ usage: fc.record({ total_tokens: countArb }) }),
);

/** One event's text, before its line endings are chosen: `\n` between its lines. */
const sseEventArb: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .record({ model: modelArb, content: text, usageNull: fc.boolean() })
      .map(
        ({ model, content, usageNull }) =>
          `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", model, choices: [{ index: 0, delta: { content } }], ...(usageNull ? { usage: null } : {}) })}`,
      ),
  },
  fc
    .record({ model: modelArb, usage: usageArb })
    .map(({ model, usage }) => `data: ${JSON.stringify({ id: "c1", model, choices: [], usage })}`),
  fc
    .record({ model: modelArb, usage: usageArb })
    .map(
      ({ model, usage }) =>
        `event: response.completed\ndata: ${JSON.stringify({ type: "response.completed", response: { model, usage } })}`,
    ),
  fc
    .record({ model: modelArb, usage: usageArb })
    .map(
      ({ model, usage }) =>
        `event: message_start\ndata: ${JSON.stringify({ type: "message_start", message: { model, usage } })}`,
    ),
  countArb.map(
    (n) => `event: message_delta\ndata: ${JSON.stringify({ type: "message_delta", usage: { output_tokens: n } })}`,
  ),
  // The model written raw, unescaped: quotes, newlines and lone surrogates reach the wire.
  fc
    .record({ model: modelArb, n: countArb })
    .map(({ model, n }) => `data: {"model":"${model}","usage":{"total_tokens":${JSON.stringify(n)}}}`),
  // Usage split over several data lines, as SSE allows.
  countArb.map((n) => `data: {"usage":\ndata: {"total_tokens":${JSON.stringify(n)}}}`),
  fc.constantFrom(
    'data: {"usage":{"total_tokens":12,}}',
    "data: {usage:{total_tokens:5}}",
    'data: {"usage":{"total_tokens":',
    'data: {"choices":[],"usage":{"prompt_tokens":1',
    "data: [DONE]",
    "data:",
    "data",
    "data: hello",
    ": keep-alive",
    "event: ping",
    "id: 7",
    "retry: 10",
    'data: {"usage":null}',
    "data: null",
    "data: 42",
    'data: ["usage",{"usage":{}}]',
  ),
  text,
  // A line over 1 MB: usage at its start, then padding, so only skipping it is sound.
  fc
    .record({ size: fc.integer({ min: HUGE_MIN, max: HUGE_MIN + 64 * 1024 }), data: fc.boolean() })
    .map(({ size, data }) => `${data ? "data: " : ""}{"usage":{"total_tokens":3},"pad":"${"x".repeat(size)}"}`),
);

/** A truncated event: one cut short anywhere, mid-escape or mid-character included. */
const truncatedArb = fc
  .tuple(sseEventArb, fc.double({ min: 0, max: 1, noNaN: true }))
  .map(([event, at]) => event.slice(0, Math.floor(event.length * at)));

export const sseBodyArb: fc.Arbitrary<Body> = fc
  .record({
    events: fc.array(fc.oneof({ weight: 4, arbitrary: sseEventArb }, truncatedArb), { minLength: 1, maxLength: 12 }),
    // Mostly well-terminated events; sometimes a bare line end or none, so events run together.
    ends: fc.array(fc.constantFrom("\n\n", "\n\n", "\r\n\r\n", "\n", "\r\n", "\r", ""), {
      minLength: 12,
      maxLength: 12,
    }),
  })
  .map(({ events, ends }) =>
    body(
      events.map((e, i) => (ends[i]?.startsWith("\r\n") ? e.replaceAll("\n", "\r\n") : e) + (ends[i] ?? "")).join(""),
    ),
  );

/** A JSON reply: a whole one, or cut short, or over 1 MB (head and tail only), or not JSON. */
const jsonTextArb: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .record({ model: modelArb, usage: usageArb, content: text })
      .map(({ model, usage, content }) =>
        JSON.stringify({ id: "x", object: "chat.completion", model, choices: [{ message: { content } }], usage }),
      ),
  },
  fc
    .record({ model: modelArb, usage: usageArb })
    .map(({ model, usage }) => JSON.stringify({ object: "response", response: { model, usage } })),
  fc
    .record({ model: modelArb, usage: usageArb, at: fc.double({ min: 0, max: 1, noNaN: true }) })
    .map(({ model, usage, at }) => {
      const whole = JSON.stringify({ model, choices: [], usage });
      return whole.slice(0, Math.floor(whole.length * at));
    }),
  fc
    .record({ model: modelArb, usage: usageArb, size: fc.integer({ min: HUGE_MIN, max: HUGE_MIN + 64 * 1024 }) })
    .map(({ model, usage, size }) => JSON.stringify({ model, pad: "é".repeat(size / 2), usage })),
  fc.constantFrom("", "{", "null", "[]", '{"usage":', '{"usage":{"usage":{"total_tokens":1}}}', "\u0000"),
  text,
);

export const jsonBodyArb: fc.Arbitrary<Body> = jsonTextArb.map(body);

/** Byte positions to cut a body at, biased to land inside multi-byte characters. */
export function cutPoints(body: Uint8Array, picks: number[]): number[] {
  const inside: number[] = [];
  for (let i = 0; i < body.length && inside.length < 64; i++) {
    // A continuation byte: cutting before it splits a UTF-8 character.
    if ((body[i] ?? 0) >> 6 === 0b10) inside.push(i);
  }
  const cuts = picks.map((p, i) =>
    i % 2 === 0 && inside.length > 0 ? (inside[p % inside.length] ?? 0) : p % body.length,
  );
  return [...new Set(cuts.filter((c) => c > 0 && c < body.length))].sort((a, b) => a - b);
}

export function split(body: Uint8Array, cuts: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let last = 0;
  for (const cut of [...cuts, body.length]) {
    if (cut > last) chunks.push(body.subarray(last, cut));
    last = cut;
  }
  return chunks;
}

export const isPrefix = (prefix: Uint8Array, of: Uint8Array): boolean =>
  prefix.length <= of.length && Buffer.from(prefix).equals(Buffer.from(of.subarray(0, prefix.length)));
