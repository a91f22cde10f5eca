// A TCP proxy in front of Postgres that counts the queries its clients send, so a test can
// show that something happened without a single query. Connection housekeeping (startup,
// Terminate, Sync) is not counted: a pool may close an idle client at any moment.

import net from "node:net";

/** Simple Query, Parse, Bind, Execute, Function Call: the messages that ask Postgres to work. */
const QUERY_TYPES = new Set(["Q", "P", "B", "E", "F"].map((c) => c.charCodeAt(0)));

export interface CountingProxy {
  /** host:port to connect to instead of Postgres. */
  address: string;
  /** Query messages clients have sent so far. */
  queries(): number;
  close(): Promise<void>;
}

/** Follows one client's stream of Postgres messages and counts the query ones. */
function messageCounter(onQuery: () => void): (chunk: Buffer) => void {
  let pending: Buffer<ArrayBufferLike> = Buffer.alloc(0);
  let started = false;
  return (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    for (;;) {
      if (!started) {
        // The startup message (and an SSLRequest before it) carries no type byte.
        if (pending.length < 8) return;
        const length = pending.readInt32BE(0);
        if (pending.length < length) return;
        if (pending.readInt32BE(4) !== 80877103) started = true;
        pending = pending.subarray(length);
        continue;
      }
      if (pending.length < 5) return;
      const length = pending.readInt32BE(1);
      if (pending.length < 1 + length) return;
      if (QUERY_TYPES.has(pending[0] as number)) onQuery();
      pending = pending.subarray(1 + length);
    }
  };
}

export async function startCountingProxy(target: { host: string; port: number }): Promise<CountingProxy> {
  let queries = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on(
      "data",
      messageCounter(() => {
        queries++;
      }),
    );
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    queries: () => queries,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
