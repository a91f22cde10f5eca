// The text a model produced, read from its reply in the shapes in use, for the one case the
// upstream reports no usage: a token route then bills the output it can count (with the
// input estimate), marked estimated. Memory stays bounded: past TOKENIZE_CHARS only the
// length of what follows is kept, counted at the rate of what came before.

import { countTexts, TOKENIZE_CHARS, type TokenCounter } from "./prompt-estimate";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string[] => (typeof v === "string" && v.length > 0 ? [v] : []);

/** The output text of one OpenAI-style choice delta or message: content, reasoning, refusal, tool arguments. */
function choiceText(part: Obj | undefined): string[] {
  if (!part) return [];
  const calls = list(part.tool_calls).flatMap((call) => str(obj(obj(call)?.function)?.arguments));
  // vLLM names reasoning `reasoning_content`, others `reasoning`; a server that sends both
  // sends the same text twice.
  const reasoning = str(part.reasoning_content).length > 0 ? str(part.reasoning_content) : str(part.reasoning);
  return [...str(part.content), ...reasoning, ...str(part.refusal), ...calls];
}

/** A string member that carries generated text, in any of the stream shapes above. */
const TEXT_MEMBER =
  /"(content|text|delta|partial_json|arguments|reasoning_content|reasoning|thinking|refusal)"\s*:\s*"((?:[^"\\]|\\.)*)"/g;
/** A Responses API event; only its `*.delta` events add text (the `*.done` ones repeat it). */
const RESPONSES_EVENT = /"type"\s*:\s*"response\./;
const DELTA_EVENT = /"type"\s*:\s*"[^"]*\.delta"/;

/**
 * The text one streamed event's data adds, whichever API sent it (a Chat Completions
 * chunk's content, reasoning, refusal or tool arguments; a Completions chunk's text; an
 * Anthropic `content_block_delta`; a Responses `*.delta` event), found without parsing the
 * event: the text-bearing string members of its JSON, decoded. Parsing every event of a
 * stream costs several times more, and an estimate is all this is used for.
 */
export function deltaTextOf(data: string): string[] {
  if (RESPONSES_EVENT.test(data) && !DELTA_EVENT.test(data)) return [];
  const texts: string[] = [];
  const matches = [...data.matchAll(TEXT_MEMBER)];
  // As in choiceText(): `reasoning` beside `reasoning_content` repeats it.
  const bothReasonings = matches.some((m) => m[1] === "reasoning_content");
  for (const match of matches) {
    if (bothReasonings && match[1] === "reasoning") continue;
    const raw = match[2] ?? "";
    if (raw.length === 0) continue;
    if (!raw.includes("\\")) texts.push(raw);
    else {
      try {
        texts.push(JSON.parse(`"${raw}"`) as string);
      } catch {
        // a malformed escape: not text worth counting
      }
    }
  }
  return texts;
}

/** The text of a whole reply: Chat Completions, Completions, Anthropic Messages or Responses. */
export function replyText(body: unknown): string[] {
  const b = obj(body);
  if (!b) return [];
  if (Array.isArray(b.choices)) {
    return b.choices.flatMap((choice) => {
      const c = obj(choice);
      return [...choiceText(obj(c?.message)), ...str(c?.text)];
    });
  }
  const blocks = [...list(b.content), ...list(b.output).flatMap((item) => [item, ...list(obj(item)?.content)])];
  return blocks.flatMap((block) => {
    const x = obj(block);
    return [...str(x?.text), ...str(x?.thinking), ...str(x?.arguments)];
  });
}

/**
 * Text kept to be counted once the reply has ended, as one text (a stream's pieces split
 * words, and counting each apart would count more than the model made): whole up to
 * TOKENIZE_CHARS, then only its length, counted at the rate of what was kept.
 */
export class TextTally {
  private readonly pieces: string[] = [];
  private kept = 0;
  private more = 0;

  add(pieces: readonly string[]): void {
    for (const piece of pieces) {
      if (this.kept >= TOKENIZE_CHARS) {
        this.more += piece.length;
        continue;
      }
      this.pieces.push(piece);
      this.kept += piece.length;
    }
  }

  /** The tokens of everything added, counted with `count`. */
  tokens(count: TokenCounter): number {
    const counted = countTexts([this.pieces.join("")], count);
    if (this.more === 0 || this.kept === 0) return counted;
    return counted + Math.ceil((this.more * counted) / this.kept);
  }
}
