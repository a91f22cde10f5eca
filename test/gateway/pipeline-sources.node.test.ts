// The pipeline gauges' Redis source, against the real Redis: what waits in the tenants'
// usage streams (the consumer deletes what it stored) and what sits in the dead-letter stream.

import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { deadLetterKey, registryKey, tenantKeys } from "../../src/redis/keys";
import { openRedis } from "../../src/redis/open-redis";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { pipelineSources } from "../../src/server/pipeline-metrics";

const redis = openRedis(loadConfig({ RATE_LIMIT_REDIS_URL: "redis://127.0.0.1:6379" }), nodeSocket);
const prefix = `aegis-test-sources-${randomUUID()}`;
// The Postgres source is not read here.
const sources = pipelineSources(redis, null as never, prefix);

afterAll(async () => {
  const keys = await redis.send(["KEYS", `${prefix}:*`]);
  if (Array.isArray(keys) && keys.length > 0) await redis.send(["DEL", ...keys.map(String)]);
  await redis.close();
});

const streams = async () => ({ pending: await sources.pending(), deadLetters: await sources.deadLetters() });

describe("pipelineSources' streams", () => {
  it("counts what waits in every registered tenant's stream, across pipelined rounds", async () => {
    expect(await streams()).toEqual({ pending: 0, deadLetters: 0 });
    // More tenants than one round asks about (500), each with its index's count mod 3.
    const tenants = Array.from({ length: 1_201 }, (_, i) => `t${i}`);
    await redis.send(["SADD", registryKey(prefix), ...tenants]);
    const writes: (string | number)[][] = [];
    let expected = 0;
    for (const [i, t] of tenants.entries()) {
      for (let n = 0; n < i % 3; n++) writes.push(["XADD", tenantKeys(prefix, t).stream, "*", "e", `${i}-${n}`]);
      expected += i % 3;
    }
    writes.push(["XADD", deadLetterKey(prefix), "*", "e", "bad"], ["XADD", deadLetterKey(prefix), "*", "e", "worse"]);
    await redis.pipeline(writes);
    expect(await streams()).toEqual({ pending: expected, deadLetters: 2 });

    // The consumer deletes what it stored: the count drops by as much.
    const stream = tenantKeys(prefix, "t2").stream;
    const entries = await redis.send(["XRANGE", stream, "-", "+"]);
    const ids = (entries as [string, unknown][]).map(([id]) => String(id));
    expect(ids).toHaveLength(2);
    await redis.send(["XDEL", stream, ...ids]);
    expect((await streams()).pending).toBe(expected - 2);
  });
});
