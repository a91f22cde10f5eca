// A call can be followed from the client through the gateway to the upstream: its request
// id (the client's x-request-id when it is safe, else a new one) comes back in the response,
// goes to the upstream, is on the gateway's log lines for the call, and is kept in the
// call's usage record; W3C traceparent passes unchanged. On the self-hosted gateway.

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { newTenant, type Tenant } from "../support/metered-tenant";
import { startTestGateway, type TestGateway } from "../support/test-gateway";

let gateway: TestGateway;
let unreachable: TestGateway;
let tenant: Tenant;

beforeAll(async () => {
  gateway = await startTestGateway("request_id");
  // A port nothing listens on: every forward fails, and the gateway logs it.
  unreachable = await startTestGateway("request_id_down", { UPSTREAM_URL: "http://127.0.0.1:9" });
  tenant = await newTenant(gateway, "traced");
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await unreachable?.stop();
});

type Echo = { echo: { headers: Record<string, string> } };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

function call(g: TestGateway, key: string, headers: Record<string, string> = {}) {
  return fetch(`${g.url}/v1/chat/completions?tokens=7`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
    body: JSON.stringify({ model: "m", messages: [] }),
  });
}

describe("request ids", () => {
  it("passes the client's id and traceparent to the upstream, and returns the id", async () => {
    const res = await call(gateway, tenant.key, { "x-request-id": "req-abc.123", traceparent: TRACEPARENT });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe("req-abc.123");
    const { headers } = ((await res.json()) as Echo).echo;
    expect(headers["x-request-id"]).toBe("req-abc.123");
    expect(headers.traceparent).toBe(TRACEPARENT);
  });

  it("mints an id when the client sent none, or one that is unsafe to pass on or log", async () => {
    const ids: string[] = [];
    for (const given of [undefined, "has a space", "x".repeat(129), 'quote"d', tenant.key]) {
      const res = await call(gateway, tenant.key, given === undefined ? {} : { "x-request-id": given });
      const id = res.headers.get("x-request-id") ?? "";
      expect(id).toMatch(UUID);
      expect(((await res.json()) as Echo).echo.headers["x-request-id"]).toBe(id);
      ids.push(id);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("keeps the id in the call's usage record", async () => {
    const res = await call(gateway, tenant.key, { "x-request-id": "req-billed-42" });
    expect(res.status).toBe(200);
    await res.text();
    await gateway.server.flushUsage();
    const client = new pg.Client({ connectionString: gateway.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ units: string }>(
        "SELECT units::text FROM usage_records WHERE tenant_id = $1 AND metadata->>'requestId' = $2",
        [tenant.id, "req-billed-42"],
      );
      expect(rows).toEqual([{ units: "7" }]);
    } finally {
      await client.end();
    }
  });

  it("puts the id on the gateway's log line for the call, and on an error response", async () => {
    const down = await newTenant(unreachable, "down");
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const res = await call(unreachable, down.key, { "x-request-id": "req-down-7" });
      expect(res.status).toBe(502);
      expect(res.headers.get("x-request-id")).toBe("req-down-7");
      const lines = errors.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
      expect(lines).toContainEqual(expect.objectContaining({ msg: "upstream fetch failed", requestId: "req-down-7" }));
    } finally {
      errors.mockRestore();
    }
    // The operator API's problems carry one too.
    const missing = await fetch(`${gateway.url}/admin/v1/tenants/tnaaaaaaaaaaaaaaaa`, {
      headers: { authorization: `Bearer ${gateway.token}` },
    });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-request-id")).toMatch(UUID);
  });
});
