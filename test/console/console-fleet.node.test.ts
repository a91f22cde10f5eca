// The console's fleet page on the self-hosted server: the process counts every call's outcome
// per minute, so after known traffic (3 admitted, 2 limited, 1 unauthorized) the page shows
// those counts in the minute they happened, beside the calls the ingest stored in Postgres,
// and today's top tenant with its tokens.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tableRows } from "../support/html-table";
import { newTenant, type Tenant } from "../support/metered-tenant";
import { THREE_CALLS } from "../support/metrics-scrape";
import { startTestGateway, type TestGateway } from "../support/test-gateway";

let gateway: TestGateway;
let tenant: Tenant;

beforeAll(async () => {
  const routes = JSON.stringify([{ method: "POST", path: "/v1/chat/completions", route: "chat", cost: 1 }]);
  gateway = await startTestGateway("console_fleet", { ROUTES: routes });
  // Three calls, then the request bucket is empty for good.
  tenant = await newTenant(gateway, "fleet", THREE_CALLS);
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
});

async function fleetPage(): Promise<string> {
  const login = await fetch(`${gateway.url}/admin/ui/login`, {
    method: "POST",
    body: new URLSearchParams({ token: gateway.token }),
    redirect: "manual",
  });
  expect(login.status).toBe(303);
  const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] as string;
  const res = await fetch(`${gateway.url}/admin/ui/fleet`, { headers: { cookie }, redirect: "manual" });
  expect(res.status).toBe(200);
  return res.text();
}

/** A table's rows: the row's data-* value, then each cell's text without its tags. */
const call = (key: string) =>
  fetch(`${gateway.url}/v1/chat/completions?tokens=7`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "m", messages: [] }),
  });

describe("console fleet page, self-hosted", () => {
  it("shows no calls before any traffic, and no refusal notice: this process counts them", async () => {
    const html = await fleetPage();
    expect(html).toContain("No calls in the last hour.");
    expect(html).not.toContain('id="refusals-elsewhere"');
    expect(html).toContain("No usage stored today yet.");
  });

  it("counts admitted, limited and unauthorized calls in the minute they happened", async () => {
    const minute = (ms: number) => new Date(ms - (ms % 60_000)).toISOString();
    const from = minute(Date.now());
    const statuses: number[] = [];
    for (const key of [tenant.key, tenant.key, tenant.key, tenant.key, tenant.key, "aegis_not-a-real-key"]) {
      const res = await call(key);
      statuses.push(res.status);
      await res.text();
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429, 401]);
    await gateway.server.flushUsage();
    const html = await fleetPage();
    const to = minute(Date.now());

    const header = /<table id="calls">.*?<thead>(.*?)<\/thead>/s.exec(html)?.[1] ?? "";
    expect([...header.matchAll(/<th[^>]*>(.*?)<\/th>/g)].map((m) => m[1])).toEqual([
      "Minute (UTC)",
      "Admitted",
      "Limited",
      "Unauthorized",
      "Suspended",
      "Limiter unavailable",
      "Rejected",
      "Stored in Postgres",
    ]);
    const rows = tableRows(html, "calls", "data-minute");
    // Almost always one row, the current minute; two when the traffic crossed into the next.
    expect(rows.length).toBeGreaterThanOrEqual(1);
    for (const r of rows) expect([from, to]).toContain(r[0]);
    const total = (column: number) => rows.reduce((a, r) => a + Number(r[column]), 0);
    expect([2, 3, 4, 5, 6, 7, 8].map(total)).toEqual([3, 2, 1, 0, 0, 0, 3]);
    if (from === to) expect(rows[0]?.slice(1)).toEqual([from.slice(11, 16), "3", "2", "1", "0", "0", "0", "3"]);

    // The echo upstream reports 3 prompt and 4 completion tokens a call: 7 units each.
    expect(tableRows(html, "top-tenants", "data-tenant")).toEqual([
      [tenant.id, `fleet ${tenant.id}`, "3", "9", "0", "12", "21"],
    ]);
    expect(html).toMatch(/<tr data-check="usage-ingest"><td>Usage ingest<\/td><td>newest stored call: \d+ s ago/);
  });
});
