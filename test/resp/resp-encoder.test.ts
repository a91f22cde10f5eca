// The encoder frames text commands in one string; its byte lengths must match what
// TextEncoder writes, for every string, lone surrogates included.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { utf8Length } from "../../src/core/bytes";
import { encodeCommands } from "../../src/redis/resp/encoder";
import { RespParser } from "../../src/redis/resp/parser";

const anyUtf16 = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) });

describe("RESP encoder", () => {
  it("counts UTF-8 bytes exactly as TextEncoder encodes them", () => {
    fc.assert(
      fc.property(anyUtf16, (s) => {
        expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length);
      }),
      { numRuns: 2_000 },
    );
  });

  it("frames text and byte arguments alike, as a server would read them back", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.oneof(fc.string({ unit: "grapheme" }), fc.integer(), fc.uint8Array()), { minLength: 1 }), {
          minLength: 1,
          maxLength: 5,
        }),
        (commands) => {
          // Read the frames back with the reply parser: a command is an array of bulk strings.
          const parsed: unknown[] = [];
          new RespParser((r) => parsed.push(r)).feed(encodeCommands(commands));
          const decoder = new TextDecoder();
          expect(parsed).toEqual(
            commands.map((args) => args.map((a) => (a instanceof Uint8Array ? decoder.decode(a) : String(a)))),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
