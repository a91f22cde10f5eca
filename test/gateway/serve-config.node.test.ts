// `npm run serve` checks every setting before it starts: a PORT that is not a port number is
// a one-line error naming it, with exit code 2, not a stack trace; and it listens only once
// Postgres answers with a migrated schema, else it says what to run.

import { spawnSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "../../scripts/lib/scratch-database";
import { ROOT } from "../../scripts/lib/wrangler-dev";
import { DatabaseNotReadyError, startSelfHosted } from "../../src/server";

let empty: ScratchDatabase;
beforeAll(async () => {
  empty = await createScratchDatabase("aegis_unmigrated", { migrate: false });
});
afterAll(async () => {
  await empty?.drop();
});

const serve = (env: Record<string, string>) =>
  spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "src", "server", "main.ts")], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", ...env },
    encoding: "utf8",
    timeout: 30_000,
  });

describe("npm run serve's settings", () => {
  it.each(["abc", "70000", "-1", "80.5"])("refuses PORT=%s with a clear error", (port) => {
    const run = serve({
      PORT: port,
      DATABASE_URL: "postgres://postgres@127.0.0.1:5432/postgres",
      RATE_LIMIT_REDIS_URL: "redis://127.0.0.1:6379",
    });
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toMatch(/^aegis-edge: invalid configuration: PORT: /);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("npm run serve's database check", () => {
  it("stops on an unmigrated database, saying to run db:migrate, with exit code 2", () => {
    const run = serve({ PORT: "0", DATABASE_URL: empty.url, RATE_LIMIT_REDIS_URL: "redis://127.0.0.1:6379" });
    expect(run.status).toBe(2);
    const where = `${new URL(empty.url).host}${new URL(empty.url).pathname}`;
    // The warnings of a start without ADMIN_TOKEN come first; the reason it stopped is last.
    expect(run.stderr.trim().split("\n").at(-1)).toMatch(
      new RegExp(
        `^aegis-edge: the database at ${where} is not migrated \\(\\d+ of \\d+ migrations missing, from 0000_init\\): run DATABASE_URL=\\.\\.\\. npm run db:migrate`,
      ),
    );
    expect(run.stdout).not.toContain("listening");
  });

  it("stops when Postgres can't be reached, naming where it looked", async () => {
    // Port 9 (discard) on loopback: nothing listens there.
    const start = startSelfHosted({
      env: { DATABASE_URL: "postgres://postgres@127.0.0.1:9/aegis", RATE_LIMIT_REDIS_URL: "redis://127.0.0.1:6379" },
      port: 0,
    });
    await expect(start).rejects.toBeInstanceOf(DatabaseNotReadyError);
    await expect(start).rejects.toThrow(/^cannot reach Postgres at 127\.0\.0\.1:9\/aegis \(.+\): check DATABASE_URL/);
  });
});
