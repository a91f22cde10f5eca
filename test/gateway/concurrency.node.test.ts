// Calls in flight at the self-hosted gateway (Redis limiter): of N calls held at once against
// maxConcurrent Q, exactly Q reach the upstream and the rest are refused with policy
// `concurrency`; every slot comes back when its call ends, whether it ended well, the client
// left, the upstream could not be reached, or the call failed before it was forwarded.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HeldUpstream, startHeldUpstream } from "../support/held-upstream";
import { inFlight as inFlightOf } from "../support/in-flight";
import { newTenant, type Tenant } from "../support/metered-tenant";
import { startTestGateway, type TestGateway } from "../support/test-gateway";
import { until } from "../support/wait";

let upstream: HeldUpstream;
let gateway: TestGateway;
let unreachable: TestGateway;
let unconfigured: TestGateway;

beforeAll(async () => {
  upstream = await startHeldUpstream();
  const routes = JSON.stringify([{ method: "POST", path: "/v1/chat/completions", route: "chat", cost: 1 }]);
  gateway = await startTestGateway("concurrency", { UPSTREAM_URL: upstream.url, ROUTES: routes });
  // A port nothing listens on: every forward fails.
  unreachable = await startTestGateway("concurrency_down", { UPSTREAM_URL: "http://127.0.0.1:9", ROUTES: routes });
  // No upstream at all: the call is admitted, then fails before anything is forwarded.
  unconfigured = await startTestGateway("concurrency_none", { UPSTREAM_URL: "", ROUTES: routes });
}, 60_000);

afterAll(async () => {
  upstream?.release();
  await gateway?.stop();
  await unreachable?.stop();
  await unconfigured?.stop();
  await upstream?.close();
});

const quota = { ratePerMinute: 0, burst: 1_000_000, dailyUnits: null, maxConcurrent: 3 };

function call(g: TestGateway, tenant: Tenant, init: { stream?: boolean; signal?: AbortSignal } = {}) {
  return fetch(`${g.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${tenant.key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "m", messages: [], stream: init.stream ?? false }),
    signal: init.signal,
  });
}

const inFlight = (g: TestGateway, tenant: Tenant) => inFlightOf(g.url, tenant.key);

describe("calls in flight at the gateway", () => {
  it("admits exactly maxConcurrent of many held calls, and gives every slot back as they end", async () => {
    const tenant = await newTenant(gateway, "held", quota);
    upstream.hold();
    const before = upstream.arrivals();
    const calls = Array.from({ length: 10 }, () => call(gateway, tenant));
    const early: number[] = [];
    for (const c of calls) void c.then((r) => early.push(r.status));
    await upstream.arrived(before + 3);
    // The seven refused have answered while the three wait at the upstream.
    await until("the refusals", async () => early.length === 7);
    expect(early).toEqual(Array(7).fill(429));
    expect(await inFlight(gateway, tenant)).toBe(3);
    upstream.release();
    const answers = await Promise.all(calls);
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429, 429, 429, 429, 429]);
    const refused = answers.find((r) => r.status === 429) as Response;
    expect(await refused.json()).toMatchObject({ "violated-policies": ["concurrency"] });
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(upstream.arrivals() - before).toBe(3);
    await Promise.all(answers.filter((r) => !r.bodyUsed).map((r) => r.text()));
    await until("every slot back", async () => (await inFlight(gateway, tenant)) === 0);
  });

  it("gives the slot back when the client leaves mid-stream", async () => {
    const tenant = await newTenant(gateway, "leaver", { ...quota, maxConcurrent: 1 });
    upstream.hold();
    const controller = new AbortController();
    const res = await call(gateway, tenant, { stream: true, signal: controller.signal });
    const reader = res.body?.getReader();
    await reader?.read();
    expect(await inFlight(gateway, tenant)).toBe(1);
    expect((await call(gateway, tenant)).status).toBe(429);
    // The gateway learns that the client left at its next write (the upstream goes on).
    controller.abort();
    upstream.release();
    await until("the slot back", async () => (await inFlight(gateway, tenant)) === 0);
    expect((await call(gateway, tenant)).status).toBe(200);
  });

  it("gives the slot back when the upstream cannot be reached", async () => {
    const tenant = await newTenant(unreachable, "down", { ...quota, maxConcurrent: 1 });
    for (let i = 0; i < 3; i++) {
      expect((await call(unreachable, tenant)).status).toBe(502);
      await until("the slot back", async () => (await inFlight(unreachable, tenant)) === 0);
    }
  });

  it("gives the slot back when the call fails before it is forwarded", async () => {
    const tenant = await newTenant(unconfigured, "unforwarded", { ...quota, maxConcurrent: 1 });
    for (let i = 0; i < 3; i++) {
      const res = await call(unconfigured, tenant);
      expect(res.status).toBe(502);
      expect(await res.json()).toMatchObject({ type: expect.stringContaining("no-upstream") });
      await until("the slot back", async () => (await inFlight(unconfigured, tenant)) === 0);
    }
  });
});
