// A local chat-completions upstream that reports no usage, ever, and that a test can hold:
// - `hold()`: replies wait until released, so that calls stay in flight while others are
//   decided (the limiter's reservations are then all outstanding at once);
// - a streamed reply sends its first chunk, then waits for `release()` before the rest, so
//   that a client can leave mid-stream.
// It is what the gateway meets when an upstream does not report usage: its estimate is all
// there is to bill.

import http from "node:http";
import type { AddressInfo } from "node:net";

export const HELD_REPLY = ["Hello", " from", " the", " held", " upstream", "!"];

export interface HeldUpstream {
  url: string;
  /** Requests received so far. */
  arrivals(): number;
  /** Resolves once `n` requests have arrived. */
  arrived(n: number): Promise<void>;
  /** From now on, replies (and streams after their first chunk) wait for release(). */
  hold(): void;
  /** Lets every waiting reply go on, and stops holding. */
  release(): void;
  close(): Promise<void>;
}

export async function startHeldUpstream(): Promise<HeldUpstream> {
  let count = 0;
  const waiters: { n: number; resolve(): void }[] = [];
  let gate: Promise<void> | null = null;
  let open: () => void = () => {};
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    count++;
    for (const w of waiters.filter((w) => count >= w.n)) w.resolve();
    let stream = false;
    try {
      stream = JSON.parse(Buffer.concat(chunks).toString("utf8")).stream === true;
    } catch {
      // not JSON: a plain reply
    }
    if (!stream) {
      await gate;
      const content = HELD_REPLY.join("");
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id: "held", object: "chat.completion", choices: [{ index: 0, message: { content } }] }));
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    const chunk = (content: string) =>
      `data: ${JSON.stringify({ id: "held", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content } }] })}\n\n`;
    const [first, ...rest] = HELD_REPLY;
    res.write(chunk(first ?? ""));
    await gate;
    for (const piece of rest) res.write(chunk(piece));
    res.end("data: [DONE]\n\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    arrivals: () => count,
    arrived: (n) => (count >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    hold() {
      gate = new Promise((resolve) => {
        open = resolve;
      });
    },
    release() {
      open();
      gate = null;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
