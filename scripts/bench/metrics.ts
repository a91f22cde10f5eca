// Benchmark: what the per-call metrics cost the self-hosted gateway. Two servers, each in a
// process of its own (lib/serve-child.ts), one counting metrics and one not
// (startSelfHosted's `metrics: false`), on the same Redis (each under its own prefix),
// Postgres and local upstream, take the same closed-loop load from this process in
// alternating rounds; the summary gives the median calls/s of each and their ratio, and the
// median CPU time each server process spent per call (user + system, from process.cpuUsage
// around each round), which the load on a shared machine moves far less than calls/s. The
// issue's target: the metrics cost at most 5%.
//
//   npm run bench:metrics     (BENCH_ROUNDS, BENCH_CALLS, BENCH_IN_FLIGHT tune it)

import { spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { createScratchDatabase } from "../lib/scratch-database";
import { closedLoop } from "./lib/closed-loop";
import { median, positiveInt } from "./stats";

const ROUNDS = positiveInt("BENCH_ROUNDS", 11);
const CALLS = positiveInt("BENCH_CALLS", 4000);
const IN_FLIGHT = positiveInt("BENCH_IN_FLIGHT", 32);
const REDIS = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";
const TOKEN = "bench-metrics-admin-token-0123456789";

/** An upstream that answers every call at once, with a usage report, as an inference server would. */
async function startUpstream(): Promise<{ url: string; close(): Promise<void> }> {
  const body = JSON.stringify({
    model: "bench-1",
    choices: [],
    usage: { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 },
  });
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(body));
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

interface Child {
  url: string;
  /** The child's CPU time so far, user + system, in microseconds. */
  cpuMicros(): Promise<number>;
  stop(): Promise<void>;
}

/** A gateway in a child process, started with `options`; resolves once it listens. */
async function serve(options: Record<string, unknown>): Promise<Child> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "scripts/bench/lib/serve-child.ts", JSON.stringify(options)],
    {
      stdio: ["ignore", "pipe", "inherit", "ipc"],
    },
  );
  if (!child.stdout) throw new Error("the gateway's stdout is not piped");
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the gateway exited with ${code} before listening`)));
    lines.on("line", (line) => {
      if (line.startsWith('{"url"')) resolve((JSON.parse(line) as { url: string }).url);
    });
  });
  return {
    url,
    cpuMicros: () =>
      new Promise<number>((resolve) => {
        child.once("message", (m) => {
          const { user, system } = (m as { cpu: NodeJS.CpuUsage }).cpu;
          resolve(user + system);
        });
        child.send("cpu");
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

async function tenantKey(server: Child): Promise<string> {
  const admin = (path: string, json: unknown) =>
    fetch(`${server.url}/admin/v1${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(json),
    }).then(async (r) => {
      if (r.status >= 300) throw new Error(`${path}: ${r.status} ${await r.text()}`);
      return (await r.json()) as { id: string; key: string };
    });
  // Limits no round can reach: the bench measures the work of a call, not refusals.
  const tenant = await admin("/tenants", {
    name: "bench",
    quota: { ratePerMinute: 1_000_000_000, burst: 1_000_000_000, dailyUnits: null },
  });
  return (await admin(`/tenants/${tenant.id}/keys`, {})).key;
}

const upstream = await startUpstream();
const scratch = await createScratchDatabase("aegis_bench_metrics");
const env = (prefix: string) => ({
  DATABASE_URL: scratch.url,
  RATE_LIMIT_REDIS_URL: REDIS,
  AEGIS_REDIS_PREFIX: prefix,
  ADMIN_TOKEN: TOKEN,
  METRICS_TOKEN: "bench-metrics-token-0123456789",
  KEY_SIGNING_SECRET: "bench-metrics-signing-secret-0123456789abcdef",
  UPSTREAM_URL: upstream.url,
  ROUTES: JSON.stringify([{ method: "POST", path: "/v1/chat/completions", route: "chat", cost: 1 }]),
});
const suffix = crypto.randomUUID().slice(0, 8);
const on = await serve({ env: env(`bench-on-${suffix}`), instance: "on", billing: false });
const off = await serve({ env: env(`bench-off-${suffix}`), instance: "off", billing: false, metrics: false });
try {
  const contenders = [
    { name: "metrics on", server: on, key: await tenantKey(on), perSecond: [] as number[], cpu: [] as number[] },
    { name: "metrics off", server: off, key: await tenantKey(off), perSecond: [] as number[], cpu: [] as number[] },
  ];
  const body = JSON.stringify({ model: "bench-1", messages: [{ role: "user", content: "hi" }] });
  // One round each first, not counted: both servers' code is compiled hot before measuring.
  for (let round = -1; round < ROUNDS; round++) {
    // Alternate which goes first, so neither always meets a warmer or a busier machine.
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const c of order) {
      const cpuBefore = await c.server.cpuMicros();
      const r = await closedLoop(
        async () => {
          const res = await fetch(`${c.server.url}/v1/chat/completions`, {
            method: "POST",
            headers: { authorization: `Bearer ${c.key}`, "content-type": "application/json" },
            body,
          });
          await res.arrayBuffer();
          if (res.status !== 200) throw new Error(`${c.name}: answered ${res.status}`);
          return true;
        },
        { calls: CALLS, inFlight: IN_FLIGHT, maxMs: 60_000 },
      );
      const cpuPerCall = ((await c.server.cpuMicros()) - cpuBefore) / CALLS;
      if (r.capped) throw new Error(`${c.name}: round ${round + 1} hit the time cap`);
      if (round < 0) continue;
      c.perSecond.push(r.perSecond);
      c.cpu.push(cpuPerCall);
      console.log(
        `round ${round + 1}, ${c.name}: ${r.perSecond.toFixed(0)} calls/s, p50 ${r.p50Ms.toFixed(2)} ms, ${cpuPerCall.toFixed(0)} µs CPU per call`,
      );
    }
  }
  const [withMetrics, without] = contenders.map((c) => median(c.perSecond)) as [number, number];
  const [cpuOn, cpuOff] = contenders.map((c) => median(c.cpu)) as [number, number];
  console.log(`\nmedians of ${ROUNDS} rounds, ${CALLS} calls each, ${IN_FLIGHT} in flight:`);
  console.log(`| contender | calls/s | server CPU per call (µs) |\n|---|---:|---:|`);
  console.log(`| metrics on | ${withMetrics.toFixed(0)} | ${cpuOn.toFixed(0)} |`);
  console.log(`| metrics off | ${without.toFixed(0)} | ${cpuOff.toFixed(0)} |`);
  const cost = 1 - withMetrics / without;
  console.log(`\ncalls/s on/off: ${(withMetrics / without).toFixed(3)}; the metrics cost ${(cost * 100).toFixed(1)}%`);
  const cpuCost = cpuOn / cpuOff - 1;
  console.log(`CPU per call on/off: ${(cpuOn / cpuOff).toFixed(3)}; the metrics cost ${(cpuCost * 100).toFixed(1)}%`);
  console.log(
    `target (at most 5%): calls/s ${cost <= 0.05 ? "met" : "missed"}, CPU per call ${cpuCost <= 0.05 ? "met" : "missed"}`,
  );
} finally {
  await Promise.allSettled([on.stop(), off.stop()]);
  await upstream.close();
  await scratch.drop();
}
