// npm run db:migrate: applies drizzle/ to DATABASE_URL (any Postgres, Neon included).

import { fileURLToPath } from "node:url";
import { migrateDatabase } from "../src/db/node";

const url = process.env.DATABASE_URL;
if (!url) {
  console.error(
    "db:migrate: set DATABASE_URL to the Postgres to migrate, e.g. DATABASE_URL=postgres://... npm run db:migrate",
  );
  process.exit(2);
}
const folder = fileURLToPath(new URL("../drizzle", import.meta.url));
try {
  const run = await migrateDatabase(url, folder);
  const where = `${new URL(url).host}${new URL(url).pathname}`;
  if (run.applied.length === 0) {
    console.log(`db:migrate: ${where} is up to date (${run.alreadyApplied} migrations applied before)`);
  } else {
    console.log(`db:migrate: applied ${run.applied.length} to ${where}: ${run.applied.join(", ")}`);
  }
} catch (err) {
  // drizzle wraps the driver's error; the cause says what actually went wrong.
  const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : "";
  console.error(`db:migrate: failed: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}${cause}`);
  process.exit(1);
}
