// Counting tokens the way the model will: OpenAI's BPE encodings (from gpt-tokenizer, a pure
// JavaScript port that runs on Workers, Node, Bun and Deno) for the model families known to
// use them, and bytes/4 for every other model. An encoding is loaded on first use only,
// since each is megabytes of tables that take a few hundred milliseconds to load.

import { bytesOver4, type TokenCounter } from "./prompt-estimate";

export type Encoding = "o200k_base" | "cl100k_base";

/** How prompts are counted: with the model family's tokenizer where known, or bytes/4 everywhere. */
export type TokenizerMode = "tokenizer" | "bytes";

/**
 * The encoding of an OpenAI model, by its name's family, or null for any other model.
 * A fine-tune (`ft:gpt-4o-mini:org::id`) and a router's provider prefix (`openai/gpt-4o`)
 * are its base model. The rule: GPT-4o, 4.1, 4.5, 5 and later, the o-series, gpt-oss and
 * codex use o200k_base; GPT-4 (Turbo), GPT-3.5 and the embeddings models use cl100k_base.
 */
export function encodingOf(model: string | null | undefined): Encoding | null {
  if (!model) return null;
  const name = model
    .toLowerCase()
    .replace(/^ft:/, "")
    .replace(/^openai\//, "");
  if (/^(gpt-4o|chatgpt-4o|gpt-4\.\d|gpt-[5-9]|o[1-9](-|$)|gpt-oss|codex|omni-moderation)/.test(name)) {
    return "o200k_base";
  }
  if (/^(gpt-4|gpt-3\.5|text-embedding-(3|ada))/.test(name)) return "cl100k_base";
  return null;
}

type CountTokens = (text: string, options: { disallowedSpecial: Set<string> }) => number;
type EncodingModule = { countTokens: CountTokens; setMergeCacheSize(size: number): void };

/**
 * A run of more characters than this without a space is counted at bytes/4, not tokenized:
 * the byte-pair merge of one piece grows about quadratically with its length (a 32K-letter
 * "word" takes half a second), and such runs (base64, minified code) are not prose anyway.
 */
export const LONGEST_TOKENIZED_RUN = 256;
const LONG_RUN = new RegExp(`\\S{${LONGEST_TOKENIZED_RUN + 1},}`, "g");
/** Pieces the encoder remembers (its default is 100,000, keyed by the whole piece): bounds its memory. */
const MERGE_CACHE_SIZE = 10_000;

const loaders: Record<Encoding, () => Promise<EncodingModule>> = {
  o200k_base: () => import("gpt-tokenizer/encoding/o200k_base"),
  cl100k_base: () => import("gpt-tokenizer/encoding/cl100k_base"),
};
const loaded = new Map<Encoding, Promise<TokenCounter>>();

/** Text like `<|endoftext|>` in a prompt is text, not a special token (and never a throw). */
const AS_TEXT = { disallowedSpecial: new Set<string>() };

function load(encoding: Encoding): Promise<TokenCounter> {
  let counter = loaded.get(encoding);
  if (!counter) {
    counter = loaders[encoding]().then(({ countTokens, setMergeCacheSize }) => {
      setMergeCacheSize(MERGE_CACHE_SIZE);
      return (text: string) => {
        let long = 0;
        const rest = text.replace(LONG_RUN, (run) => {
          long += bytesOver4(run);
          return "";
        });
        return countTokens(rest, AS_TEXT) + long;
      };
    });
    // A failed load is tried again by the next call rather than remembered.
    counter.catch(() => loaded.delete(encoding));
    loaded.set(encoding, counter);
  }
  return counter;
}

export interface ModelCounter {
  count: TokenCounter;
  /** What counted: an encoding's name, or "bytes/4". */
  method: Encoding | "bytes/4";
}

/** The counter for a model's tokens: its family's tokenizer (loaded now if need be), else bytes/4. */
export async function counterFor(model: string | null | undefined, mode: TokenizerMode): Promise<ModelCounter> {
  const encoding = mode === "tokenizer" ? encodingOf(model) : null;
  if (!encoding) return { count: bytesOver4, method: "bytes/4" };
  try {
    return { count: await load(encoding), method: encoding };
  } catch {
    // Without its tables the estimate still stands, at bytes/4.
    return { count: bytesOver4, method: "bytes/4" };
  }
}
