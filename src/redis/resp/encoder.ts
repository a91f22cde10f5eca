// Encodes commands as RESP arrays of bulk strings, the only form Redis accepts from clients.

import { concat, utf8Length } from "../../core/bytes";

/** One argument of a command. Numbers and bigints are sent as their decimal text; bytes as they are. */
export type RedisArg = string | number | bigint | Uint8Array;

const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");

/**
 * One or more commands as a single buffer, ready for one socket write.
 * Lengths are byte lengths of the UTF-8 encoding, not string lengths: "é" is 2 bytes.
 *
 * @example
 * socket.write(encodeCommands([["SET", "k", "v"], ["GET", "k"]]));
 */
export function encodeCommands(commands: readonly (readonly RedisArg[])[]): Uint8Array {
  // Text arguments (nearly all of them) are framed into one string and encoded once: one
  // TextEncoder call per write instead of three per argument, which dominated the client's CPU.
  // Framed first with each argument's string length, which is its byte length when the text
  // is all ASCII (as it nearly always is): the one encoding then says so by its length, and
  // only text with other characters is framed again with UTF-8 lengths.
  const framed = frame(commands, (s) => s.length);
  if (framed === null) return encodeWithBytes(commands);
  const bytes = encoder.encode(framed);
  if (bytes.length === framed.length) return bytes;
  return encoder.encode(frame(commands, utf8Length) as string);
}

/** The commands framed as RESP text with `length` for each bulk string; null if one is bytes. */
function frame(commands: readonly (readonly RedisArg[])[], length: (s: string) => number): string | null {
  let text = "";
  for (const args of commands) {
    if (args.length === 0) throw new TypeError("a Redis command needs at least one argument");
    text += `*${args.length}\r\n`;
    for (const arg of args) {
      if (arg instanceof Uint8Array) return null;
      const s = toText(arg);
      text += `$${length(s)}\r\n${s}\r\n`;
    }
  }
  return text;
}

/** The general path, for commands that carry raw bytes. */
function encodeWithBytes(commands: readonly (readonly RedisArg[])[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const args of commands) {
    parts.push(encoder.encode(`*${args.length}\r\n`));
    for (const arg of args) {
      const bytes = arg instanceof Uint8Array ? arg : encoder.encode(toText(arg));
      parts.push(encoder.encode(`$${bytes.length}\r\n`), bytes, CRLF);
    }
  }
  return concat(parts);
}

/** One command as a RESP array of bulk strings. */
export function encodeCommand(args: readonly RedisArg[]): Uint8Array {
  return encodeCommands([args]);
}

function toText(arg: Exclude<RedisArg, Uint8Array>): string {
  if (typeof arg === "string") return arg;
  if (typeof arg === "number" && !Number.isFinite(arg)) {
    // Redis spells these "inf"/"-inf" (ZADD, INCRBYFLOAT); NaN is never a valid argument.
    if (Number.isNaN(arg)) throw new TypeError("NaN is not a valid Redis argument");
    return arg > 0 ? "inf" : "-inf";
  }
  if (typeof arg === "number" || typeof arg === "bigint") return String(arg);
  throw new TypeError(`unsupported Redis argument type: ${typeof arg}`);
}
