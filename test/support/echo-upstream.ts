// A local upstream for tests: answers like an OpenAI-style API and echoes what it received.
//
// Query parameters shape the answer:
//   status=N      answer with that status
//   units=N       report usage in an x-usage-units header
//   tokens=N      report usage.total_tokens = N (without it, no usage is reported and the
//                 call costs its route's cost)
//   sse=1         stream server-sent events; the last data chunk carries the usage
//   usage=asked   with sse: as vLLM does, send the usage chunk only when the request body
//                 sets stream_options.include_usage
//   hold=ID       with sse: after the first chunk, wait until GET /release?id=ID
//   plain=1       answer text/plain, reporting no usage at all
//   encoding=E    compress the reply with E (gzip, x-gzip, deflate or br) when the request's
//                 Accept-Encoding allows it, as nginx or Express compression do; with
//                 force=1, whatever the request asked for (and any other E is sent as a
//                 label on a plain body)
// GET /release?id=ID lets a held stream finish.

import http from "node:http";
import type { AddressInfo } from "node:net";
import zlib from "node:zlib";

const COMPRESS: Record<string, (b: Buffer) => Buffer> = {
  gzip: (b) => zlib.gzipSync(b),
  "x-gzip": (b) => zlib.gzipSync(b),
  deflate: (b) => zlib.deflateSync(b),
  br: (b) => zlib.brotliCompressSync(b),
};

/** Whether a request body sets stream_options.include_usage. */
function askedForUsage(body: string): boolean {
  try {
    return (
      (JSON.parse(body) as { stream_options?: { include_usage?: unknown } }).stream_options?.include_usage === true
    );
  } catch {
    return false;
  }
}

/** Sends a whole body, compressed when the query asks for it and the request allows it. */
function sendBody(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  status: number,
  headers: Record<string, string>,
  body: string,
): void {
  const encoding = url.searchParams.get("encoding") ?? "";
  const accepted = (req.headers["accept-encoding"] ?? "").split(",").map((e) => e.trim().split(";")[0]);
  const compress = COMPRESS[encoding];
  if (compress && (url.searchParams.get("force") === "1" || accepted.includes(encoding))) {
    const bytes = compress(Buffer.from(body));
    res.writeHead(status, { ...headers, "content-encoding": encoding, "content-length": String(bytes.length) });
    res.end(bytes);
    return;
  }
  // A coding nobody knows, as a misconfigured upstream might send.
  const label = encoding && !compress && url.searchParams.get("force") === "1" ? { "content-encoding": encoding } : {};
  res.writeHead(status, { ...headers, ...label, "content-length": String(Buffer.byteLength(body)) });
  res.end(body);
}

export interface EchoUpstream {
  url: string;
  close(): Promise<void>;
}

export async function startEchoUpstream(): Promise<EchoUpstream> {
  const held = new Map<string, () => void>();
  const released = new Set<string>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://upstream");
    if (url.pathname === "/release") {
      const id = url.searchParams.get("id") ?? "";
      released.add(id);
      held.get(id)?.();
      res.writeHead(204).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const status = Number(url.searchParams.get("status") ?? 200);
      const tokensParam = url.searchParams.get("tokens");
      const tokens = Number(tokensParam ?? 7);
      const headers: Record<string, string> = { "x-upstream": "echo" };
      const units = url.searchParams.get("units");
      if (units !== null) headers["x-usage-units"] = units;
      if (url.searchParams.get("plain") === "1") {
        res.writeHead(status, { ...headers, "content-type": "text/plain" });
        res.end("no usage here");
        return;
      }
      const sse = (content: string) => `data: ${JSON.stringify({ choices: [{ delta: { content } }] })}\n\n`;
      const sseUsage = `data: ${JSON.stringify({ model: "echo-stream", choices: [], usage: { total_tokens: tokens } })}\n\n`;
      if (url.searchParams.get("sse") === "1" && url.searchParams.has("encoding")) {
        const streamHeaders = { ...headers, "content-type": "text/event-stream", "cache-control": "no-cache" };
        sendBody(req, res, url, status, streamHeaders, `${sse("first")}${sse(" second")}${sseUsage}data: [DONE]\n\n`);
        return;
      }
      if (url.searchParams.get("sse") === "1") {
        res.writeHead(status, { ...headers, "content-type": "text/event-stream", "cache-control": "no-cache" });
        res.write(sse("first"));
        const finish = () => {
          res.write(sse(" second"));
          if (url.searchParams.get("usage") !== "asked" || askedForUsage(body)) res.write(sseUsage);
          res.end("data: [DONE]\n\n");
        };
        const hold = url.searchParams.get("hold");
        if (hold && !released.has(hold)) held.set(hold, finish);
        else finish();
        return;
      }
      sendBody(
        req,
        res,
        url,
        status,
        { ...headers, "content-type": "application/json" },
        JSON.stringify({
          object: "chat.completion",
          model: "echo-1",
          echo: { method: req.method, url: req.url, headers: req.headers, body },
          ...(tokensParam === null
            ? {}
            : // Up to 3 prompt tokens, never a negative completion: a malformed count reads as none.
              {
                usage: {
                  prompt_tokens: Math.min(3, tokens),
                  completion_tokens: Math.max(0, tokens - 3),
                  total_tokens: tokens,
                },
              }),
        }),
      );
    });
  });
  // Idle sockets are never closed by the server (close() ends them all): workerd reuses its
  // idle connections, and one the server closed just as a call reused it failed that call
  // with "Network connection lost" (seen in a loaded CI run, a console test's call got 502).
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const finish of held.values()) finish();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
