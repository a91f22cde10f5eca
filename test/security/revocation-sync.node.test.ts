// A revocation whose push to the limiter fails: the operator is told (502 edge-sync-pending),
// Postgres keeps the revocation, and the key stops working once the push lands (the request
// repeated) or the limiter's refresh reads Postgres again.
//
// The push fails for real: a dedicated Redis is paused for writes (CLIENT PAUSE), so the
// limiter's script blocks past LIMITER_TIMEOUT_MS, while Redis keeps the config it had.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "../../scripts/lib/scratch-database";
import { RedisClient } from "../../src/redis/resp/client";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { type SelfHosted, startSelfHosted } from "../../src/server/self-hosted";
import { type EchoUpstream, startEchoUpstream } from "../support/echo-upstream";
import { type DedicatedRedis, startDedicatedRedis } from "../support/redis-server";

const ADMIN_TOKEN = "revocation-sync-admin-token-0123456789";
let scratch: ScratchDatabase;
let upstream: EchoUpstream;
let redis: DedicatedRedis;
let control: RedisClient;
let server: SelfHosted;

beforeAll(async () => {
  scratch = await createScratchDatabase("aegis_revocation");
  upstream = await startEchoUpstream();
  redis = await startDedicatedRedis();
  control = new RedisClient({ url: redis.url, connect: nodeSocket, commandTimeoutMs: 5_000 });
  server = await startSelfHosted({
    env: {
      DATABASE_URL: scratch.url,
      RATE_LIMIT_REDIS_URL: redis.url,
      ADMIN_TOKEN,
      UPSTREAM_URL: upstream.url,
      KEY_SIGNING_SECRET: "revocation-sync-signing-secret-0123456",
      LIMITER_TIMEOUT_MS: "300",
      // The safety net behind the pushes: a config older than this is reloaded.
      CONFIG_REFRESH_SECONDS: "5",
    },
    port: 0,
    instance: "revocation-sync",
    billing: false,
  });
}, 60_000);

afterAll(async () => {
  await control?.send(["CLIENT", "UNPAUSE"]).catch(() => {});
  await server?.close();
  await control?.close();
  await redis?.stop();
  await upstream?.close();
  await scratch?.drop();
});

async function admin(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.url}/admin/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json", ...init.headers },
  });
}

async function call(key: string): Promise<number> {
  const res = await fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}` },
    body: "{}",
  });
  await res.arrayBuffer();
  return res.status;
}

/** Revokes a key while Redis refuses writes: the push cannot land. */
async function revokeWithPushFailing(tenantId: string, keyId: string): Promise<Response> {
  await control.send(["CLIENT", "PAUSE", "10000", "WRITE"]);
  try {
    return await admin(`/tenants/${tenantId}/keys/${keyId}`, { method: "DELETE" });
  } finally {
    await control.send(["CLIENT", "UNPAUSE"]);
  }
}

/** Polls `read` until it returns `want`, within a bound: for the limiter's refresh, not a clock. */
async function until<T>(read: () => Promise<T>, want: T, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let value = await read();
  while (value !== want && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    value = await read();
  }
  return value;
}

describe("a revocation whose push to the limiter fails", () => {
  it("answers 502 edge-sync-pending, keeps the revocation, and takes effect once the push lands or the refresh runs", async () => {
    const created = await admin("/tenants", {
      method: "POST",
      body: JSON.stringify({ name: "revoked", quota: { ratePerMinute: 0, burst: 1_000, dailyUnits: null } }),
    });
    const { id } = (await created.json()) as { id: string };
    const issue = async () =>
      (await (await admin(`/tenants/${id}/keys`, { method: "POST", body: "{}" })).json()) as {
        id: string;
        key: string;
      };
    const pushed = await issue();
    const refreshed = await issue();
    expect(await call(pushed.key)).toBe(200);
    expect(await call(refreshed.key)).toBe(200);

    // 1. The operator is told the limiter did not confirm; Postgres has the revocation.
    const res = await revokeWithPushFailing(id, pushed.id);
    expect(res.status).toBe(502);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(((await res.json()) as { code: string }).code).toBe("edge-sync-pending");
    const keys = (await (await admin(`/tenants/${id}/keys`)).json()) as {
      keys: { id: string; revokedAt: string | null }[];
    };
    expect(keys.keys.find((k) => k.id === pushed.id)?.revokedAt).not.toBeNull();

    // 2. Repeating the request pushes it now: the key is refused on the next call.
    const again = await admin(`/tenants/${id}/keys/${pushed.id}`, { method: "DELETE" });
    expect(again.status).toBeLessThan(300);
    expect(await call(pushed.key)).toBe(401);

    // 3. A revocation nobody repeats: the limiter's refresh reads Postgres and refuses it.
    const lost = await revokeWithPushFailing(id, refreshed.id);
    expect(lost.status).toBe(502);
    await lost.arrayBuffer();
    // The push was lost, not late: the limiter still admits the key, until its refresh.
    expect(await call(refreshed.key)).toBe(200);
    expect(await until(() => call(refreshed.key), 401, 30_000)).toBe(401);
  }, 60_000);
});

describe("a key creation whose push to the limiter fails", () => {
  it("still answers 201 with the key, marked Aegis-Sync: pending (and the deprecated Aegis-Edge-Sync), and the key works", async () => {
    const created = await admin("/tenants", {
      method: "POST",
      body: JSON.stringify({ name: "pending", quota: { ratePerMinute: 0, burst: 1_000, dailyUnits: null } }),
    });
    const { id } = (await created.json()) as { id: string };
    expect(created.headers.get("aegis-sync")).toBeNull();
    await control.send(["CLIENT", "PAUSE", "10000", "WRITE"]);
    let res: Response;
    try {
      res = await admin(`/tenants/${id}/keys`, { method: "POST", body: "{}" });
    } finally {
      await control.send(["CLIENT", "UNPAUSE"]);
    }
    // Failing the request would lose a key that is shown only once.
    expect(res.status).toBe(201);
    expect(res.headers.get("aegis-sync")).toBe("pending");
    expect(res.headers.get("aegis-edge-sync")).toBe("pending");
    const { key } = (await res.json()) as { key: string };
    // The limiter has not heard of the key; it reloads the tenant on a key it does not know.
    expect(await until(() => call(key), 200, 30_000)).toBe(200);
  }, 60_000);
});
