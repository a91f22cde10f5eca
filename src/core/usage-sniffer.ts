// Reads the usage an upstream reply reports, as the reply passes through: in a JSON body,
// or in the server-sent events of a stream, in any of the shapes token-usage.ts reads
// (OpenAI Chat Completions, Completions, Embeddings and Responses; Anthropic Messages).

import { concat } from "./bytes";
import type { TokenCounter } from "./prompt-estimate";
import { deltaTextOf, replyText, TextTally } from "./reply-text";
import {
  modelName,
  StreamUsage,
  type TokenBreakdown,
  usageFromBody,
  usageFromHeaders,
  usageFromObject,
} from "./token-usage";
import type { UsageMetadata } from "./usage-event";

/** JSON bodies up to this size are parsed whole, for an exact reading. */
export const FULL_PARSE_BYTES = 1024 * 1024;
/** Of a larger JSON body only its last bytes are kept: OpenAI-style replies end with `usage`. */
export const TAIL_BYTES = 64 * 1024;
/**
 * ... and its first bytes, where a chat reply names its `model`. An embeddings reply names
 * it after its vectors, just before `usage` (`{object, data, model, usage}`): then the kept
 * end has it.
 */
const HEAD_BYTES = 64 * 1024;
/** A `"model": "name"` member, with its quotes unescaped (as they are not inside a JSON string). */
const MODEL_MEMBER = /"model"\s*:\s*"([^"\\]{1,128})"/g;
/** A usage object in an event's data, as opposed to `"usage":null`. */
const USAGE_OBJECT = /"usage"\s*:\s*\{/;
/** Longest SSE line or event kept while it is being read; usage chunks are tiny. */
const MAX_EVENT_CHARS = 1024 * 1024;
/**
 * A partial line is given up once it is this much longer than the limit: a data line that
 * long holds more data than the limit whatever its prefix ("data: ") and CR, so skipping it
 * drops its event exactly as reading it whole would.
 */
const SKIP_SLACK = "data: \r".length;

export interface SniffedUsage {
  units?: number;
  metadata?: UsageMetadata;
}

/** The units in an `x-usage-units` header, when it holds a whole number. */
export function unitsFromHeader(value: string | null): number | undefined {
  return usageFromHeaders((name) => (name === "x-usage-units" ? value : null))?.units;
}

/** The usage and model of a parsed reply, in the sniffer's terms. */
export function usageOf(body: unknown): SniffedUsage {
  return sniffed(usageFromBody(body));
}

function sniffed(usage: ReturnType<typeof usageFromBody>): SniffedUsage {
  if (!usage) return {};
  return { units: usage.units, ...(usage.model ? { metadata: { model: usage.model } } : {}) };
}

/**
 * The object that follows the last `"usage":` key in some JSON text, found by matching
 * braces outside strings; for a body too big to keep, whose end is all that is kept.
 */
export function lastUsageObject(text: string): unknown {
  const key = text.lastIndexOf('"usage"');
  if (key < 0) return undefined;
  const open = text.indexOf("{", key);
  if (open < 0 || !/^"usage"\s*:\s*$/.test(text.slice(key, open))) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = open; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === "{") depth++;
    else if (ch === "}" && --depth === 0) {
      try {
        return JSON.parse(text.slice(open, i + 1)) as unknown;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/**
 * Watches a reply's bytes go by and remembers the usage they report. Memory stays bounded
 * whatever the reply's size: a JSON body is kept whole only up to 1 MB (then only its
 * first and last 64 KB), and of a stream only the line and event being read.
 */
export class UsageSniffer {
  private readonly mode: "json" | "sse" | "none";
  private readonly decoder = new TextDecoder();
  private whole: Uint8Array[] | null = [];
  private bytes = 0;
  private headParts: Uint8Array[] = [];
  private headBytes = 0;
  private tail: Uint8Array[] = [];
  private tailBytes = 0;
  private partial: string[] = [];
  private partialChars = 0;
  private skippingLine = false;
  private data: string[] = [];
  private dataChars = 0;
  private reported: ReturnType<typeof usageFromBody>;
  private readonly stream = new StreamUsage();
  /** The output text seen, kept only when asked for (token routes), for a reply that reports no usage. */
  private readonly output: TextTally | null;

  constructor(contentType: string | null, options: { collectOutput?: boolean } = {}) {
    const type = (contentType ?? "").toLowerCase();
    this.mode = type.includes("text/event-stream") ? "sse" : type.includes("json") ? "json" : "none";
    this.output = options.collectOutput ? new TextTally() : null;
  }

  push(chunk: Uint8Array): void {
    if (this.mode === "json") this.keepJson(chunk);
    else if (this.mode === "sse") this.readText(this.decoder.decode(chunk, { stream: true }));
  }

  /** The usage reported by the whole reply, once it has ended. */
  finish(): SniffedUsage {
    if (this.mode === "json" && this.bytes > 0) {
      if (this.whole) {
        try {
          const body: unknown = JSON.parse(this.decoder.decode(concat(this.whole)));
          this.reported = usageFromBody(body);
          this.output?.add(replyText(body));
        } catch {
          // not JSON after all: the route's cost applies
        }
      } else {
        // The first 64 KB decoded at once: a character cut between chunks is read whole.
        const head = new TextDecoder().decode(concat(this.headParts));
        // Exactly the last 64 KB, however the chunks fell: what is read does not depend on them.
        const kept = concat(this.tail);
        const tail = this.decoder.decode(kept.subarray(Math.max(0, kept.byteLength - TAIL_BYTES)));
        this.reported = usageFromObject(lastUsageObject(tail), modelIn(head, tail));
      }
    } else if (this.mode === "sse") {
      this.readText(`${this.decoder.decode()}\n\n`);
      this.reported = this.stream.result();
    }
    return sniffed(this.reported);
  }

  /**
   * After finish(), when collecting output: the tokens of the text the reply carried, counted
   * with `count`. A JSON body too big to keep whole is counted at bytes/4 of all of it.
   */
  outputTokens(count: TokenCounter): number {
    if (!this.output) return 0;
    if (this.mode === "json" && this.whole === null) return Math.ceil(this.bytes / 4);
    return this.output.tokens(count);
  }

  /** After finish(): the input, output and cached-input tokens, when the reply broke them down. */
  tokens(): TokenBreakdown | undefined {
    return this.reported?.tokens;
  }

  private keepJson(chunk: Uint8Array): void {
    this.bytes += chunk.byteLength;
    const copy = chunk.slice();
    if (this.headBytes < HEAD_BYTES) {
      // A copy of just those bytes: a view would keep a whole large chunk alive.
      const part = chunk.slice(0, HEAD_BYTES - this.headBytes);
      this.headParts.push(part);
      this.headBytes += part.byteLength;
    }
    if (this.whole && this.bytes <= FULL_PARSE_BYTES) this.whole.push(copy);
    else this.whole = null;
    this.tail.push(copy);
    this.tailBytes += copy.byteLength;
    while (this.tail.length > 1 && this.tailBytes - (this.tail[0]?.byteLength ?? 0) >= TAIL_BYTES) {
      this.tailBytes -= this.tail.shift()?.byteLength ?? 0;
    }
  }

  /** Splits new text into lines, looking only at the new text: linear in the stream's size. */
  private readText(text: string): void {
    let start = 0;
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
      const segment = text.slice(start, nl);
      start = nl + 1;
      if (this.skippingLine) {
        this.skippingLine = false;
        continue;
      }
      const line = this.partial.length > 0 ? this.partial.join("") + segment : segment;
      this.partial = [];
      this.partialChars = 0;
      this.readLine(line.endsWith("\r") ? line.slice(0, -1) : line);
    }
    const rest = text.slice(start);
    if (rest.length === 0 || this.skippingLine) return;
    if (this.partialChars + rest.length > MAX_EVENT_CHARS + SKIP_SLACK) {
      // A line this long carries no usage worth keeping: skip to its end. If it is data, its
      // event is over the limit, and dropped as when the line comes in one piece.
      if ((this.partial.join("") + rest).startsWith("data:")) this.dataChars = MAX_EVENT_CHARS + 1;
      this.partial = [];
      this.partialChars = 0;
      this.skippingLine = true;
      return;
    }
    this.partial.push(rest);
    this.partialChars += rest.length;
  }

  private readLine(line: string): void {
    if (line === "") this.dispatch();
    else if (line.startsWith("data:")) {
      const value = line.slice(line[5] === " " ? 6 : 5);
      this.dataChars += value.length;
      if (this.dataChars <= MAX_EVENT_CHARS) this.data.push(value);
    }
  }

  /** One complete event: if its data carries usage, it is the latest usage seen. */
  private dispatch(): void {
    const data = this.data.join("\n");
    const over = this.dataChars > MAX_EVENT_CHARS;
    this.data = [];
    this.dataChars = 0;
    // An event over the limit is not all there: what is left of it is not its data.
    if (over) return;
    // Only events that carry a usage object are parsed: a stream's text chunks, and the
    // `"usage":null` an asked-for stream puts on each of them, never are (the output text a
    // token route keeps is found without parsing).
    this.output?.add(deltaTextOf(data));
    if (!USAGE_OBJECT.test(data)) return;
    try {
      this.stream.event(JSON.parse(data));
    } catch {
      // a data line that is not JSON carries no usage
    }
  }
}

/** The model a JSON body too big to keep names: the first in its head, else the last in its tail. */
function modelIn(head: string, tail: string): string | undefined {
  const named = (text: string) => [...text.matchAll(MODEL_MEMBER)].map((m) => m[1]);
  return modelName(named(head)[0] ?? named(tail).at(-1));
}
