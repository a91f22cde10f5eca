// Encodes commands as RESP arrays of bulk strings, the only form Redis accepts from clients.

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
  const parts: Uint8Array[] = [];
  let size = 0;
  const add = (part: Uint8Array) => {
    parts.push(part);
    size += part.length;
  };
  for (const args of commands) {
    if (args.length === 0) throw new TypeError("a Redis command needs at least one argument");
    add(encoder.encode(`*${args.length}\r\n`));
    for (const arg of args) {
      const bytes = toBytes(arg);
      add(encoder.encode(`$${bytes.length}\r\n`));
      add(bytes);
      add(CRLF);
    }
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** One command as a RESP array of bulk strings. */
export function encodeCommand(args: readonly RedisArg[]): Uint8Array {
  return encodeCommands([args]);
}

function toBytes(arg: RedisArg): Uint8Array {
  if (arg instanceof Uint8Array) return arg;
  if (typeof arg === "string") return encoder.encode(arg);
  if (typeof arg === "number" && !Number.isFinite(arg)) {
    // Redis spells these "inf"/"-inf" (ZADD, INCRBYFLOAT); NaN is never a valid argument.
    if (Number.isNaN(arg)) throw new TypeError("NaN is not a valid Redis argument");
    return encoder.encode(arg > 0 ? "inf" : "-inf");
  }
  if (typeof arg === "number" || typeof arg === "bigint") return encoder.encode(String(arg));
  throw new TypeError(`unsupported Redis argument type: ${typeof arg}`);
}
