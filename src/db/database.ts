// The database type shared by the Neon (Workers) and pg (Node) clients.

import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type * as schema from "./schema";

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

/** The handle inside `db.transaction(async (tx) => ...)`. */
export type Transaction = Parameters<Parameters<Database["transaction"]>[0]>[0];

/** A database handle and the function that releases its connections. */
export interface DatabaseHandle {
  db: Database;
  close(): Promise<void>;
}

/**
 * The rows of a raw `db.execute()`. Both drivers answer with a pg-style result, but the
 * shared database type cannot say so; this checks instead of assuming.
 */
export function rowsOf<T>(result: unknown): T[] {
  const rows = (result as { rows?: unknown } | null)?.rows;
  if (!Array.isArray(rows)) throw new Error("the database driver returned a result without rows");
  return rows as T[];
}
