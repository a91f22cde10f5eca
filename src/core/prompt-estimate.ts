// What an AI request may cost before it is sent: the tokens of its prompt and the most
// output it allows, read from the request body in the shapes in use (OpenAI Chat
// Completions, Completions, Embeddings and Responses; Anthropic Messages). The limiter
// reserves their sum, so a call whose worst case does not fit is refused before the
// upstream sees it; the reservation is settled to the reported usage afterwards.
//
// The prompt is counted with a real tokenizer where the model family is known (tokenizer.ts)
// and at bytes/4 elsewhere. What is not text (an image, an audio clip, a file) is counted at
// a fixed allowance, not at its base64 length: it is the settle that makes it exact.

import { utf8Length } from "./bytes";
import { MAX_CALL_UNITS } from "./limits";
import { modelName } from "./token-usage";

/** Counts the tokens of some text. */
export type TokenCounter = (text: string) => number;

/** Tokens allowed for each image, audio clip or file in a prompt (the largest image of the common models). */
export const MEDIA_PART_TOKENS = 1_600;
/** Tokens a chat format adds around each message (role markers and separators). */
export const MESSAGE_OVERHEAD_TOKENS = 4;

export interface PromptParts {
  /** The model the request names, when it names a storable one. */
  model: string | null;
  /** Every piece of prompt text: message contents, system, instructions, tools. */
  texts: string[];
  /** Tokens known without a tokenizer: token-id arrays, media allowances, message overheads. */
  fixedTokens: number;
  /** The output the request allows (`max_tokens`, `max_completion_tokens`, `max_output_tokens`), if it says. */
  maxOutputTokens?: number;
  /** How many completions it asks for (`n`, `best_of`), when more than one: each may use the whole allowance. */
  choices?: number;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;

const MEDIA_TYPES = new Set([
  "image",
  "image_url",
  "input_image",
  "input_audio",
  "audio",
  "file",
  "input_file",
  "document",
]);
/** The keys whose string values are prompt text in a content part or a message. */
const TEXT_KEYS = ["text", "content", "input", "arguments", "thinking", "name", "output"];

/** Where a request names its output allowance, in the order they are read. */
const MAX_OUTPUT_KEYS = ["max_completion_tokens", "max_output_tokens", "max_tokens"];

/** Collects the prompt's text and fixed counts from one value of a prompt field. */
function collect(value: unknown, into: PromptParts, depth = 0): void {
  if (depth > 8 || value === null || value === undefined) return;
  if (typeof value === "string") {
    into.texts.push(value);
    return;
  }
  if (typeof value === "number") {
    // A prompt given as token ids: one token each.
    into.fixedTokens += 1;
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) collect(item, into, depth + 1);
    return;
  }
  const part = obj(value);
  if (!part) return;
  if (typeof part.type === "string" && MEDIA_TYPES.has(part.type)) {
    into.fixedTokens += MEDIA_PART_TOKENS;
    return;
  }
  if (part.role !== undefined) into.fixedTokens += MESSAGE_OVERHEAD_TOKENS;
  for (const key of TEXT_KEYS) collect(part[key], into, depth + 1);
  // Tool calls made by the assistant carry their arguments under `function`.
  collect(obj(part.function)?.arguments, into, depth + 1);
  if (Array.isArray(part.tool_calls)) collect(part.tool_calls, into, depth + 1);
}

/**
 * The prompt and output allowance of a parsed request body. Unknown fields are ignored; a
 * body that is not an object has no prompt here (the caller counts its bytes instead).
 */
export function promptParts(body: unknown): PromptParts {
  const request = obj(body);
  const parts: PromptParts = { model: modelName(request?.model) ?? null, texts: [], fixedTokens: 0 };
  if (!request) return parts;
  // Chat and Messages, Completions, Embeddings and Responses, and their system prompts.
  for (const key of ["messages", "prompt", "input", "system", "instructions"]) collect(request[key], parts);
  // Tool and function definitions are sent to the model as text. A structure too deep to
  // serialize throws here, and the caller falls back to the body's bytes.
  for (const key of ["tools", "functions", "response_format", "text"]) {
    if (request[key] !== undefined) parts.texts.push(JSON.stringify(request[key]));
  }
  for (const key of MAX_OUTPUT_KEYS) {
    const value = request[key];
    if (Number.isSafeInteger(value) && (value as number) >= 0) {
      parts.maxOutputTokens = value as number;
      break;
    }
  }
  const choices = Math.max(1, ...CHOICES_KEYS.map((k) => request[k]).filter(isCount));
  if (choices > 1) parts.choices = choices;
  return parts;
}

/** Where a request asks for several completions, each up to the output allowance. */
const CHOICES_KEYS = ["n", "best_of"];
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 1;

/** Tokens at bytes/4, rounded up: the rule of thumb where no tokenizer is known. */
export function bytesOver4(text: string): number {
  return Math.ceil(utf8Length(text) / 4);
}

/** Text beyond this many characters is counted at the rate of its first part, to bound the cost per call. */
export const TOKENIZE_CHARS = 32 * 1024;

/**
 * The tokens of some texts: exactly up to TOKENIZE_CHARS characters in all, and past that
 * at the tokens per character of what was counted, rounded up, so that a long prompt takes
 * a bounded time to estimate.
 */
export function countTexts(texts: readonly string[], count: TokenCounter): number {
  let tokens = 0;
  let counted = 0;
  let rest = 0;
  for (const text of texts) {
    if (counted >= TOKENIZE_CHARS) {
      rest += text.length;
      continue;
    }
    const head = text.length <= TOKENIZE_CHARS - counted ? text : text.slice(0, TOKENIZE_CHARS - counted);
    tokens += count(head);
    counted += head.length;
    rest += text.length - head.length;
  }
  if (rest === 0 || counted === 0) return tokens;
  return tokens + Math.ceil((rest * tokens) / counted);
}

/** The prompt's tokens: its texts counted, plus its fixed counts, capped at what one call may carry. */
export function promptTokens(parts: PromptParts, count: TokenCounter): number {
  return Math.min(MAX_CALL_UNITS, countTexts(parts.texts, count) + parts.fixedTokens);
}
