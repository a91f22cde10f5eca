// "Exactly min(N, Q)" on the Redis limiter through `npm run serve`, not only at the store:
// 500 calls at once over many client connections, to one server process and to two that
// share one Redis and one Postgres, admit exactly what the quota holds, and Postgres meters
// exactly what was admitted. The servers get a generous LIMITER_TIMEOUT_MS and the tests
// demand zero 503s, so a slow machine cannot turn a miscount into "limiter unavailable".

import http from "node:http";
import type net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/free-port";
import { createScratchDatabase, type ScratchDatabase } from "../../scripts/lib/scratch-database";
import { RedisClient } from "../../src/redis/resp/client";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { type EchoUpstream, startEchoUpstream } from "../support/echo-upstream";
import { noonZone } from "../support/noon-zone";
import { type ServerProcess, startServerProcess } from "../support/server-process";
import { TEST_REDIS_URL } from "../support/test-gateway";
import { dropPrefix } from "./conformance/redis-harness";

const ADMIN_TOKEN = "concurrency-admin-token-0123456789";
const CALLS = 500;
/** Calls in flight at once: enough to race, few enough for two shared cores. */
const IN_FLIGHT = 80;
/** No single call may take longer than this; the whole run is bounded by CALLS of them. */
const CALL_TIMEOUT_MS = 30_000;
const prefix = `aegis-test-${crypto.randomUUID().slice(0, 8)}`;
const redis = new RedisClient({ url: TEST_REDIS_URL, connect: nodeSocket, commandTimeoutMs: 5_000 });
let scratch: ScratchDatabase;
let upstream: EchoUpstream;
const servers: ServerProcess[] = [];
const agents: http.Agent[] = [];

beforeAll(async () => {
  scratch = await createScratchDatabase("aegis_rconc");
  upstream = await startEchoUpstream();
  const env = async (instance: string) => ({
    DATABASE_URL: scratch.url,
    RATE_LIMIT_REDIS_URL: TEST_REDIS_URL,
    AEGIS_REDIS_PREFIX: prefix,
    AEGIS_INSTANCE: instance,
    ADMIN_TOKEN,
    UPSTREAM_URL: upstream.url,
    // Generous, so that load on a slow machine never turns into a 503 (asserted absent).
    LIMITER_TIMEOUT_MS: "10000",
    ROUTES: JSON.stringify([{ method: "POST", path: "/v1/chat/*", route: "chat", cost: 1 }]),
    PORT: String(await freePort()),
  });
  // Two real processes, as `npm run serve` starts them: nothing but Redis and Postgres is shared.
  const envs = [await env("a"), await env("b")];
  servers.push(...(await Promise.all(envs.map((e) => startServerProcess("node", e)))));
}, 120_000);

afterAll(async () => {
  for (const agent of agents) agent.destroy();
  await Promise.allSettled(servers.map((s) => s.stop()));
  await dropPrefix(redis, prefix);
  await redis.close();
  await upstream?.close();
  await scratch?.drop();
});

async function api(base: string, path: string, json?: unknown): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: json === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
}

async function newTenant(base: string, quota: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const t = await api(base, "/admin/v1/tenants", { name: "concurrency", quota });
  if (t.status !== 201) throw new Error(`create tenant: ${t.status} ${await t.text()}`);
  const { id } = (await t.json()) as { id: string };
  const k = await api(base, `/admin/v1/tenants/${id}/keys`, {});
  if (k.status !== 201) throw new Error(`create key: ${k.status} ${await k.text()}`);
  return { id, key: ((await k.json()) as { key: string }).key };
}

interface Tally {
  /** Status -> how many calls got it. */
  statuses: Record<string, number>;
  /** Problem code (or "" for a 200) -> count, with the violated policies of a 429. */
  outcomes: Record<string, number>;
  /** Distinct client connections that carried the calls. */
  connections: number;
}

/** One POST on `agent`; resolves with the status and the problem's code and policies, if any. */
function post(agent: http.Agent, url: string, key: string, sockets: Set<net.Socket>) {
  return new Promise<{ status: number; outcome: string }>((resolve, reject) => {
    const req = http.request(url, {
      agent,
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      timeout: CALL_TIMEOUT_MS,
    });
    req.on("socket", (s) => sockets.add(s));
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url} within ${CALL_TIMEOUT_MS} ms`)));
    req.on("error", reject);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const status = res.statusCode ?? 0;
        if (status === 200) return resolve({ status, outcome: "" });
        const body = Buffer.concat(chunks).toString("utf8");
        try {
          const p = JSON.parse(body) as { code?: string; "violated-policies"?: string[] };
          resolve({ status, outcome: `${p.code}:${(p["violated-policies"] ?? []).join(",")}` });
        } catch {
          resolve({ status, outcome: `unparsed: ${body.slice(0, 200)}` });
        }
      });
    });
    req.end("{}");
  });
}

/** CALLS calls, IN_FLIGHT at a time, dealt round-robin to `bases`, each over its own pool of connections. */
async function hammer(bases: string[], key: string): Promise<Tally> {
  const pools = bases.map((base) => {
    // Keep-alive with a socket per call in flight: many connections per server, each reused.
    const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
    agents.push(agent);
    return { url: `${base}/v1/chat/completions`, agent };
  });
  const sockets = new Set<net.Socket>();
  const tally: Tally = { statuses: {}, outcomes: {}, connections: 0 };
  let next = 0;
  const worker = async () => {
    while (next < CALLS) {
      const pool = pools[next++ % pools.length] as (typeof pools)[number];
      const { status, outcome } = await post(pool.agent, pool.url, key, sockets);
      tally.statuses[status] = (tally.statuses[status] ?? 0) + 1;
      tally.outcomes[outcome] = (tally.outcomes[outcome] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  tally.connections = sockets.size;
  return tally;
}

/** Polls the units Postgres holds for the tenant until they reach `want` or 20 s pass. */
async function meteredUnits(base: string, id: string, want: number): Promise<number> {
  const end = Date.now() + 20_000;
  for (;;) {
    const r = await api(base, `/admin/v1/tenants/${id}/usage`);
    const units = ((await r.json()) as { totalUnits: number }).totalUnits;
    if (units >= want || Date.now() > end) return units;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const base = (i: number) => (servers[i] as ServerProcess).url;

describe("Redis limiter under concurrency through the self-hosted server", () => {
  it("500 calls over many connections to one server, burst 100 and no refill: exactly 100 admitted", async () => {
    const { id, key } = await newTenant(base(0), {
      ratePerMinute: 0,
      burst: 100,
      dailyUnits: null,
      timeZone: noonZone(),
    });
    const tally = await hammer([base(0)], key);
    // Only 200s and 429s: a 503 or any other status would hide a miscount.
    expect(tally.statuses).toEqual({ 200: 100, 429: 400 });
    expect(tally.outcomes).toEqual({ "": 100, "quota-exceeded:chat": 400 });
    // The calls really came over many connections at once, not one after another.
    expect(tally.connections).toBeGreaterThan(10);
    expect(await redis.send(["HGET", `${prefix}:{${id}}`, "d.used"])).toBe("100");
    // Served and metered agree: every admitted call, and nothing else, reaches Postgres.
    expect(await meteredUnits(base(0), id, 100)).toBe(100);
  });

  it("500 calls spread over two server processes sharing one Redis: exactly 100 admitted in total", async () => {
    const { id, key } = await newTenant(base(1), {
      ratePerMinute: 0,
      burst: 100,
      dailyUnits: null,
      timeZone: noonZone(),
    });
    const tally = await hammer([base(0), base(1)], key);
    expect(tally.statuses).toEqual({ 200: 100, 429: 400 });
    expect(tally.outcomes).toEqual({ "": 100, "quota-exceeded:chat": 400 });
    expect(tally.connections).toBeGreaterThan(10);
    expect(await redis.send(["HGET", `${prefix}:{${id}}`, "d.used"])).toBe("100");
    expect(await meteredUnits(base(1), id, 100)).toBe(100);
  });

  it("a daily quota of 50 with a large burst, over two servers: exactly 50 admitted", async () => {
    const { id, key } = await newTenant(base(0), {
      ratePerMinute: 0,
      burst: 1_000,
      dailyUnits: 50,
      timeZone: noonZone(),
    });
    const tally = await hammer([base(0), base(1)], key);
    expect(tally.statuses).toEqual({ 200: 50, 429: 450 });
    // Refused by the day, not the bucket (which still holds 950).
    expect(tally.outcomes).toEqual({ "": 50, "quota-exceeded:daily": 450 });
    expect(await redis.send(["HGET", `${prefix}:{${id}}`, "d.used"])).toBe("50");
    expect(await meteredUnits(base(0), id, 50)).toBe(50);
  });
});
