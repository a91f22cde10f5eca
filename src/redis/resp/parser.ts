// An incremental RESP2 + RESP3 reply parser: bytes in, split anywhere; complete replies out, in order.
// It owns the framing (lines, bulk payloads, the stack of open aggregates); the
// values that fit on one line are decoded in scalars.ts.

import { RedisProtocolError, RedisServerError } from "./errors";
import {
  ARRAY,
  ATTRIBUTE,
  BIG_NUMBER,
  BOOLEAN,
  BULK,
  BULK_ERROR,
  DOUBLE,
  ERROR,
  INTEGER,
  MAP,
  NULL,
  PUSH,
  type RedisReply,
  SIMPLE,
  TYPES,
  VERBATIM,
} from "./reply";
import { bigNumberOf, booleanOf, doubleOf, integerOf, lengthOf } from "./scalars";

// What the parser emits; its home is reply.ts.
export type { RedisReply } from "./reply";

export interface ParserOptions {
  /** Longest bulk string (and simple-string line) accepted; Redis's own proto-max-bulk-len default. */
  maxBulkBytes?: number;
  /** Most elements (or map pairs) one aggregate may declare. */
  maxArrayLength?: number;
  /** Deepest nesting of aggregates; replies are built without recursion, but a bound keeps memory sane. */
  maxDepth?: number;
  /** Receives RESP3 pushes (`>`), which answer no command and so must not be matched to one. */
  onPush?: (message: RedisReply[]) => void;
}

export const DEFAULT_MAX_BULK_BYTES = 512 * 1024 * 1024;
export const DEFAULT_MAX_ARRAY_LENGTH = 2 ** 24;
export const DEFAULT_MAX_DEPTH = 64;

const CR = 13;
const LF = 10;
// Lengths, integers, doubles and booleans are short; a longer line is garbage, found without waiting for a CRLF.
const HEADER_LINE_MAX = 64;
const INITIAL_CAPACITY = 16 * 1024;
// Past this, an emptied buffer is dropped, so one huge reply doesn't pin its memory for the connection's life.
const SHRINK_ABOVE = 1024 * 1024;

/** What a header line returns when the value it starts is still to come. */
const OPENED: unique symbol = Symbol("opened");

interface Frame {
  type: number;
  size: number;
  items: RedisReply[];
}

/**
 * Feed it chunks as they arrive; it calls `onReply` once per complete top-level reply, in order.
 * Unread bytes stay in one buffer read from an offset, and a half-read aggregate stays on an
 * explicit stack, so nothing is parsed twice and many small chunks of a big reply cost linear time.
 * Throws RedisProtocolError on malformed input, and again on every later feed.
 */
export class RespParser {
  readonly #onReply: (reply: RedisReply) => void;
  readonly #onPush: ((message: RedisReply[]) => void) | undefined;
  readonly #maxBulkBytes: number;
  readonly #maxArrayLength: number;
  readonly #maxDepth: number;
  // Not fatal: a value that isn't UTF-8 decodes with U+FFFD rather than failing the connection.
  // ignoreBOM keeps a leading U+FEFF: in a value it is data, not a byte-order mark.
  readonly #decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
  #buf = new Uint8Array(INITIAL_CAPACITY);
  #start = 0;
  #end = 0;
  #scanned = 0; // bytes of the current line, after #start, already searched for CR
  #bulkType = 0; // nonzero while waiting for a bulk payload whose header is read
  #bulkLength = 0;
  readonly #stack: Frame[] = [];
  #failure: RedisProtocolError | undefined;

  constructor(onReply: (reply: RedisReply) => void, options: ParserOptions = {}) {
    this.#onReply = onReply;
    this.#onPush = options.onPush;
    this.#maxBulkBytes = options.maxBulkBytes ?? DEFAULT_MAX_BULK_BYTES;
    this.#maxArrayLength = options.maxArrayLength ?? DEFAULT_MAX_ARRAY_LENGTH;
    this.#maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  }

  /** True while a reply is partly read: the connection is mid-reply. */
  get pending(): boolean {
    return this.#start < this.#end || this.#bulkType !== 0 || this.#stack.length > 0;
  }

  feed(chunk: Uint8Array): void {
    if (this.#failure) throw this.#failure;
    this.#append(chunk);
    try {
      this.#drain();
    } catch (err) {
      if (err instanceof RedisProtocolError) this.#failure = err;
      throw err;
    }
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
      if (this.#buf.length > SHRINK_ABOVE) this.#buf = new Uint8Array(INITIAL_CAPACITY);
    }
  }

  #append(chunk: Uint8Array): void {
    const n = chunk.length;
    if (n === 0) return;
    let buf = this.#buf;
    if (this.#end + n > buf.length) {
      const unread = this.#end - this.#start;
      // Compact only when at least half the buffer is consumed bytes, so each copy is paid for by
      // bytes already parsed; otherwise grow by doubling. Both keep appends amortized linear.
      if (unread + n <= buf.length && this.#start >= buf.length >>> 1) {
        buf.copyWithin(0, this.#start, this.#end);
      } else {
        const next = new Uint8Array(Math.max(buf.length * 2, unread + n));
        next.set(buf.subarray(this.#start, this.#end));
        this.#buf = buf = next;
      }
      this.#start = 0;
      this.#end = unread;
    }
    buf.set(chunk, this.#end);
    this.#end += n;
  }

  #drain(): void {
    while (this.#start < this.#end) {
      if (this.#bulkType !== 0) {
        if (this.#end - this.#start < this.#bulkLength + 2) return;
        const from = this.#start;
        const to = from + this.#bulkLength;
        if (this.#buf[to] !== CR || this.#buf[to + 1] !== LF)
          throw this.#error("bulk payload not followed by CRLF", to);
        const type = this.#bulkType;
        this.#bulkType = 0;
        this.#start = to + 2;
        this.#complete(this.#bulkValue(type, from, to));
        continue;
      }
      const type = this.#buf[this.#start] as number;
      if (!TYPES.has(type)) throw this.#error("unknown type byte", this.#start);
      const cr = this.#lineEnd(type);
      if (cr < 0) return;
      const from = this.#start + 1;
      this.#start = cr + 2;
      this.#scanned = 0;
      const value = this.#line(type, from, cr);
      if (value !== OPENED) this.#complete(value);
    }
  }

  /** The index of the CR ending the current line, or -1 if it hasn't all arrived yet. */
  #lineEnd(type: number): number {
    const limit = type === SIMPLE || type === ERROR || type === BIG_NUMBER ? this.#maxBulkBytes : HEADER_LINE_MAX;
    const from = this.#start + 1 + this.#scanned;
    const found = this.#buf.subarray(from, this.#end).indexOf(CR);
    const cr = found < 0 ? -1 : from + found;
    const length = (cr < 0 ? this.#end : cr) - this.#start - 1;
    if (length > limit) throw this.#error(`line longer than ${limit} bytes`, this.#start);
    if (cr < 0 || cr + 1 >= this.#end) {
      // Resume the search where it stopped (at the CR itself if its LF is still to come).
      this.#scanned = (cr < 0 ? this.#end : cr) - this.#start - 1;
      return -1;
    }
    if (this.#buf[cr + 1] !== LF) throw this.#error("CR not followed by LF", cr);
    return cr;
  }

  /** The value a line stands for, or OPENED when it only opened a bulk string or an aggregate. */
  #line(type: number, from: number, to: number): RedisReply | typeof OPENED {
    switch (type) {
      case SIMPLE:
        return this.#text(from, to);
      case ERROR:
        return new RedisServerError(this.#text(from, to));
      case INTEGER:
        return this.#valid(integerOf(this.#ascii(from, to)), "invalid integer", from);
      case DOUBLE:
        return this.#valid(doubleOf(this.#ascii(from, to)), "invalid double", from);
      case BIG_NUMBER:
        return this.#valid(bigNumberOf(this.#text(from, to)), "invalid big number", from);
      case BOOLEAN:
        return this.#valid(booleanOf(this.#buf, from, to), "invalid boolean", from);
      case NULL:
        if (to !== from) throw this.#error("invalid null", from);
        return null;
      case BULK:
      case VERBATIM:
      case BULK_ERROR: {
        const n = this.#length(from, to, type === BULK);
        if (n < 0) return null;
        if (n > this.#maxBulkBytes) throw this.#error(`bulk length over ${this.#maxBulkBytes}`, from);
        this.#bulkType = type;
        this.#bulkLength = n;
        return OPENED;
      }
      default:
        return this.#open(type, this.#length(from, to, type === ARRAY), from);
    }
  }

  #open(type: number, n: number, at: number): RedisReply | typeof OPENED {
    if (n < 0) return null;
    if (n > this.#maxArrayLength) throw this.#error(`aggregate length over ${this.#maxArrayLength}`, at);
    if (n === 0) {
      if (type === ATTRIBUTE) return OPENED;
      if (type === PUSH && this.#stack.length === 0) {
        this.#onPush?.([]);
        return OPENED;
      }
      return type === MAP ? new Map() : [];
    }
    if (this.#stack.length >= this.#maxDepth) throw this.#error(`nesting deeper than ${this.#maxDepth}`, at);
    this.#stack.push({ type, size: type === MAP || type === ATTRIBUTE ? 2 * n : n, items: [] });
    return OPENED;
  }

  /** Hands a finished value to its parent aggregate, closing every aggregate it fills, without recursion. */
  #complete(value: RedisReply): void {
    let v = value;
    for (;;) {
      const top = this.#stack.at(-1);
      if (top === undefined) {
        this.#onReply(v);
        return;
      }
      top.items.push(v);
      if (top.items.length < top.size) return;
      this.#stack.pop();
      // An attribute annotates the value after it; we have no use for it, and the parent's slot is still open.
      if (top.type === ATTRIBUTE) return;
      if (top.type === PUSH && this.#stack.length === 0) {
        this.#onPush?.(top.items);
        return;
      }
      v = top.type === MAP ? pairs(top.items) : top.items;
    }
  }

  #bulkValue(type: number, from: number, to: number): RedisReply {
    if (type === BULK_ERROR) return new RedisServerError(this.#text(from, to));
    if (type === VERBATIM) {
      // "=15\r\ntxt:Some string": three letters of format and a colon precede the text.
      if (to - from < 4 || this.#buf[from + 3] !== 0x3a) throw this.#error("invalid verbatim string", from);
      return this.#text(from + 4, to);
    }
    return this.#text(from, to);
  }

  #text(from: number, to: number): string {
    return from === to ? "" : this.#decoder.decode(this.#buf.subarray(from, to));
  }

  #ascii(from: number, to: number): string {
    return String.fromCharCode(...this.#buf.subarray(from, Math.min(to, from + HEADER_LINE_MAX)));
  }

  /** A declared length: digits only, or -1 (null) where RESP allows it. */
  #length(from: number, to: number, nullable: boolean): number {
    return this.#valid(lengthOf(this.#buf, from, to, nullable), "invalid length", from);
  }

  /** A decoded line value, or a protocol error when its decoder found it malformed. */
  #valid<T>(value: T | undefined, what: string, at: number): T {
    if (value === undefined) throw this.#error(what, at);
    return value;
  }

  #error(what: string, at: number): RedisProtocolError {
    const near = JSON.stringify(this.#ascii(at, Math.min(this.#end, at + 16)));
    return new RedisProtocolError(`malformed RESP: ${what} at ${near}`);
  }
}

function pairs(items: RedisReply[]): Map<RedisReply, RedisReply> {
  const map = new Map<RedisReply, RedisReply>();
  for (let i = 0; i < items.length; i += 2) map.set(items[i] as RedisReply, items[i + 1] as RedisReply);
  return map;
}
