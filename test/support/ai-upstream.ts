// A local OpenAI-compatible upstream that behaves as vLLM does: a streamed reply carries
// usage only when the request sets stream_options.include_usage (then every chunk carries
// "usage":null and a last chunk with no choices carries the usage). Replies are
// deterministic (fixed id and created), so a test can compare bytes. It counts the tokens
// it served, per request, for conservation checks.

import http from "node:http";
import type { AddressInfo } from "node:net";

export interface Served {
  stream: boolean;
  includeUsage: boolean;
  promptTokens: number;
  completionTokens: number;
}

export interface AiUpstream {
  url: string;
  served: Served[];
  close(): Promise<void>;
}

/** One "token" per whitespace-separated word: simple, and the same on both sides. */
const tokensOf = (text: string) => text.split(/\s+/).filter(Boolean).length;
const REPLY = ["Hello", " from", " the", " upstream", "!"];

function promptOf(body: { messages?: { content?: unknown }[] }): number {
  return (body.messages ?? []).reduce((n, m) => n + (typeof m.content === "string" ? tokensOf(m.content) : 0), 0);
}

export async function startAiUpstream(): Promise<AiUpstream> {
  const served: Served[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: { model?: string; stream?: boolean; stream_options?: { include_usage?: boolean }; messages?: [] };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      res.writeHead(400, { "content-type": "application/json" }).end('{"error":"bad json"}');
      return;
    }
    const model = body.model ?? "served-model";
    const promptTokens = promptOf(body);
    const completionTokens = REPLY.length;
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    };
    const base = { id: "chatcmpl-test", created: 1_700_000_000, model };
    const includeUsage = body.stream === true && body.stream_options?.include_usage === true;
    served.push({ stream: body.stream === true, includeUsage, promptTokens, completionTokens });
    if (body.stream !== true) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          ...base,
          object: "chat.completion",
          choices: [{ index: 0, message: { role: "assistant", content: REPLY.join("") }, finish_reason: "stop" }],
          usage,
        }),
      );
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const send = (choices: unknown[], extra: object = {}) =>
      res.write(
        `data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices, ...(includeUsage ? { usage: null } : {}), ...extra })}\n\n`,
      );
    send([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]);
    for (const piece of REPLY) send([{ index: 0, delta: { content: piece }, finish_reason: null }]);
    send([{ index: 0, delta: {}, finish_reason: "stop" }]);
    if (includeUsage) send([], { usage });
    res.end("data: [DONE]\n\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    served,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
