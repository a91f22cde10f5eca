// "Keys are stored only as hashes, and never logged", checked everywhere a key could land:
// every Postgres table (usage metadata and webhook payloads included), every Redis key of
// the deployment, what the webhook receiver got, and everything the gateway logged. The
// needles are the whole key and every 8-character window of its secret.

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "../../scripts/lib/scratch-database";
import { RedisClient } from "../../src/redis/resp/client";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { type SelfHosted, startSelfHosted } from "../../src/server/self-hosted";
import { dropPrefix } from "../limiter/conformance/redis-harness";
import { type EchoUpstream, startEchoUpstream } from "../support/echo-upstream";
import { TEST_REDIS_URL } from "../support/test-gateway";
import { startWebhookReceiver } from "../support/webhook-receiver";
import { TEST_WEBHOOK_SECRET } from "../support/webhook-secret";

const ADMIN_TOKEN = "secrets-at-rest-admin-token-0123456789";
const prefix = `aegis-test-${crypto.randomUUID().slice(0, 8)}`;
const redis = new RedisClient({ url: TEST_REDIS_URL, connect: nodeSocket, commandTimeoutMs: 5_000 });
let scratch: ScratchDatabase;
let upstream: EchoUpstream;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
let server: SelfHosted;
const logged: string[] = [];

beforeAll(async () => {
  // Everything the gateway writes to the console, from here on.
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      logged.push(args.map((a) => (typeof a === "string" ? a : (JSON.stringify(a) ?? String(a)))).join(" "));
    });
  }
  scratch = await createScratchDatabase("aegis_secrets");
  upstream = await startEchoUpstream();
  receiver = await startWebhookReceiver();
  server = await startSelfHosted({
    env: {
      DATABASE_URL: scratch.url,
      RATE_LIMIT_REDIS_URL: TEST_REDIS_URL,
      AEGIS_REDIS_PREFIX: prefix,
      ADMIN_TOKEN,
      UPSTREAM_URL: upstream.url,
      KEY_SIGNING_SECRET: "secrets-at-rest-signing-secret-0123456",
      BILLING_PERIOD: "day",
      BILLING_GRACE_HOURS: "0",
      BILLING_WEBHOOK_URL: `${receiver.url}/hooks/secrets/200`,
      BILLING_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    },
    port: 0,
    instance: "secrets-at-rest",
    billing: false,
  });
}, 60_000);

afterAll(async () => {
  await server?.close();
  vi.restoreAllMocks();
  await dropPrefix(redis, prefix);
  await redis.close();
  await receiver?.close();
  await upstream?.close();
  await scratch?.drop();
});

const admin = (path: string, init: RequestInit = {}) =>
  fetch(`${server.url}/admin/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json", ...init.headers },
  });

/** Every row of every table of the database, as text. */
async function postgresText(): Promise<string> {
  const client = new pg.Client({ connectionString: scratch.url });
  await client.connect();
  try {
    const tables = await client.query<{ name: string }>(
      "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) AS name FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    );
    expect(tables.rows.map((t) => t.name)).toEqual(
      expect.arrayContaining(["public.api_keys", "public.usage_records", "public.webhook_deliveries"]),
    );
    let text = "";
    for (const { name } of tables.rows) {
      const rows = await client.query<{ row: string }>(`SELECT t::text AS row FROM ${name} t`);
      text += rows.rows.map((r) => r.row).join("\n");
    }
    return text;
  } finally {
    await client.end();
  }
}

/** Every value of every key under the deployment's prefix, as text. */
async function redisText(): Promise<string> {
  let cursor = "0";
  const parts: string[] = [];
  do {
    const [next, keys] = (await redis.send(["SCAN", cursor, "MATCH", `${prefix}:*`, "COUNT", 1000])) as [
      string,
      string[],
    ];
    cursor = String(next);
    for (const key of keys) {
      const type = String(await redis.send(["TYPE", key]));
      const read: Record<string, (string | number)[]> = {
        string: ["GET", key],
        hash: ["HGETALL", key],
        set: ["SMEMBERS", key],
        zset: ["ZRANGE", key, 0, -1, "WITHSCORES"],
        stream: ["XRANGE", key, "-", "+"],
        list: ["LRANGE", key, 0, -1],
      };
      const command = read[type];
      if (!command) throw new Error(`a key of type ${type} under the prefix: ${key}`);
      parts.push(key, JSON.stringify(await redis.send(command)));
    }
  } while (cursor !== "0");
  return parts.join("\n");
}

/** The whole key and every 8-character window of its secret. */
function needles(key: string): string[] {
  const secret = key.split("_")[2] as string;
  expect(secret).toHaveLength(32);
  const windows = Array.from({ length: secret.length - 7 }, (_, i) => secret.slice(i, i + 8));
  return [key, ...windows];
}

describe("API keys at rest", () => {
  it("are found nowhere: not in Postgres, Redis, webhook payloads or the logs", async () => {
    const created = await admin("/tenants", {
      method: "POST",
      body: JSON.stringify({ name: "secrets", quota: { ratePerMinute: 0, burst: 1_000, dailyUnits: 100_000 } }),
    });
    const { id } = (await created.json()) as { id: string };
    const issued = (await (await admin(`/tenants/${id}/keys`, { method: "POST", body: "{}" })).json()) as {
      id: string;
      key: string;
    };
    const { key } = issued;
    const asTenant = (path: string, init: RequestInit = {}) =>
      fetch(`${server.url}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, ...init.headers } });

    // Every path a key travels: a proxied call (its reply's model goes into metadata), a
    // streamed one, a report with metadata, the tenant's reads, a near-miss key, a revoked key.
    for (const path of ["/v1/chat/completions?tokens=9", "/v1/chat/completions?sse=1&tokens=4"]) {
      const res = await asTenant(path, { method: "POST", body: JSON.stringify({ model: "m" }) });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    const report = await asTenant("/account/v1/usage", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ units: 5, idempotencyKey: "job-1", metadata: { job: "nightly" } }),
    });
    expect(report.status).toBe(202);
    expect((await asTenant("/account/v1/limits")).status).toBe(200);
    const nearMiss = `${key.slice(0, -1)}${key.endsWith("0") ? "1" : "0"}`;
    const refused = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${nearMiss}` },
    });
    expect(refused.status).toBe(401);
    expect((await admin(`/tenants/${id}/keys/${issued.id}`, { method: "DELETE" })).status).toBeLessThan(300);
    expect((await asTenant("/account/v1/limits")).status).toBe(401);

    // The usage reaches Postgres, and is invoiced with a webhook, before anything is searched.
    for (let i = 0; i < 200; i++) {
      const usage = (await (await admin(`/tenants/${id}/usage`)).json()) as { totalUnits: number };
      if (usage.totalUnits === 9 + 4 + 5) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const tomorrow = Date.now() + 86_400_000;
    const run = await server.runBilling(tomorrow);
    expect(run.created.length).toBeGreaterThan(0);
    const webhooks = await (await fetch(`${receiver.url}/hooks/secrets/log`)).text();
    expect(webhooks).toContain("invoice.created");

    const haystacks = {
      postgres: await postgresText(),
      redis: await redisText(),
      webhooks,
      logs: logged.join("\n"),
    };
    // The searches look in the right places: the key's hash is in Postgres and Redis.
    const hash = Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key))).toString("hex");
    expect(haystacks.postgres).toContain(hash);
    expect(haystacks.postgres).toContain("nightly");
    expect(haystacks.logs.length).toBeGreaterThan(0);
    const found = Object.entries(haystacks).flatMap(([where, text]) =>
      needles(key)
        .filter((n) => text.includes(n))
        .map((n) => `${where}: ${n}`),
    );
    expect(found).toEqual([]);
  }, 60_000);
});
