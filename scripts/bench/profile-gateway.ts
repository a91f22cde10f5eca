// Profile: where the limited call's CPU goes (issue 18), through the local gateway.
//
//   npm run bench:profile                      (limited, open and floor, 8 s each)
//   PROFILE_PERF=1 npm run bench:profile       (also workerd's native side, under perf)
//
// Starts the same local gateway as bench:gateway (wrangler dev, a tiny upstream), seeds a
// tenant (1,000 for the -1000 routes) and a tenant in lease mode, attaches to the Worker's V8 isolate through wrangler's inspector proxy and runs
// the CPU profiler (Chrome DevTools Protocol) while autocannon loads a route. Under wrangler
// dev the Worker and its Durable Objects share one isolate, so one profile holds both; the
// summary splits samples by the code on the stack (src/durable/ or not). Per route it prints
// the top functions by self and by inclusive time, a roll-up by source file (the bundle
// mapped back to src/ through its source map), native calls (sql.exec, crypto, fetch) by
// their JavaScript caller, and the samples outside JavaScript: (idle), (program) (workerd's
// C++ while the isolate is entered) and (garbage collector).
//
// The isolate is sampled only while V8 runs in it: most of workerd's CPU (HTTP, KJ, RPC,
// SQLite commits, miniflare's own isolates) is outside the profile. So the script also
// prints the CPU each process and thread of wrangler dev used during the load (/proc), and
// with PROFILE_PERF=1 loads each route again under Linux perf, by native category.
// wrangler dev runs two workerd: its proxy in front, and the runtime holding the Worker.
// The profiler itself costs (its v8:ProfEvntProc thread; the rate before it is printed).
//
// Routes: "limited" (GET /bench/limited, one tenant's key), "leased" (the same route, a tenant
// in lease mode: its calls admitted from the isolate's leases), "open" (GET /bench/open, the
// limiter off) and "floor" (bench:gateway's floor Worker, /floor/do: one RPC to a no-op
// Durable Object, the 0.90x target's base; a second wrangler dev, started only for it), and
// "limited-1000" and "floor-1000": the same with 1,000 tenants' keys rotated per request, so
// each call goes to another tenant's object (bench:gateway's 1,000-tenant rows).
// Settings: PROFILE_ROUTES (default "limited,open,floor"), PROFILE_SECONDS (8),
// PROFILE_CONNECTIONS (16), PROFILE_INTERVAL_US (sampling interval, 200), PROFILE_TOP (25),
// PROFILE_WARM_SECONDS (unprofiled warm-up per route, 3), PROFILE_PERF=1, PROFILE_ISOLATES=all
// (also workerd's other isolates, miniflare's plumbing, through workerd's own inspector; many
// profilers at once slow workerd a lot), PROFILE_OUT (a directory: also write each profile,
// frames mapped to src/, as .cpuprofile for Chrome DevTools), BENCH_VERBOSE.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ROOT, type WranglerDev } from "../lib/wrangler-dev";
import { CdpSession, listTargets } from "./lib/cdp";
import { type CpuProfile, FrameLocator, type ParsedScript, summarize } from "./lib/cpu-profile";
import {
  QUOTA,
  QUOTA_LEASED,
  seedTenants,
  startBenchFloor,
  startBenchGateway,
  startBenchUpstream,
  warm,
} from "./lib/gateway-setup";
import { loadWithKeys } from "./lib/keyed-load";
import { perfRecord, perfSummary } from "./lib/perf-record";
import { cpuDelta, groupCpuMs, groupProcesses } from "./lib/process-cpu";
import { pct, report } from "./lib/profile-report";
import { workerdTargets } from "./lib/workerd-inspector";
import { positiveInt } from "./stats";

const SECONDS = positiveInt("PROFILE_SECONDS", 8);
const CONNECTIONS = positiveInt("PROFILE_CONNECTIONS", 16);
const INTERVAL_US = positiveInt("PROFILE_INTERVAL_US", 200);
const TOP = positiveInt("PROFILE_TOP", 25);
const WARM_SECONDS = positiveInt("PROFILE_WARM_SECONDS", 3);
const OUT = process.env.PROFILE_OUT ? path.resolve(process.env.PROFILE_OUT) : null;
const ROUTES = (process.env.PROFILE_ROUTES ?? "limited,open,floor").split(",").map((r) => r.trim());
for (const r of ROUTES)
  if (!["limited", "leased", "open", "floor", "limited-1000", "floor-1000"].includes(r))
    throw new Error(`PROFILE_ROUTES: unknown route ${r}`);
const verbose = Boolean(process.env.BENCH_VERBOSE);
// Also profile workerd's other isolates (miniflare's plumbing), through workerd's inspector.
const ALL_ISOLATES = process.env.PROFILE_ISOLATES === "all";
// Also a second load per route under Linux perf (no V8 profiler): workerd's native side.
const PERF = process.env.PROFILE_PERF === "1";
const PERF_HZ = 999;
// Start-ups, seeding and warm-up take well under three minutes; the rest is the load itself.
const BUDGET_MS = 240_000 + ROUTES.length * (SECONDS * (PERF ? 2 : 1) + WARM_SECONDS + 90) * 1000;

interface Load {
  rps: number;
  calls: number;
  p50: number;
  p99: number;
  failed: number;
}

async function load(url: string, keys: string[] | null, seconds: number): Promise<Load> {
  const { result } = await loadWithKeys(url, keys, { connections: CONNECTIONS, seconds });
  return {
    rps: result.requests.average,
    calls: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: result.non2xx + result.errors,
  };
}

/** The scripts an isolate has loaded, from the events `Debugger.enable` sends for each. */
async function parsedScripts(session: CdpSession): Promise<ParsedScript[]> {
  const scripts: ParsedScript[] = [];
  session.on("Debugger.scriptParsed", (params) => scripts.push(params as ParsedScript));
  await session.send("Debugger.enable");
  await new Promise((r) => setTimeout(r, 500)); // events may trail the answer through the proxy
  await session.send("Debugger.disable");
  return scripts;
}

/** One wrangler dev under profile: its isolates' inspector sessions and their scripts. */
interface Attached {
  sessions: CdpSession[];
  scripts: ParsedScript[][];
}

async function attach(name: string, inspectorPort: number, pgid: number, sessions: CdpSession[]): Promise<Attached> {
  const targets = await listTargets(inspectorPort);
  console.log(
    `${name}: wrangler's inspector lists ${targets.map((t) => `"${t.title}" (${t.description ?? ""})`).join("; ")}`,
  );
  if (targets.length === 0) throw new Error(`${name}: the inspector lists no targets`);
  const own: CdpSession[] = [];
  for (const t of targets) own.push(await CdpSession.connect(t));
  // Where each isolate's scripts are on disk, for their source maps; the debugger is off
  // again before any load runs.
  const scripts = await Promise.all(own.map((x) => parsedScripts(x)));
  if (ALL_ISOLATES) {
    // workerd's own inspector, for the isolates wrangler's proxy does not show. The user
    // Worker's ("core:user:...") is left to the proxy, which holds a session to it already.
    const others = (await workerdTargets(pgid)).filter((t) => !t.id.startsWith("core:user:"));
    console.log(`${name}: workerd's inspector adds ${others.map((t) => t.id).join(", ") || "nothing"}`);
    for (const t of others) {
      own.push(await CdpSession.connect(t));
      scripts.push([]);
    }
  }
  sessions.push(...own);
  return { sessions: own, scripts };
}

/** The same load again, workerd under perf: where its CPU goes outside JavaScript. */
async function perfPass(route: string, url: string, keys: string[] | null, pgid: number): Promise<void> {
  const workerds = groupProcesses(pgid).filter((p) => p.name === "workerd");
  const file = path.join(dataDir, `${route}.perf.data`);
  const recording = await perfRecord(
    workerds.map((p) => p.pid),
    SECONDS,
    file,
    PERF_HZ,
  );
  if (!recording) {
    console.log("\n(perf is not installed: no native profile)");
    return;
  }
  const result = await load(url, keys, SECONDS);
  await recording.done();
  console.log(
    `\n#### ${route} under perf (no V8 profiler): ${result.rps.toFixed(0)} req/s, p50 ${result.p50} ms; self time by category and by symbol, per workerd`,
  );
  const cpuPerCall = (ms: number) => ((ms * 1000) / Math.max(1, result.calls)).toFixed(0);
  for (const p of workerds) {
    const role = p.cmdline.includes("--inspector-addr") ? "the Worker's runtime" : "wrangler's proxy in front";
    const s = await perfSummary(file, p.pid, TOP);
    // perf samples at a fixed rate while the thread runs: samples / rate is CPU time.
    console.log(
      `\nworkerd ${p.pid} (${role}): ${s.samples} samples, ~${cpuPerCall((s.samples / PERF_HZ) * 1000)} us CPU a call`,
    );
    console.log("| category | samples | share | us/call |\n|---|---:|---:|---:|");
    for (const [k, v] of s.categories) {
      console.log(`| ${k} | ${v} | ${pct(v, s.samples)} | ${cpuPerCall((v / PERF_HZ) * 1000)} |`);
    }
    console.log("| top symbols | samples | share | us/call |\n|---|---:|---:|---:|");
    for (const [k, v] of s.symbols) {
      console.log(
        `| ${k.replaceAll("|", "\\|").slice(0, 140)} | ${v} | ${pct(v, s.samples)} | ${cpuPerCall((v / PERF_HZ) * 1000)} |`,
      );
    }
  }
}

const dataDir = mkdtempSync(path.join(tmpdir(), "aegis-profile-"));
const upstream = await startBenchUpstream();
const log = verbose ? (line: string) => console.log(`[wrangler] ${line}`) : undefined;
const gateway = await startBenchGateway(dataDir, upstream, verbose, log);
const sessions: CdpSession[] = [];
let floor: WranglerDev | null = null;
let cleaned: Promise<void> | null = null;
const cleanup = () => {
  cleaned ??= (async () => {
    for (const s of sessions) s.close();
    await floor?.stop();
    await gateway.stop();
    await upstream.close();
    rmSync(dataDir, { recursive: true, force: true });
  })();
  return cleaned;
};
// Bounded: a hung inspector or wrangler must not keep the machine busy.
const watchdog = setTimeout(() => {
  console.error(`profile: over its ${BUDGET_MS / 1000} s budget, stopping`);
  void cleanup().finally(() => process.exit(1));
}, BUDGET_MS);
process.once("SIGINT", () => void cleanup().finally(() => process.exit(130)));
try {
  console.log(`gateway ${gateway.url}, inspector 127.0.0.1:${gateway.inspectorPort} (wrangler dev)`);
  const many = ROUTES.some((r) => r.endsWith("-1000"));
  const keys = await seedTenants(gateway.database.url, gateway.keySigningSecret, many ? 1_000 : 1, QUOTA);
  const leased = await seedTenants(gateway.database.url, gateway.keySigningSecret, 1, QUOTA_LEASED);
  const one = keys.slice(0, 1);
  await warm(`${gateway.url}/bench/limited`, [...keys, ...leased]);
  const gatewayAttached = await attach("gateway", gateway.inspectorPort, gateway.processGroup, sessions);
  let floorAttached: Attached | null = null;
  if (ROUTES.some((r) => r.startsWith("floor"))) {
    floor = await startBenchFloor(dataDir, upstream, verbose, log);
    await warm(`${floor.url}/floor/do`, keys);
    floorAttached = await attach("floor", floor.inspectorPort, floor.pid, sessions);
  }
  if (OUT) mkdirSync(OUT, { recursive: true });

  for (const route of ROUTES) {
    const onFloor = route.startsWith("floor");
    const url = onFloor ? `${floor?.url}/floor/do` : `${gateway.url}/bench/${route === "open" ? "open" : "limited"}`;
    const routeKeys = route === "open" ? null : route === "leased" ? leased : route.endsWith("-1000") ? keys : one;
    const attached = onFloor ? floorAttached : gatewayAttached;
    if (!attached) throw new Error(`${route}: no inspector attached`);
    // The JIT and the connections, unprofiled; its rate shows what the profiler costs.
    const unprofiled = await load(url, routeKeys, WARM_SECONDS);
    for (const s of attached.sessions) {
      await s.send("Profiler.enable");
      await s.send("Profiler.setSamplingInterval", { interval: INTERVAL_US });
      await s.send("Profiler.start");
    }
    const group = onFloor ? (floor?.pid ?? 0) : gateway.processGroup;
    const cpuBefore = groupCpuMs(group);
    const ownBefore = process.cpuUsage();
    const result = await load(url, routeKeys, SECONDS);
    const cpu = cpuDelta(cpuBefore, groupCpuMs(group));
    const own = process.cpuUsage(ownBefore);
    cpu.set("this process (autocannon, upstream, inspector client)", (own.user + own.system) / 1000);
    const profiles: CpuProfile[] = [];
    // A long profile is one large message; give it time.
    for (const s of attached.sessions) {
      profiles.push((await s.send<{ profile: CpuProfile }>("Profiler.stop", {}, 60_000)).profile);
      await s.send("Profiler.disable");
    }
    console.log(
      `\n## GET ${new URL(url).pathname}: ${result.rps.toFixed(0)} req/s at ${CONNECTIONS} connections for ${SECONDS} s, p50 ${result.p50} ms, p99 ${result.p99} ms, failed ${result.failed} (profiling at ${INTERVAL_US} us; ${unprofiled.rps.toFixed(0)} req/s unprofiled in the ${WARM_SECONDS} s warm-up before)`,
    );
    console.log("\nCPU used during the profiled load (/proc; user + system), by process and thread:");
    console.log("| process: thread | CPU ms | us/call |\n|---|---:|---:|");
    for (const [k, ms] of [...cpu].sort((a, b) => b[1] - a[1])) {
      console.log(`| ${k} | ${ms.toFixed(0)} | ${((ms * 1000) / Math.max(1, result.calls)).toFixed(0)} |`);
    }
    // The bundle and its source map live in .wrangler/tmp only while wrangler runs: map now.
    profiles.forEach((profile, i) => {
      const session = attached.sessions[i];
      if (!session) return;
      const locator = new FrameLocator(ROOT, attached.scripts[i]);
      // Written with frames mapped to src/: the bundle is gone once wrangler stops.
      if (OUT) writeFileSync(path.join(OUT, `${route}-${i}.cpuprofile`), JSON.stringify(locator.rewrite(profile)));
      const summary = summarize(profile, locator);
      const busy = summary.samples - (summary.special["(idle)"] ?? 0);
      // The plumbing's isolates that did nothing under this load get one line, not tables.
      if (i > 0 && busy < 20) console.log(`\n(isolate "${session.target.title}": ${busy} samples not idle)`);
      else report(route, session.target.title, summary, result.calls, TOP);
    });
    if (PERF) await perfPass(route, url, routeKeys, group);
  }
  if (OUT) console.log(`\nprofiles written to ${OUT}`);
} finally {
  clearTimeout(watchdog);
  await cleanup();
}
