// Forged API keys against the self-hosted gateway: refused before any Redis or Postgres work.
// Postgres sits behind a proxy that counts the queries sent to it, and Redis's keys under
// the gateway's prefix are counted before and after.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "../../scripts/lib/scratch-database";
import { newApiKey } from "../../src/core/api-keys";
import { newTenantId, randomSecret } from "../../src/core/secrets";
import { RedisClient } from "../../src/redis/resp/client";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { type SelfHosted, startSelfHosted } from "../../src/server/self-hosted";
import { dropPrefix } from "../limiter/conformance/redis-harness";
import { type CountingProxy, startCountingProxy } from "../support/counting-proxy";
import { type EchoUpstream, startEchoUpstream } from "../support/echo-upstream";
import { TEST_REDIS_URL } from "../support/test-gateway";

const ADMIN_TOKEN = "forged-keys-admin-token-0123456789";
const SIGNING_SECRET = "forged-keys-signing-secret-0123456789";
const prefix = `aegis-test-${crypto.randomUUID().slice(0, 8)}`;
const redis = new RedisClient({ url: TEST_REDIS_URL, connect: nodeSocket, commandTimeoutMs: 5_000 });
let scratch: ScratchDatabase;
let proxy: CountingProxy;
let upstream: EchoUpstream;
let server: SelfHosted;

beforeAll(async () => {
  scratch = await createScratchDatabase("aegis_forged");
  const url = new URL(scratch.url);
  proxy = await startCountingProxy({ host: url.hostname, port: Number(url.port || 5432) });
  url.host = proxy.address;
  upstream = await startEchoUpstream();
  server = await startSelfHosted({
    env: {
      DATABASE_URL: url.toString(),
      RATE_LIMIT_REDIS_URL: TEST_REDIS_URL,
      AEGIS_REDIS_PREFIX: prefix,
      ADMIN_TOKEN,
      UPSTREAM_URL: upstream.url,
      KEY_SIGNING_SECRET: SIGNING_SECRET,
      UNSIGNED_KEYS: "refuse",
    },
    port: 0,
    instance: "forged-keys",
    billing: false,
  });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await dropPrefix(redis, prefix);
  await redis.close();
  await upstream?.close();
  await proxy?.close();
  await scratch?.drop();
});

async function redisKeys(): Promise<number> {
  let cursor = "0";
  let n = 0;
  do {
    const reply = (await redis.send(["SCAN", cursor, "MATCH", `${prefix}:*`, "COUNT", 1000])) as [string, string[]];
    cursor = String(reply[0]);
    n += reply[1].length;
  } while (cursor !== "0");
  return n;
}

const call = (key: string) =>
  fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: "{}",
  });

const storedUnits = async (tenantId: string) => {
  const res = await fetch(`${server.url}/admin/v1/tenants/${tenantId}/usage`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  return ((await res.json()) as { totalUnits: number }).totalUnits;
};

/** 2,000 keys nobody issued: half signed with a made-up MAC or another secret, half unsigned. */
async function forgedKeys(): Promise<string[]> {
  return Promise.all(
    Array.from({ length: 2_000 }, async (_, i) => {
      const tenant = newTenantId();
      if (i % 2 === 1) return `ak_${tenant}_${randomSecret(32)}`;
      if (i % 4 === 0)
        return `ak_${tenant}_${randomSecret(32)}_${randomSecret(32)
          .toLowerCase()
          .replace(/[^0-9a-f]/g, "0")}`;
      return (await newApiKey(tenant, "another-deployments-secret-0123456789")).key;
    }),
  );
}

describe("forged API keys, self-hosted", () => {
  it("refuses 2,000 forged keys with 401, sending no query to Postgres and writing no key to Redis", async () => {
    const created = await fetch(`${server.url}/admin/v1/tenants`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "real", quota: { ratePerMinute: 0, burst: 100, dailyUnits: 1_000 } }),
    });
    const { id } = (await created.json()) as { id: string };
    const issued = await fetch(`${server.url}/admin/v1/tenants/${id}/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: "{}",
    });
    const { key } = (await issued.json()) as { key: string };
    const first = await call(key);
    expect(first.status).toBe(200);
    await first.arrayBuffer();
    // That call's usage reaches Postgres through the same proxy: let it land before counting.
    for (let i = 0; i < 200 && (await storedUnits(id)) === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await storedUnits(id)).toBe(1);

    const forged = await forgedKeys();
    const queriesBefore = proxy.queries();
    const keysBefore = await redisKeys();
    const statuses = new Map<number, number>();
    for (let i = 0; i < forged.length; i += 50) {
      await Promise.all(
        forged.slice(i, i + 50).map(async (k) => {
          const res = await call(k);
          const body = (await res.json()) as { code?: string };
          expect(body.code).toBe("unauthorized");
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }),
      );
    }
    expect(Object.fromEntries(statuses)).toEqual({ 401: 2_000 });
    expect(proxy.queries() - queriesBefore).toBe(0);
    expect((await redisKeys()) - keysBefore).toBe(0);

    // The genuine key still works, so the gateway was not simply refusing everything.
    const again = await call(key);
    expect(again.status).toBe(200);
    await again.arrayBuffer();
  }, 60_000);
});
