// The token usage an AI reply reports, in the shapes in use, read into one breakdown:
// input tokens (cached ones included), output tokens (reasoning included) and the cached
// part of the input (the design contract's "v2: AI traffic" usage event).
//
// - OpenAI Chat Completions, Completions and Embeddings: `usage.prompt_tokens`,
//   `completion_tokens` (absent for embeddings), `prompt_tokens_details.cached_tokens`;
//   streamed, in the chunk that carries a non-null `usage`.
// - OpenAI Responses: `usage.input_tokens`, `output_tokens`,
//   `input_tokens_details.cached_tokens`; streamed, in `response.completed` (or
//   `response.incomplete`), under `response`.
// - Anthropic Messages: `usage.input_tokens` (uncached only), `cache_read_input_tokens`,
//   `cache_creation_input_tokens`, `output_tokens`; streamed, the input in `message_start`
//   and the running output total in each `message_delta`.
// - Anything else reporting only `usage.total_tokens` gives units without a breakdown.

import { MAX_CALL_UNITS } from "./limits";
import { isStorableText } from "./usage-event";

export interface TokenBreakdown {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
}

export interface ReportedUsage {
  /** What the limiter settles to: input + output tokens, or the reported total. */
  units: number;
  /** Absent when the reply gave only a total. */
  tokens?: TokenBreakdown;
  model?: string;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === "object" && v !== null ? (v as Obj) : undefined);
/** A token count: a whole number in range, else nothing (a malformed field is not usage). */
const count = (v: unknown): number | undefined =>
  Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= MAX_CALL_UNITS ? (v as number) : undefined;

/** A model name worth keeping: short, printable. */
export function modelName(v: unknown): string | undefined {
  return typeof v === "string" && v.length > 0 && v.length <= 128 && isStorableText(v) ? v : undefined;
}

function within(usage: ReportedUsage): ReportedUsage | undefined {
  return usage.units <= MAX_CALL_UNITS ? usage : undefined;
}

function breakdown(inputTokens: number, outputTokens: number, cached: number, model?: string) {
  const tokens = { inputTokens, outputTokens, cachedInputTokens: Math.min(cached, inputTokens) };
  return within({ units: inputTokens + outputTokens, tokens, ...(model ? { model } : {}) });
}

/**
 * The breakdown in one `usage` object, whichever of the shapes above it has. A count that
 * is there but is not a whole number in range makes the breakdown untrustworthy: then only
 * `total_tokens`, if it is sound, is used.
 */
export function usageFromObject(value: unknown, model?: string): ReportedUsage | undefined {
  const usage = obj(value);
  if (!usage) return undefined;
  const total = () => {
    const units = count(usage.total_tokens);
    return units === undefined ? undefined : within({ units, ...(model ? { model } : {}) });
  };
  /** The count under `key`: 0 when absent, null when present but malformed. */
  const field = (from: Obj | undefined, key: string): number | null => {
    const v = from?.[key];
    if (v === undefined || v === null) return 0;
    return count(v) ?? null;
  };
  if (usage.prompt_tokens !== undefined && usage.prompt_tokens !== null) {
    const prompt = field(usage, "prompt_tokens");
    const completion = field(usage, "completion_tokens");
    const cached = field(obj(usage.prompt_tokens_details), "cached_tokens");
    if (prompt === null || completion === null || cached === null) return total();
    return breakdown(prompt, completion, cached, model);
  }
  if (usage.input_tokens != null || usage.output_tokens != null) {
    const parts = ["input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"].map((k) =>
      field(usage, k),
    );
    const detail = field(obj(usage.input_tokens_details), "cached_tokens");
    if (parts.includes(null) || detail === null) return total();
    const [input, output, cacheRead, cacheWrite] = parts as number[];
    const cached = obj(usage.input_tokens_details)?.cached_tokens != null ? detail : cacheRead;
    return breakdown((input ?? 0) + (cacheRead ?? 0) + (cacheWrite ?? 0), output ?? 0, cached ?? 0, model);
  }
  return total();
}

/** The usage a whole JSON reply reports. */
export function usageFromBody(body: unknown): ReportedUsage | undefined {
  const b = obj(body);
  if (!b) return undefined;
  // A Responses API object, or an event wrapping one.
  const response = obj(b.response);
  if (response && "usage" in response) return usageFromObject(response.usage, modelName(response.model));
  return usageFromObject(b.usage, modelName(b.model));
}

/**
 * A stream's usage, read one event's parsed data at a time. The last report wins, except
 * that Anthropic's are merged: its input comes at the start and its output grows after.
 */
export class StreamUsage {
  private last: ReportedUsage | undefined;
  private model: string | undefined;
  private anthropic: Obj | undefined;

  event(data: unknown): void {
    const d = obj(data);
    if (!d) return;
    if (d.type === "message_start") {
      const message = obj(d.message);
      this.model = modelName(message?.model) ?? this.model;
      this.anthropic = { ...obj(message?.usage) };
    } else if (d.type === "message_delta" && this.anthropic) {
      // Counts in a delta are running totals: each one replaces what came before.
      for (const [k, v] of Object.entries(obj(d.usage) ?? {})) if (count(v) !== undefined) this.anthropic[k] = v;
    } else {
      const usage = usageFromBody(d);
      if (usage) this.last = usage;
      this.model = modelName(d.model) ?? modelName(obj(d.response)?.model) ?? this.model;
    }
  }

  result(): ReportedUsage | undefined {
    const found = this.anthropic ? usageFromObject(this.anthropic) : this.last;
    if (!found) return undefined;
    const model = found.model ?? this.model;
    return model ? { ...found, model } : found;
  }
}

/** The token counts an upstream states in headers, for replies with no body usage. */
export function usageFromHeaders(get: (name: string) => string | null): ReportedUsage | undefined {
  const number = (name: string) => {
    const v = get(name);
    return v !== null && /^\s*\d{1,13}\s*$/.test(v) ? count(Number(v)) : undefined;
  };
  const input = number("x-usage-input-tokens");
  const output = number("x-usage-output-tokens");
  if (input !== undefined || output !== undefined) return breakdown(input ?? 0, output ?? 0, 0);
  const units = number("x-usage-units");
  return units === undefined ? undefined : { units };
}
