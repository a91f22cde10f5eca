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
  await migrateDatabase(url, folder);
  console.log(`db:migrate: ${new URL(url).host}${new URL(url).pathname} is up to date`);
} catch (err) {
  console.error(`db:migrate: failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
