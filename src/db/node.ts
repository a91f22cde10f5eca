// The Node database client: node-postgres, for scripts, migrations and the self-hosted server.

import { readFileSync } from "node:fs";
import path from "node:path";
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

/** What a migration run did: the tags of the migrations it applied, and how many were there before. */
export interface MigrationRun {
  applied: string[];
  alreadyApplied: number;
}

/** Applies the migrations in `folder` (the generated drizzle/ directory). Safe to repeat. */
export async function migrateDatabase(url: string, folder: string): Promise<MigrationRun> {
  const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 5_000 });
  try {
    const before = await appliedMigrations(pool);
    await migrate(drizzle({ client: pool }), { migrationsFolder: folder });
    const after = await appliedMigrations(pool);
    // drizzle records each migration by its journal entry's `when`: that names it.
    const journal = JSON.parse(readFileSync(path.join(folder, "meta", "_journal.json"), "utf8")) as {
      entries: { tag: string; when: number }[];
    };
    const applied = journal.entries.filter((e) => after.has(e.when) && !before.has(e.when)).map((e) => e.tag);
    return { applied, alreadyApplied: before.size };
  } finally {
    await pool.end();
  }
}

/** The `created_at` of every migration drizzle has recorded (its journal entry's `when`); none before its first run. */
export async function appliedMigrations(pool: pg.Pool): Promise<Set<number>> {
  const exists = await pool.query<{ t: string | null }>("SELECT to_regclass('drizzle.__drizzle_migrations') AS t");
  if (!exists.rows[0]?.t) return new Set();
  const rows = await pool.query<{ created_at: string }>("SELECT created_at FROM drizzle.__drizzle_migrations");
  return new Set(rows.rows.map((r) => Number(r.created_at)));
}
