// Benchmark: what the AI limits (issue 14) cost the Redis limiter, before and after, in one
// process, on one Redis, in the same rounds.
//
//   npm run bench:redis-limits   (BENCH_BASELINE, BENCH_ROUNDS, BENCH_CALLS, BENCH_ONLY tune it)
//
// "before" is RedisLimiterStore as of BENCH_BASELINE (default 73773a5, the commit before the
// issue), extracted with git archive and imported beside today's; both run on today's RESP
// client, so the comparison is of the script and the store alone. Contenders, all at 64
// calls in flight over the same 1,000 tenants, each store under its own key prefix:
//   check         a check that takes 1 unit: key check, units bucket, daily quota, and
//                 the usage event XADDed, as bench:redis does.
//   reserve       a proxied call's check: the same, held as a reservation (after the issue
//                 it also counts the call in flight). Each run's reservations are then
//                 settled in a second, separately measured loop.
//   + v2          after only, with the policies the issue adds: a request bucket beside the
//                 units bucket, the daily quota with its alert thresholds, and a concurrency
//                 cap, so the reserving check takes a request, units, the day and a slot.
//   settle batches  after only (issue 18), on the "+ v2" store: N settles of a tenant one
//                 call each against one settleMany of N (lib/settle-batches.ts), for each N
//                 of BENCH_SETTLE_BATCHES (default 10,50); BENCH_ONLY="settle batch" runs
//                 these alone.
// "today's limits" after the issue carry the alert thresholds every tenant gets by default
// (0.8 and 1), since that is what a tenant migrated unchanged runs with.
//
// The headline is Redis CPU per call (INFO cpu around each run, divided by its calls), which
// the target is about: a call that checks a request bucket, a units bucket, the daily
// quota and a slot costs the script at most 20% more than today's check. Ratios are taken
// within a round and their median reported.

import { randomBytes } from "node:crypto";
import os from "node:os";
import { newApiKey } from "../../src/core/api-keys";
import { describeError } from "../../src/core/errors";
import type { LimiterStore, TenantSnapshot } from "../../src/core/limiter-store";
import type { TenantLimits } from "../../src/core/limits";
import { newTenantId, sha256Hex } from "../../src/core/secrets";
import { tenantKeys } from "../../src/redis/keys";
import { type RedisLimiterOptions, RedisLimiterStore } from "../../src/redis/redis-limiter-store";
import { RedisClient } from "../../src/redis/resp/client";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { extractBaseline } from "./lib/baseline-tree";
import { closedLoop } from "./lib/closed-loop";
import { cleanUpPrefix, drainStreams, redisVersionAt, withCpu } from "./lib/redis-bench";
import { settleBatchRows } from "./lib/settle-batches";
import { median, positiveInt } from "./stats";

const HOST = "127.0.0.1";
const PORT = positiveInt("BENCH_REDIS_PORT", 6379);
const ROUNDS = positiveInt("BENCH_ROUNDS", 5);
const CALLS = positiveInt("BENCH_CALLS", 20_000);
const BASELINE = process.env.BENCH_BASELINE ?? "73773a5";
const IN_FLIGHT = 64;
const TENANTS = 1_000;
const WARMUP_CALLS = 4_000;
const RUN_CAP_MS = 8_000;
const PREFIX = `aegis-bench-${randomBytes(4).toString("hex")}`;
const SETTLE_BATCHES = (process.env.BENCH_SETTLE_BATCHES ?? "10,50").split(",").filter(Boolean).map(Number);

// Far above what the bench reaches, so every call is admitted and does its full work; the
// daily quota is finite so that it is really checked (and its alerts never cross).
const TODAY = { ratePerMinute: 6_000_000, burst: 1_000_000, dailyUnits: 1_000_000_000, timeZone: "UTC" };
const LIMITS_TODAY: TenantLimits = { ...TODAY, shadow: false, routes: {}, alerts: { thresholds: [0.8, 1] } };
const LIMITS_V2: TenantLimits = {
  ...LIMITS_TODAY,
  requestsPerMinute: 6_000_000,
  requestBurst: 1_000_000,
  // A run holds at most CALLS reservations at once, spread over the tenants.
  maxConcurrent: 1_000_000,
};

const interrupted = new AbortController();
process.once("SIGINT", () => interrupted.abort());

interface Tenant {
  id: string;
  keyHash: string;
}

/** One run's figures, per call: µs inside the script (INFO commandstats), Redis's CPU, ours. */
interface Cost {
  perSecond: number;
  scriptUs: number;
  redisUs: number;
  nodeUs: number;
}

interface Sample extends Cost {
  /** For a reserving contender: the settles of its reservations, measured apart. */
  settle?: Cost;
}

const fmtRate = (n: number) => Math.round(n).toLocaleString("en-US");
const fmtUs = (n: number | undefined) => (n === undefined ? "-" : n.toFixed(1));

const t0 = performance.now();
const redisUrl = `redis://${HOST}:${PORT}/0`;
const connect = () => new RedisClient({ url: redisUrl, connect: nodeSocket, commandTimeoutMs: 5000 });
/** The bench's own connection: INFO, streams, cleanup. */
const redis = connect();
const clients: RedisClient[] = [redis];
const baseline = extractBaseline(BASELINE);
let reachable = false;
try {
  const redisVersion = await redisVersionAt(redis, `${HOST}:${PORT}`);
  reachable = true;
  console.log(
    `node ${process.version}, Redis ${redisVersion} at ${HOST}:${PORT}; ` +
      `${os.cpus().length} CPUs, load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}`,
  );
  console.log(
    `command: npm run bench:redis-limits  (BENCH_BASELINE=${BASELINE} [${baseline.commit}] BENCH_ROUNDS=${ROUNDS} BENCH_CALLS=${CALLS})`,
  );

  const tenants: Tenant[] = await Promise.all(
    Array.from({ length: TENANTS }, async () => {
      const id = newTenantId();
      return { id, keyHash: await sha256Hex((await newApiKey(id, undefined)).key) };
    }),
  );
  const tenantAt = (i: number) => tenants[i % tenants.length] as Tenant;
  const { RedisLimiterStore: BeforeStore } = await baseline.load<{
    RedisLimiterStore: new (options: RedisLimiterOptions) => LimiterStore;
  }>("redis/redis-limiter-store.ts");
  // The old store on the old client (the same code today): its errors are its own classes.
  const { RedisClient: BeforeClient } = await baseline.load<{ RedisClient: typeof RedisClient }>(
    "redis/resp/client.ts",
  );
  const { nodeSocket: beforeSocket } = await baseline.load<{ nodeSocket: typeof nodeSocket }>(
    "redis/resp/node-socket.ts",
  );
  const beforeRedis = new BeforeClient({ url: redisUrl, connect: beforeSocket, commandTimeoutMs: 5000 });
  clients.push(beforeRedis);
  const afterRedis = connect();
  clients.push(afterRedis);

  /** A store under its own prefix, holding every tenant with `limits`. */
  const storeOf = async (
    Store: new (options: RedisLimiterOptions) => LimiterStore,
    client: RedisClient,
    name: string,
    limits: TenantLimits,
  ) => {
    const prefix = `${PREFIX}:${name}`;
    const snapshot = (t: Tenant): TenantSnapshot => ({
      tenantId: t.id,
      version: 1,
      status: "active",
      limits,
      keyHashes: [t.keyHash],
    });
    const byId = new Map(tenants.map((t) => [t.id, snapshot(t)]));
    const store = new Store({
      redis: client,
      prefix,
      reservationTtlSeconds: 900,
      configRefreshSeconds: 300,
      loadSnapshot: async (id) => byId.get(id) ?? null,
    });
    for (let i = 0; i < tenants.length; i += 100) {
      await Promise.all(tenants.slice(i, i + 100).map((t) => store.apply(snapshot(t))));
    }
    return { store, streams: tenants.map((t) => tenantKeys(prefix, t.id).stream) };
  };
  const before = await storeOf(BeforeStore, beforeRedis, "before", { ...LIMITS_TODAY, alerts: undefined });
  const after = await storeOf(RedisLimiterStore, afterRedis, "after", LIMITS_TODAY);
  const afterV2 = await storeOf(RedisLimiterStore, afterRedis, "v2", LIMITS_V2);

  const loop = (call: (i: number) => Promise<boolean>, calls: number) =>
    closedLoop(call, { calls, inFlight: IN_FLIGHT, maxMs: RUN_CAP_MS, signal: interrupted.signal });
  const measured = async (name: string, call: (i: number) => Promise<boolean>) => {
    const { result, nodeUs, redisUs, scriptUs } = await withCpu(
      redis,
      () => loop(call, CALLS),
      (r) => r.completed,
    );
    if (interrupted.signal.aborted) throw new Error("interrupted");
    if (result.admitted !== result.completed) {
      throw new Error(`${name}: ${result.completed - result.admitted} of ${result.completed} calls were refused`);
    }
    return { completed: result.completed, cost: { perSecond: result.perSecond, scriptUs, redisUs, nodeUs } };
  };

  /**
   * Checks (reserving or not) for `calls` calls; a reserving run's reservations are then
   * settled, measured apart. Every call must leave exactly one usage event.
   */
  const contender = (target: { store: LimiterStore; streams: string[] }, reserve: boolean) => {
    return async (name: string, warmUp = false): Promise<Sample> => {
      const held: { tenantId: string; id: string }[] = [];
      const check = async (i: number) => {
        const t = tenantAt(i);
        const r = await target.store.check(t.id, { keyHash: t.keyHash, route: "chat", cost: 1, reserve });
        if (r.status !== "ok") throw new Error(`${name}: check of tenant ${t.id} answered ${r.status}`);
        if (r.reservation) held.push({ tenantId: t.id, id: r.reservation.id });
        return r.decision.allowed;
      };
      const settleOne = async (i: number) => {
        const h = held[i] as { tenantId: string; id: string };
        const r = await target.store.settle(h.tenantId, h.id, 1);
        if (r.status !== "settled") throw new Error(`${name}: settle answered ${r.status}`);
        return true;
      };
      if (warmUp) {
        await loop(check, WARMUP_CALLS);
        if (reserve) await loop(settleOne, held.length);
        await drainStreams(redis, target.streams);
        return { perSecond: 0, scriptUs: 0, redisUs: 0, nodeUs: 0 };
      }
      const run = await measured(name, check);
      let settle: Sample["settle"];
      if (reserve) {
        if (held.length !== run.completed)
          throw new Error(`${name}: ${run.completed} calls, ${held.length} reservations`);
        settle = (await measured(`${name}, settle`, settleOne)).cost;
      }
      const events = await drainStreams(redis, target.streams);
      if (events !== run.completed) throw new Error(`${name}: ${run.completed} calls but ${events} usage events`);
      return { ...run.cost, ...(settle ? { settle } : {}) };
    };
  };

  const contenders = {
    "check, before": contender(before, false),
    "check, after": contender(after, false),
    "check, after + request bucket": contender(afterV2, false),
    "reserve, before": contender(before, true),
    "reserve, after": contender(after, true),
    "reserve, after + request bucket + slot": contender(afterV2, true),
  };
  type Name = keyof typeof contenders;
  // BENCH_ONLY=regex drops the other contenders, for quick experiments (the ratios then read NaN).
  const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : null;
  const names = (Object.keys(contenders) as Name[]).filter((n) => !only || only.test(n));
  // Warm-up, not measured: the JIT, the scripts in Redis's cache and the stores' config memos.
  for (const name of names) await contenders[name](name, true);

  const samples = new Map<Name, Sample[]>(names.map((n) => [n, []]));
  // After / before, per round, of the script's µs per call and of Redis's CPU per call.
  const pairs: [string, Name, Name][] = [
    ["check, today's limits", "check, after", "check, before"],
    ["check, + request bucket", "check, after + request bucket", "check, before"],
    ["reserve, today's limits", "reserve, after", "reserve, before"],
    ["reserve, + request bucket + slot", "reserve, after + request bucket + slot", "reserve, before"],
  ];
  const ratios = new Map(pairs.map(([label]) => [label, { script: [] as number[], cpu: [] as number[] }]));
  const settleRatios = { script: [] as number[], cpu: [] as number[] };
  const us = (c: Cost) =>
    `script ${fmtUs(c.scriptUs).padStart(5)} µs  Redis ${fmtUs(c.redisUs).padStart(5)} µs  node ${fmtUs(c.nodeUs).padStart(5)} µs`;
  console.log(`\n${ROUNDS} rounds, ${IN_FLIGHT} in flight, ${TENANTS} tenants, ${CALLS} calls per run; µs per call`);
  for (let round = 1; round <= ROUNDS; round++) {
    const got = new Map<Name, Sample>();
    // Rotated, so no contender always runs first.
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + round - 1) % names.length] as Name;
      const s = await contenders[name](name);
      got.set(name, s);
      samples.get(name)?.push(s);
      const settle = s.settle ? `  | settle ${fmtRate(s.settle.perSecond).padStart(7)}/s ${us(s.settle)}` : "";
      console.log(`round ${round}  ${name.padEnd(40)} ${fmtRate(s.perSecond).padStart(7)}/s ${us(s)}${settle}`);
    }
    const push = (into: { script: number[]; cpu: number[] }, a?: Cost, b?: Cost) => {
      if (!a || !b) return;
      into.script.push(a.scriptUs / b.scriptUs);
      into.cpu.push(a.redisUs / b.redisUs);
    };
    for (const [label, after, before] of pairs)
      push(ratios.get(label) ?? { script: [], cpu: [] }, got.get(after), got.get(before));
    push(settleRatios, got.get("reserve, after + request bucket + slot")?.settle, got.get("reserve, before")?.settle);
  }

  const med = (name: Name, f: (s: Sample) => number | undefined) => {
    const xs = (samples.get(name) ?? []).map(f).filter((x): x is number => x !== undefined);
    return xs.length ? median(xs) : undefined;
  };
  console.log(`\nMedians of ${ROUNDS} rounds; µs per call.`);
  console.log(
    "| contender | calls/s | script | Redis CPU | node CPU | settles/s | settle: script | Redis CPU | node CPU |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const name of names) {
    const rate = med(name, (s) => s.settle?.perSecond);
    const cells = [
      fmtRate(med(name, (s) => s.perSecond) ?? 0),
      fmtUs(med(name, (s) => s.scriptUs)),
      fmtUs(med(name, (s) => s.redisUs)),
      fmtUs(med(name, (s) => s.nodeUs)),
      rate === undefined ? "-" : fmtRate(rate),
      fmtUs(med(name, (s) => s.settle?.scriptUs)),
      fmtUs(med(name, (s) => s.settle?.redisUs)),
      fmtUs(med(name, (s) => s.settle?.nodeUs)),
    ];
    console.log(`| ${name} | ${cells.join(" | ")} |`);
  }
  const show = (xs: number[]) =>
    xs.length ? `${median(xs).toFixed(2)}x (rounds: ${xs.map((x) => x.toFixed(2)).join(", ")})` : "-";
  console.log("\nAfter / before, medians of the per-round ratios: time in the script | Redis CPU");
  for (const [label] of pairs) {
    const r = ratios.get(label) ?? { script: [], cpu: [] };
    console.log(`  ${label.padEnd(34)} ${show(r.script)} | ${show(r.cpu)}`);
  }
  console.log(`  ${"settle, + slot".padEnd(34)} ${show(settleRatios.script)} | ${show(settleRatios.cpu)}`);
  const v2 = ratios.get("reserve, + request bucket + slot")?.script ?? [];
  if (v2.length) {
    const m = median(v2);
    console.log(
      `${m <= 1.2 ? "PASS" : "MISS"}  a check that takes a request, units, the day and a slot spends ${((m - 1) * 100).toFixed(0)}% more time in the script than today's check (target <= +20%)`,
    );
  }
  if ((!only || only.test("settle batch")) && SETTLE_BATCHES.length > 0) {
    const settles = CALLS;
    await settleBatchRows({ redis, target: afterV2, tenants, sizes: SETTLE_BATCHES, rounds: ROUNDS, settles, loop });
  }
  console.log(`total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
} catch (err) {
  console.error(`bench:redis-limits failed: ${err instanceof Error ? err.message : describeError(err)}`);
  process.exitCode = 1;
} finally {
  if (reachable) {
    await cleanUpPrefix(redis, PREFIX);
  }
  baseline.remove();
  await Promise.allSettled(clients.map((c) => c.close()));
}
