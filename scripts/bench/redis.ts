// Benchmark: the Redis limiter's decisions per second and latency on local Redis, side by
// side with rate-limiter-flexible's RateLimiterRedis (alone, and made to do our work) and
// the server's EVALSHA ceiling.
//
//   npm run bench:redis    (BENCH_ROUNDS, BENCH_CALLS, BENCH_EVALSHA_REQUESTS, BENCH_EXTRAS=0, BENCH_REDIS_PORT tune it)
//
// Contenders, all at 64 calls in flight over the same 1,000 tenants:
//   ours          RedisLimiterStore.check() on one RedisClient (one pipelined connection,
//                 the production setup): config + key check, units and request token
//                 buckets, daily quota and the usage event XADDed to the tenant's stream,
//                 in one script call.
//   rlf           RateLimiterRedis.consume(key, 1) on one ioredis client (its default
//                 setup): one INCRBY/PTTL script call per decision, nothing else.
//   rlf equal     the same policies in rlf, on that client: a RateLimiterUnion of request,
//   work          units and daily limiters, then an XADD of our usage event per admitted
//                 call (lib/rlf-equal-work.ts, which also says how the union behaves).
//   EVALSHA       redis-benchmark -c 64 running EVALSHA of `return 1`: what the server
//                 does for a script call that does nothing, so the physical limit.
//   ours leased   the same store behind a lease holder (src/core/lease-holder.ts), on 10
//                 other tenants in lease mode, hot ones (the mode is for tenants hotter than
//                 one limiter serves; a tenant's first calls of a term are exact): most calls
//                 are admitted from leases this process holds; each lease's calls are
//                 reported (one event each) when it retires, and the run ends by closing
//                 every lease inside the measurement, so the events are counted as for ours.
//                 Its reports are compact stream entries (BENCH_COMPACT=0: the default ones,
//                 with an event id on every line).
// With BENCH_EXTRAS (on by default), two informational rows that are not the headline:
// ours on 4 clients round-robin, and rlf with ioredis' enableAutoPipelining.
//
// The machine is small (2 cores) and shared, and every contender's client competes with
// Redis for the same CPUs, so each round runs every contender once, in a rotated order,
// and the summary gives medians of the rounds. The ratios are taken within a round (the
// contenders ran seconds apart) and their median is reported.
//
// Everything lives under a fresh key prefix that is removed at the end (SCAN + UNLINK).
// Only the script cache keeps `return 1`: it has no per-script delete, and SCRIPT FLUSH
// would take every other client's scripts with it.

import { randomBytes } from "node:crypto";
import os from "node:os";
import { Redis } from "ioredis";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import { describeError } from "../../src/core/errors";
import { leaseHolder } from "../../src/core/lease-holder";
import type { LimiterStore } from "../../src/core/limiter-store";
import { tenantKeys } from "../../src/redis/keys";
import type { RedisCommands } from "../../src/redis/lua-script";
import { RedisLimiterStore } from "../../src/redis/redis-limiter-store";
import { RedisClient } from "../../src/redis/resp/client";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { type ClosedLoopResult, closedLoop } from "./lib/closed-loop";
import {
  BENCH_LIMITS,
  type BenchTenant,
  benchSnapshot,
  benchTenants,
  drainEvents,
  drainStreams,
  redisVersionAt,
  scanDelete,
  withCpu,
} from "./lib/redis-bench";
import { redisBenchmark, redisBenchmarkVersion } from "./lib/redis-benchmark";
import { addRound, fmtRate, type Headline, printRun, printSummary, type Ratios, type Sample } from "./lib/redis-report";
import { rlfEqualWork } from "./lib/rlf-equal-work";
import { positiveInt } from "./stats";

const HOST = "127.0.0.1";
/** Overridable only to point the bench at another local Redis (or to see its error when none is there). */
const PORT = positiveInt("BENCH_REDIS_PORT", 6379);
const ROUNDS = positiveInt("BENCH_ROUNDS", 5);
/** Calls per contender per round; each run is also capped at RUN_CAP_MS. */
const CALLS = positiveInt("BENCH_CALLS", 40_000);
const EVALSHA_REQUESTS = positiveInt("BENCH_EVALSHA_REQUESTS", 100_000);
const EXTRAS = process.env.BENCH_EXTRAS !== "0";
/** BENCH_LEASED=0 leaves the leased row out: its runs leave garbage the others' GC then pays for. */
const LEASED = process.env.BENCH_LEASED !== "0";
/**
 * The leased row's reports as compact stream entries (RATE_LIMIT_REDIS_COMPACT_REPORTS), as a
 * fleet that runs no version older than them may set. BENCH_COMPACT=0: the default entries.
 */
const COMPACT = process.env.BENCH_COMPACT !== "0";
const IN_FLIGHT = 64;
const TENANTS = 1_000;
const LEASED_TENANTS = 10;
/**
 * Calls per leased run: five times the others', since each takes a few µs; fewer would time
 * mostly the leases' first term (a tenant's first calls are exact) and their closing.
 */
const LEASED_CALLS = CALLS * 5;
const WARMUP_CALLS = 4_000;
const RUN_CAP_MS = 8_000;
const REDIS_BENCHMARK_TIMEOUT_MS = 30_000;
const PREFIX = `aegis-bench-${randomBytes(4).toString("hex")}`;
const RLF_PREFIX = `${PREFIX}:rlflx`;
const RLF_EQUAL_PREFIX = `${PREFIX}:rlfeq`;

const LIMITS = BENCH_LIMITS;

const interrupted = new AbortController();
process.once("SIGINT", () => {
  console.error("\ninterrupted: stopping the current run and cleaning up (Ctrl-C again to quit at once)");
  interrupted.abort();
});

type Tenant = BenchTenant;

interface Contender {
  name: string;
  run(): Promise<Sample>;
}

const connectOurs = () =>
  new RedisClient({ url: `redis://${HOST}:${PORT}/0`, connect: nodeSocket, commandTimeoutMs: 5000 });

/** Several clients behind the store's RedisCommands, taking turns per command. */
function roundRobin(clients: RedisClient[]): RedisCommands {
  let turn = 0;
  const pick = () => clients[turn++ % clients.length] as RedisClient;
  return { send: (args) => pick().send(args), pipeline: (commands) => pick().pipeline(commands) };
}

function checkRun(name: string, r: ClosedLoopResult): void {
  if (interrupted.signal.aborted) throw new Error("interrupted");
  if (r.admitted !== r.completed) {
    throw new Error(
      `${name}: ${r.completed - r.admitted} of ${r.completed} calls were refused; the limits are too low`,
    );
  }
}

const t0 = performance.now();
const redis = connectOurs();
const pool = Array.from({ length: 4 }, connectOurs);
const ioredis = new Redis({
  host: HOST,
  port: PORT,
  lazyConnect: true,
  retryStrategy: () => null,
  commandTimeout: 5000,
});
const ioredisAuto = new Redis({
  host: HOST,
  port: PORT,
  lazyConnect: true,
  retryStrategy: () => null,
  commandTimeout: 5000,
  enableAutoPipelining: true,
});
let reachable = false;

try {
  const rbVersion = await redisBenchmarkVersion();
  const redisVersion = await redisVersionAt(redis, `${HOST}:${PORT}`);
  reachable = true;
  await Promise.all([ioredis.connect(), ...(EXTRAS ? [ioredisAuto.connect()] : [])]);

  console.log(`node ${process.version}, Redis ${redisVersion} at ${HOST}:${PORT}, ${rbVersion}`);
  console.log(
    `${os.cpus().length} CPUs, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}; key prefix ${PREFIX}`,
  );
  console.log(
    `command: npm run bench:redis  (tsx scripts/bench/redis.ts; BENCH_ROUNDS=${ROUNDS} BENCH_CALLS=${CALLS} BENCH_EVALSHA_REQUESTS=${EVALSHA_REQUESTS} BENCH_EXTRAS=${EXTRAS ? 1 : 0} BENCH_COMPACT=${COMPACT ? 1 : 0})`,
  );

  const tenants = await benchTenants(TENANTS);
  const leasedTenants = await benchTenants(LEASED_TENANTS);
  const streams = tenants.map((t) => tenantKeys(PREFIX, t.id).stream);
  const leasedStreams = leasedTenants.map((t) => tenantKeys(PREFIX, t.id).stream);
  const snapshots = new Map([
    ...tenants.map((t) => [t.id, benchSnapshot(t)] as const),
    ...leasedTenants.map((t) => [t.id, benchSnapshot(t, true)] as const),
  ]);
  const storeOptions = {
    prefix: PREFIX,
    reservationTtlSeconds: 900,
    configRefreshSeconds: 300,
    loadSnapshot: async (tenantId: string) => snapshots.get(tenantId) ?? null,
  };
  const ours = new RedisLimiterStore({ redis, ...storeOptions });
  const ours4 = new RedisLimiterStore({ redis: roundRobin(pool), ...storeOptions });
  // As npm run serve has it: reports on a connection of their own (RedisLimiterOptions.reportRedis).
  const leased = leaseHolder(
    new RedisLimiterStore({ redis, reportRedis: pool[0], compactReports: COMPACT, ...storeOptions }),
  );
  for (let i = 0; i < tenants.length; i += 100) {
    await Promise.all(tenants.slice(i, i + 100).map((t) => ours.apply(benchSnapshot(t))));
    await Promise.all(leasedTenants.slice(i, i + 100).map((t) => ours.apply(benchSnapshot(t, true))));
  }

  const rlfOptions = { points: 1_000_000, duration: 60, keyPrefix: RLF_PREFIX };
  const rlf = new RateLimiterRedis({ ...rlfOptions, storeClient: ioredis, useRedisPackage: false });
  const rlfAuto = new RateLimiterRedis({ ...rlfOptions, storeClient: ioredisAuto, useRedisPackage: false });
  const equalWork = rlfEqualWork(ioredis, RLF_EQUAL_PREFIX, {
    requestsPerMinute: LIMITS.requestsPerMinute,
    unitsPerMinute: LIMITS.ratePerMinute,
    dailyUnits: LIMITS.dailyUnits,
  });
  const equalWorkStreams = tenants.map((t) => equalWork.streamOf(t.id));

  const tenantAt = (i: number) => tenants[i % tenants.length] as Tenant;
  const checkWith =
    (store: LimiterStore, among = tenants) =>
    async (i: number) => {
      const t = among[i % among.length] as Tenant;
      const r = await store.check(t.id, { keyHash: t.keyHash, route: "chat", cost: 1 });
      if (r.status !== "ok") throw new Error(`check of tenant ${t.id} answered ${r.status}`);
      return r.decision.allowed;
    };
  const consumeWith = (limiter: RateLimiterRedis) => async (i: number) => {
    try {
      await limiter.consume(tenantAt(i).id, 1);
      return true;
    } catch (err) {
      // rate-limiter-flexible rejects with a RateLimiterRes when the points run out.
      if (err instanceof RateLimiterRes) return false;
      throw err;
    }
  };
  const consumeEqualWork = (i: number) => equalWork.consume(tenantAt(i).id, "chat", 1);
  const loop = (call: (i: number) => Promise<boolean>, calls: number) =>
    closedLoop(call, { calls, inFlight: IN_FLIGHT, maxMs: RUN_CAP_MS, signal: interrupted.signal });

  /**
   * Ours and rlf equal work, checked: every admitted call must have left exactly one event in a
   * stream. `settle` runs inside the measurement, after the calls: the lease holder's closing.
   */
  const meteredRun =
    (
      call: (i: number) => Promise<boolean>,
      eventStreams: string[],
      name: string,
      settle?: () => Promise<void>,
      count = drainStreams,
      calls = CALLS,
    ) =>
    async () => {
      const { result: r, ...cpu } = await withCpu(
        redis,
        async () => {
          const started = performance.now();
          const result = await loop(call, calls);
          if (!settle) return result;
          // The closing is part of the work: the rate counts it.
          await settle();
          return { ...result, perSecond: result.completed / ((performance.now() - started) / 1000) };
        },
        (r) => r.completed,
      );
      checkRun(name, r);
      const events = await count(redis, eventStreams);
      if (events !== r.admitted) throw new Error(`${name}: ${r.admitted} calls admitted but ${events} usage events`);
      return { ...r, ...cpu, note: `${r.capped ? "capped, " : ""}${fmtRate(events)} events` };
    };
  const oursRun = (store: RedisLimiterStore, name: string) => meteredRun(checkWith(store), streams, name);
  const rlfRun = (limiter: RateLimiterRedis, name: string) => async (): Promise<Sample> => {
    const { result: r, ...cpu } = await withCpu(
      redis,
      () => loop(consumeWith(limiter), CALLS),
      (r) => r.completed,
    );
    checkRun(name, r);
    return { ...r, ...cpu, note: r.capped ? "capped" : "" };
  };
  let evalshaCommand = "";
  const evalshaRun = async (): Promise<Sample> => {
    // Loaded before every run: another client's SCRIPT FLUSH would otherwise turn it into NOSCRIPT errors.
    const sha = String(await redis.send(["SCRIPT", "LOAD", "return 1"]));
    const args = ["-h", HOST, "-p", String(PORT), "-c", String(IN_FLIGHT), "-n", String(EVALSHA_REQUESTS)];
    args.push("-P", "1", "-q", "EVALSHA", sha, "0");
    evalshaCommand = `redis-benchmark ${args.join(" ")}`;
    const { result: r, redisUs } = await withCpu(
      redis,
      () => redisBenchmark(args, REDIS_BENCHMARK_TIMEOUT_MS, interrupted.signal),
      () => EVALSHA_REQUESTS,
    );
    return { ...r, p99Ms: null, nodeUs: null, redisUs, note: "p50 as redis-benchmark reports it" };
  };

  const contenders: Contender[] = [
    { name: "ours (1 client)", run: oursRun(ours, "ours") },
    { name: "rate-limiter-flexible (ioredis)", run: rlfRun(rlf, "rlf") },
    {
      name: "rlf equal work (union of request, units, daily + XADD)",
      run: meteredRun(consumeEqualWork, equalWorkStreams, "rlf equal work"),
    },
    { name: "redis-benchmark EVALSHA (limit)", run: evalshaRun },
  ];
  const leasedName = `ours leased (1 client, lease mode${COMPACT ? ", compact reports" : ""})`;
  if (LEASED) {
    contenders.push({
      name: leasedName,
      run: meteredRun(
        checkWith(leased, leasedTenants),
        leasedStreams,
        "ours leased",
        () => leased.closeAll(),
        drainEvents,
        LEASED_CALLS,
      ),
    });
  }
  if (EXTRAS) {
    contenders.push(
      { name: "info: ours, 4 clients round-robin", run: oursRun(ours4, "ours x4") },
      { name: "info: rlf, ioredis autopipelining", run: rlfRun(rlfAuto, "rlf auto") },
    );
  }
  const [ours1, rlf1, equal1, evalsha1] = contenders.map((c) => c.name) as [string, string, string, string];
  const headline: Headline = {
    ours: ours1,
    rlf: rlf1,
    equalWork: equal1,
    evalsha: evalsha1,
    ...(LEASED ? { leased: leasedName } : {}),
  };

  // Warm-up, not measured: the JIT, the connections, the script caches and our config memo.
  await loop(checkWith(ours), WARMUP_CALLS);
  await loop(checkWith(ours4), WARMUP_CALLS);
  if (LEASED) {
    await loop(checkWith(leased, leasedTenants), WARMUP_CALLS);
    await leased.closeAll();
  }
  await loop(consumeWith(rlf), WARMUP_CALLS);
  if (EXTRAS) await loop(consumeWith(rlfAuto), WARMUP_CALLS);
  await loop(consumeEqualWork, WARMUP_CALLS);
  await drainStreams(redis, [...streams, ...equalWorkStreams, ...leasedStreams]);

  const samples = new Map<string, Sample[]>(contenders.map((c) => [c.name, []]));
  const ratios: Ratios = { vsRlf: [], vsEqualWork: [], vsEvalsha: [], leasedVsRlf: [] };
  console.log(
    `\n${ROUNDS} rounds, ${IN_FLIGHT} in flight, ${TENANTS} tenants (leased: ${LEASED_TENANTS}), ${CALLS} calls per Node run`,
  );
  for (let round = 1; round <= ROUNDS; round++) {
    // Rotated, so no contender always runs first (or right after the CPU-hungry redis-benchmark).
    const order = contenders.map((_, i) => contenders[(i + round - 1) % contenders.length] as Contender);
    const got = new Map<string, Sample>();
    for (const c of order) {
      const s = await c.run();
      got.set(c.name, s);
      samples.get(c.name)?.push(s);
      printRun(round, c.name, s);
    }
    addRound(round, got, headline, ratios);
  }
  const names = contenders.map((c) => c.name);
  printSummary({ rounds: ROUNDS, inFlight: IN_FLIGHT, names, samples, headline, ratios, evalshaCommand });
  console.log(`total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
} catch (err) {
  console.error(`bench:redis failed: ${err instanceof Error ? err.message : describeError(err)}`);
  process.exitCode = 1;
} finally {
  if (reachable) {
    try {
      const removed = await scanDelete(redis, `${PREFIX}*`);
      console.log(`cleanup: unlinked ${removed} keys under ${PREFIX}`);
    } catch (err) {
      console.error(`cleanup of ${PREFIX}* failed: ${describeError(err)}`);
      process.exitCode = 1;
    }
  }
  ioredis.disconnect();
  ioredisAuto.disconnect();
  await Promise.allSettled([redis, ...pool].map((c) => c.close()));
}
