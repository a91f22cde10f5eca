// A local upstream that behaves as Anthropic's Messages API (POST /v1/messages) does,
// deterministically, and counts the tokens it served per request.
//
// Anthropic reports `input_tokens` without the cached part: the system prompt is served as
// read from the prompt cache (`cache_read_input_tokens`), and every request writes
// CACHE_WRITE_TOKENS to it (`cache_creation_input_tokens`); only the messages count in
// `input_tokens`. A stream sends the real event sequence: message_start (the input usage,
// and `output_tokens: 1`), content_block_start, ping, content_block_delta text_deltas,
// content_block_stop, message_delta (cumulative usage: the final `output_tokens`, with the
// input counts restated), message_stop.

import type http from "node:http";
import { type Caller, callerOf, contentTokens, listen, REPLY, readJson, sendJson, writeEvent } from "./upstream-kit";

/** One request served, in Anthropic's own terms. */
export interface AnthropicServed extends Caller {
  stream: boolean;
  model: string;
  /** The uncached input only, as Anthropic reports it. */
  inputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  outputTokens: number;
}

export interface AnthropicUpstream {
  url: string;
  served: AnthropicServed[];
  /** Lets replies paused by PAUSE_HEADER (upstream-kit.ts) go on. */
  releasePaused(): void;
  close(): Promise<void>;
}

export const CACHE_WRITE_TOKENS = 2;

/** The dated model Anthropic answers for an alias, as `claude-sonnet-4-5` answers `claude-sonnet-4-5-20250929`. */
export const anthropicModelOf = (model: string) => (/-\d{8}$/.test(model) ? model : `${model}-20250929`);

type MessagesRequest = { model?: string; system?: unknown; messages?: { content?: unknown }[]; stream?: boolean };

function answer(body: MessagesRequest, res: http.ServerResponse): Omit<AnthropicServed, keyof Caller> {
  const model = anthropicModelOf(body.model ?? "claude");
  const served = {
    stream: body.stream === true,
    model,
    inputTokens: (body.messages ?? []).reduce((n, m) => n + contentTokens(m.content), 0),
    cacheReadTokens: contentTokens(body.system),
    cacheCreationTokens: CACHE_WRITE_TOKENS,
    outputTokens: REPLY.length,
  };
  const usage = (outputTokens: number) => ({
    input_tokens: served.inputTokens,
    cache_creation_input_tokens: served.cacheCreationTokens,
    cache_read_input_tokens: served.cacheReadTokens,
    cache_creation: { ephemeral_5m_input_tokens: served.cacheCreationTokens, ephemeral_1h_input_tokens: 0 },
    output_tokens: outputTokens,
    service_tier: "standard",
  });
  const message = (content: unknown[], stopReason: string | null, outputTokens: number) => ({
    id: "msg_01AegisTest",
    type: "message",
    role: "assistant",
    model,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: usage(outputTokens),
  });
  if (!served.stream) {
    sendJson(res, message([{ type: "text", text: REPLY.join("") }], "end_turn", served.outputTokens));
    return served;
  }
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
  writeEvent(res, { type: "message_start", message: message([], null, 1) });
  writeEvent(res, { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
  writeEvent(res, { type: "ping" });
  for (const text of REPLY) {
    writeEvent(res, { type: "content_block_delta", index: 0, delta: { type: "text_delta", text } });
  }
  writeEvent(res, { type: "content_block_stop", index: 0 });
  const { cache_creation: _, service_tier: __, ...counts } = usage(served.outputTokens);
  writeEvent(res, {
    type: "message_delta",
    delta: { stop_reason: "end_turn", stop_sequence: null },
    usage: counts,
  });
  writeEvent(res, { type: "message_stop" });
  res.end();
  return served;
}

export async function startAnthropicUpstream(): Promise<AnthropicUpstream> {
  const served: AnthropicServed[] = [];
  const listening = await listen(async (req, res) => {
    const path = new URL(req.url ?? "/", "http://upstream").pathname;
    const body = await readJson<MessagesRequest>(req, res);
    if (body === null) return;
    if (path !== "/v1/messages") {
      sendJson(res, { type: "error", error: { type: "not_found_error", message: `no route ${path}` } }, 404);
      return;
    }
    served.push({ ...callerOf(req), ...answer(body, res) });
  });
  return { ...listening, served };
}
