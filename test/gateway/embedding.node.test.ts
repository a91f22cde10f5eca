// The README's embedding examples (examples/embedding/), run on Node as an app would run
// them: served by @hono/node-server on a real port, called over HTTP, with the store in
// memory and on the real Redis. A call is admitted with its RateLimit fields, the next
// past the burst is refused, a call without a key is a 401, and the usage is metered once.
// The Postgres example runs as a process too: it migrates an empty database, makes its
// tenant there, and its consumer stores the call in usage_records.

import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { serve } from "@hono/node-server";
import type { Hono } from "hono";
import pg from "pg";
import { afterAll, describe, expect, it, onTestFinished } from "vitest";
import { createScratchDatabase } from "../../scripts/lib/scratch-database";
import { RedisClient } from "../../src/redis/resp/client";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { dropPrefix } from "../limiter/conformance/redis-harness";
import { until } from "../support/wait";

const LIMITS = { ratePerMinute: 0, burst: 2, dailyUnits: null, timeZone: "UTC", shadow: false, routes: {} };
const TENANT = `tn${"embedexample".padEnd(16, "a")}`;

const ROOT = path.resolve(import.meta.dirname, "../..");
const servers: { close(): void }[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const s of servers) s.close();
  for (const child of children) child.kill("SIGKILL");
});

/** A port nothing listens on right now, on loopback. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/**
 * Runs an example as its "Run it" comment says (Node 24 from the devDependency, tsx, the
 * package name mapped to src/ by tsconfig.server.json's paths), and returns its URL and the
 * key it prints.
 */
async function runExample(file: string, env: Record<string, string> = {}): Promise<{ base: string; key: string }> {
  const port = await freePort();
  const child = spawn(path.join(ROOT, "node_modules/.bin/node"), ["--import", "tsx", file], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), TSX_TSCONFIG_PATH: "tsconfig.server.json" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} printed no key within 30 s: ${output}`)), 30_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /listening on (http:\/\/\S+); API key: (\S+)/.exec(output);
      if (m?.[1] && m[2]) {
        clearTimeout(timer);
        resolve({ base: m[1], key: m[2] });
      }
    };
    child.stdout?.on("data", read);
    child.stderr?.on("data", read);
    child.on("exit", (code) => reject(new Error(`${file} exited with ${code}: ${output}`)));
  });
}

/** Serves the example's app on an ephemeral port. */
async function listen(app: Hono<never>): Promise<string> {
  return new Promise((resolve) => {
    servers.push(
      serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => resolve(`http://127.0.0.1:${info.port}`)),
    );
  });
}

async function callsAgainstABurstOf2(base: string, key: string) {
  const call = (headers: Record<string, string>) => fetch(`${base}/v1/chat/completions`, { method: "POST", headers });
  const auth = { authorization: `Bearer ${key}` };
  const first = await call(auth);
  expect(first.status).toBe(200);
  expect(await first.json()).toEqual({ tenant: TENANT });
  // A bucket that never refills (0 a minute) is described over a day.
  expect(first.headers.get("ratelimit-policy")).toBe('"chat";q=2;w=86400');
  expect(first.headers.get("ratelimit")).toMatch(/^"chat";r=1;t=\d+$/);
  expect((await call(auth)).status).toBe(200);
  const limited = await call(auth);
  expect(limited.status).toBe(429);
  expect(limited.headers.get("content-type")).toBe("application/problem+json");
  expect(((await limited.json()) as { "violated-policies": string[] })["violated-policies"]).toEqual(["chat"]);
  const anonymous = await call({});
  expect(anonymous.status).toBe(401);
}

describe("embedding the limiter in a Node app", () => {
  it("with memoryStore(): admits the burst, refuses the next, and hands each call's usage over once", async () => {
    const example = await import("../../examples/embedding/memory");
    const key = await example.addTenant(TENANT, LIMITS);
    await callsAgainstABurstOf2(await listen(example.app as never), key);
    await example.store.delivered();
    expect(example.usage.map((e) => [e.tenantId, e.route, e.units])).toEqual([
      [TENANT, "chat", 1],
      [TENANT, "chat", 1],
    ]);
    expect(example.store.drainUsage()).toEqual([]);
  });

  it("with the Redis store: admits the burst, refuses the next, and leaves the usage in the tenant's stream", async () => {
    const prefix = `embed-example-${crypto.randomUUID()}`;
    process.env.AEGIS_REDIS_PREFIX = prefix;
    process.env.REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";
    const example = await import("../../examples/embedding/redis");
    try {
      const key = await example.addTenant(TENANT, LIMITS);
      await callsAgainstABurstOf2(await listen(example.app as never), key);
      const stream = `${prefix}:{${TENANT}}:usage`;
      const entries = (await example.redis.send(["XRANGE", stream, "-", "+"])) as [string, string[]][];
      expect(entries).toHaveLength(2);
      const keys = await example.redis.send(["KEYS", `${prefix}:*`]);
      await example.redis.send(["DEL", ...(keys as string[])]);
    } finally {
      await example.redis.close();
    }
  });

  it("runs each example as its comment says: a process that prints a key the limiter accepts", async () => {
    const prefix = `embed-run-${crypto.randomUUID()}`;
    const url = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";
    // The Postgres example migrates this empty database itself, as it does on a deploy.
    const scratch = await createScratchDatabase("aegis_embed_run", { migrate: false });
    onTestFinished(async () => {
      // The examples first: a consumer still polling would re-create its stream after the drop.
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once("exit", () => resolve());
              child.kill("SIGKILL");
            }),
        ),
      );
      const client = new RedisClient({ url, connect: nodeSocket });
      await dropPrefix(client, prefix);
      await client.close();
      await scratch.drop();
    });
    const [memory, redis, postgres] = await Promise.all([
      runExample("examples/embedding/memory.ts"),
      runExample("examples/embedding/redis.ts", { AEGIS_REDIS_PREFIX: prefix, REDIS_URL: url }),
      runExample("examples/embedding/postgres.ts", {
        AEGIS_REDIS_PREFIX: `${prefix}:pg`,
        RATE_LIMIT_REDIS_URL: url,
        DATABASE_URL: scratch.url,
      }),
    ]);
    const tenants: string[] = [];
    for (const { base, key } of [memory, redis, postgres]) {
      const res = await fetch(`${base}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}` },
      });
      expect(res.status).toBe(200);
      tenants.push(((await res.json()) as { tenant: string }).tenant);
      expect(res.headers.get("ratelimit-policy")).toBe('"chat";q=10;w=10, "daily";q=1000;w=86400');
    }
    expect(tenants.slice(0, 2)).toEqual(["tnexampletenantaaa", "tnexampletenantaaa"]);
    // The Postgres example's tenant is a row it made, and its running consumer stores the call.
    const db = new pg.Client({ connectionString: scratch.url });
    await db.connect();
    try {
      const tenant = await db.query("SELECT name FROM tenants WHERE id = $1", [tenants[2]]);
      expect(tenant.rows).toEqual([{ name: "Example tenant" }]);
      await until("the call's usage in usage_records", async () => {
        const rows = await db.query("SELECT 1 FROM usage_records WHERE tenant_id = $1", [tenants[2]]);
        return rows.rowCount === 1;
      });
    } finally {
      await db.end();
    }
  }, 60_000);
});
