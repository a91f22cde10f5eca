// A local OpenAI-compatible upstream, deterministic (fixed ids and times, so a test can
// compare bytes), that counts the tokens it served, per request, for conservation checks.
// It serves chat completions, the Responses API (openai-responses.ts) and embeddings, and
// behaves as one of two servers:
//
// - "vllm" (the default): a streamed chat reply carries usage only when the request sets
//   stream_options.include_usage (then every chunk carries "usage":null and a last chunk
//   with no choices carries the usage); usage has no details; the model is named as asked.
// - "openai": the same rule for streams, but as OpenAI's API answers: the model named by its
//   dated snapshot, `service_tier`, `system_fingerprint`, an `obfuscation` member on stream
//   chunks, and usage with `prompt_tokens_details.cached_tokens` (a leading system or
//   developer message is served from the prompt cache) and
//   `completion_tokens_details.reasoning_tokens` (counted in `completion_tokens`).

import type http from "node:http";
import { REASONING_TOKENS, servedResponse, snapshotOf } from "./openai-responses";
import { type Caller, callerOf, contentTokens, listen, REPLY, readJson, sendJson, tokensOf } from "./upstream-kit";

export type Flavor = "vllm" | "openai";

/** One request served, in Chat Completions' terms (Responses' input/output tokens likewise). */
export interface Served extends Caller {
  path: string;
  stream: boolean;
  includeUsage: boolean;
  /** The model the reply named. */
  model: string;
  /** Every input token, the cached ones included. */
  promptTokens: number;
  /** Every output token, the reasoning ones included. */
  completionTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
}

export interface AiUpstream {
  url: string;
  served: Served[];
  /** Lets replies paused by PAUSE_HEADER (upstream-kit.ts) go on. */
  releasePaused(): void;
  close(): Promise<void>;
}

const CREATED = 1_700_000_000;

/** What a handler served, before the request's path and caller are added. */
export type Tokens = Omit<Served, "path" | keyof Caller>;

type Message = { role?: string; content?: unknown };
type ChatRequest = {
  model?: string;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  messages?: Message[];
};

function chat(flavor: Flavor, body: ChatRequest, res: http.ServerResponse): Tokens {
  const openai = flavor === "openai";
  const model = openai ? snapshotOf(body.model ?? "gpt") : (body.model ?? "served-model");
  const messages = body.messages ?? [];
  const promptTokens = messages.reduce((n, m) => n + contentTokens(m.content), 0);
  const first = messages[0];
  const cachedTokens =
    openai && (first?.role === "system" || first?.role === "developer") ? contentTokens(first.content) : 0;
  const reasoningTokens = openai ? REASONING_TOKENS : 0;
  const completionTokens = REPLY.length + reasoningTokens;
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    ...(openai
      ? {
          prompt_tokens_details: { cached_tokens: cachedTokens, audio_tokens: 0 },
          completion_tokens_details: {
            reasoning_tokens: reasoningTokens,
            audio_tokens: 0,
            accepted_prediction_tokens: 0,
            rejected_prediction_tokens: 0,
          },
        }
      : {}),
  };
  const stream = body.stream === true;
  const includeUsage = stream && body.stream_options?.include_usage === true;
  const served = { stream, includeUsage, model, promptTokens, completionTokens, cachedTokens, reasoningTokens };
  const head = (object: string) => ({
    id: "chatcmpl-test",
    ...(openai ? { object } : {}),
    created: CREATED,
    model,
    ...(openai ? { service_tier: "default", system_fingerprint: "fp_aegis" } : {}),
  });
  if (!stream) {
    const message = {
      role: "assistant",
      content: REPLY.join(""),
      ...(openai ? { refusal: null, annotations: [] } : {}),
    };
    sendJson(res, {
      ...head("chat.completion"),
      object: "chat.completion",
      choices: [{ index: 0, message, ...(openai ? { logprobs: null } : {}), finish_reason: "stop" }],
      usage,
    });
    return served;
  }
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const send = (choices: unknown[], extra: object = {}) =>
    res.write(
      `data: ${JSON.stringify({
        ...head("chat.completion.chunk"),
        object: "chat.completion.chunk",
        choices,
        ...(includeUsage ? { usage: null } : {}),
        ...extra,
        ...(openai ? { obfuscation: "aegis" } : {}),
      })}\n\n`,
    );
  send([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]);
  for (const piece of REPLY) send([{ index: 0, delta: { content: piece }, finish_reason: null }]);
  send([{ index: 0, delta: {}, finish_reason: "stop" }]);
  if (includeUsage) send([], { usage });
  res.end("data: [DONE]\n\n");
  return served;
}

type EmbeddingRequest = {
  model?: string;
  input?: string | string[];
  encoding_format?: "float" | "base64";
  dimensions?: number;
};

/**
 * A vector per input, `[tokens, index, 0.5, 0.25...]` of `dimensions` (default 3), as
 * floats or, when asked (the openai client's default), base64 float32. The reply's members
 * come in OpenAI's order: `object`, `data`, then `model` and `usage` after the vectors.
 */
function embeddings(body: EmbeddingRequest, res: http.ServerResponse): Tokens {
  const model = body.model ?? "embedder";
  const inputs = typeof body.input === "string" ? [body.input] : (body.input ?? []);
  const promptTokens = inputs.reduce((n, text) => n + tokensOf(text), 0);
  const dimensions = Math.max(3, body.dimensions ?? 3);
  const data = inputs.map((text, index) => {
    const vector = [tokensOf(text), index, 0.5, ...Array<number>(dimensions - 3).fill(0.25)];
    const embedding =
      body.encoding_format === "base64" ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector;
    return { object: "embedding", index, embedding };
  });
  sendJson(res, { object: "list", data, model, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } });
  return {
    stream: false,
    includeUsage: false,
    model,
    promptTokens,
    completionTokens: 0,
    cachedTokens: 0,
    reasoningTokens: 0,
  };
}

export async function startAiUpstream(options: { flavor?: Flavor } = {}): Promise<AiUpstream> {
  const flavor = options.flavor ?? "vllm";
  const served: Served[] = [];
  const listening = await listen(async (req, res) => {
    const path = new URL(req.url ?? "/", "http://upstream").pathname;
    // Each handler reads the members it knows, as the real servers do.
    const body = await readJson<object>(req, res);
    if (body === null) return;
    const record = (s: Tokens) => served.push({ path, ...callerOf(req), ...s });
    if (path === "/v1/chat/completions") record(chat(flavor, body as ChatRequest, res));
    else if (path === "/v1/responses") record(servedResponse(body, res));
    else if (path === "/v1/embeddings") record(embeddings(body as EmbeddingRequest, res));
    else sendJson(res, { error: { message: `no route ${path}` } }, 404);
  });
  return { ...listening, served };
}
