// A local upstream whose every reply is scripted by the test: the test registers a reply,
// gets an id, and calls a path holding `/fuzz/<id>/`. The reply is written chunk by chunk
// exactly as given (so a chunk may end mid-line or mid-UTF-8 character), and the upstream
// can break the connection before its headers or in the middle of its body.
//
// After its first chunk the upstream waits until the test calls `release()`: a test that
// releases only once the first byte has reached its client proves the gateway forwards that
// byte before it has the rest (if the gateway held it, the two would wait on each other).

import http from "node:http";
import type { AddressInfo } from "node:net";

export interface FuzzReply {
  status: number;
  contentType: string;
  /** Sent as content-length: the whole body's length (also when `cut` stops short of it). */
  contentLength?: number;
  chunks: Uint8Array[];
  /** "headers": destroy the socket before any response; "body": after the chunks. */
  cut?: "headers" | "body";
}

export interface FuzzRequest {
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Scripted {
  id: string;
  /** Lets the chunks after the first go. */
  release(): void;
  /** The request the gateway made for this reply: undefined until the upstream has it. */
  seen(): FuzzRequest | undefined;
}

export interface FuzzUpstream {
  url: string;
  serve(reply: FuzzReply): Scripted;
  close(): Promise<void>;
}

interface Entry {
  reply: FuzzReply;
  released: Promise<void>;
  received(request: FuzzRequest): void;
}

function write(res: http.ServerResponse, chunk: Uint8Array): Promise<void> {
  // Resolves once the chunk is handed to the socket; a gateway that went away only ends it.
  return new Promise((resolve) => res.write(chunk, () => resolve()));
}

export async function startFuzzUpstream(): Promise<FuzzUpstream> {
  const entries = new Map<string, Entry>();
  let next = 0;
  const server = http.createServer(async (req, res) => {
    const id = /\/fuzz\/([^/]+)\//.exec(req.url ?? "")?.[1] ?? "";
    const entry = entries.get(id);
    entries.delete(id);
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    if (!entry) {
      res.writeHead(404, { "content-type": "text/plain" }).end(`no reply scripted for ${req.url}`);
      return;
    }
    // Recorded before any answer: a client holding an answer from here finds it recorded.
    entry.received({ headers: req.headers, body: Buffer.concat(parts).toString("utf8") });
    const { reply } = entry;
    if (reply.cut === "headers") {
      req.socket.destroy();
      return;
    }
    res.writeHead(reply.status, {
      "content-type": reply.contentType,
      ...(reply.contentLength === undefined ? {} : { "content-length": String(reply.contentLength) }),
    });
    // Headers go out now, not with the first chunk: the test sees them whatever comes next.
    res.flushHeaders();
    const [first, ...rest] = reply.chunks;
    if (first) {
      await write(res, first);
      // A gateway that gave up (or a test that failed) must not leave this reply waiting.
      const closed = new Promise<void>((resolve) => res.once("close", () => resolve()));
      await Promise.race([entry.released, closed]);
    }
    for (const chunk of rest) await write(res, chunk);
    if (reply.cut === "body") res.socket?.destroy();
    else res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    serve(reply) {
      const id = `r${next++}`;
      let release = () => {};
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      let seen: FuzzRequest | undefined;
      entries.set(id, {
        reply,
        released,
        received: (request) => {
          seen = request;
        },
      });
      return { id, release, seen: () => seen };
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
