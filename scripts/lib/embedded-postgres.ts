// Embedded Postgres for local runs: PGlite served over the Postgres wire protocol.

import { mkdirSync } from "node:fs";
import net from "node:net";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketHandler, type PGLiteSocketHandlerOptions } from "@electric-sql/pglite-socket";
import { PGliteSerialQueue, type QueryQueue } from "./pglite-serial-queue";

export interface EmbeddedPostgres {
  url: string;
  /** host:port, for the WebSocket proxy's allow list. */
  address: string;
  close(): Promise<void>;
}

const HOST = "127.0.0.1";

/** Starts PGlite with its data in `dataDir` (or in memory when null), listening on loopback. */
export async function startEmbeddedPostgres(dataDir: string | null): Promise<EmbeddedPostgres> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir ? { dataDir } : {});
  const server = await serve(db);
  return {
    url: `postgres://postgres@${HOST}:${server.port}/postgres`,
    address: `${HOST}:${server.port}`,
    async close() {
      await server.close();
      await db.close();
    },
  };
}

/**
 * pglite-socket's PGLiteSocketServer, but with a queue that keeps each connection's batches
 * whole (see pglite-serial-queue.ts): that server builds its own queue and takes no other, so
 * the listener is ours, while message framing and SSL and cancel requests stay in its handler.
 */
async function serve(db: PGlite): Promise<{ port: number; close(): Promise<void> }> {
  const queue: QueryQueue = new PGliteSerialQueue(db);
  // The option is typed as the library's own queue class, private fields and all; ours has its shape.
  const queryQueue = queue as PGLiteSocketHandlerOptions["queryQueue"];
  const handlers = new Set<PGLiteSocketHandler>();
  const server = net.createServer((socket) => {
    const handler = new PGLiteSocketHandler({ queryQueue, closeOnDetach: true });
    handlers.add(handler);
    const forget = () => handlers.delete(handler);
    handler.addEventListener("close", forget);
    handler.addEventListener("error", forget);
    handler.attach(socket).catch(() => {
      forget();
      socket.destroy();
    });
  });
  server.maxConnections = 100;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, HOST, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (err) => console.error(`aegis: embedded Postgres: ${err.message}`));
  return {
    port: (server.address() as net.AddressInfo).port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...handlers].map((handler) => handler.detach(true)));
      handlers.clear();
      await closed;
    },
  };
}
