// `npm run serve` checks every setting before it starts: a PORT that is not a port number is
// a one-line error naming it, with exit code 2, not a stack trace.

import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/lib/wrangler-dev";

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
