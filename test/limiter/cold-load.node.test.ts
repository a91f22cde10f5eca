// A cold limiter's first load of a tenant is not an outage: with LIMITER_FAILURE_MODE=open
// and a short LIMITER_TIMEOUT_MS, a slow Postgres must neither let a call through unverified
// nor turn a real tenant's first call into an unmetered one.
//
// Postgres is made slow for real: a transaction holds an exclusive lock on `tenants`, so the
// limiter's load waits on it; Postgres itself reports how long the load has waited.

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "../../scripts/lib/scratch-database";
import { loadConfig } from "../../src/config";
import { newApiKey } from "../../src/core/api-keys";
import { newKeyId, newTenantId, randomSecret, sha256Hex } from "../../src/core/secrets";
import { openNodeDatabase } from "../../src/db/node";
import { createKey, createTenant } from "../../src/db/tenants";
import { defaultLimits } from "../../src/defaults";
import { RedisClient } from "../../src/redis/resp/client";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { type SelfHosted, startSelfHosted } from "../../src/server/self-hosted";
import { type EchoUpstream, startEchoUpstream } from "../support/echo-upstream";
import { TEST_REDIS_URL } from "../support/test-gateway";
import { dropPrefix } from "./conformance/redis-harness";

const SIGNING_SECRET = "cold-load-signing-secret-0123456789ab";
const CHECK_TIMEOUT_MS = 200;
const prefix = `aegis-test-${crypto.randomUUID().slice(0, 8)}`;
const redis = new RedisClient({ url: TEST_REDIS_URL, connect: nodeSocket, commandTimeoutMs: 5_000 });
let scratch: ScratchDatabase;
let upstream: EchoUpstream;
const servers: SelfHosted[] = [];

beforeAll(async () => {
  scratch = await createScratchDatabase("aegis_coldload");
  upstream = await startEchoUpstream();
}, 60_000);

afterAll(async () => {
  for (const s of servers) await s.close();
  await dropPrefix(redis, prefix);
  await redis.close();
  await upstream?.close();
  await scratch?.drop();
});

async function gateway(extra: Record<string, string>): Promise<SelfHosted> {
  const server = await startSelfHosted({
    env: {
      DATABASE_URL: scratch.url,
      RATE_LIMIT_REDIS_URL: TEST_REDIS_URL,
      AEGIS_REDIS_PREFIX: prefix,
      UPSTREAM_URL: upstream.url,
      KEY_SIGNING_SECRET: SIGNING_SECRET,
      LIMITER_FAILURE_MODE: "open",
      LIMITER_TIMEOUT_MS: String(CHECK_TIMEOUT_MS),
      ...extra,
    },
    port: 0,
    instance: `cold-${servers.length}`,
    billing: false,
  });
  servers.push(server);
  return server;
}

/** A tenant and signed key in Postgres only, as after a restore: no limiter has it yet. */
async function seedInPostgresOnly(): Promise<string> {
  const handle = openNodeDatabase(scratch.url, 1);
  try {
    const defaults = defaultLimits(loadConfig({}));
    const id = newTenantId();
    const quota = { ratePerMinute: 0, burst: 10, dailyUnits: 100 };
    const { key, prefix: shown } = await newApiKey(id, SIGNING_SECRET);
    await createTenant(handle.db, { id, name: "cold", status: "active", quota }, defaults);
    await createKey(
      handle.db,
      id,
      { id: newKeyId(), prefix: shown, keyHash: await sha256Hex(key), name: null },
      defaults,
    );
    return key;
  } finally {
    await handle.close();
  }
}

/** Holds an exclusive lock on `tenants` until release(): every read of it waits. */
async function lockTenants() {
  const client = new pg.Client({ connectionString: scratch.url });
  // Another connection watches: inside the lock's transaction, the activity view is frozen.
  const watcher = new pg.Client({ connectionString: scratch.url });
  await Promise.all([client.connect(), watcher.connect()]);
  await client.query("BEGIN");
  await client.query("LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE");
  let released = false;
  return {
    /** Resolves once a query has waited on the lock for `ms`, as Postgres measures it. */
    async waitedFor(ms: number) {
      for (let i = 0; i < 400; i++) {
        const r = await watcher.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'
              AND now() - query_start > make_interval(secs => $1::float8 / 1000)`,
          [ms],
        );
        if (r.rows[0].n > 0) return;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error(`no query waited ${ms} ms on the lock`);
    },
    /** Ends the lock; a second call does nothing. */
    async release() {
      if (released) return;
      released = true;
      await client.query("COMMIT");
      await Promise.all([client.end(), watcher.end()]);
    },
  };
}

const call = (base: string, key: string) =>
  fetch(`${base}/v1/chat/completions?tokens=4`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}` },
    body: "{}",
  });

describe("a cold limiter's slow first load", () => {
  it("is waited for, and the call is verified and metered, not let through unchecked", async () => {
    const server = await gateway({});
    const key = await seedInPostgresOnly();
    const lock = await lockTenants();
    let res: Response;
    try {
      const pending = call(server.url, key);
      // The load has waited on Postgres for longer than the check may take, several times over.
      await lock.waitedFor(CHECK_TIMEOUT_MS * 3);
      await lock.release();
      res = await pending;
    } finally {
      await lock.release();
    }
    expect(res.status).toBe(200);
    expect(res.headers.get("aegis-limit-enforced")).toBeNull();
    expect(res.headers.get("ratelimit")).toContain('"daily"');
    const seen = ((await res.json()) as { echo: { headers: Record<string, string> } }).echo.headers;
    // The key names its tenant: ak_<tenant id>_<secret>_<mac>.
    expect(seen["x-aegis-tenant-id"]).toBe(key.split("_")[1]);
    expect(seen["x-aegis-unenforced"]).toBeUndefined();
  });

  it("refuses a made-up tenant once its load finds nothing, however slow the load", async () => {
    const server = await gateway({});
    const lock = await lockTenants();
    let res: Response;
    try {
      // An unsigned key (accepted while UNSIGNED_KEYS is accept) for a tenant that does not exist.
      const pending = call(server.url, `ak_${newTenantId()}_${randomSecret(32)}`);
      await lock.waitedFor(CHECK_TIMEOUT_MS * 3);
      await lock.release();
      res = await pending;
    } finally {
      await lock.release();
    }
    expect(res.status).toBe(401);
    await res.arrayBuffer();
  });

  it("answers 503, even failing open, when the load cannot finish in LIMITER_LOAD_TIMEOUT_MS", async () => {
    const server = await gateway({ LIMITER_LOAD_TIMEOUT_MS: "300" });
    const key = await seedInPostgresOnly();
    const lock = await lockTenants();
    let res: Response;
    try {
      res = await call(server.url, key);
    } finally {
      await lock.release();
    }
    expect(res.status).toBe(503);
    expect(((await res.json()) as { code: string }).code).toBe("limiter-unavailable");
    // Once Postgres answers again, the same key works.
    const later = await call(server.url, key);
    expect(later.status).toBe(200);
    await later.arrayBuffer();
  });
});
