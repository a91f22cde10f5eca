// The package as a user gets it: `npm pack` (whose prepack builds dist/), then a fresh Node app
// installs the tarball with npm and a fresh Bun app with `bun install`. The Node app imports
// every entry point, type-checks against the declarations and runs the `aegis` bin; both run
// the README's Postgres embedding example, as shipped in the package, against the real Redis
// and a fresh Postgres database: one call is admitted, the next is limited, and the usage
// reaches usage_records.

import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import journal from "../../drizzle/meta/_journal.json" with { type: "json" };
import { createScratchDatabase } from "../../scripts/lib/scratch-database";
import { ROOT } from "../../scripts/lib/wrangler-dev";
import { RedisClient } from "../../src/redis/resp/client";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { dropPrefix } from "../limiter/conformance/redis-harness";
import { TEST_REDIS_URL } from "../support/test-gateway";

const run = promisify(execFile);
const bin = (name: string) => path.join(ROOT, "node_modules", ".bin", name);
let dir = "";
let app = "";
let bunApp = "";
let files: string[] = [];

/** A fresh app that depends on nothing yet. */
function freshApp(name: string): string {
  const at = path.join(dir, name);
  mkdirSync(at);
  writeFileSync(path.join(at, "package.json"), JSON.stringify({ name, private: true, type: "module" }));
  return at;
}

/**
 * Drives the example as an app would use it: migrates with the package's own migrations,
 * creates a tenant whose bucket holds one call and never refills, starts the usage consumer,
 * calls the app twice, and closes, which stores the usage. Prints what it saw as the last line.
 */
const DRIVER = `import { migrateDatabase } from "aegis-edge/postgres";
const migrated = await migrateDatabase(process.env.DATABASE_URL ?? "");
const { addTenantWithKey, app, close, usage } = await import("./postgres.ts");
const { tenantId, key } = await addTenantWithKey("Package test", { ratePerMinute: 0, burst: 1, dailyUnits: null });
const call = () => app.request("/v1/chat/completions", { method: "POST", headers: { authorization: "Bearer " + key } });
usage.start();
const first = await call();
const second = await call();
// close() stops the running consumer, whose last poll stores what the calls wrote.
await close();
console.log(JSON.stringify({ applied: migrated.applied.length, tenantId, first: [first.status, await first.json()], second: second.status }));
`;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "aegis-pack-"));
  rmSync(path.join(ROOT, "dist"), { recursive: true, force: true });
  // No build first: the package's prepack builds dist/.
  await run("npm", ["pack", "--pack-destination", dir], { cwd: ROOT, timeout: 120_000 });
  const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"));
  if (!tarball) throw new Error("npm pack made no tarball");
  files = (await run("tar", ["-tzf", path.join(dir, tarball)])).stdout.split("\n").filter(Boolean);
  app = freshApp("app");
  bunApp = freshApp("bun-app");
  await Promise.all([
    // The dependencies come from npm's cache, which installing this repository filled.
    run(
      "npm",
      ["install", path.join(dir, tarball), "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"],
      { cwd: app, timeout: 120_000 },
    ),
    // Bun's own cache, else the registry (the one test that leaves loopback: see the README).
    run(bin("bun"), ["install", "--prefer-offline", path.join(dir, tarball)], { cwd: bunApp, timeout: 120_000 }),
  ]);
  for (const at of [app, bunApp]) {
    copyFileSync(path.join(at, "node_modules/aegis-edge/examples/embedding/postgres.ts"), path.join(at, "postgres.ts"));
    writeFileSync(path.join(at, "run.ts"), DRIVER);
  }
}, 240_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the packed package", () => {
  it("ships the builds, migrations, dashboards, docs and examples, and no tests or local data", () => {
    expect(existsSync(path.join(ROOT, "dist", "postgres.js")), "prepack built dist/").toBe(true);
    const shipped = files.map((f) => f.replace(/^package\//, ""));
    for (const file of [
      "package.json",
      "README.md",
      "wrangler.toml",
      "dist/server.js",
      "dist/postgres.js",
      "dist/types/postgres.d.ts",
      "drizzle/meta/_journal.json",
      "dashboards/aegis-fleet.json",
      "docs/http-api.md",
      "examples/embedding/postgres.ts",
    ]) {
      expect(shipped).toContain(file);
    }
    const stray = shipped.filter((f) => /^(src|test|scripts|\.aegis|test-artifacts|node_modules)\//.test(f));
    expect(stray).toEqual([]);
  });

  it("imports every entry point under Node", async () => {
    writeFileSync(
      path.join(app, "check.mjs"),
      `const out = {};
for (const e of ["aegis-edge", "aegis-edge/hono", "aegis-edge/client", "aegis-edge/redis", "aegis-edge/redis/node-socket", "aegis-edge/server", "aegis-edge/postgres"]) {
  out[e] = Object.keys(await import(e)).sort();
}
console.log(JSON.stringify(out));`,
    );
    const { stdout } = await run(bin("node"), ["check.mjs"], { cwd: app, timeout: 30_000 });
    const exports = JSON.parse(stdout) as Record<string, string[]>;
    expect(exports["aegis-edge"]).toEqual(expect.arrayContaining(["createGateway", "rateLimit", "recordUsage"]));
    expect(exports["aegis-edge/hono"]).toEqual(expect.arrayContaining(["rateLimit", "enforceRateLimit", "Problem"]));
    expect(exports["aegis-edge/client"]).toEqual(
      expect.arrayContaining(["AegisClient", "AegisAdmin", "AegisError", "HTTPError", "TimeoutError", "NetworkError"]),
    );
    expect(exports["aegis-edge/redis"]).toEqual(
      expect.arrayContaining([
        "RedisLimiterStore",
        "RedisClient",
        "RedisCluster",
        "UsageStreamConsumer",
        "UsageConsumerLoop",
      ]),
    );
    expect(exports["aegis-edge/redis/node-socket"]).toContain("nodeSocket");
    expect(exports["aegis-edge/server"]).toContain("startSelfHosted");
    expect(exports["aegis-edge/postgres"]).toEqual(
      expect.arrayContaining([
        "openDatabase",
        "migrateDatabase",
        "MIGRATIONS_FOLDER",
        "pooledSnapshots",
        "addTenant",
        "addApiKey",
        "loadConfig",
      ]),
    );
  });

  it("type-checks a consumer and the Postgres embedding example against its declarations", async () => {
    writeFileSync(
      path.join(app, "check.ts"),
      `import { AegisAdmin, AegisClient, type Tenant } from "aegis-edge/client";
import { RedisLimiterStore } from "aegis-edge/redis";
import { startSelfHosted } from "aegis-edge/server";
const admin = new AegisAdmin({ baseUrl: "http://x", token: "t" });
const t: Promise<Tenant> = admin.createTenant({ name: "x" });
void t; void new AegisClient({ baseUrl: "http://x", apiKey: "k" }); void RedisLimiterStore; void startSelfHosted;
// @ts-expect-error: the schema has no such field
void admin.createTenant({ nom: "x" });
// Outside Workers the package's root has no Durable Object class, and its types say so.
// @ts-expect-error: TenantLimiter is Workers-only
import { TenantLimiter } from "aegis-edge";
void TenantLimiter;
import { createGateway } from "aegis-edge";
void createGateway;
`,
    );
    // The example uses Node's APIs: the app gets their types from this repository's @types/node.
    const result = await run(
      bin("tsc"),
      [
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        "--target",
        "es2022",
        "--strict",
        "--noEmit",
        "--skipLibCheck",
        "--typeRoots",
        path.join(ROOT, "node_modules", "@types"),
        "--types",
        "node",
        "check.ts",
        "postgres.ts",
      ],
      { cwd: app, timeout: 60_000 },
    ).then(
      () => 0,
      (err: { code?: number; stdout?: string }) => {
        throw new Error(`tsc failed: ${err.stdout}`);
      },
    );
    expect(result).toBe(0);
  });

  it("installs the aegis bin, which runs under Node and Bun", async () => {
    const node = await run(bin("node"), [path.join(app, "node_modules", ".bin", "aegis"), "--help"], {
      cwd: app,
      timeout: 30_000,
    });
    expect(node.stdout).toContain("usage: aegis <command>");
    const bun = await run(bin("bun"), [path.join(bunApp, "node_modules", ".bin", "aegis"), "--help"], {
      cwd: bunApp,
      timeout: 30_000,
    });
    expect(bun.stdout).toContain("usage: aegis <command>");
  });

  it.each([
    ["Node", () => ({ cwd: app, command: bin("node") })],
    ["Bun", () => ({ cwd: bunApp, command: bin("bun") })],
  ])(
    "runs the Postgres embedding example under %s: admitted, then limited, and the usage is in Postgres",
    async (runtime, where) => {
      const { cwd, command } = where();
      const scratch = await createScratchDatabase(`aegis_pkg_${runtime.toLowerCase()}`, { migrate: false });
      const prefix = `aegis-pkg-${crypto.randomUUID().slice(0, 8)}`;
      onTestFinished(async () => {
        const redis = new RedisClient({ url: TEST_REDIS_URL, connect: nodeSocket });
        await dropPrefix(redis, prefix);
        await redis.close();
        await scratch.drop();
      });
      const { stdout } = await run(command, ["run.ts"], {
        cwd,
        timeout: 60_000,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          DATABASE_URL: scratch.url,
          RATE_LIMIT_REDIS_URL: TEST_REDIS_URL,
          AEGIS_REDIS_PREFIX: prefix,
          AEGIS_INSTANCE: `package-test-${runtime}`,
        },
      });
      const seen = JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as {
        applied: number;
        tenantId: string;
        first: [number, unknown];
        second: number;
      };
      // The fresh database got every migration the package ships, from the installed package.
      expect(seen.applied).toBe(journal.entries.length);
      expect(seen.first).toEqual([200, { tenant: seen.tenantId }]);
      expect(seen.second).toBe(429);

      const db = new pg.Client({ connectionString: scratch.url });
      await db.connect();
      try {
        const rows = await db.query<{ route: string; units: string }>(
          "SELECT route, units FROM usage_records WHERE tenant_id = $1",
          [seen.tenantId],
        );
        expect(rows.rows).toEqual([{ route: "chat", units: "1" }]);
      } finally {
        await db.end();
      }
    },
    90_000,
  );
});
