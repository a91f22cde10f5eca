// What the Redis benchmarks share: their tenants, Redis's CPU time around a run, emptying
// streams between runs, and removing a run's keys at the end.

import { newApiKey } from "../../../src/core/api-keys";
import { describeError } from "../../../src/core/errors";
import type { TenantSnapshot } from "../../../src/core/limiter-store";
import { newTenantId, sha256Hex } from "../../../src/core/secrets";
import type { RedisClient } from "../../../src/redis/resp/client";
import type { RedisReply } from "../../../src/redis/resp/index";
import { eventBodyOf } from "../../../src/redis/usage-stream-entry";

/**
 * A tenant's limits in the Redis benches: far above what a bench can reach, so every call of
 * every limiter is admitted and does its full "consume" work. The daily quota is finite so
 * that it is really checked; the request bucket is there so that ours enforces what
 * bench:redis's equal-work row's union does.
 */
export const BENCH_LIMITS = {
  ratePerMinute: 6_000_000,
  burst: 1_000_000,
  requestsPerMinute: 1_000_000,
  dailyUnits: 1_000_000_000,
  timeZone: "UTC",
  shadow: false,
  routes: {},
};

/** A bench tenant: its id and the hash of its one API key. */
export interface BenchTenant {
  id: string;
  keyHash: string;
}

/** `n` new tenants, each with one key. */
export function benchTenants(n: number): Promise<BenchTenant[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const id = newTenantId();
      return { id, keyHash: await sha256Hex((await newApiKey(id, undefined)).key) };
    }),
  );
}

/** A bench tenant's snapshot, at version 1 with BENCH_LIMITS (in lease mode with `leases`). */
export function benchSnapshot(t: BenchTenant, leases = false): TenantSnapshot {
  const limits = leases ? { ...BENCH_LIMITS, leases } : BENCH_LIMITS;
  return { tenantId: t.id, version: 1, status: "active", limits, keyHashes: [t.keyHash] };
}

/** Redis's version, after a PING that says plainly where no Redis answered. */
export async function redisVersionAt(redis: RedisClient, where: string): Promise<string> {
  try {
    await redis.send(["PING"]);
  } catch (err) {
    throw new Error(`Redis is not reachable at ${where}: ${describeError(err)}`);
  }
  const info = String(await redis.send(["INFO", "server"]));
  return /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown";
}

/** Redis's own CPU time so far (all threads), in seconds. */
export async function redisCpuSeconds(redis: RedisClient): Promise<number> {
  const info = String(await redis.send(["INFO", "cpu"]));
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1] ?? Number.NaN);
  return field("used_cpu_user") + field("used_cpu_sys");
}

/** Script calls Redis has run so far (EVALSHA and EVAL), and the µs it spent inside them. */
export async function scriptTime(redis: RedisClient): Promise<{ calls: number; us: number }> {
  const info = String(await redis.send(["INFO", "commandstats"]));
  let calls = 0;
  let us = 0;
  for (const m of info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+),usec=(\d+)/gm)) {
    calls += Number(m[1]);
    us += Number(m[2]);
  }
  return { calls, us };
}

/**
 * Runs `work` and charges the CPU it took, here and in Redis, to each of its `count` decisions:
 * that says which side a contender is bound by. Redis's figure includes the other clients of
 * this shared Redis, which are idle next to the load here, and its network work. `scriptUs` is
 * the time Redis spent inside script calls (INFO commandstats), per call: the script's own cost.
 */
export async function withCpu<T>(
  redis: RedisClient,
  work: () => Promise<T>,
  count: (result: T) => number,
): Promise<{ result: T; nodeUs: number; redisUs: number; scriptUs: number }> {
  const redisBefore = await redisCpuSeconds(redis);
  const scriptBefore = await scriptTime(redis);
  const nodeBefore = process.cpuUsage();
  const result = await work();
  const node = process.cpuUsage(nodeBefore);
  const scriptAfter = await scriptTime(redis);
  const redisUs = ((await redisCpuSeconds(redis)) - redisBefore) * 1e6;
  const n = count(result);
  // Per script call, not per decision: a NOSCRIPT retry or a config load is a call too.
  const scriptUs = (scriptAfter.us - scriptBefore.us) / Math.max(1, scriptAfter.calls - scriptBefore.calls);
  return { result, nodeUs: (node.user + node.system) / n, redisUs: redisUs / n, scriptUs };
}

/** Entries in the streams, then empties them, so memory stays flat across rounds. */
export async function drainStreams(redis: RedisClient, streams: string[]): Promise<number> {
  const lengths = await redis.pipeline(streams.map((s) => ["XLEN", s]));
  // XTRIM, not UNLINK, keeps the consumer group the store created with the stream.
  await redis.pipeline(streams.map((s) => ["XTRIM", s, "MAXLEN", 0]));
  return lengths.reduce<number>((sum, n) => sum + Number(n), 0);
}

/**
 * The usage events in the streams, counted as the stream's reader reads them (a lease's
 * report is one entry of many events), then trimmed as drainStreams does.
 */
export async function drainEvents(redis: RedisClient, streams: string[]): Promise<number> {
  let events = 0;
  for (const stream of streams) {
    const entries = (await redis.send(["XRANGE", stream, "-", "+"])) as [string, RedisReply[]][];
    for (const [, fields] of entries) {
      const body = eventBodyOf("tnbench", fields) as { events?: unknown[] };
      events += body.events?.length ?? 0;
    }
  }
  await redis.pipeline(streams.map((s) => ["XTRIM", s, "MAXLEN", 0]));
  return events;
}

/** Unlinks every key matching `pattern`; returns how many. */
export async function scanDelete(redis: RedisClient, pattern: string): Promise<number> {
  let cursor = "0";
  let removed = 0;
  // Bounded: SCAN terminates, and the prefix is ours alone; the cap guards against surprises.
  for (let pass = 0; pass < 100_000; pass++) {
    const reply = (await redis.send(["SCAN", cursor, "MATCH", pattern, "COUNT", 1000])) as [string, string[]];
    cursor = String(reply[0]);
    if (reply[1].length > 0) removed += Number(await redis.send(["UNLINK", ...reply[1]]));
    if (cursor === "0") break;
  }
  return removed;
}

/** A bench's last step: removes every key under `prefix`, saying how many; a failure fails the run. */
export async function cleanUpPrefix(redis: RedisClient, prefix: string): Promise<void> {
  try {
    console.log(`cleanup: unlinked ${await scanDelete(redis, `${prefix}*`)} keys under ${prefix}`);
  } catch (err) {
    console.error(`cleanup of ${prefix}* failed: ${describeError(err)}`);
    process.exitCode = 1;
  }
}
