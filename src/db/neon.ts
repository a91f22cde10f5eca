// The Workers database client: the Neon serverless driver over WebSockets.

import { neonConfig, Pool } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-serverless";
import type { DatabaseHandle } from "./database";
import * as schema from "./schema";

let proxyConfigured: string | undefined;

/**
 * Opens a small pool for one request or one alarm. A Worker cannot share sockets across
 * requests, so the caller closes it when done (usually in `waitUntil`).
 *
 * `wsProxy` points the driver at a local WebSocket-to-TCP proxy for a plain Postgres; it is
 * for local development and tests. Without it the driver talks to Neon directly.
 */
export function openNeonDatabase(url: string, wsProxy?: string): DatabaseHandle {
  if (wsProxy && proxyConfigured !== wsProxy) {
    neonConfig.wsProxy = wsProxy;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
    proxyConfigured = wsProxy;
  }
  // One connection: a request or a snapshot load runs its queries one after another anyway.
  const pool = new Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 5_000 });
  // A broken idle connection must not surface as an unhandled error event.
  pool.on("error", () => {});
  return { db: drizzle({ client: pool, schema }), close: () => pool.end() };
}
