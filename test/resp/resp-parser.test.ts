import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeCommand, encodeCommands } from "../../src/redis/resp/encoder";
import { RedisProtocolError, RedisServerError } from "../../src/redis/resp/errors";
import { type ParserOptions, type RedisReply, RespParser } from "../../src/redis/resp/parser";

const utf8 = new TextEncoder();

function bytesOf(...parts: (string | Uint8Array)[]): Uint8Array {
  const encoded = parts.map((p) => (typeof p === "string" ? utf8.encode(p) : p));
  const out = new Uint8Array(encoded.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of encoded) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Cuts `bytes` into chunks whose sizes cycle through `sizes`. */
function chunked(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length] ?? 1;
    chunks.push(bytes.slice(at, at + size));
    at += size;
  }
  return chunks;
}

function parse(input: string | Uint8Array | Uint8Array[], options: ParserOptions = {}) {
  const replies: RedisReply[] = [];
  const pushes: RedisReply[][] = [];
  const parser = new RespParser((reply) => replies.push(reply), { ...options, onPush: (m) => pushes.push(m) });
  const chunks = Array.isArray(input) ? input : [typeof input === "string" ? utf8.encode(input) : input];
  for (const chunk of chunks) parser.feed(chunk);
  return { replies, pushes, parser };
}

/** A comparable form: errors by code and message, maps as entry lists (their keys may be objects). */
function plain(value: RedisReply): unknown {
  if (value instanceof RedisServerError) return { error: value.message, code: value.code };
  if (value instanceof Map) return { map: [...value].map(([k, v]) => [plain(k), plain(v)]) };
  if (Array.isArray(value)) return value.map(plain);
  return value;
}

function expectProtocolError(input: string | Uint8Array, options?: ParserOptions): RedisProtocolError {
  let caught: unknown;
  try {
    parse(input, options);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(RedisProtocolError);
  return caught as RedisProtocolError;
}

describe("RespParser: every reply type", () => {
  const table: [string, string | Uint8Array, unknown][] = [
    ["simple string", "+OK\r\n", "OK"],
    ["simple string, unicode", "+héllo 🎉\r\n", "héllo 🎉"],
    [
      "error",
      "-WRONGTYPE Operation against a key\r\n",
      { error: "WRONGTYPE Operation against a key", code: "WRONGTYPE" },
    ],
    ["integer", ":1000\r\n", 1000],
    ["negative integer", ":-42\r\n", -42],
    ["integer past 2^53 as bigint", ":9223372036854775807\r\n", 9223372036854775807n],
    ["most negative integer", ":-9223372036854775808\r\n", -9223372036854775808n],
    ["bulk string", "$5\r\nhello\r\n", "hello"],
    ["bulk string with CRLF inside", "$4\r\na\r\nb\r\n", "a\r\nb"],
    ["bulk string, byte length of UTF-8", "$4\r\n🎉\r\n", "🎉"],
    ["bulk string keeps a leading BOM", bytesOf("$3\r\n", new Uint8Array([0xef, 0xbb, 0xbf]), "\r\n"), "\uFEFF"],
    ["empty bulk string", "$0\r\n\r\n", ""],
    ["null bulk string", "$-1\r\n", null],
    ["array", "*2\r\n$3\r\nfoo\r\n:7\r\n", ["foo", 7]],
    ["empty array", "*0\r\n", []],
    ["null array", "*-1\r\n", null],
    ["nested array with an error inside", "*2\r\n*1\r\n+a\r\n-ERR x\r\n", [["a"], { error: "ERR x", code: "ERR" }]],
    ["RESP3 null", "_\r\n", null],
    ["RESP3 true", "#t\r\n", true],
    ["RESP3 false", "#f\r\n", false],
    ["double", ",3.14\r\n", 3.14],
    ["double with exponent", ",1.5e-7\r\n", 1.5e-7],
    ["double inf", ",inf\r\n", Infinity],
    ["double -inf", ",-inf\r\n", -Infinity],
    ["double nan", ",nan\r\n", NaN],
    ["big number", "(3492890328409238509324850943850943825024385\r\n", 3492890328409238509324850943850943825024385n],
    ["bulk error", "!21\r\nSYNTAX invalid syntax\r\n", { error: "SYNTAX invalid syntax", code: "SYNTAX" }],
    ["verbatim string without its format", "=15\r\ntxt:Some string\r\n", "Some string"],
    [
      "map",
      "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
      {
        map: [
          ["first", 1],
          ["second", 2],
        ],
      },
    ],
    ["empty map", "%0\r\n", { map: [] }],
    ["set", "~3\r\n+a\r\n+b\r\n:1\r\n", ["a", "b", 1]],
    [
      "attribute, skipped",
      "|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2039123\r\n:9543892\r\n",
      [2039123, 9543892],
    ],
    ["attribute inside an array", "*2\r\n:1\r\n|1\r\n+ttl\r\n:3600\r\n:2\r\n", [1, 2]],
    ["push inside an array is just an array", "*1\r\n>1\r\n+x\r\n", [["x"]]],
  ];

  it.each(table)("%s", (_name, wire, expected) => {
    const whole = parse(wire);
    expect(whole.replies.map(plain)).toEqual([expected]);
    const bytes = typeof wire === "string" ? utf8.encode(wire) : wire;
    expect(parse(chunked(bytes, [1])).replies.map(plain)).toEqual([expected]);
  });

  it("delivers top-level pushes to onPush, never as replies", () => {
    const { replies, pushes } = parse(">3\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n_\r\n+OK\r\n>0\r\n:5\r\n");
    expect(replies).toEqual(["OK", 5]);
    expect(pushes).toEqual([["invalidate", ["k"], null], []]);
  });

  it("returns replies in order across many in one chunk", () => {
    const { replies } = parse("+a\r\n:1\r\n$1\r\nb\r\n*0\r\n_\r\n");
    expect(replies).toEqual(["a", 1, "b", [], null]);
  });
});

describe("RespParser: limits and malformed input", () => {
  it.each([
    ["bulk length far over the limit", "$99999999999\r\n"],
    ["array length over 2^32", "*4294967296\r\n"],
    ["map length over the limit", "%4294967296\r\n"],
    ["bulk length just over 512 MiB", `$${512 * 1024 * 1024 + 1}\r\n`],
    ["negative bulk length other than -1", "$-2\r\n"],
    ["negative array length other than -1", "*-5\r\n"],
    ["a null set", "~-1\r\n"],
    ["a null verbatim string", "=-1\r\n"],
    ["non-numeric length", "$abc\r\n"],
    ["empty length", "*\r\n"],
    ["a streamed string", "$?\r\n"],
    ["unknown type byte", "x"],
    ["a lowercase word", "hello\r\n"],
    ["bulk payload longer than declared", "$3\r\nabcde\r\n"],
    ["CR without LF", "+OK\rX"],
    ["bad boolean", "#x\r\n"],
    ["null with data", "_x\r\n"],
    ["fractional integer", ":1.5\r\n"],
    ["integer with 20 digits", ":12345678901234567890\r\n"],
    ["bad double", ",abc\r\n"],
    ["empty double", ",\r\n"],
    ["bad big number", "(12a\r\n"],
    ["verbatim string without a format", "=3\r\nabc\r\n"],
    ["a length line that never ends", `$${"1".repeat(100)}`],
  ])("throws RedisProtocolError on %s", (_name, wire) => {
    expectProtocolError(wire);
  });

  it("refuses a huge declared length at once, without waiting for (or allocating) the payload", () => {
    const before = process.memoryUsage().arrayBuffers;
    const { replies, parser } = parse("+ok\r\n");
    expect(replies).toEqual(["ok"]);
    expect(() => parser.feed(utf8.encode("$536870912\r\n"))).not.toThrow(); // exactly 512 MiB: allowed, waits
    expect(() => parse("*4294967296\r\n")).toThrow(RedisProtocolError);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  });

  it("honours custom limits", () => {
    expectProtocolError("$11\r\nhello world\r\n", { maxBulkBytes: 10 });
    expectProtocolError("*3\r\n:1\r\n:2\r\n:3\r\n", { maxArrayLength: 2 });
    expectProtocolError("*1\r\n*1\r\n*0\r\n", { maxDepth: 1 });
    expect(parse("$10\r\nhelloworld\r\n", { maxBulkBytes: 10 }).replies).toEqual(["helloworld"]);
  });

  it("bounds nesting with RedisProtocolError, not a stack overflow", () => {
    expect(parse(`${"*1\r\n".repeat(64)}:1\r\n`).replies).toHaveLength(1);
    const err = expectProtocolError(`${"*1\r\n".repeat(100_000)}:1\r\n`);
    expect(err.message).toContain("nesting");
    expectProtocolError("|1\r\n".repeat(1000));
  });

  it("keeps failing after a protocol error, with the same error", () => {
    const parser = new RespParser(() => {});
    let first: unknown;
    try {
      parser.feed(utf8.encode("?"));
    } catch (err) {
      first = err;
    }
    expect(first).toBeInstanceOf(RedisProtocolError);
    expect(() => parser.feed(utf8.encode("+OK\r\n"))).toThrow(first as Error);
  });

  it("delivers the replies before the garbage, then throws", () => {
    const replies: RedisReply[] = [];
    const parser = new RespParser((r) => replies.push(r));
    expect(() => parser.feed(utf8.encode("+one\r\n:2\r\n?bad"))).toThrow(RedisProtocolError);
    expect(replies).toEqual(["one", 2]);
  });
});

describe("RespParser: linear time in the input", () => {
  it("reads a 512 KiB bulk string fed one byte at a time", () => {
    const payload = "x".repeat(512 * 1024);
    const { replies } = parse(chunked(utf8.encode(`$${payload.length}\r\n${payload}\r\n`), [1]));
    expect(replies).toEqual([payload]);
  });

  it("reads a 512 KiB simple string fed one byte at a time (the CR search resumes, not restarts)", () => {
    const payload = "y".repeat(512 * 1024);
    const { replies } = parse(chunked(utf8.encode(`+${payload}\r\n`), [1]));
    expect(replies).toEqual([payload]);
  });

  it("reads a 100,000-element array fed in 3-byte chunks", () => {
    const n = 100_000;
    const { replies } = parse(chunked(utf8.encode(`*${n}\r\n${":1\r\n".repeat(n)}`), [3]));
    expect((replies[0] as number[]).length).toBe(n);
  });
});

// ---- property tests -------------------------------------------------------------------------

interface Wire {
  wire: Uint8Array;
  value: RedisReply;
}

const w = (value: RedisReply, ...parts: (string | Uint8Array)[]): Wire => ({ wire: bytesOf(...parts), value });
const text = fc.string({ unit: "binary", maxLength: 12 });
const lineText = text.map((s) => s.replace(/[\r\n]/g, ""));
const bulk = (type: string, s: string, prefix = "") => {
  const payload = utf8.encode(prefix + s);
  return bytesOf(`${type}${payload.length}\r\n`, payload, "\r\n");
};
const doubleText = (d: number) =>
  Number.isNaN(d) ? "nan" : d === Infinity ? "inf" : d === -Infinity ? "-inf" : Object.is(d, -0) ? "-0" : String(d);

const leaf: fc.Arbitrary<Wire> = fc.oneof(
  lineText.map((s) => w(s, `+${s}\r\n`)),
  lineText.map((s) => w(new RedisServerError(s), `-${s}\r\n`)),
  fc
    .bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
    .map((n) => w(Number.isSafeInteger(Number(n)) ? Number(n) : n, `:${n}\r\n`)),
  text.map((s) => w(s, bulk("$", s))),
  fc.constantFrom(w(null, "$-1\r\n"), w(null, "*-1\r\n"), w(null, "_\r\n"), w(true, "#t\r\n"), w(false, "#f\r\n")),
  fc.double().map((d) => w(d, `,${doubleText(d)}\r\n`)),
  fc.bigInt().map((n) => w(n, `(${n}\r\n`)),
  text.map((s) => w(new RedisServerError(s), bulk("!", s))),
  text.map((s) => w(s, bulk("=", s, "txt:"))),
);

const aggregate = (type: string, items: Wire[], value: RedisReply) =>
  w(value, `${type}${items.length}\r\n`, ...items.map((i) => i.wire));

const { reply } = fc.letrec<{ reply: Wire; array: Wire; set: Wire; map: Wire; attributed: Wire }>((tie) => ({
  reply: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    tie("array"),
    tie("set"),
    tie("map"),
    tie("attributed"),
  ),
  array: fc.array(tie("reply"), { maxLength: 4 }).map((items) =>
    aggregate(
      "*",
      items,
      items.map((i) => i.value),
    ),
  ),
  set: fc.array(tie("reply"), { maxLength: 4 }).map((items) =>
    aggregate(
      "~",
      items,
      items.map((i) => i.value),
    ),
  ),
  map: fc
    .array(fc.tuple(tie("reply"), tie("reply")), { maxLength: 3 })
    .map((pairs) =>
      w(
        new Map(pairs.map(([k, v]) => [k.value, v.value])),
        `%${pairs.length}\r\n`,
        ...pairs.flatMap(([k, v]) => [k.wire, v.wire]),
      ),
    ),
  attributed: fc
    .tuple(fc.array(fc.tuple(leaf, leaf), { maxLength: 2 }), tie("reply"))
    .map(([attrs, inner]) =>
      w(inner.value, `|${attrs.length}\r\n`, ...attrs.flatMap(([k, v]) => [k.wire, v.wire]), inner.wire),
    ),
}));

interface TopLevel extends Wire {
  push: boolean;
}
const topLevel: fc.Arbitrary<TopLevel> = fc.oneof(
  { weight: 5, arbitrary: reply.map((r) => ({ ...r, push: false })) },
  {
    weight: 1,
    arbitrary: fc.array(reply, { minLength: 1, maxLength: 3 }).map((items) => ({
      ...aggregate(
        ">",
        items,
        items.map((i) => i.value),
      ),
      push: true,
    })),
  },
);
const chunkSizes = fc.array(fc.integer({ min: 1, max: 16 }), { minLength: 1, maxLength: 8 });

function expected(items: TopLevel[]) {
  return {
    replies: items.filter((i) => !i.push).map((i) => plain(i.value)),
    pushes: items.filter((i) => i.push).map((i) => plain(i.value)),
  };
}

describe("RespParser: properties", () => {
  it("parses any sequence of replies back, however it is split", () => {
    fc.assert(
      fc.property(fc.array(topLevel, { maxLength: 8 }), chunkSizes, (items, sizes) => {
        const all = bytesOf(...items.map((i) => i.wire));
        for (const chunks of [chunked(all, sizes), chunked(all, [1]), [all]]) {
          const { replies, pushes, parser } = parse(chunks);
          expect({ replies: replies.map(plain), pushes: pushes.map(plain) }).toEqual(expected(items));
          expect(parser.pending).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("yields only the complete leading replies of a truncated stream, without error", () => {
    fc.assert(
      fc.property(fc.array(topLevel, { minLength: 1, maxLength: 6 }), fc.nat(), chunkSizes, (items, at, sizes) => {
        const all = bytesOf(...items.map((i) => i.wire));
        const cut = at % all.length;
        const complete: TopLevel[] = [];
        let end = 0;
        for (const item of items) {
          end += item.wire.length;
          if (end <= cut) complete.push(item);
        }
        const { replies, pushes } = parse(chunked(all.slice(0, cut), sizes));
        expect({ replies: replies.map(plain), pushes: pushes.map(plain) }).toEqual(expected(complete));
      }),
      { numRuns: 300 },
    );
  });

  it("either parses random or corrupted bytes or throws RedisProtocolError, and always returns", () => {
    const corrupted = fc
      .tuple(
        fc.array(topLevel, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      )
      .map(([items, flips]) => {
        const bytes = bytesOf(...items.map((i) => i.wire));
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        return bytes;
      });
    const garbage = fc.oneof(fc.uint8Array({ maxLength: 200 }), corrupted);
    fc.assert(
      fc.property(garbage, chunkSizes, (bytes, sizes) => {
        let replies = 0;
        try {
          replies = parse(chunked(bytes, sizes)).replies.length;
        } catch (err) {
          expect(err).toBeInstanceOf(RedisProtocolError);
        }
        expect(replies).toBeLessThanOrEqual(bytes.length);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("encodeCommands", () => {
  it("writes bulk strings with UTF-8 byte lengths", () => {
    expect(new TextDecoder().decode(encodeCommand(["SET", "clé", "🎉"]))).toBe(
      "*3\r\n$3\r\nSET\r\n$4\r\nclé\r\n$4\r\n🎉\r\n",
    );
  });

  it("writes numbers, bigints and bytes as they are", () => {
    const bytes = encodeCommand(["X", 42, -1.5, 2n ** 64n, Infinity, new Uint8Array([0, 255])]);
    expect([...bytes.slice(-8)]).toEqual([...utf8.encode("$2\r\n"), 0, 255, 13, 10]);
    expect(new TextDecoder().decode(bytes.slice(0, -8))).toBe(
      "*6\r\n$1\r\nX\r\n$2\r\n42\r\n$4\r\n-1.5\r\n$20\r\n18446744073709551616\r\n$3\r\ninf\r\n",
    );
  });

  it("refuses an empty command and NaN", () => {
    expect(() => encodeCommand([])).toThrow(TypeError);
    expect(() => encodeCommand(["INCRBYFLOAT", "k", NaN])).toThrow(TypeError);
  });

  it("round-trips through the parser as arrays of bulk strings", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.string({ unit: "binary" }), { minLength: 1, maxLength: 5 }), { minLength: 1 }),
        (commands) => {
          const { replies } = parse(encodeCommands(commands));
          expect(replies).toEqual(commands);
        },
      ),
    );
  });
});
