// Micro-measurement: Redis's time per exact check of the limiter script, as bench:redis's
// "ours" row makes them (its LIMITS, 1,000 tenants, route "chat", cost 1, a key, 64 in flight),
// from INFO commandstats (evalsha usec per call) and the main thread's CPU around each run.
// Bounded (RUNS x CALLS, default 3 x 30,000, well under a minute) and quiet enough to run
// beside other work: it reads deltas (no CONFIG RESETSTAT, which other clients would feel),
// though their script calls, if any, count too.
//
//   npx tsx scripts/bench/redis-script-cost.ts    (RUNS, CALLS; BREAKDOWN=1: per command)
//
// LUA=a.lua,b.lua runs those script texts instead of the built one (dumped from
// LIMITER_SCRIPT, then edited), each once per run in turn, so that an A/B comparison shares
// the machine's moments; the summary gives each one's medians, and the medians of its ratios
// to the first script's figures in the same run. The main thread's CPU time leaves out the
// time Redis waited for a core, which the evalsha figure counts on a busy machine.
// Everything lives under a fresh key prefix, removed at the end (SCAN + UNLINK).
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { tenantKeys } from "../../src/redis/keys";
import { limiterScript } from "../../src/redis/limiter-script";
import { RedisLimiterStore } from "../../src/redis/redis-limiter-store";
import { RedisClient } from "../../src/redis/resp/client";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { closedLoop } from "./lib/closed-loop";
import { benchSnapshot, benchTenants, drainStreams, scanDelete, scriptTime } from "./lib/redis-bench";

const RUNS = Number(process.env.RUNS ?? 3);
const CALLS = Number(process.env.CALLS ?? 30_000);
const PREFIX = `aegis-lean-${randomBytes(4).toString("hex")}`;
// LUA=a.lua,b.lua: each run runs every script in turn (A/B within a run, against the noise).
const scripts = (process.env.LUA ?? "").split(",").filter((f) => f !== "");
const names = scripts.length > 0 ? scripts : ["worktree"];
const texts = scripts.map((f) => readFileSync(f, "utf8"));
const use = (i: number) => {
  if (texts.length === 0) return;
  // The store runs the module's one LuaScript: give it the text to run, and forget its SHA.
  const s = limiterScript as unknown as { source: string; shaValue?: string; shaPromise?: Promise<string> };
  s.source = texts[i] as string;
  s.shaValue = undefined;
  s.shaPromise = undefined;
};
async function stats(): Promise<Map<string, [number, number]>> {
  const info = String(await redis.send(["INFO", "commandstats"]));
  const m = new Map<string, [number, number]>();
  for (const x of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm))
    m.set(x[1] as string, [Number(x[2]), Number(x[3])]);
  return m;
}
async function mainCpu(): Promise<number> {
  const info = String(await redis.send(["INFO", "cpu"]));
  const f = (n: string) => Number(new RegExp(`^${n}:([\\d.]+)`, "m").exec(info)?.[1]);
  return f("used_cpu_user_main_thread") + f("used_cpu_sys_main_thread");
}
const redis = new RedisClient({ url: "redis://127.0.0.1:6379/0", connect: nodeSocket, commandTimeoutMs: 5000 });
try {
  const tenants = await benchTenants(1000);
  const snapshots = new Map(tenants.map((t) => [t.id, benchSnapshot(t)]));
  const store = new RedisLimiterStore({
    redis,
    prefix: PREFIX,
    reservationTtlSeconds: 900,
    configRefreshSeconds: 300,
    loadSnapshot: async (id) => snapshots.get(id) ?? null,
  });
  for (let i = 0; i < tenants.length; i += 100)
    await Promise.all(tenants.slice(i, i + 100).map((t) => store.apply(benchSnapshot(t))));
  const streams = tenants.map((t) => tenantKeys(PREFIX, t.id).stream);
  const call = async (i: number) => {
    const t = tenants[i % tenants.length] as { id: string; keyHash: string };
    const r = await store.check(t.id, { keyHash: t.keyHash, route: "chat", cost: 1 });
    if (r.status !== "ok" || !r.decision.allowed) throw new Error(`check answered ${r.status}`);
    return true;
  };
  for (let v = 0; v < names.length; v++) {
    use(v);
    await closedLoop(call, { calls: 4000, inFlight: 64, maxMs: 10_000 });
  }
  await drainStreams(redis, streams);
  const out: number[][] = names.map(() => []);
  const cpu: number[][] = names.map(() => []);
  for (let run = 0; run < RUNS; run++) {
    for (let v = 0; v < names.length; v++) {
      const vi = (v + run) % names.length;
      use(vi);
      const s0 = await stats();
      const before = await scriptTime(redis);
      const c0 = await mainCpu();
      const r = await closedLoop(call, { calls: CALLS, inFlight: 64, maxMs: 20_000 });
      const c1 = await mainCpu();
      const after = await scriptTime(redis);
      if (process.env.BREAKDOWN) {
        const s1 = await stats();
        const parts: string[] = [];
        for (const [k, [c, u]] of s1) {
          const [c0, u0] = s0.get(k) ?? [0, 0];
          if (c - c0 > 100) parts.push(`${k} ${((c - c0) / CALLS).toFixed(2)}x ${((u - u0) / (c - c0)).toFixed(2)}µs`);
        }
        console.log(parts.join(", "));
      }
      const events = await drainStreams(redis, streams);
      if (events !== r.completed) throw new Error(`${r.completed} calls, ${events} events`);
      const n = after.calls - before.calls;
      const us = (after.us - before.us) / n;
      out[vi]?.push(us);
      cpu[vi]?.push(((c1 - c0) * 1e6) / n);
      console.log(
        `run ${run + 1} ${names[vi]}: ${us.toFixed(2)} µs/evalsha, main thread ${(((c1 - c0) * 1e6) / n).toFixed(2)} µs/call, ${n} calls, ${r.perSecond.toFixed(0)}/s`,
      );
    }
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? Number.NaN;
  // The median of a script's ratio to the first one's figure in the same run.
  const ratio = (of: number[][], v: number) => med((of[v] ?? []).map((x, r) => x / (of[0]?.[r] ?? Number.NaN)));
  for (let v = 0; v < names.length; v++) {
    console.log(
      `median ${med(out[v] ?? []).toFixed(2)} µs/evalsha, main ${med(cpu[v] ?? []).toFixed(2)} µs/call${
        v > 0
          ? `; against the first: ${ratio(out, v).toFixed(3)}x evalsha, ${ratio(cpu, v).toFixed(3)}x main thread`
          : ""
      }  ${names[v]}`,
    );
  }
} finally {
  console.log(`cleanup: ${await scanDelete(redis, `${PREFIX}*`)} keys`);
  await redis.close();
}
