// OpenAI's Responses API (POST /v1/responses) for the local upstream, as OpenAI answers it:
// a JSON Response object, or with `stream: true` the named events from `response.created`
// to `response.completed`, whose `response.usage` is the only usage in the stream:
// {input_tokens, input_tokens_details: {cached_tokens}, output_tokens,
//  output_tokens_details: {reasoning_tokens}, total_tokens}.
// `instructions` are served from the prompt cache; the reasoning tokens count in output_tokens.

import type http from "node:http";
import type { Tokens } from "./ai-upstream";
import { contentTokens, REPLY, writeEvent } from "./upstream-kit";

/** Reasoning tokens an OpenAI reply spends before it answers. */
export const REASONING_TOKENS = 3;

/** The dated snapshot OpenAI answers for an alias, as `gpt-4.1` answers `gpt-4.1-2025-04-14`. */
export const snapshotOf = (model: string) => (/-\d{4}-\d{2}-\d{2}$/.test(model) ? model : `${model}-2025-04-14`);

type ResponsesRequest = { model?: string; input?: unknown; instructions?: string | null; stream?: boolean };

const RESPONSE_ID = "resp_test";
const MESSAGE_ID = "msg_test";

function inputTokens(input: unknown): number {
  if (!Array.isArray(input)) return contentTokens(input);
  return input.reduce<number>((n, item) => n + contentTokens((item as { content?: unknown } | null)?.content), 0);
}

const textPart = (text: string) => ({ type: "output_text", text, annotations: [], logprobs: [] });
const message = (status: "in_progress" | "completed", content: unknown[]) => ({
  id: MESSAGE_ID,
  type: "message",
  status,
  role: "assistant",
  content,
});

/** Answers one Responses API request, and says what it served. */
export function servedResponse(body: ResponsesRequest, res: http.ServerResponse): Tokens {
  const model = snapshotOf(body.model ?? "gpt");
  const cachedTokens = contentTokens(body.instructions ?? "");
  const promptTokens = cachedTokens + inputTokens(body.input);
  const completionTokens = REPLY.length + REASONING_TOKENS;
  const text = REPLY.join("");
  const stream = body.stream === true;
  const served = {
    stream,
    includeUsage: stream,
    model,
    promptTokens,
    completionTokens,
    cachedTokens,
    reasoningTokens: REASONING_TOKENS,
  };
  const response = (status: "in_progress" | "completed") => ({
    id: RESPONSE_ID,
    object: "response",
    created_at: 1_700_000_000,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: null,
    model,
    output: status === "completed" ? [message("completed", [textPart(text)])] : [],
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    service_tier: "default",
    store: true,
    temperature: 1,
    text: { format: { type: "text" } },
    tool_choice: "auto",
    tools: [],
    top_p: 1,
    truncation: "disabled",
    usage:
      status === "completed"
        ? {
            input_tokens: promptTokens,
            input_tokens_details: { cached_tokens: cachedTokens },
            output_tokens: completionTokens,
            output_tokens_details: { reasoning_tokens: REASONING_TOKENS },
            total_tokens: promptTokens + completionTokens,
          }
        : null,
    user: null,
    metadata: {},
  });
  if (!stream) {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(response("completed")));
    return served;
  }
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
  let sequence = 0;
  const send = (type: string, fields: object) => writeEvent(res, { type, sequence_number: sequence++, ...fields });
  const at = { item_id: MESSAGE_ID, output_index: 0, content_index: 0 };
  send("response.created", { response: response("in_progress") });
  send("response.in_progress", { response: response("in_progress") });
  send("response.output_item.added", { output_index: 0, item: message("in_progress", []) });
  send("response.content_part.added", { ...at, part: textPart("") });
  for (const delta of REPLY) send("response.output_text.delta", { ...at, delta, logprobs: [] });
  send("response.output_text.done", { ...at, text, logprobs: [] });
  send("response.content_part.done", { ...at, part: textPart(text) });
  send("response.output_item.done", { output_index: 0, item: message("completed", [textPart(text)]) });
  send("response.completed", { response: response("completed") });
  res.end();
  return served;
}
