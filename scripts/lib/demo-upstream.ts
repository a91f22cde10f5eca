// A small stand-in for an inference origin: OpenAI-style chat completions with usage,
// as JSON or as a server-sent event stream whose last data chunk carries the usage.

import http from "node:http";
import type { AddressInfo } from "node:net";

export interface DemoUpstream {
  url: string;
  close(): Promise<void>;
}

function tokensOf(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function completion(body: Record<string, unknown>) {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const prompt = JSON.stringify(messages);
  const reply = "Hello from the Aegis Edge demo upstream.";
  const prompt_tokens = tokensOf(prompt);
  const completion_tokens = tokensOf(reply);
  return {
    reply,
    usage: { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens },
    model: typeof body.model === "string" ? body.model : "demo-1",
  };
}

function handle(req: http.IncomingMessage, res: http.ServerResponse, raw: string): void {
  const path = new URL(req.url ?? "/", "http://upstream").pathname;
  if (req.method === "GET" && path === "/v1/models") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ object: "list", data: [{ id: "demo-1", object: "model", owned_by: "aegis-edge" }] }));
    return;
  }
  if (req.method === "GET" && path === "/health") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ ok: true }));
    return;
  }
  if (req.method !== "POST" || path !== "/v1/chat/completions") {
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { message: `no route ${req.method} ${path}`, type: "not_found" } }));
    return;
  }
  let body: Record<string, unknown> = {};
  try {
    body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
  } catch {
    res.writeHead(400, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { message: "invalid JSON body", type: "invalid_request_error" } }));
    return;
  }
  const { reply, usage, model } = completion(body);
  const id = `chatcmpl-${Date.now().toString(36)}`;
  const created = Math.floor(Date.now() / 1000);
  if (body.stream === true) {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    for (const word of reply.split(" ")) {
      const delta = { choices: [{ index: 0, delta: { content: `${word} ` }, finish_reason: null }] };
      res.write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, ...delta })}\n\n`);
    }
    res.write(
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices: [], usage })}\n\n`,
    );
    res.end("data: [DONE]\n\n");
    return;
  }
  res.writeHead(200, { "content-type": "application/json" });
  res.end(
    JSON.stringify({
      id,
      object: "chat.completion",
      created,
      model,
      choices: [{ index: 0, message: { role: "assistant", content: reply }, finish_reason: "stop" }],
      usage,
    }),
  );
}

export async function startDemoUpstream(port = 0, host = "127.0.0.1"): Promise<DemoUpstream> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handle(req, res, Buffer.concat(chunks).toString("utf8")));
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
