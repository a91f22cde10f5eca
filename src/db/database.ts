// The database type shared by the Neon (Workers) and pg (Node) clients.

import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type * as schema from "./schema";

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

/** A database handle and the function that releases its connections. */
export interface DatabaseHandle {
  db: Database;
  close(): Promise<void>;
}
