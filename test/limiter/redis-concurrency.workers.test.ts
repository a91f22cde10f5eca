// "Exactly min(N, Q)" on the Worker's Redis path (RATE_LIMIT_REDIS_URL): every limiter call
// opens its own cloudflare:sockets connection, so 500 calls at once are 500 separate
// connections racing on one tenant's state in Redis. The burst must admit exactly 100,
// the daily quota exactly 50, and nothing may answer 503: a generous LIMITER_TIMEOUT_MS
// keeps a slow machine from turning a miscount into "limiter unavailable".

import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { registryKey } from "../../src/redis/keys";
import { RedisClient } from "../../src/redis/resp/client";
import { cloudflareSocket } from "../../src/redis/resp/cloudflare-socket";
import { noonZone } from "../support/noon-zone";
import { ADMIN_TOKEN, BASE, env } from "../support/workers/helpers";

const redisUrl = env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";
// One object for the whole file: the config is cached per env object. The Worker always
// uses the "aegis" prefix (it reads no prefix setting), so this file's keys are told apart
// by its tenants' ids, and afterAll deletes exactly those.
const redisEnv = { ...env, RATE_LIMIT_REDIS_URL: redisUrl, LIMITER_TIMEOUT_MS: "10000" };
const created: string[] = [];
const CALLS = 500;
/** Calls in flight at once: each holds a Redis connection, so this races 100 of them. */
const IN_FLIGHT = 100;

afterAll(async () => {
  const redis = new RedisClient({ url: redisUrl, connect: cloudflareSocket });
  try {
    for (const id of created) {
      const keys = (await redis.send(["KEYS", `aegis:{${id}}*`])) as string[];
      if (keys.length > 0) await redis.send(["UNLINK", ...keys]);
      await redis.send(["SREM", registryKey("aegis"), id]);
    }
  } finally {
    await redis.close();
  }
});

async function fetchWorker(path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const request = new Request(`${BASE}${path}`, init) as Request<unknown, IncomingRequestCfProperties>;
  const res = await worker.fetch(request, redisEnv, ctx);
  const body = await res.arrayBuffer();
  // The settle of the call's reservation runs in waitUntil: it finishes before the call counts as done.
  await waitOnExecutionContext(ctx);
  return new Response(body, res);
}

async function adminJson<T>(path: string, json: unknown): Promise<T> {
  const res = await fetchWorker(`/admin/v1${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(json),
  });
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** A tenant and key made through the Worker on Redis, so the config is pushed to Redis. */
async function newRedisTenant(quota: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const { id } = await adminJson<{ id: string }>("/tenants", { name: "redis concurrency", quota });
  created.push(id);
  const { key } = await adminJson<{ key: string }>(`/tenants/${id}/keys`, {});
  return { id, key };
}

/** CALLS calls, IN_FLIGHT at a time; counts "status code:violated policies" ("200" when admitted). */
async function hammer(key: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let next = 0;
  const lane = async () => {
    while (next < CALLS) {
      next++;
      const res = await fetchWorker("/v1/chat/completions", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: "{}",
      });
      let outcome = String(res.status);
      if (res.status !== 200) {
        const text = await res.text();
        try {
          const p = JSON.parse(text) as { code?: string; "violated-policies"?: string[] };
          outcome += ` ${p.code}:${(p["violated-policies"] ?? []).join(",")}`;
        } catch {
          outcome += ` ${text.slice(0, 200)}`;
        }
      }
      counts[outcome] = (counts[outcome] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return counts;
}

async function hget(id: string, field: string): Promise<unknown> {
  const redis = new RedisClient({ url: redisUrl, connect: cloudflareSocket });
  try {
    return await redis.send(["HGET", `aegis:{${id}}`, field]);
  } finally {
    await redis.close();
  }
}

describe("Worker on the Redis limiter under concurrency", () => {
  it("500 concurrent calls, burst 100 and no refill: exactly 100 admitted, 400 refused, no 503", async () => {
    const { id, key } = await newRedisTenant({ ratePerMinute: 0, burst: 100, dailyUnits: null });
    expect(await hammer(key)).toEqual({ "200": 100, "429 quota-exceeded:chat": 400 });
    // The counters in Redis agree: 100 units taken, and the bucket is empty (ticks:at).
    expect(await hget(id, "d.used")).toBe("100");
    expect(String(await hget(id, "b:chat"))).toMatch(/^0:\d+$/);
  });

  it("500 concurrent calls, daily quota 50 and a large burst: exactly 50 admitted", async () => {
    const { id, key } = await newRedisTenant({
      ratePerMinute: 0,
      burst: 1_000,
      dailyUnits: 50,
      timeZone: noonZone(),
    });
    expect(await hammer(key)).toEqual({ "200": 50, "429 quota-exceeded:daily": 450 });
    expect(await hget(id, "d.used")).toBe("50");
  });
});
