// Embedded Postgres for local runs: PGlite served over the Postgres wire protocol.

import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { freePort } from "./free-port";

export interface EmbeddedPostgres {
  url: string;
  /** host:port, for the WebSocket proxy's allow list. */
  address: string;
  close(): Promise<void>;
}

/** Starts PGlite with its data in `dataDir` (or in memory when null), listening on loopback. */
export async function startEmbeddedPostgres(dataDir: string | null): Promise<EmbeddedPostgres> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir ? { dataDir } : {});
  const port = await freePort();
  const server = new PGLiteSocketServer({ db, port, host: "127.0.0.1", maxConnections: 100 });
  await server.start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    address: `127.0.0.1:${port}`,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}
