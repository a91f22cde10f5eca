// The local gateway as the gateway benchmarks run it: a tiny upstream that answers at once,
// the Worker under wrangler dev with a public and a limited bench route, tenants seeded
// straight in Postgres and warmed. Shared by bench:gateway and bench:profile.

import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { newApiKey } from "../../../src/core/api-keys";
import { newKeyId, newTenantId, sha256Hex } from "../../../src/core/secrets";
import { openNodeDatabase } from "../../../src/db/node";
import { apiKeys, tenantQuotas, tenants } from "../../../src/db/schema";
import { type LocalGateway, startLocalGateway } from "../../lib/local-gateway";
import { ROOT, startWranglerDev, type WranglerDev } from "../../lib/wrangler-dev";
import { QUOTA } from "./bench-quota";

export { QUOTA };
// Also far above the bench: a day of 10^12 units, 10^8 requests a minute, 10^6 in flight.
export const QUOTA_V2 = {
  ...QUOTA,
  dailyUnits: 1_000_000_000_000 as number | null,
  requestsPerMinute: 100_000_000 as number | null,
  requestBurst: 1_000_000 as number | null,
  maxConcurrent: 1_000_000 as number | null,
};

// QUOTA, in lease mode (issue 18): the gateway admits from leases of its limiter's units.
export const QUOTA_LEASED = { ...QUOTA, leases: true };

export interface BenchUpstream {
  url: string;
  close(): Promise<void>;
}

/** A keep-alive upstream that answers every request at once with a small JSON body. */
export async function startBenchUpstream(): Promise<BenchUpstream> {
  const body = JSON.stringify({ ok: true, usage: { total_tokens: 1 } });
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The gateway with /bench/open (limiter off, a `public` route) and /bench/limited (cost 1). */
/** The floor Worker (fixtures/floor-worker.ts) under wrangler dev, forwarding to `upstream`. */
export function startBenchFloor(
  dataDir: string,
  upstream: BenchUpstream,
  verbose: boolean,
  log?: (line: string) => void,
): Promise<WranglerDev> {
  return startWranglerDev({
    config: path.join(ROOT, "scripts/bench/fixtures/wrangler.floor.toml"),
    port: 0,
    vars: { UPSTREAM_URL: upstream.url },
    persistTo: path.join(dataDir, "floor"),
    logLevel: verbose ? "info" : "warn",
    log,
  });
}

export function startBenchGateway(
  dataDir: string,
  upstream: BenchUpstream,
  verbose: boolean,
  log?: (line: string) => void,
): Promise<LocalGateway> {
  return startLocalGateway({
    port: 0,
    env: { ...process.env, UPSTREAM_URL: upstream.url },
    pgliteDir: null,
    persistTo: path.join(dataDir, "gateway"),
    logLevel: verbose ? "info" : "warn",
    log,
    vars: {
      ROUTES: JSON.stringify([
        { path: "/bench/open", route: "open", public: true },
        { path: "/bench/limited", route: "bench", cost: 1 },
      ]),
    },
  });
}

/** Creates tenants and keys straight in Postgres; each limiter loads its tenant on first use. */
export async function seedTenants(
  databaseUrl: string,
  signingSecret: string,
  n: number,
  quota: typeof QUOTA | typeof QUOTA_V2 | typeof QUOTA_LEASED,
): Promise<string[]> {
  const handle = openNodeDatabase(databaseUrl, 4);
  const keys: string[] = [];
  try {
    for (let start = 0; start < n; start += 250) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(250, n - start) }, async () => {
          const id = newTenantId();
          const { key, prefix } = await newApiKey(id, signingSecret);
          return { id, key, prefix, hash: await sha256Hex(key) };
        }),
      );
      await handle.db.insert(tenants).values(batch.map((b, i) => ({ id: b.id, name: `bench ${start + i}` })));
      await handle.db.insert(tenantQuotas).values(batch.map((b) => ({ tenantId: b.id, ...quota })));
      await handle.db
        .insert(apiKeys)
        .values(batch.map((b) => ({ id: newKeyId(), tenantId: b.id, prefix: b.prefix, keyHash: b.hash })));
      keys.push(...batch.map((b) => b.key));
    }
  } finally {
    await handle.close();
  }
  return keys;
}

/** One request per key, to load every limiter; cold loads that time out (503) are retried. */
export async function warm(url: string, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 10) {
    await Promise.all(
      keys.slice(i, i + 10).map(async (key) => {
        for (let attempt = 1; ; attempt++) {
          const res = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
          await res.arrayBuffer();
          if (res.status === 200) return;
          if (res.status !== 503 || attempt === 5) throw new Error(`warm-up of ${url} got ${res.status}`);
        }
      }),
    );
  }
}
