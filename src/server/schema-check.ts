// Before the self-hosted server listens: can it reach Postgres, and has the schema this code
// needs been migrated there? Either answer "no" stops it with what to run, instead of a
// server that says "listening" and answers every operator call with 500.

import type pg from "pg";
// The attribute: Deno (and Node without a loader) import JSON only when told it is JSON.
import journal from "../../drizzle/meta/_journal.json" with { type: "json" };
import { describeError } from "../core/errors";
import { appliedMigrations } from "../db/node";

/** Thrown when the database is out of reach or behind this code's migrations. */
export class DatabaseNotReadyError extends Error {
  override name = "DatabaseNotReadyError";
}

const where = (url: string) => {
  const u = new URL(url);
  return `${u.host}${u.pathname}`;
};

export async function checkDatabase(pool: pg.Pool, url: string): Promise<void> {
  let recorded: Set<number>;
  try {
    recorded = await appliedMigrations(pool);
  } catch (err) {
    throw new DatabaseNotReadyError(
      `cannot reach Postgres at ${where(url)} (${describeError(err)}): check DATABASE_URL and that the server is up`,
    );
  }
  const missing = journal.entries.filter((e) => !recorded.has(e.when)).map((e) => e.tag);
  if (missing.length > 0) {
    throw new DatabaseNotReadyError(
      `the database at ${where(url)} is not migrated (${missing.length} of ${journal.entries.length} migrations missing, ` +
        `from ${missing[0]}): run DATABASE_URL=... npm run db:migrate, then start again`,
    );
  }
}
