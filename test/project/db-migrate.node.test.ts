// `npm run db:migrate` says what it did: on an empty database, every migration it applied by
// name; run again, that it is up to date and how many were applied before.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "../../scripts/lib/scratch-database";
import { ROOT } from "../../scripts/lib/wrangler-dev";

const journal = JSON.parse(readFileSync(path.join(ROOT, "drizzle", "meta", "_journal.json"), "utf8")) as {
  entries: { tag: string }[];
};
let scratch: ScratchDatabase;

beforeAll(async () => {
  scratch = await createScratchDatabase("aegis_db_migrate", { migrate: false });
});
afterAll(async () => {
  await scratch?.drop();
});

const migrate = () =>
  spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts", "migrate.ts")], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", DATABASE_URL: scratch.url },
    encoding: "utf8",
    timeout: 60_000,
  });

describe("npm run db:migrate", () => {
  it("names the migrations it applied, then says the database is up to date", () => {
    const where = `${new URL(scratch.url).host}${new URL(scratch.url).pathname}`;
    const tags = journal.entries.map((e) => e.tag);
    expect(tags.length).toBeGreaterThan(5);
    const first = migrate();
    expect(first.status).toBe(0);
    expect(first.stdout.trim()).toBe(`db:migrate: applied ${tags.length} to ${where}: ${tags.join(", ")}`);
    const again = migrate();
    expect(again.status).toBe(0);
    expect(again.stdout.trim()).toBe(`db:migrate: ${where} is up to date (${tags.length} migrations applied before)`);
  });
});
