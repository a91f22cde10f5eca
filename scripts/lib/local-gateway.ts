// Runs the whole gateway locally: embedded Postgres (unless DATABASE_URL is set), the
// WebSocket proxy the Neon driver needs, a demo upstream (unless UPSTREAM_URL is set) and
// the Worker under wrangler dev. Used by `npm start`, the benchmarks and the start test.

import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CONFIG_KEYS } from "../../src/config";
import { migrateDatabase } from "../../src/db/node";
import { startDemoUpstream } from "./demo-upstream";
import { startEmbeddedPostgres } from "./embedded-postgres";
import { freePort } from "./free-port";
import { startWsProxy } from "./ws-proxy";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface LocalGatewayOptions {
  /** Port for the gateway; 0 picks a free one. */
  port: number;
  /** Where configuration comes from, usually process.env. */
  env: Record<string, string | undefined>;
  /** PGlite data directory, or null for an in-memory database. Ignored with DATABASE_URL. */
  pgliteDir: string | null;
  /** wrangler dev's persistence directory (Durable Object storage). */
  persistTo: string;
  /** Receives every line wrangler prints. */
  log?: (line: string) => void;
  /** Extra variables for the Worker, over `env`. */
  vars?: Record<string, string>;
}

export interface LocalGateway {
  url: string;
  adminToken: string;
  database: { url: string; embedded: boolean };
  upstream: { url: string; demo: boolean };
  stop(): Promise<void>;
}

/** Formats a dotenv line that wrangler reads back verbatim. */
function envLine(key: string, value: string): string {
  if (!value.includes("'") && !value.includes("\n")) return `${key}='${value}'`;
  return `${key}=${JSON.stringify(value)}`;
}

function isNeonHost(url: string): boolean {
  try {
    return new URL(url).hostname.endsWith(".neon.tech");
  } catch {
    return false;
  }
}

async function waitUntilReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with code ${child.exitCode} before it was ready`);
    try {
      const res = await fetch(`${url}/openapi.json`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`wrangler dev did not answer on ${url} within ${timeoutMs / 1000} s`);
}

export async function startLocalGateway(options: LocalGatewayOptions): Promise<LocalGateway> {
  const cleanups: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (err) {
        console.error(`aegis: cleanup failed: ${String(err)}`);
      }
    }
    cleanups.length = 0;
  };
  try {
    const env = options.env;
    let databaseUrl = env.DATABASE_URL;
    let wsProxy = env.NEON_WS_PROXY;
    const embedded = !databaseUrl;
    if (!databaseUrl) {
      const pg = await startEmbeddedPostgres(options.pgliteDir);
      cleanups.push(() => pg.close());
      databaseUrl = pg.url;
    }
    await migrateDatabase(databaseUrl, path.join(ROOT, "drizzle"));
    if (!wsProxy && !isNeonHost(databaseUrl)) {
      const db = new URL(databaseUrl);
      const proxy = await startWsProxy({ allow: [`${db.hostname}:${db.port || "5432"}`] });
      cleanups.push(() => proxy.close());
      wsProxy = proxy.address;
    }
    let upstreamUrl = env.UPSTREAM_URL;
    const demo = !upstreamUrl;
    if (!upstreamUrl) {
      const upstream = await startDemoUpstream();
      cleanups.push(() => upstream.close());
      upstreamUrl = upstream.url;
    }
    const adminToken = env.ADMIN_TOKEN || `adm_${randomBytes(24).toString("base64url")}`;
    const port = options.port || (await freePort());

    const vars: Record<string, string> = {};
    for (const key of CONFIG_KEYS) {
      const value = env[key];
      if (value) vars[key] = value;
    }
    Object.assign(
      vars,
      { DATABASE_URL: databaseUrl, UPSTREAM_URL: upstreamUrl, ADMIN_TOKEN: adminToken },
      options.vars,
    );
    if (wsProxy) vars.NEON_WS_PROXY = wsProxy;

    // Secrets go through a private file, not the command line, where `ps` would show them.
    mkdirSync(options.persistTo, { recursive: true });
    const envFile = path.join(options.persistTo, `worker-${port}.env`);
    writeFileSync(
      envFile,
      `${Object.entries(vars)
        .map(([k, v]) => envLine(k, v))
        .join("\n")}\n`,
      { mode: 0o600 },
    );
    chmodSync(envFile, 0o600);
    cleanups.push(() => rmSync(envFile, { force: true }));

    const wranglerPkg = createRequire(import.meta.url).resolve("wrangler/package.json");
    const wranglerBin = path.join(path.dirname(wranglerPkg), "bin", "wrangler.js");
    const child = spawn(
      process.execPath,
      [
        wranglerBin,
        "dev",
        "--ip",
        "127.0.0.1",
        "--port",
        String(port),
        "--inspector-port",
        String(await freePort()),
        "--persist-to",
        options.persistTo,
        "--env-file",
        envFile,
        "--show-interactive-dev-session=false",
        "--log-level",
        "info",
      ],
      {
        cwd: ROOT,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0" },
      },
    );
    cleanups.push(() => stopChild(child));
    const log = options.log ?? (() => {});
    for (const stream of [child.stdout, child.stderr]) {
      let buffered = "";
      stream?.on("data", (chunk: Buffer) => {
        buffered += chunk.toString("utf8");
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines) log(line);
      });
    }
    const url = `http://127.0.0.1:${port}`;
    await waitUntilReady(url, child, 90_000);
    return { url, adminToken, database: { url: databaseUrl, embedded }, upstream: { url: upstreamUrl, demo }, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Stops wrangler and the workerd it started (the whole process group). */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), sig);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  const timer = setTimeout(() => signal("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}
