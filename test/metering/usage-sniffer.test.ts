import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FULL_PARSE_BYTES, lastUsageObject, UsageSniffer, unitsFromHeader } from "../../src/core/usage-sniffer";
import { cutPoints, jsonBodyArb, sseBodyArb } from "../support/fuzz-bodies";

const encode = (s: string) => new TextEncoder().encode(s);

/** Feeds `text` to a sniffer cut at the given positions. */
function sniff(contentType: string, text: string, cuts: number[] = []) {
  const bytes = encode(text);
  const sniffer = new UsageSniffer(contentType);
  let last = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length)].sort((a, b) => a - b)) {
    sniffer.push(bytes.slice(last, cut));
    last = cut;
  }
  sniffer.push(bytes.slice(last));
  return sniffer.finish();
}

const sse = [
  'data: {"id":"1","choices":[{"delta":{"content":"Hel"}}]}',
  "",
  'data: {"id":"1","choices":[{"delta":{"content":"lo"}}],"usage":null}',
  "",
  'data: {"id":"1","model":"llama-3","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":37,"total_tokens":42}}',
  "",
  "data: [DONE]",
  "",
  "",
].join("\n");

describe("usage sniffer", () => {
  it("reads usage.total_tokens and the model from a JSON body", () => {
    const body = JSON.stringify({ model: "gpt-x", usage: { total_tokens: 123 }, choices: [] });
    expect(sniff("application/json; charset=utf-8", body, [3, 17, 40])).toEqual({
      units: 123,
      metadata: { model: "gpt-x" },
    });
  });

  it("takes the usage of the last SSE chunk that has one, however the stream is cut", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: sse.length }), { maxLength: 12 }), (cuts) => {
        expect(sniff("text/event-stream", sse, cuts)).toEqual({ units: 42, metadata: { model: "llama-3" } });
      }),
    );
  });

  it("accepts CRLF line endings and multi-line data", () => {
    const text = 'data: {"usage":\r\ndata: {"total_tokens":9}}\r\n\r\n';
    expect(sniff("text/event-stream", text)).toEqual({ units: 9 });
  });

  it("finds nothing where nothing is reported, or the report is malformed", () => {
    expect(sniff("application/json", '{"usage":{"total_tokens":-1}}')).toEqual({});
    expect(sniff("application/json", '{"usage":{"total_tokens":1.5}}')).toEqual({});
    expect(sniff("application/json", "{not json")).toEqual({});
    expect(sniff("text/plain", '{"usage":{"total_tokens":5}}')).toEqual({});
    expect(sniff("text/event-stream", "data: [DONE]\n\n")).toEqual({});
  });

  it("reads whole numbers from x-usage-units, and nothing else", () => {
    expect(unitsFromHeader("17")).toBe(17);
    expect(unitsFromHeader(" 0 ")).toBe(0);
    for (const bad of [null, "", "-3", "1.5", "1e3", "abc", "99999999999999"])
      expect(unitsFromHeader(bad)).toBeUndefined();
  });
});

describe("usage sniffer on large replies", () => {
  it("reads the usage at the end of a JSON body too big to keep whole, and the model at its start", () => {
    const filler = Array.from({ length: 30_000 }, (_, i) => ({ index: i, embedding: [0.125, -0.5, 0.25] }));
    const body = JSON.stringify({
      model: "embed-large",
      data: filler,
      usage: { prompt_tokens: 9000, total_tokens: 9000 },
    });
    expect(body.length).toBeGreaterThan(FULL_PARSE_BYTES);
    const cuts = Array.from({ length: 200 }, (_, i) => Math.floor((body.length * (i + 1)) / 201));
    expect(sniff("application/json", body, cuts)).toEqual({ units: 9000, metadata: { model: "embed-large" } });
  });

  it("reads the model after the vectors of an embeddings reply too big to keep whole, as OpenAI orders it", () => {
    // {object, data, model, usage}: the model is neither in the first 64 KB nor in any vector.
    const data = Array.from({ length: 30_000 }, (_, i) => ({
      object: "embedding",
      index: i,
      embedding: "AAAAPwAAgD4=",
    }));
    const text = JSON.stringify({ note: 'an escaped "model": "decoy" is text', data });
    const body = `${text.slice(0, -1)},"model":"text-embedding-3-large","usage":{"prompt_tokens":120,"total_tokens":120}}`;
    expect(body.length).toBeGreaterThan(FULL_PARSE_BYTES);
    expect(JSON.parse(body).model).toBe("text-embedding-3-large");
    expect(sniff("application/json", body, [70_000, 1_000_000])).toEqual({
      units: 120,
      metadata: { model: "text-embedding-3-large" },
    });
    // A model named at the start too (a chat reply's place) is the one taken.
    const both = `{"model":"first","data":${JSON.stringify(data)},"meta":{"model":"nested"},"usage":{"total_tokens":3}}`;
    expect(sniff("application/json", both)).toEqual({ units: 3, metadata: { model: "first" } });
  });

  it("finds the last usage object by matching braces outside strings", () => {
    expect(lastUsageObject('{"a":"\\"usage\\": {","usage":{"total_tokens":3,"note":"} {"}}')).toEqual({
      total_tokens: 3,
      note: "} {",
    });
    expect(lastUsageObject('{"usage": 5}')).toBeUndefined();
    expect(lastUsageObject('{"usage":{"total_tokens":')).toBeUndefined();
  });

  it("reads the same usage however the bytes are cut, huge, broken and mid-character cuts included", () => {
    // Either kind of body under either label: upstreams mislabel.
    const type = fc.constantFrom("text/event-stream", "application/json");
    fc.assert(
      fc.property(
        type,
        fc.oneof(sseBodyArb, jsonBodyArb),
        fc.array(fc.nat(), { maxLength: 10 }),
        (type, body, picks) => {
          const cuts = cutPoints(encode(body.text), picks);
          expect(sniff(type, body.text, cuts)).toEqual(sniff(type, body.text));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("drops an event with a data line too long to keep, whether the line comes whole or in pieces", () => {
    // The long line runs into the next one (a lone CR ends no line); the data after it is a
    // fragment of the event, not the event.
    const long = `data: {"usage":{"total_tokens":3},"pad":"${"x".repeat(FULL_PARSE_BYTES)}"}\rdata: {"id":"c1"}\r\n`;
    const text = `${long}data: {"usage":\ndata: {"total_tokens":5}}\n\ndata: {"usage":{"total_tokens":8}}\n\n`;
    // Cut inside the long line, past the limit: the sniffer skips the rest of it.
    const inside = [long.indexOf('"}\r')];
    expect(sniff("text/event-stream", text)).toEqual({ units: 8 });
    expect(sniff("text/event-stream", text, inside)).toEqual({ units: 8 });
    const last = `${long}data: {"usage":\ndata: {"total_tokens":5}}\n\n`;
    expect(sniff("text/event-stream", last)).toEqual({});
    expect(sniff("text/event-stream", last, inside)).toEqual({});
  });

  it("reads exactly the last 64 KB of a JSON body too big to keep whole, however it is cut", () => {
    // The only usage is further from the end than that: it is not read, in one piece or many.
    const body = `{"usage":{"total_tokens":3},"pad":"${"x".repeat(FULL_PARSE_BYTES)}"}`;
    expect(sniff("application/json", body)).toEqual({});
    expect(sniff("application/json", body, [FULL_PARSE_BYTES - 1000])).toEqual({});
  });

  it("reads the model at the start of a JSON body too big to keep whole, cut inside a character", () => {
    const body = JSON.stringify({ model: "模型-🚀", pad: "x".repeat(FULL_PARSE_BYTES), usage: { total_tokens: 4 } });
    const inside = encode('{"model":"模').length - 1;
    expect(sniff("application/json", body, [inside])).toEqual({ units: 4, metadata: { model: "模型-🚀" } });
  });

  it("skips an SSE line too long to keep and still reads the usage after it", () => {
    const huge = `data: {"image":"${"A".repeat(1_500_000)}"}\n\n`;
    const text = `${huge}data: {"usage":{"total_tokens":77}}\n\ndata: [DONE]\n\n`;
    const cuts = Array.from({ length: 300 }, (_, i) => 5_000 * (i + 1));
    expect(sniff("text/event-stream", text, cuts)).toEqual({ units: 77 });
  });
});
