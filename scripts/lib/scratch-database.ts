// A throwaway Postgres database, migrated, on the machine's real server: for a test run or a benchmark.

import path from "node:path";
import pg from "pg";
import { migrateDatabase } from "../../src/db/node";
import { ROOT } from "./wrangler-dev";

export const SERVER_URL = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface ScratchDatabase {
  url: string;
  /** host:port of the server, for the WebSocket proxy's allow list. */
  address: string;
  drop(): Promise<void>;
}

/** Creates and (unless told not to) migrates a fresh database. Fails loudly, never skips, when Postgres is down. */
export async function createScratchDatabase(
  prefix: string,
  options: { migrate?: boolean } = {},
): Promise<ScratchDatabase> {
  const admin = new pg.Client({ connectionString: SERVER_URL, connectionTimeoutMillis: 5_000 });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(
      `this needs PostgreSQL at ${SERVER_URL} (set TEST_POSTGRES_URL to change it); connecting failed: ${String(err)}`,
    );
  }
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const server = new URL(SERVER_URL);
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const scratch: ScratchDatabase = {
    url: url.toString(),
    address: `${server.hostname}:${server.port || "5432"}`,
    async drop() {
      const c = new pg.Client({ connectionString: SERVER_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
  if (options.migrate !== false) {
    // The caller never gets a handle to a database whose migration failed: drop it here.
    await migrateDatabase(scratch.url, path.join(ROOT, "drizzle")).catch(async (err: unknown) => {
      await scratch.drop().catch(() => {});
      throw err;
    });
  }
  return scratch;
}
