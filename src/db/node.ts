// The Node database client: node-postgres, for scripts, migrations and the self-hosted server.

import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import type { DatabaseHandle } from "./database";
import * as schema from "./schema";

export function openNodeDatabase(url: string, max = 10): DatabaseHandle & { pool: pg.Pool } {
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 5_000 });
  pool.on("error", () => {});
  return { db: drizzle({ client: pool, schema }), pool, close: () => pool.end() };
}

/** Applies the migrations in `folder` (the generated drizzle/ directory). Safe to repeat. */
export async function migrateDatabase(url: string, folder: string): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 5_000 });
  try {
    await migrate(drizzle({ client: pool }), { migrationsFolder: folder });
  } finally {
    await pool.end();
  }
}
