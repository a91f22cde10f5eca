// `aegis-edge/postgres`: Postgres as the tenants' source of truth for an app that embeds the
// Redis limiter (Node, Bun, Deno through npm:; not Workers), as the self-hosted server uses it: open the database and
// apply the migrations the package ships, create tenants and keys, load them into the
// limiter (`pooledSnapshots`, for RedisLimiterStore's `loadSnapshot`), and hand a
// UsageStreamConsumer (`aegis-edge/redis`) the handle that stores usage.

import { fileURLToPath } from "node:url";
import type { DatabaseHandle } from "./db/database";
import { type MigrationRun, migrateDatabase as migrateFrom, openNodeDatabase } from "./db/node";

export { type Config, ConfigError, loadConfig } from "./config";
export type { Database, DatabaseHandle } from "./db/database";
export type { MigrationRun } from "./db/node";
export { addApiKey, addTenant, type NewTenant } from "./db/provision";
export { pooledSnapshots } from "./db/snapshot-source";
export type { KeyView, QuotaInput, TenantView } from "./db/tenants";

/**
 * The package's migrations (its `drizzle/` folder). This module sits one level below the
 * package root both as src/postgres.ts and as dist/postgres.js, which is what makes it so.
 */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../drizzle", import.meta.url).href);

/**
 * Applies the migrations this version needs (by default the package's own); safe to repeat,
 * and safe while another process serves. Run it once per deploy, before the app serves.
 *
 * @example
 * const run = await migrateDatabase(process.env.DATABASE_URL!);
 * console.log(`applied ${run.applied.length}; ${run.alreadyApplied} were applied before`);
 */
export function migrateDatabase(url: string, folder: string = MIGRATIONS_FOLDER): Promise<MigrationRun> {
  return migrateFrom(url, folder);
}

/**
 * A pool of up to `max` connections (node-postgres). `handle` is the same pool for a
 * UsageStreamConsumer's `openDatabase`, with a `close()` that leaves the pool open;
 * `close()` ends the pool.
 *
 * @example
 * const database = openDatabase(process.env.DATABASE_URL!);
 * const loadSnapshot = pooledSnapshots(database.db, loadConfig(process.env));
 * const consumer = new UsageStreamConsumer({ redis, openDatabase: () => database.handle, consumer: "app-1" });
 */
export function openDatabase(url: string, max = 10): DatabaseHandle & { handle: DatabaseHandle } {
  const { db, close } = openNodeDatabase(url, max);
  return { db, close, handle: { db, close: async () => {} } };
}
