// Runs the whole gateway locally: embedded Postgres (unless DATABASE_URL is set), the
// WebSocket proxy the Neon driver needs, a demo upstream (unless UPSTREAM_URL is set) and
// the Worker under wrangler dev. Used by `npm start`, the benchmarks and the start test.

import { randomBytes } from "node:crypto";
import path from "node:path";
import { CONFIG_KEYS } from "../../src/config";
import { migrateDatabase } from "../../src/db/node";
import { startDemoUpstream } from "./demo-upstream";
import { startEmbeddedPostgres } from "./embedded-postgres";
import { localAdminToken, localKeySigningSecret, localMetricsToken } from "./local-secret";
import { ROOT, startWranglerDev } from "./wrangler-dev";
import { startWsProxy } from "./ws-proxy";

export { ROOT };

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
  /** wrangler's log level; "warn" drops the line it prints per request. */
  logLevel?: "info" | "warn" | "error";
  /** Extra variables for the Worker, over `env`. */
  vars?: Record<string, string>;
  /**
   * Where the API keys' signing secret is kept between runs when KEY_SIGNING_SECRET is not
   * set; without it, a fresh secret is made for this run.
   */
  keySigningSecretFile?: string;
  /**
   * Where the metrics token is kept between runs when METRICS_TOKEN is not set; without it
   * (and without METRICS_TOKEN) the Worker serves no /metrics of its own.
   */
  metricsTokenFile?: string;
  /** Where the generated operator token is kept between runs, when ADMIN_TOKEN is not set. */
  adminTokenFile?: string;
}

export interface LocalGateway {
  url: string;
  /** wrangler dev's V8 inspector port (for profiling: scripts/bench/profile-gateway.ts). */
  inspectorPort: number;
  /** wrangler dev's process group (wrangler and workerd), for CPU accounting. */
  processGroup: number;
  adminToken: string;
  /** The secret that signs new API keys: KEY_SIGNING_SECRET's first, or the local one. */
  keySigningSecret: string;
  /** The bearer token of GET /metrics: METRICS_TOKEN, or the local one; null when there is none. */
  metricsToken: string | null;
  database: { url: string; embedded: boolean };
  upstream: { url: string; demo: boolean };
  stop(): Promise<void>;
}

function isNeonHost(url: string): boolean {
  try {
    return new URL(url).hostname.endsWith(".neon.tech");
  } catch {
    return false;
  }
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
    const warn = (message: string) => console.warn(`aegis: ${message}`);
    const adminToken =
      env.ADMIN_TOKEN ||
      (options.adminTokenFile
        ? localAdminToken(options.adminTokenFile, warn)
        : `adm_${randomBytes(24).toString("base64url")}`);
    const keySigningSecret = env.KEY_SIGNING_SECRET || localKeySigningSecret(options.keySigningSecretFile);
    const metricsToken =
      env.METRICS_TOKEN || (options.metricsTokenFile ? localMetricsToken(options.metricsTokenFile, warn) : null);

    const vars: Record<string, string> = {};
    for (const key of CONFIG_KEYS) {
      const value = env[key];
      if (value) vars[key] = value;
    }
    Object.assign(
      vars,
      {
        DATABASE_URL: databaseUrl,
        UPSTREAM_URL: upstreamUrl,
        ADMIN_TOKEN: adminToken,
        KEY_SIGNING_SECRET: keySigningSecret,
        ...(metricsToken ? { METRICS_TOKEN: metricsToken } : {}),
      },
      options.vars,
    );
    if (wsProxy) vars.NEON_WS_PROXY = wsProxy;

    const dev = await startWranglerDev({
      port: options.port,
      vars,
      persistTo: options.persistTo,
      logLevel: options.logLevel,
      log: options.log,
    });
    cleanups.push(() => dev.stop());
    const url = dev.url;
    return {
      url,
      inspectorPort: dev.inspectorPort,
      processGroup: dev.pid,
      adminToken,
      keySigningSecret: keySigningSecret.split(",")[0]?.trim() ?? keySigningSecret,
      metricsToken,
      database: { url: databaseUrl, embedded },
      upstream: { url: upstreamUrl, demo },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
