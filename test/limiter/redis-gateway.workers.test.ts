// The Worker with RATE_LIMIT_REDIS_URL: the gateway limits through a self-hosted Redis over
// cloudflare:sockets instead of Durable Objects, and the cron drains usage into Postgres.

import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import worker from "../../src/index";
import { registryKey } from "../../src/redis/keys";
import { RedisClient } from "../../src/redis/resp/client";
import { cloudflareSocket } from "../../src/redis/resp/cloudflare-socket";
import { drainRedisUsage } from "../../src/redis/worker-redis";
import { ADMIN_TOKEN, BASE, env } from "../support/workers/helpers";

const redisUrl = env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";
// One object for the whole file: the config is cached per env object.
const redisEnv = { ...env, RATE_LIMIT_REDIS_URL: redisUrl };
const created: string[] = [];

async function fetchWorker(path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const request = new Request(`${BASE}${path}`, init) as Request<unknown, IncomingRequestCfProperties>;
  const res = await worker.fetch(request, redisEnv, ctx);
  const body = await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response(body, res);
}

const adminInit = (method: string, json: unknown): RequestInit => ({
  method,
  headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
  body: JSON.stringify(json),
});

afterAll(async () => {
  const redis = new RedisClient({ url: redisUrl, connect: cloudflareSocket });
  for (const id of created) {
    const keys = (await redis.send(["KEYS", `aegis:{${id}}*`])) as string[];
    if (keys.length > 0) await redis.send(["UNLINK", ...keys]);
    await redis.send(["SREM", registryKey("aegis"), id]);
  }
  await redis.close();
});

describe("Worker on the Redis limiter", () => {
  it("limits through Redis, answers 401 for a revoked key, and the cron stores the usage", async () => {
    const t = await fetchWorker(
      "/admin/v1/tenants",
      adminInit("POST", { name: "redis", quota: { ratePerMinute: 0, burst: 3, dailyUnits: 50 } }),
    );
    expect(t.status).toBe(201);
    const { id } = (await t.json()) as { id: string };
    created.push(id);
    const k = await fetchWorker(`/admin/v1/tenants/${id}/keys`, adminInit("POST", {}));
    const { key, id: keyId } = (await k.json()) as { key: string; id: string };

    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await fetchWorker("/v1/chat/completions", {
        method: "POST",
        headers: { authorization: `Bearer ${key}` },
        body: "{}",
      });
      statuses.push(r.status);
      if (i === 0) expect(r.headers.get("ratelimit")).toMatch(/"chat";r=2/);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    // Nothing of this tenant lives in a Durable Object: its state is in Redis.
    const redis = new RedisClient({ url: redisUrl, connect: cloudflareSocket });
    try {
      expect(await redis.send(["HGET", `aegis:{${id}}`, "d.used"])).toBe("3");
    } finally {
      await redis.close();
    }

    const revoked = await fetchWorker(`/admin/v1/tenants/${id}/keys/${keyId}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(revoked.status).toBeLessThan(300);
    const after = await fetchWorker("/account/v1/limits", { headers: { authorization: `Bearer ${key}` } });
    expect(after.status).toBe(401);

    const drained = await drainRedisUsage(loadConfig(redisEnv));
    expect(drained.stored).toBeGreaterThanOrEqual(3);
    const usage = await fetchWorker(`/admin/v1/tenants/${id}/usage`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(await usage.json()).toMatchObject({ totalUnits: 3 });
  });
});
