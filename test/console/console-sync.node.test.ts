// A console change the limiter does not confirm (502 edge-sync-pending), on the self-hosted
// gateway with Redis refusing writes (CLIENT PAUSE WRITE): the operator gets a console page,
// not problem+json, saying (in the API's words) that the change was saved and when it applies; the
// quota form comes back with what was typed. Postgres has the change.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AegisAdmin } from "../../src/client/index";
import { RedisClient } from "../../src/redis/resp/client";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { type DedicatedRedis, startDedicatedRedis } from "../support/redis-server";
import { startTestGateway, type TestGateway } from "../support/test-gateway";

let redis: DedicatedRedis;
let control: RedisClient;
let gateway: TestGateway;

beforeAll(async () => {
  redis = await startDedicatedRedis();
  control = new RedisClient({ url: redis.url, connect: nodeSocket, commandTimeoutMs: 5_000 });
  gateway = await startTestGateway("console_sync", { RATE_LIMIT_REDIS_URL: redis.url, LIMITER_TIMEOUT_MS: "300" });
}, 60_000);

afterAll(async () => {
  await control?.send(["CLIENT", "UNPAUSE"]).catch(() => {});
  await gateway?.stop();
  await control?.close();
  await redis?.stop();
});

/** POSTs a console form while Redis refuses writes: the limiter push cannot land. */
async function postWithPushFailing(path: string, cookie: string, form: Record<string, string>): Promise<Response> {
  await control.send(["CLIENT", "PAUSE", "10000", "WRITE"]);
  try {
    return await fetch(`${gateway.url}/admin/ui${path}`, {
      method: "POST",
      headers: { cookie, origin: gateway.url },
      body: new URLSearchParams(form),
      redirect: "manual",
    });
  } finally {
    await control.send(["CLIENT", "UNPAUSE"]);
  }
}

describe("console change the limiter did not confirm", () => {
  it("says the change was saved, keeps what was typed, and links back", async () => {
    const admin = new AegisAdmin({ baseUrl: gateway.url, token: gateway.token });
    const tenant = await admin.createTenant({ name: "Sync Co", quota: { ratePerMinute: 60, burst: 10 } });
    const login = await fetch(`${gateway.url}/admin/ui/login`, {
      method: "POST",
      headers: { origin: gateway.url },
      body: new URLSearchParams({ token: gateway.token }),
      redirect: "manual",
    });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] as string;
    const page = await (await fetch(`${gateway.url}/admin/ui/tenants/${tenant.id}`, { headers: { cookie } })).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? "";
    const saved = "The change was saved, but the limiter did not confirm it; it applies within";

    const quota = await postWithPushFailing(`/tenants/${tenant.id}/quota`, cookie, {
      csrf,
      ratePerMinute: "60",
      burst: "7",
      timeZone: "UTC",
    });
    expect(quota.status).toBe(502);
    expect(quota.headers.get("content-type")).toBe("text/html; charset=UTF-8");
    const quotaHtml = await quota.text();
    expect(quotaHtml).toContain(`<p class="error" role="alert">${saved}`);
    expect(quotaHtml).toContain('<input name="burst" type="number" min="1" value="7"/>');
    expect((await admin.getTenant(tenant.id)).quota.burst).toBe(7);

    const status = await postWithPushFailing(`/tenants/${tenant.id}/status`, cookie, { csrf, status: "suspended" });
    expect(status.status).toBe(502);
    const statusHtml = await status.text();
    expect(statusHtml).toContain("<h1>Saved, not yet applied</h1>");
    expect(statusHtml).toContain(`data-code="edge-sync-pending">${saved}`);
    expect(statusHtml).toContain(`<a href="/admin/ui/tenants/${tenant.id}">Back to the page the form was on</a>`);
    expect((await admin.getTenant(tenant.id)).status).toBe("suspended");
  }, 60_000);
});
