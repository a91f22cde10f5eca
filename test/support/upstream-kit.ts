// What the local AI upstreams share: their token count, reading a JSON request, writing
// server-sent events, and listening on a loopback port.

import http from "node:http";
import type { AddressInfo } from "node:net";

/** What every local upstream answers, in these pieces when it streams. */
export const REPLY = ["Hello", " from", " the", " upstream", "!"];

/** One "token" per whitespace-separated word: simple, and the same on both sides. */
export const tokensOf = (text: string) => text.split(/\s+/).filter(Boolean).length;

/** The tokens of any text in a message's content: a string, or parts carrying `text`. */
export function contentTokens(content: unknown): number {
  if (typeof content === "string") return tokensOf(content);
  if (!Array.isArray(content)) return 0;
  return content.reduce<number>((n, part) => {
    const text = (part as { text?: unknown } | null)?.text;
    return n + (typeof text === "string" ? tokensOf(text) : 0);
  }, 0);
}

/** The request's JSON body, or null after answering 400 when it is not JSON. */
export async function readJson<T>(req: http.IncomingMessage, res: http.ServerResponse): Promise<T | null> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as T;
  } catch {
    res.writeHead(400, { "content-type": "application/json" }).end('{"error":"bad json"}');
    return null;
  }
}

export function sendJson(res: http.ServerResponse, body: unknown, status = 200): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

/** One named event, as OpenAI's Responses API and Anthropic's Messages API send them. */
export function writeEvent(res: http.ServerResponse, data: { type: string; [field: string]: unknown }): void {
  res.write(`event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`);
}

export interface Listening {
  url: string;
  /** Lets the replies paused by `PAUSE_HEADER` go on. */
  releasePaused(): void;
  close(): Promise<void>;
}

/**
 * A request with this header gets the first write of its reply at once and the rest only
 * after `releasePaused()`: a client can leave in the middle of a stream, for certain.
 */
export const PAUSE_HEADER = "x-test-pause-after-first-write";

export async function listen(handler: http.RequestListener): Promise<Listening> {
  let released: () => void = () => {};
  let gate = new Promise<void>((resolve) => {
    released = resolve;
  });
  const server = http.createServer((req, res) => {
    if (req.headers[PAUSE_HEADER] !== undefined) pauseAfterFirstWrite(res, gate);
    return handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    releasePaused() {
      released();
      gate = new Promise<void>((resolve) => {
        released = resolve;
      });
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Holds every write after the first, and the end, until `gate` opens; then sends them in order. */
function pauseAfterFirstWrite(res: http.ServerResponse, gate: Promise<void>): void {
  const write = res.write.bind(res);
  const end = res.end.bind(res);
  let writes = 0;
  const held: (() => void)[] = [];
  res.write = ((chunk: string | Uint8Array) => {
    if (writes++ === 0) return write(chunk);
    held.push(() => write(chunk));
    return true;
  }) as typeof res.write;
  res.end = ((chunk?: string | Uint8Array) => {
    held.push(() => (chunk === undefined ? end() : end(chunk)));
    return res;
  }) as typeof res.end;
  void gate.then(() => {
    for (const send of held) send();
  });
}

/** What a gateway in front told the upstream about a request, and which credentials reached it. */
export interface Caller {
  /** The tenant the gateway verified (its Aegis-Tenant-Id header), or null. */
  tenant: string | null;
  /** Credential headers that reached the upstream: a gateway must have taken them all off. */
  credentials: string[];
}

export function callerOf(req: http.IncomingMessage): Caller {
  const tenant = req.headers["aegis-tenant-id"];
  return {
    tenant: typeof tenant === "string" ? tenant : null,
    credentials: ["authorization", "x-api-key", "api-key"].filter((name) => req.headers[name] !== undefined),
  };
}
