// Lease mode through the real Worker (issue 18): a tenant the operator API puts in lease mode
// is admitted from leases the isolate's holder takes from the tenant's Durable Object, with
// far fewer checks there than calls; every admitted call is still billed once, in Postgres;
// and a suspension reaches the holder once the lease it holds has run its term.
//
// Each call goes to the Worker's fetch with a context of its own and the one `env`, as
// workerd passes every request of an isolate the same object (src/index.ts builds one store,
// so one lease holder, per env). The work a call leaves for after its response (settles,
// lease reports, and a lease's retirement at the end of its term, LEASE_TERM_MS = 1 s of real
// timer time in waitUntil, the mechanism under test) is awaited with waitOnExecutionContext:
// no test sleeps.

import {
  createExecutionContext,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { usageRecords } from "../../src/db/schema";
import worker from "../../src/index";
import type { TenantLimiter } from "../../src/tenant-limiter";
import {
  admin,
  adminJson,
  BASE,
  call,
  env,
  eventually,
  limiterStub,
  newTenant,
  usedToday,
  withDb,
} from "../support/workers/helpers";

const CALLS = 40;
/** Room for every call: neither the bucket nor the day refuses any in these tests. */
const QUOTA = { ratePerMinute: 0, burst: 100_000, dailyUnits: 1_000_000 };

/** The after-response work of every call sent, until awaited. */
let pending: ExecutionContext[] = [];

/**
 * One call of the chat route through the Worker's fetch, its reply read. It reserves the
 * route's cost, 1 unit; the upstream reports `units` used, which the call is settled to.
 */
async function send(key: string, units = 1): Promise<{ res: Response; body: string }> {
  const ctx = createExecutionContext();
  const request = new Request(`${BASE}/v1/chat/completions?units=${units}`, {
    method: "POST",
    body: "{}",
    headers: { authorization: `Bearer ${key}` },
  });
  const res = await worker.fetch(request as Request<unknown, IncomingRequestCfProperties>, env, ctx);
  const body = await res.text();
  pending.push(ctx);
  return { res, body };
}

/** Lets every call's after-response work finish: a live lease's retirement takes up to its term. */
async function settled(): Promise<void> {
  const contexts = pending;
  pending = [];
  await Promise.all(contexts.map((ctx) => waitOnExecutionContext(ctx)));
}

/** What the tenant's Durable Object has been asked, and the leases it still holds. */
function seen(tenantId: string) {
  return runInDurableObject(limiterStub(tenantId), (limiter: TenantLimiter, state) => ({
    checks: limiter.checkCalls.calls,
    granted: limiter.checkCalls.leases,
    reports: limiter.leaseReports.calls,
    reported: limiter.leaseReports.items,
    held: state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM leases").one().n,
  }));
}

/** One call as `send`, as a request of its own to the Worker (SELF): its after-response work is the runtime's. */
async function request(key: string, units = 1): Promise<{ res: Response; body: string }> {
  const res = await call(key, `/v1/chat/completions?units=${units}`);
  return { res, body: await res.text() };
}

/**
 * `calls` sequential calls of one key and route, each admitted with the RateLimit fields,
 * using 1, 2 or 3 units in turn (above the reserved 1 for two in three). Answers the units
 * each used, by its request id.
 */
async function admitted(key: string, calls: number, by = send): Promise<Map<string, number>> {
  const used = new Map<string, number>();
  for (let i = 0; i < calls; i++) {
    const units = (i % 3) + 1;
    const { res, body } = await by(key, units);
    expect(res.status, body).toBe(200);
    expect(res.headers.get("ratelimit-policy")).toMatch(/^"chat";q=100000;w=\d+, "daily";q=1000000;w=86400$/);
    expect(res.headers.get("ratelimit")).toMatch(/^"chat";r=\d+;t=\d+, "daily";r=\d+;t=\d+/);
    used.set(res.headers.get("x-request-id") ?? "", units);
  }
  expect(used.size).toBe(calls);
  return used;
}

const total = (used: Map<string, number>) => [...used.values()].reduce((a, b) => a + b, 0);

async function setLeases(tenantId: string, leases: boolean): Promise<void> {
  const { quota } = await adminJson<{ quota: Record<string, unknown> }>(`/tenants/${tenantId}`);
  await adminJson(`/tenants/${tenantId}/quota`, { method: "PUT", json: { ...quota, leases } });
}

/**
 * Expects the tenant's usage records in Postgres, once the object's outbox has been sent, to
 * be one per call: its request id, the units it used, on its route, not estimated.
 */
async function expectBilled(tenantId: string, used: Map<string, number>): Promise<void> {
  await runDurableObjectAlarm(limiterStub(tenantId));
  const rows = await eventually(async () => {
    const r = await withDb((db) =>
      db
        .select({
          requestId: sql<string>`${usageRecords.metadata}->>'requestId'`,
          units: usageRecords.units,
          route: usageRecords.route,
          estimated: usageRecords.estimated,
        })
        .from(usageRecords)
        .where(eq(usageRecords.tenantId, tenantId)),
    );
    expect(r).toHaveLength(used.size);
    return r;
  });
  const byCall = rows.map((r) => [r.requestId, r.units, r.route, r.estimated]).sort();
  const expected = [...used].map(([requestId, units]) => [requestId, units, "chat", false]).sort();
  expect(byCall).toEqual(expected);
}

describe("lease mode through the Worker", () => {
  it("admits a hot key's calls with far fewer checks than exact mode, and bills each call once", async () => {
    // The control: in exact mode every call is one check at the object. It runs on a tenant
    // of its own: a key whose asks got no lease asks again only a term later (lease-demand.ts).
    const control = await newTenant(QUOTA);
    const exactUsed = await admitted(control.key, CALLS);
    await settled();
    const exact = await seen(control.id);
    expect(exact.checks).toBe(CALLS);
    expect(exact.granted).toBe(0);
    await expectBilled(control.id, exactUsed);

    // The same quota, switched to lease mode through the operator API before its first call.
    const t = await newTenant(QUOTA);
    await setLeases(t.id, true);
    const before = await seen(t.id);
    const leasedUsed = await admitted(t.key, CALLS);
    const leased = await seen(t.id);
    const checks = leased.checks - before.checks;
    // Exact mode made one check per call; a check per two calls would already fail this.
    expect(checks).toBeLessThan(CALLS / 2);
    expect(leased.granted).toBeGreaterThan(0);

    // Every lease retires (at the end of its term at the latest) and reports what it admitted.
    await settled();
    const after = await seen(t.id);
    expect(after.held).toBe(0);
    // Calls admitted from a lease, not by a check of their own, are the ones its reports carry.
    expect(after.reported).toBe(CALLS - checks);
    expect(await usedToday(t.id)).toBe(total(leasedUsed));
    await expectBilled(t.id, leasedUsed);
  });

  it("refuses a suspended tenant's calls once the lease the isolate holds has run its term", async () => {
    const t = await newTenant({ ...QUOTA, leases: true });
    // Enough calls for a lease and a few admitted from it.
    const used = await admitted(t.key, 12);
    const hot = await seen(t.id);
    expect(hot.granted).toBeGreaterThan(0);
    expect(hot.checks).toBeLessThan(12);

    const suspended = await admin(`/tenants/${t.id}`, { method: "PATCH", json: { status: "suspended" } });
    expect(suspended.status).toBe(200);
    // The lease held now retires at the end of its term: after that, no call is admitted
    // without the object, which refuses it.
    await settled();
    const refused = await send(t.key);
    expect(refused.res.status).toBe(403);
    expect(refused.res.headers.get("content-type")).toBe("application/problem+json");
    const after = await seen(t.id);
    expect(after.checks).toBe(hot.checks + 1);

    await settled();
    expect((await seen(t.id)).held).toBe(0);
    // The 12 calls admitted before, each billed once.
    await expectBilled(t.id, used);
  });

  it("works across separate requests of the isolate, each doing its lease work in its own context", async () => {
    // Requests to the Worker (SELF), as workerd serves them: a lease taken by one request's
    // check is used by the next ones, and reported from whichever request retires it.
    const t = await newTenant({ ...QUOTA, leases: true });
    const used = await admitted(t.key, CALLS, request);
    const { checks } = await seen(t.id);
    expect(checks).toBeLessThan(CALLS / 2);
    // The after-response work is the runtime's to finish here: wait for the last lease's close.
    const after = await eventually(async () => {
      const s = await seen(t.id);
      expect(s.held).toBe(0);
      return s;
    });
    expect(after.checks).toBe(checks);
    expect(after.reported).toBe(CALLS - checks);
    expect(await usedToday(t.id)).toBe(total(used));
    await expectBilled(t.id, used);
  });
});
