// A/B of two versions of the gateway on one bench:gateway route, side by side in one run.
//
//   AB_A=/path/to/worktree-a AB_B=/path/to/worktree-b npx tsx scripts/bench/gateway-ab.ts
//
// Each version runs from its own checkout (a git worktree with node_modules): this script
// imports that checkout's lib/gateway-setup.ts, so each gateway is built from its own
// src/. Both take the same upstream, seed their own tenants (AB_TENANTS, 1,000) and are
// warmed; then saturating loads (16 connections, AB_SECONDS each) alternate A, B, A, B ...
// for AB_ROUNDS rounds (6), and the summary gives each one's median and B/A.
//
// The keys' rotation goes on across a version's loads (AB_COLD=1, the default): its next
// load reaches tenants its last one did not, so while a version serves under AB_TENANTS /
// AB_SECONDS req/s (200 with the defaults: it comes back to a tenant after the other's load
// and its own, over 10 s) every call finds its object idle past workerd's 10 s and builds
// it, as bench:gateway's 1,000-tenant saturating loads do. AB_COLD=0 starts each load at the
// first key, as bench:gateway does. A line of wrangler's output holding AB_COUNT (unset:
// nothing counted) is counted per load, for a probe the versions print (a constructor's
// console.warn, say); one count for both gateways, so a line that arrives late counts in the
// next load. Each gateway has its own embedded PGlite: DATABASE_URL is ignored.
// Bounded: AB_ROUNDS x 2 loads of AB_SECONDS, start-up and seeding; a watchdog stops it.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type * as GatewaySetup from "./lib/gateway-setup";
import { loadWithKeys } from "./lib/keyed-load";
import { median, positiveInt } from "./stats";

const ROUNDS = positiveInt("AB_ROUNDS", 6);
const SECONDS = positiveInt("AB_SECONDS", 5);
const TENANTS = positiveInt("AB_TENANTS", 1_000);
const ROUTE = process.env.AB_ROUTE ?? "/bench/limited";
const COLD = process.env.AB_COLD !== "0";
const COUNT = process.env.AB_COUNT;
const checkouts: Record<string, string> = {};
for (const name of ["A", "B"]) {
  const dir = process.env[`AB_${name}`];
  if (!dir) throw new Error(`AB_${name}: the checkout to run as ${name} is required`);
  checkouts[name] = path.resolve(dir);
}
// Two gateways on one Postgres would migrate and seed it both: each takes an embedded one.
delete process.env.DATABASE_URL;

interface Version {
  url: string;
  keys: string[];
  next: number;
  rps: number[];
  stop(): Promise<void>;
}

let counted = 0;
const log = COUNT
  ? (line: string) => {
      if (line.includes(COUNT)) counted++;
    }
  : undefined;
const setupOf = (dir: string) =>
  import(path.join(dir, "scripts/bench/lib/gateway-setup.ts")) as Promise<typeof GatewaySetup>;
const setups = { A: await setupOf(checkouts.A as string), B: await setupOf(checkouts.B as string) };
const dataDir = mkdtempSync(path.join(tmpdir(), "aegis-ab-"));
const versions: Record<string, Version> = {};
const budgetMs = 300_000 + ROUNDS * 2 * (SECONDS + 5) * 1000;
const upstream = await setups.A.startBenchUpstream();
let cleaned: Promise<void> | null = null;
const cleanup = () => {
  cleaned ??= (async () => {
    for (const v of Object.values(versions)) await v.stop();
    await upstream.close();
    rmSync(dataDir, { recursive: true, force: true });
  })();
  return cleaned;
};
// A hung wrangler must not keep the machine busy.
const watchdog = setTimeout(() => {
  console.error(`gateway-ab: over its ${budgetMs / 1000} s budget, stopping`);
  void cleanup().finally(() => process.exit(1));
}, budgetMs);
try {
  for (const [name, setup] of Object.entries(setups)) {
    // wrangler at warn level: at info it prints a line per request, which the loads would feel.
    const gateway = await setup.startBenchGateway(path.join(dataDir, name), upstream, false, log);
    const version: Version = { url: gateway.url, keys: [], next: 0, rps: [], stop: () => gateway.stop() };
    versions[name] = version;
    version.keys = await setup.seedTenants(gateway.database.url, gateway.keySigningSecret, TENANTS, setup.QUOTA);
    await setup.warm(`${gateway.url}${ROUTE}`, version.keys);
  }
  console.log(
    `A ${checkouts.A}, B ${checkouts.B}: ${ROUTE}, ${TENANTS} tenants, ${COLD ? "rotation carried across loads" : "each load from the first key"}`,
  );
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [name, v] of Object.entries(versions)) {
      const before = counted;
      const { result, next } = await loadWithKeys(`${v.url}${ROUTE}`, v.keys, {
        connections: 16,
        seconds: SECONDS,
        start: COLD ? v.next : 0,
      });
      v.next = next;
      v.rps.push(result.requests.average);
      const probe = log ? `, ${counted - before} lines with ${COUNT}` : "";
      console.log(
        `round ${round} ${name}: ${result.requests.average.toFixed(1)} req/s, ${result.requests.total} requests${probe}, failed ${result.non2xx + result.errors}`,
      );
    }
  }
  const a = median(versions.A?.rps ?? []);
  const b = median(versions.B?.rps ?? []);
  console.log(
    `\nmedians of ${ROUNDS} rounds: A ${a.toFixed(1)} req/s, B ${b.toFixed(1)} req/s, B/A ${(b / a).toFixed(2)}`,
  );
} finally {
  clearTimeout(watchdog);
  await cleanup();
}
