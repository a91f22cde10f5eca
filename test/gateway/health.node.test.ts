// GET /healthz and GET /readyz on the self-hosted server: no key needed, no tenant's data;
// /readyz says which dependency is down with a 503, while /healthz still answers.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../support/test-gateway";

let up: TestGateway;
let noRedis: TestGateway;

beforeAll(async () => {
  up = await startTestGateway("health");
  // Port 9 (discard) on loopback: nothing listens there.
  noRedis = await startTestGateway("health_no_redis", { RATE_LIMIT_REDIS_URL: "redis://127.0.0.1:9" });
}, 60_000);

afterAll(async () => {
  await up?.stop();
  await noRedis?.stop();
});

describe("health probes", () => {
  it("answers /healthz and /readyz without a key when Postgres, Redis and the consumer are fine", async () => {
    const live = await fetch(`${up.url}/healthz`);
    expect(live.status).toBe(200);
    expect(live.headers.get("cache-control")).toBe("no-store");
    expect(await live.json()).toEqual({ status: "ok" });
    const ready = await fetch(`${up.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: "ready",
      checks: { postgres: "ok", redis: "ok", consumer: "ok" },
    });
  });

  it("is not ready while Redis can't be reached, and says so; still live", async () => {
    const ready = await fetch(`${noRedis.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await ready.json()) as { code: string; detail: string; checks: Record<string, string> };
    expect(problem.code).toBe("not-ready");
    expect(problem.checks.postgres).toBe("ok");
    expect(problem.checks.redis).toMatch(/^unavailable \(/);
    expect(problem.detail).toMatch(/^not ready: redis: unavailable/);
    expect((await fetch(`${noRedis.url}/healthz`)).status).toBe(200);
  });
});
