// The gateway when its limiter cannot be reached, inside workerd, three ways: a store that
// fails every call at once, a store that never answers (guardedStore's timeout branch), and
// the real Worker on a Redis nobody listens for (real cloudflare:sockets connects refused).
// Each must answer 503 limiter-unavailable when closed, and forward unenforced when open.

import { connect } from "cloudflare:sockets";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { guardedStore } from "../../src/core/guarded-store";
import type { LimiterStore } from "../../src/core/limiter-store";
import { openNeonDatabase } from "../../src/db/neon";
import { createGateway } from "../../src/http/app";
import worker from "../../src/index";
import { env, newTenant } from "../support/workers/helpers";

const unreachable: LimiterStore = {
  check: () => Promise.reject(new Error("connect ETIMEDOUT")),
  settle: () => Promise.reject(new Error("connect ETIMEDOUT")),
  limits: () => Promise.reject(new Error("connect ETIMEDOUT")),
  record: () => Promise.reject(new Error("connect ETIMEDOUT")),
  apply: () => Promise.reject(new Error("connect ETIMEDOUT")),
};

/** Small, so that the timeout branch costs the suite little. */
const TIMEOUT_MS = 300;

/** A limiter that takes every call and never answers: only guardedStore's timer can end one. */
let unanswered = 0;
const silent: LimiterStore = {
  check: () => {
    unanswered++;
    return new Promise(() => {});
  },
  settle: () => new Promise(() => {}),
  limits: () => new Promise(() => {}),
  record: () => new Promise(() => {}),
  apply: () => new Promise(() => {}),
};

const openDatabase = (e: Cloudflare.Env) => openNeonDatabase(e.DATABASE_URL ?? "", e.NEON_WS_PROXY);
const gateway = createGateway({ openDatabase, store: () => guardedStore(unreachable, 1_000, 1_000) });
const silentGateway = createGateway({ openDatabase, store: () => guardedStore(silent, TIMEOUT_MS, TIMEOUT_MS) });

type Handler = { fetch(request: Request, env: Cloudflare.Env, ctx: ExecutionContext): Promise<Response> | Response };

async function callWith(mode: "open" | "closed", key: string, handler: Handler = gateway, extra = {}) {
  const ctx = createExecutionContext();
  const res = await handler.fetch(
    new Request("http://gateway.test/v1/completions", {
      method: "POST",
      body: "{}",
      headers: { authorization: `Bearer ${key}` },
    }),
    { ...env, LIMITER_FAILURE_MODE: mode, ...extra },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

// The gateway logs why the limiter was unavailable: that line tells a timeout from a refusal.
let logged: string[] = [];
beforeEach(() => {
  logged = [];
  vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
    logged.push(args.map(String).join(" "));
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** The error of the gateway's "limiter unavailable" log lines. */
const unavailableErrors = () =>
  logged
    .map((line) => JSON.parse(line) as { msg?: string; error?: string })
    .filter((l) => l.msg === "limiter unavailable")
    .map((l) => l.error);

async function expectUnavailable(res: Response) {
  expect(res.status).toBe(503);
  expect(res.headers.get("retry-after")).toBe("1");
  expect(((await res.json()) as { code: string }).code).toBe("limiter-unavailable");
}

/** Forwarded, marked unenforced, and not vouched for upstream. */
async function expectForwardedUnenforced(res: Response) {
  expect(res.status).toBe(200);
  expect(res.headers.get("aegis-limit-enforced")).toBe("false");
  expect(res.headers.get("ratelimit")).toBeNull();
  const seen = ((await res.json()) as { echo: { headers: Record<string, string> } }).echo.headers;
  expect(seen["x-aegis-tenant-id"]).toBeUndefined();
  expect(seen["x-aegis-unenforced"]).toBe("true");
  expect(seen["aegis-tenant-id"]).toBeUndefined();
  expect(seen["aegis-unenforced"]).toBe("true");
  expect(seen.authorization).toBeUndefined();
}

describe("limiter outage", () => {
  it("closed: answers 503 limiter-unavailable, never 429", async () => {
    const t = await newTenant({ ratePerMinute: 60, burst: 10, dailyUnits: null });
    await expectUnavailable(await callWith("closed", t.key));
    expect(unavailableErrors()).toEqual(["limiter check failed: Error: connect ETIMEDOUT"]);
  });

  it("open: forwards the call, says it was not enforced, and does not vouch for the tenant upstream", async () => {
    const t = await newTenant({ ratePerMinute: 60, burst: 10, dailyUnits: null });
    await expectForwardedUnenforced(await callWith("open", t.key));
  });
});

/** `promise`, or a failure naming the hang after `ms`: a missing timeout fails fast, not at the test's limit. */
function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: nothing ended the wait`)), ms);
  });
  return Promise.race([promise, hang]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

describe("a limiter that never answers", () => {
  // The store's promise never settles, so an answer at all proves the timer ended the wait;
  // the logged error says which branch did. The 5 s bound is loose: it catches a hang, not jitter.
  it.each(["closed", "open"] as const)("%s: the timeout ends the wait and answers as the mode says", async (mode) => {
    const t = await newTenant({ ratePerMinute: 60, burst: 10, dailyUnits: null });
    const before = unanswered;
    const res = await within(5_000, callWith(mode, t.key, silentGateway));
    expect(unanswered - before).toBe(1);
    expect(unavailableErrors()).toEqual([`limiter check timed out after ${TIMEOUT_MS} ms`]);
    if (mode === "closed") await expectUnavailable(res);
    else await expectForwardedUnenforced(res);
  });
});

describe("the real Worker on a Redis that is not there", () => {
  // Port 1 on loopback: nothing listens there (binding it takes root), so the connect is
  // refused for real. The precondition is checked, so a listener there fails the test
  // rather than making it prove nothing.
  const DEAD_REDIS = "redis://127.0.0.1:1/0";

  it("nothing listens on the port", async () => {
    const socket = connect({ hostname: "127.0.0.1", port: 1 });
    await expect(socket.opened).rejects.toThrow();
  });

  it.each(["closed", "open"] as const)("%s: each refused connect answers as the mode says", async (mode) => {
    const t = await newTenant({ ratePerMinute: 60, burst: 10, dailyUnits: null });
    const redisEnv = { RATE_LIMIT_REDIS_URL: DEAD_REDIS, LIMITER_TIMEOUT_MS: String(TIMEOUT_MS) };
    const res = await callWith(mode, t.key, worker as Handler, redisEnv);
    if (mode === "closed") await expectUnavailable(res);
    else await expectForwardedUnenforced(res);
    // The Worker's own Redis client tried the port and was refused (not timed out).
    expect(unavailableErrors()).toEqual(["limiter check failed: RedisClosedError: connecting to 127.0.0.1:1 failed"]);
  });
});
