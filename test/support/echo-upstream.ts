// A local upstream for tests: answers like an OpenAI-style API and echoes what it received.
//
// Query parameters shape the answer:
//   status=N      answer with that status
//   units=N       report usage in an x-usage-units header
//   tokens=N      report usage.total_tokens = N (without it, no usage is reported and the
//                 call costs its route's cost)
//   sse=1         stream server-sent events; the last data chunk carries the usage
//   hold=ID       with sse: after the first chunk, wait until GET /release?id=ID
//   plain=1       answer text/plain, reporting no usage at all
// GET /release?id=ID lets a held stream finish.

import http from "node:http";
import type { AddressInfo } from "node:net";

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
      if (url.searchParams.get("sse") === "1") {
        res.writeHead(status, { ...headers, "content-type": "text/event-stream", "cache-control": "no-cache" });
        res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: "first" } }] })}\n\n`);
        const finish = () => {
          res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: " second" } }] })}\n\n`);
          res.write(
            `data: ${JSON.stringify({ model: "echo-stream", choices: [], usage: { total_tokens: tokens } })}\n\n`,
          );
          res.end("data: [DONE]\n\n");
        };
        const hold = url.searchParams.get("hold");
        if (hold && !released.has(hold)) held.set(hold, finish);
        else finish();
        return;
      }
      res.writeHead(status, { ...headers, "content-type": "application/json" });
      res.end(
        JSON.stringify({
          object: "chat.completion",
          model: "echo-1",
          echo: { method: req.method, url: req.url, headers: req.headers, body },
          ...(tokensParam === null
            ? {}
            : { usage: { prompt_tokens: 3, completion_tokens: tokens - 3, total_tokens: tokens } }),
        }),
      );
    });
  });
  server.keepAliveTimeout = 1_000;
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
