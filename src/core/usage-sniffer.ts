// Reads the units an upstream reply reports, as the reply passes through: an OpenAI-style
// `usage.total_tokens` in a JSON body, or in the last server-sent event that carries one.

import type { UsageMetadata } from "./usage-event";

/** Largest JSON body read for its usage; a bigger one falls back to the route's cost. */
export const MAX_JSON_BYTES = 4 * 1024 * 1024;
/** Longest SSE event kept while it is being read; usage chunks are tiny. */
const MAX_EVENT_CHARS = 1024 * 1024;
const MAX_UNITS = 1_000_000_000_000;

export interface SniffedUsage {
  units?: number;
  metadata?: UsageMetadata;
}

/** The units in an `x-usage-units` header, when it holds a whole number. */
export function unitsFromHeader(value: string | null): number | undefined {
  if (value === null || !/^\s*\d{1,13}\s*$/.test(value)) return undefined;
  const units = Number(value);
  return units <= MAX_UNITS ? units : undefined;
}

/** `usage.total_tokens` and `model` of a parsed OpenAI-style object. */
export function usageOf(body: unknown): SniffedUsage {
  if (typeof body !== "object" || body === null) return {};
  const { usage, model } = body as { usage?: { total_tokens?: unknown }; model?: unknown };
  const total = usage?.total_tokens;
  const units = Number.isSafeInteger(total) && (total as number) >= 0 ? (total as number) : undefined;
  const metadata = typeof model === "string" && model.length > 0 && model.length <= 128 ? { model } : undefined;
  return units === undefined ? {} : { units, ...(metadata ? { metadata } : {}) };
}

/** Watches a reply's bytes go by and remembers the usage they report. Never holds a stream. */
export class UsageSniffer {
  private readonly mode: "json" | "sse" | "none";
  private readonly decoder = new TextDecoder();
  private json: Uint8Array[] = [];
  private jsonBytes = 0;
  private line = "";
  private data: string[] = [];
  private dataChars = 0;
  private found: SniffedUsage = {};

  constructor(contentType: string | null) {
    const type = (contentType ?? "").toLowerCase();
    this.mode = type.includes("text/event-stream") ? "sse" : type.includes("json") ? "json" : "none";
  }

  push(chunk: Uint8Array): void {
    if (this.mode === "json") {
      // A JSON body has to be whole to be parsed; a copy is kept, up to a bound.
      this.jsonBytes += chunk.byteLength;
      if (this.jsonBytes <= MAX_JSON_BYTES) this.json.push(chunk.slice());
      else this.json = [];
    } else if (this.mode === "sse") {
      this.readLines(this.decoder.decode(chunk, { stream: true }));
    }
  }

  /** The usage reported by the whole reply, once it has ended. */
  finish(): SniffedUsage {
    if (this.mode === "json" && this.jsonBytes > 0 && this.jsonBytes <= MAX_JSON_BYTES) {
      const bytes = new Uint8Array(this.jsonBytes);
      let offset = 0;
      for (const part of this.json) {
        bytes.set(part, offset);
        offset += part.byteLength;
      }
      try {
        this.found = usageOf(JSON.parse(this.decoder.decode(bytes)));
      } catch {
        // not JSON after all: the route's cost applies
      }
    } else if (this.mode === "sse") {
      this.readLines(`${this.decoder.decode()}\n\n`);
    }
    return this.found;
  }

  private readLines(text: string): void {
    const lines = (this.line + text).split("\n");
    this.line = lines.pop() ?? "";
    if (this.line.length > MAX_EVENT_CHARS) this.line = "";
    for (const raw of lines) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line === "") this.dispatch();
      else if (line.startsWith("data:")) {
        const value = line.slice(line[5] === " " ? 6 : 5);
        this.dataChars += value.length;
        if (this.dataChars <= MAX_EVENT_CHARS) this.data.push(value);
      }
    }
  }

  /** One complete event: if its data carries usage, it is the latest usage seen. */
  private dispatch(): void {
    const data = this.data.join("\n");
    this.data = [];
    this.dataChars = 0;
    if (!data.includes('"usage"') || data === "[DONE]") return;
    try {
      const usage = usageOf(JSON.parse(data));
      if (usage.units !== undefined) this.found = usage;
    } catch {
      // a data line that is not JSON carries no usage
    }
  }
}
