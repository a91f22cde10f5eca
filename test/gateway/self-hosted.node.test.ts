// The self-hosted server end to end: real Postgres, real Redis (the shared one, under a test
// prefix, or a dedicated redis-server that the outage tests stop and start), an upstream.
// It runs under Node, Bun and Deno, survives a SIGKILL without losing or doubling usage, and
// behaves as LIMITER_FAILURE_MODE says while Redis is gone.

import http from "node:http";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { freePort } from "../../scripts/lib/free-port";
import { createScratchDatabase, type ScratchDatabase } from "../../scripts/lib/scratch-database";
import { RedisClient } from "../../src/redis/resp/client";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { type SelfHosted, startSelfHosted } from "../../src/server/self-hosted";
import { dropPrefix } from "../limiter/conformance/redis-harness";
import { type EchoUpstream, startEchoUpstream } from "../support/echo-upstream";
import { noonZone } from "../support/noon-zone";
import { startDedicatedRedis } from "../support/redis-server";
import { type Runtime, startServerProcess } from "../support/server-process";

const ADMIN_TOKEN = "self-hosted-admin-token-0123456789";
const SHARED_REDIS = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";
const prefix = `aegis-test-${crypto.randomUUID().slice(0, 8)}`;
let scratch: ScratchDatabase;
let upstream: EchoUpstream;
const redis = new RedisClient({ url: SHARED_REDIS, connect: nodeSocket, commandTimeoutMs: 5_000 });

beforeAll(async () => {
  scratch = await createScratchDatabase("aegis_selfhosted");
  upstream = await startEchoUpstream();
}, 60_000);

afterAll(async () => {
  await dropPrefix(redis, prefix);
  await redis.close();
  await upstream?.close();
  await scratch?.drop();
});

function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: scratch.url,
    RATE_LIMIT_REDIS_URL: SHARED_REDIS,
    AEGIS_REDIS_PREFIX: prefix,
    ADMIN_TOKEN,
    UPSTREAM_URL: upstream.url,
    ROUTES: JSON.stringify([{ method: "POST", path: "/v1/chat/*", route: "chat", cost: 1 }]),
    ...extra,
  };
}

async function api(base: string, path: string, init: RequestInit & { json?: unknown; key?: string } = {}) {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${init.key ?? ADMIN_TOKEN}`);
  if (init.json !== undefined) headers.set("content-type", "application/json");
  return fetch(`${base}${path}`, {
    ...init,
    headers,
    body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
  });
}

async function newTenant(base: string, quota: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const t = await api(base, "/admin/v1/tenants", { method: "POST", json: { name: "self-hosted", quota } });
  if (t.status !== 201) throw new Error(`create tenant: ${t.status} ${await t.text()}`);
  const { id } = (await t.json()) as { id: string };
  const k = await api(base, `/admin/v1/tenants/${id}/keys`, { method: "POST", json: {} });
  if (k.status !== 201) throw new Error(`create key: ${k.status} ${await k.text()}`);
  return { id, key: ((await k.json()) as { key: string }).key };
}

/** Polls `read` until `done` holds, for at most `timeoutMs`; returns the last value. */
async function eventually<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    value = await read();
  }
  return value;
}

type Echo = { echo: { url: string; headers: Record<string, string> }; usage?: { total_tokens: number } };

/** One call on a keep-alive agent: the status, headers, whole body, and whether the socket was reused. */
function keepAliveCall(agent: http.Agent, url: string, headers: Record<string, string>) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; reused: boolean }>(
    (resolve, reject) => {
      const req = http.request(url, { agent, method: "POST", headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
            reused: req.reusedSocket,
          }),
        );
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end("{}");
    },
  );
}

/**
 * Compressed replies reach a keep-alive client whole and metered; a percent-encoded path is
 * charged to the route it names; the client's forwarding headers never reach the upstream.
 */
async function expectCleanProxying(base: string): Promise<void> {
  const { id, key } = await newTenant(base, { ratePerMinute: 0, burst: 1_000, dailyUnits: 10_000 });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const headers = { authorization: `Bearer ${key}`, "content-type": "application/json", "accept-encoding": "gzip" };
    const calls = [
      "/v1/chat/completions?tokens=11&encoding=gzip",
      "/v1/chat/completions?tokens=12&encoding=gzip&force=1",
      "/v1/%63hat/completions?tokens=13&encoding=deflate&force=1",
      "/v1/chat/completions?tokens=14&encoding=br&force=1",
      "/v1/chat/completions?tokens=15&encoding=x-gzip&force=1",
    ];
    const results = [];
    for (const path of calls) results.push(await keepAliveCall(agent, `${base}${path}`, headers));
    // One connection carried every call, and each body parsed whole.
    expect(results.map((r) => r.reused)).toEqual([false, true, true, true, true]);
    const bodies = results.map((r) => {
      expect(r.status, r.body).toBe(200);
      expect(r.headers["content-encoding"]).toBeUndefined();
      if (r.headers["content-length"] !== undefined) {
        expect(Number(r.headers["content-length"])).toBe(Buffer.byteLength(r.body));
      }
      return JSON.parse(r.body) as Echo;
    });
    expect(bodies.map((b) => b.usage?.total_tokens)).toEqual([11, 12, 13, 14, 15]);
    expect(bodies[2]?.echo.url).toBe("/v1/chat/completions?tokens=13&encoding=deflate&force=1");
    expect(bodies.every((b) => b.echo.headers["x-aegis-route"] === "chat")).toBe(true);

    const spoofed = await keepAliveCall(agent, `${base}/v1/chat/completions`, {
      ...headers,
      "x-forwarded-for": "6.6.6.6",
      forwarded: "for=6.6.6.6",
      "x-real-ip": "6.6.6.6",
      "cf-connecting-ip": "6.6.6.6",
      connection: "keep-alive, x-secret-hop",
      "x-secret-hop": "must not pass",
    });
    const seen = (JSON.parse(spoofed.body) as Echo).echo.headers;
    expect(seen["x-forwarded-for"]).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
    expect(seen["x-real-ip"]).toBe(seen["x-forwarded-for"]);
    expect(seen["x-secret-hop"]).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain("6.6.6.6");
  } finally {
    agent.destroy();
  }
  // The spoofed call reported no usage: it costs the route's estimate of 1.
  expect(
    await eventually(
      () => totalUnits(base, id),
      (u) => u === 11 + 12 + 13 + 14 + 15 + 1,
    ),
  ).toBe(11 + 12 + 13 + 14 + 15 + 1);
}

const totalUnits = async (base: string, tenantId: string) => {
  const r = await api(base, `/admin/v1/tenants/${tenantId}/usage`);
  return ((await r.json()) as { totalUnits: number }).totalUnits;
};

describe("self-hosted server on every runtime", () => {
  it.each<Runtime>(["node", "bun", "deno"])(
    "%s: creates a tenant, limits it, and stores its usage",
    async (runtime) => {
      const server = await startServerProcess(
        runtime,
        baseEnv({ PORT: String(await freePort()), AEGIS_INSTANCE: `smoke-${runtime}` }),
      );
      try {
        // At the tenant's noon: its day cannot end between the calls and the read of today's use.
        const quota = { ratePerMinute: 0, burst: 3, dailyUnits: 100, timeZone: noonZone() };
        const { id, key } = await newTenant(server.url, quota);
        const statuses: number[] = [];
        for (let i = 0; i < 4; i++) {
          const r = await api(server.url, "/v1/chat/completions?units=1", { method: "POST", key, body: "{}" });
          statuses.push(r.status);
          if (r.status === 429) expect(r.headers.get("retry-after")).toBeTruthy();
          await r.arrayBuffer();
        }
        expect(statuses).toEqual([200, 200, 200, 429]);
        expect(
          await eventually(
            () => totalUnits(server.url, id),
            (u) => u === 3,
          ),
        ).toBe(3);
        const limits = await api(server.url, "/account/v1/limits", { key });
        expect(await limits.json()).toMatchObject({ tenantId: id, daily: { used: 3, remaining: 97 } });
        await expectCleanProxying(server.url);
        expect(await server.stop()).toBe(0);
      } finally {
        await server.kill();
      }
    },
    90_000,
  );
});

describe("self-hosted server and a crash", () => {
  it("meters at least what clients were served, and at most that plus the calls in flight, after a SIGKILL", async () => {
    const port = await freePort();
    // A proxied call's estimate equals what it reports, so a call whose settle died with the
    // process is billed, at its estimate, exactly what it served.
    const env = baseEnv({
      PORT: String(port),
      AEGIS_INSTANCE: "crash-test",
      RESERVATION_TTL_SECONDS: "2",
      ROUTES: JSON.stringify([{ method: "POST", path: "/v1/chat/*", route: "chat", cost: 3 }]),
    });
    let server = await startServerProcess("node", env);
    // The limiter's count of today is compared with Postgres's total: today must not end mid-test.
    const quota = { ratePerMinute: 600_000, burst: 100_000, dailyUnits: null, timeZone: noonZone() };
    const { id, key } = await newTenant(server.url, quota);
    /** Units of calls the client saw succeed, and of calls the crash cut off. */
    let served = 0;
    let inFlight = 0;
    let admitted = 0;
    let killing = false;
    const worker = async (w: number) => {
      // Each client stops starting calls once the kill is under way; the one it has out then
      // is in flight at the kill.
      for (let i = 0; !killing && i < 400; i++) {
        const units = i % 3 === 0 ? 1 + (i % 4) : 3;
        try {
          const r =
            i % 3 === 0
              ? await api(server.url, "/account/v1/usage", {
                  method: "POST",
                  key,
                  json: { units, route: "jobs", idempotencyKey: `w${w}-${i}` },
                })
              : await api(server.url, `/v1/chat/completions?units=${units}`, { method: "POST", key, body: "{}" });
          await r.arrayBuffer();
          expect(r.status, `call ${w}/${i}`).toBeLessThan(300);
          served += units;
          admitted++;
        } catch (err) {
          // The server died under this call: served or not, the client cannot tell.
          if ((err as Error).name === "AssertionError") throw err;
          inFlight += units;
        }
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
    await eventually(
      async () => admitted,
      (n) => n >= 150,
      30_000,
    );
    killing = true;
    await server.kill();
    await load;
    expect(admitted).toBeGreaterThanOrEqual(150);
    // One call per client connection at most was cut off.
    expect(inFlight).toBeLessThanOrEqual(8 * 4);

    server = await startServerProcess("node", env);
    try {
      const used = async () => {
        const r = await api(server.url, "/account/v1/limits", { key });
        return ((await r.json()) as { daily: { used: number } }).daily.used;
      };
      // Reservations the dead process held expire (2 s) and are recorded at their estimate;
      // entries it read but never stored are re-read. Then Postgres and the limiter agree.
      const [metered, counted] = await eventually(
        async () => [await totalUnits(server.url, id), await used()] as const,
        ([stored, limiter]) => stored === limiter && stored >= served,
        30_000,
      );
      expect(metered).toBe(counted);
      // Nothing a client was served goes unbilled, and nothing is billed twice: at most the
      // calls in flight at the kill can be billed without the client having seen them.
      expect(metered).toBeGreaterThanOrEqual(served);
      expect(metered).toBeLessThanOrEqual(served + inFlight);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 120_000);
});

describe("self-hosted server while Redis is down", () => {
  let dedicated: Awaited<ReturnType<typeof startDedicatedRedis>>;
  let closed: SelfHosted;
  let open: SelfHosted;
  let tenant: { id: string; key: string };

  beforeAll(async () => {
    dedicated = await startDedicatedRedis();
    const env = (mode: string) =>
      baseEnv({ RATE_LIMIT_REDIS_URL: dedicated.url, LIMITER_FAILURE_MODE: mode, LIMITER_TIMEOUT_MS: "400" });
    closed = await startSelfHosted({ env: env("closed"), port: 0, instance: "outage-closed", billing: false });
    open = await startSelfHosted({ env: env("open"), port: 0, instance: "outage-open", billing: false });
    tenant = await newTenant(closed.url, { ratePerMinute: 0, burst: 2, dailyUnits: 100 });
  }, 30_000);

  afterAll(async () => {
    await closed?.close();
    await open?.close();
    await dedicated?.stop();
  });

  const chat = (base: string) =>
    api(base, "/v1/chat/completions?units=1", { method: "POST", key: tenant.key, body: "{}" });

  /**
   * The servers run in this process, so their logs can be read: each "limiter unavailable"
   * line for the tenant, with the failure mode it was handled under and why the limiter
   * failed. The reason says which kind of failure answered (a refused connection, or the
   * timeout), where the elapsed time could only guess at it.
   */
  function unavailableLogs(spy: { mock: { calls: unknown[][] } }): { failureMode: string; error: string }[] {
    return spy.mock.calls
      .map(([line]) => {
        try {
          return JSON.parse(String(line)) as { msg?: string; tenant?: string; failureMode: string; error: string };
        } catch {
          return undefined;
        }
      })
      .filter((l) => l?.msg === "limiter unavailable" && l.tenant === tenant.id)
      .map((l) => ({ failureMode: l?.failureMode ?? "", error: l?.error ?? "" }));
  }

  it("fails closed with a 503, or open with a marked 200, on the refused connection rather than the timeout, and recovers by itself", async () => {
    const before = await chat(closed.url);
    expect(before.status).toBe(200);
    await before.arrayBuffer();

    await dedicated.stop();
    const logged = vi.spyOn(console, "error");
    try {
      for (const [server, expected, mode] of [
        [closed, 503, "closed"],
        [open, 200, "open"],
      ] as const) {
        logged.mockClear();
        const r = await chat(server.url);
        expect(r.status).toBe(expected);
        if (expected === 503) {
          const problem = (await r.json()) as { type: string };
          expect(problem.type).toMatch(/limiter-unavailable/);
          expect(r.headers.get("retry-after")).toBeTruthy();
        } else {
          expect(r.headers.get("aegis-limit-enforced")).toBe("false");
          expect(r.headers.get("ratelimit")).toBeNull();
          await r.arrayBuffer();
        }
        // Answered by the closed connection (ECONNREFUSED on the reconnect, or the reset of
        // the old one if its loss was not seen yet), not by the 400 ms timeout: a dead Redis
        // costs no more than a refused connect.
        const logs = unavailableLogs(logged);
        expect(logs.map((l) => l.failureMode)).toEqual([mode]);
        expect(logs[0]?.error).toMatch(/^limiter check failed: RedisClosedError: /);
        expect(logs[0]?.error).not.toMatch(/timed out|RedisTimeoutError/);
      }
    } finally {
      logged.mockRestore();
    }

    // Redis comes back empty: the limiter reloads the tenant from Postgres and enforces again.
    await dedicated.start();
    const statuses = await eventually(
      async () => {
        const r = await chat(closed.url);
        await r.arrayBuffer();
        return r.status;
      },
      (s) => s === 200,
      15_000,
    );
    expect(statuses).toBe(200);
    const second = await chat(closed.url);
    await second.arrayBuffer();
    expect(second.status).toBe(200);
    const third = await chat(open.url);
    await third.arrayBuffer();
    expect(third.status).toBe(429);
    expect(third.headers.get("aegis-limit-enforced")).toBeNull();
  }, 60_000);

  it("fails at the limiter timeout when Redis accepts connections but never answers", async () => {
    const sockets: net.Socket[] = [];
    const blackhole = net.createServer((s) => {
      sockets.push(s);
      s.on("error", () => {});
    });
    await new Promise<void>((r) => blackhole.listen(0, "127.0.0.1", r));
    const port = (blackhole.address() as net.AddressInfo).port;
    const server = await startSelfHosted({
      env: baseEnv({ RATE_LIMIT_REDIS_URL: `redis://127.0.0.1:${port}/0`, LIMITER_TIMEOUT_MS: "300" }),
      port: 0,
      instance: "blackhole",
      billing: false,
    });
    const logged = vi.spyOn(console, "error");
    try {
      const r = await chat(server.url);
      expect(r.status).toBe(503);
      expect(((await r.json()) as { type: string }).type).toMatch(/limiter-unavailable/);
      // Nothing refused or closed anything: only a timer could answer, and the one that did
      // was the configured 300 ms. The guard's timer starts first and normally wins; the
      // client's command timer (the same 300 ms) is the other that may.
      const logs = unavailableLogs(logged);
      expect(logs.map((l) => l.failureMode)).toEqual(["closed"]);
      expect(logs[0]?.error).toMatch(
        /^limiter check (timed out after 300 ms|failed: RedisTimeoutError: no reply to \w+ within 300 ms; the connection was reset)$/,
      );
    } finally {
      logged.mockRestore();
      // The blackhole stops accepting first, so that the server's clients, cut off below,
      // are refused when they reconnect instead of hanging again: then the server's final
      // usage poll fails at once rather than after its 10 s background timeout.
      const stopped = new Promise((r) => blackhole.close(r));
      for (const s of sockets) s.destroy();
      await server.close();
      await stopped;
    }
  }, 30_000);
});

describe("self-hosted server behind a proxy", () => {
  it("believes X-Forwarded-For only from TRUSTED_PROXIES, and refuses a bad list at startup", async () => {
    const server = await startSelfHosted({
      env: baseEnv({ TRUSTED_PROXIES: "loopback" }),
      port: 0,
      instance: "trusted-proxy",
      billing: false,
    });
    try {
      const { key } = await newTenant(server.url, { ratePerMinute: 0, burst: 10, dailyUnits: 100 });
      const r = await api(server.url, "/v1/chat/completions", {
        method: "POST",
        key,
        body: "{}",
        headers: { "x-forwarded-for": "198.51.100.1, 203.0.113.7" },
      });
      const seen = ((await r.json()) as Echo).echo.headers;
      // The loopback peer is a trusted proxy, and so is nothing else: the nearest untrusted hop is the client.
      expect(seen["x-forwarded-for"]).toBe("203.0.113.7");
      expect(seen.forwarded).toMatch(/^for=203\.0\.113\.7;proto=http;host="127\.0\.0\.1:\d+"$/);
    } finally {
      await server.close();
    }
    await expect(
      startSelfHosted({ env: baseEnv({ TRUSTED_PROXIES: "10.0.0.0/33" }), port: 0, billing: false }),
    ).rejects.toThrow(/TRUSTED_PROXIES/);
  });
});

describe("self-hosted server's billing scheduler", () => {
  it("schedules billing every 15 minutes and invoices the closed month from the stored usage", async () => {
    const server = await startSelfHosted({
      env: baseEnv({ BILLING_UNIT_COST: "0.25", BILLING_PERIOD: "month", BILLING_GRACE_HOURS: "0" }),
      port: 0,
      instance: "billing",
    });
    try {
      const next = server.nextBillingAt();
      if (!next) throw new Error("no billing schedule");
      expect(next.getTime()).toBeGreaterThan(Date.now());
      expect(next.getTime() - Date.now()).toBeLessThanOrEqual(15 * 60_000);
      expect(next.getUTCMinutes() % 15).toBe(0);

      const { id, key } = await newTenant(server.url, { ratePerMinute: 0, burst: 10, dailyUnits: null });
      // A job of last month, reported late: it is stored under its own day.
      const now = new Date();
      const lastMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 15, 12));
      const reported = await api(server.url, "/account/v1/usage", {
        method: "POST",
        key,
        json: { units: 40, route: "jobs", idempotencyKey: "october-job", occurredAt: lastMonth.toISOString() },
      });
      expect(reported.status).toBe(202);
      await eventually(
        async () => {
          const r = await api(server.url, `/admin/v1/tenants/${id}/usage?from=${lastMonth.toISOString().slice(0, 10)}`);
          return ((await r.json()) as { totalUnits: number }).totalUnits;
        },
        (u) => u === 40,
      );

      // What the scheduler runs at its next tick: last month is closed, so it is invoiced.
      const run = await server.runBilling();
      const mine = run.created.find((i) => i.tenantId === id);
      expect(mine).toBeDefined();
      // 40 units at 0.25 USD = 10.00 USD = 1,000 cents.
      expect(mine?.amountMinor).toBe(1_000);
      // Idempotent: the next tick finds the month billed.
      expect((await server.runBilling()).created.find((i) => i.tenantId === id)).toBeUndefined();
    } finally {
      await server.close();
    }
  }, 60_000);
});
