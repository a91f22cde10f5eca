// UsageConsumerLoop's stop() against a Redis that stops answering (CLIENT PAUSE): it returns
// once its wait is over and starts no last poll, which would hang past a shutdown's grace.
// (That the last poll stores what was written on a healthy Redis is what the packed
// package's test sees: its driver's close() stops the running loop, and the usage is in
// Postgres.)

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "../../scripts/lib/scratch-database";
import { openNodeDatabase } from "../../src/db/node";
import { RedisClient } from "../../src/redis/resp/client";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { UsageConsumerLoop } from "../../src/redis/usage-consumer-loop";
import type { PollResult } from "../../src/redis/usage-stream-consumer";
import { UsageStreamConsumer } from "../../src/redis/usage-stream-consumer";
import { type DedicatedRedis, startDedicatedRedis } from "../support/redis-server";

let server: DedicatedRedis;
let scratch: ScratchDatabase;

beforeAll(async () => {
  [server, scratch] = await Promise.all([startDedicatedRedis(), createScratchDatabase("aegis_loop")]);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await scratch?.drop();
});

function loopOn(redis: RedisClient, polls: PollResult[]) {
  const database = openNodeDatabase(scratch.url, 2);
  const consumer = new UsageStreamConsumer({
    redis,
    prefix: "loop",
    openDatabase: () => ({ db: database.db, close: async () => {} }),
    consumer: "loop-test",
  });
  let started = 0;
  const loop = new UsageConsumerLoop(consumer, {
    idlePollMs: 50,
    stopWaitMs: 300,
    observe: (p) => {
      started++;
      return p.then((r) => {
        polls.push(r);
        return r;
      });
    },
  });
  return { loop, database, started: () => started };
}

describe("UsageConsumerLoop.stop()", () => {
  it("skips the last poll when the poll in flight hangs, and returns after its wait", async () => {
    const redis = new RedisClient({ url: server.url, connect: nodeSocket, commandTimeoutMs: 5_000 });
    const admin = new RedisClient({ url: server.url, connect: nodeSocket });
    const polls: PollResult[] = [];
    const { loop, database, started } = loopOn(redis, polls);
    try {
      // A tenant in the registry, so that every poll reads its stream from Redis.
      await admin.send(["SADD", "loop:tenants", "tnloopaaaaaaaaaaaaaa"]);
      loop.start();
      // The loop has polled once and idles; then Redis stops answering every client.
      await expect.poll(() => polls.length, { timeout: 5_000 }).toBeGreaterThan(0);
      await admin.send(["CLIENT", "PAUSE", 2_000, "ALL"]);
      await expect.poll(started, { timeout: 5_000 }).toBeGreaterThan(polls.length);
      const pollsBefore = started();
      const at = performance.now();
      await loop.stop();
      const took = performance.now() - at;
      expect(took).toBeGreaterThanOrEqual(290);
      // Not the 2 s of the pause, nor the 5 s command timeout of a last poll.
      expect(took).toBeLessThan(1_500);
      expect(started()).toBe(pollsBefore);
    } finally {
      await admin.send(["CLIENT", "UNPAUSE"]).catch(() => {});
      await Promise.allSettled([redis.close(), admin.close(), database.close()]);
    }
  });
});
