// The Redis store on a real three-master Redis Cluster: the whole conformance suite, the
// usage stream consumer across masters, and a reshard in the middle (MOVED / ASK followed).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keySlot, RedisCluster } from "../../src/redis/resp/cluster";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { type DedicatedCluster, startDedicatedCluster } from "../support/redis-cluster";
import { limiterConformance } from "./conformance/limiter-conformance";
import { type RedisHarness, redisHarness } from "./conformance/redis-harness";

let cluster: DedicatedCluster;
let client: RedisCluster;
let harness: RedisHarness | undefined;
const prefix = "aegis-cluster";

beforeAll(async () => {
  cluster = await startDedicatedCluster();
  client = new RedisCluster({ seeds: cluster.seeds, connect: nodeSocket, commandTimeoutMs: 5_000 });
}, 60_000);

afterAll(async () => {
  await client?.close();
  await cluster?.stop();
});

describe("cluster key slots", () => {
  it("hashes like Redis: CRC16 of the hash tag, modulo 16384", async () => {
    // Values from the Redis Cluster specification and CLUSTER KEYSLOT.
    expect(keySlot("123456789")).toBe(0x31c3 % 16_384);
    for (const key of ["foo", "aegis:{tnabc}", "{user1000}.following", "a{}b", "x{y}z{w}"]) {
      expect(keySlot(key)).toBe(Number(await client.send(["CLUSTER", "KEYSLOT", key])));
    }
    expect(keySlot("aegis:{tnabc}")).toBe(keySlot("aegis:{tnabc}:usage"));
  });
});

limiterConformance(
  "Redis Cluster (3 masters, node:net)",
  () => {
    harness ??= redisHarness(client, prefix);
    return harness;
  },
  { settleMany: true, leases: true },
);

describe("Redis Cluster under a reshard", () => {
  it("keeps deciding while every slot of one master moves to another", async () => {
    const h = redisHarness(client, `${prefix}-reshard`);
    h.now.ms = Date.UTC(2026, 5, 15, 10);
    const tenants = await Promise.all(
      Array.from({ length: 12 }, () =>
        h.createTenant({ ratePerMinute: 0, burst: 100, dailyUnits: null, timeZone: "UTC", shadow: false, routes: {} }),
      ),
    );
    const spend = async (n: number) => {
      for (const t of tenants) {
        for (let i = 0; i < n; i++) {
          const r = await h.store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", cost: 1 });
          if (r.status !== "ok" || !r.decision.allowed) throw new Error(`refused: ${JSON.stringify(r)}`);
        }
      }
    };
    await spend(3);
    await cluster.reshardFirstToSecond();
    await spend(2);
    for (const t of tenants) {
      const r = await h.store.limits(t.tenantId, { keyHash: t.keyHash, routes: ["chat"] });
      expect(r).toMatchObject({ status: "ok", limits: { buckets: [{ remaining: 95 }], daily: { used: 5 } } });
    }
  }, 60_000);
});
