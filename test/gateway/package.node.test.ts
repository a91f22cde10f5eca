// The package as a user gets it: `npm run build`, `npm pack`, then a fresh project installs
// the tarball, imports every entry point under Node, type-checks against its declarations,
// and runs the `aegis` bin.

import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/lib/wrangler-dev";

const run = promisify(execFile);
const bin = (name: string) => path.join(ROOT, "node_modules", ".bin", name);
let dir = "";
let app = "";

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "aegis-pack-"));
  app = path.join(dir, "app");
  await run("npm", ["run", "build"], { cwd: ROOT, timeout: 120_000 });
  await run("npm", ["pack", "--pack-destination", dir], { cwd: ROOT, timeout: 60_000 });
  const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"));
  if (!tarball) throw new Error("npm pack made no tarball");
  await run("mkdir", ["-p", app]);
  writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  // The dependencies come from npm's cache, which installing this repository filled.
  await run(
    "npm",
    ["install", path.join(dir, tarball), "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"],
    { cwd: app, timeout: 120_000 },
  );
}, 240_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the packed package", () => {
  it("imports every entry point under Node", async () => {
    writeFileSync(
      path.join(app, "check.mjs"),
      `const out = {};
for (const e of ["aegis-edge", "aegis-edge/hono", "aegis-edge/client", "aegis-edge/redis", "aegis-edge/redis/node-socket", "aegis-edge/server"]) {
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
      expect.arrayContaining(["RedisLimiterStore", "RedisClient", "RedisCluster", "UsageStreamConsumer"]),
    );
    expect(exports["aegis-edge/redis/node-socket"]).toContain("nodeSocket");
    expect(exports["aegis-edge/server"]).toContain("startSelfHosted");
  });

  it("type-checks a consumer against its declarations", async () => {
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
        "check.ts",
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

  it("installs the aegis bin", async () => {
    const { stdout } = await run(bin("node"), [path.join(app, "node_modules", ".bin", "aegis"), "--help"], {
      cwd: app,
      timeout: 30_000,
    });
    expect(stdout).toContain("usage: aegis <command>");
  });
});
