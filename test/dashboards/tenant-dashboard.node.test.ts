// The tenant dashboard's SQL against the real Postgres: known traffic goes through a
// self-hosted gateway (calls admitted and limited for two tenants, stored by its consumer,
// invoiced by a daily billing run), and each panel's query, with Grafana's variables and
// macros expanded, returns the rows that traffic implies: tokens from what the upstream
// reported, units from the gateway's usage read, invoices from the operator API.

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InvoiceView } from "../../src/billing/invoice-view";
import { dayOf, nextDayStart } from "../../src/core/calendar";
import { expandSql, loadDashboard, targetsOf } from "../support/grafana-dashboard";
import { newTenant, storedUsage, type Tenant } from "../support/metered-tenant";
import { CHAT_ROUTES, chatCall } from "../support/metrics-scrape";
import { startTestGateway, type TestGateway } from "../support/test-gateway";

const DAY_MS = 86_400_000;
const DAILY_QUOTA = 1000;

interface Served {
  tenant: Tenant;
  name: string;
  dailyQuota: number | null;
  calls: number;
  input: number;
  output: number;
  units: number;
  invoices: InvoiceView[];
}

/** Two tenants: one with a daily quota and a limited call, one without a quota, named with a quote. */
const STORIES = [
  { name: "Dashboard tenant", dailyQuota: DAILY_QUOTA, tokens: [7, 10, 12, 9] },
  { name: "O'Hara", dailyQuota: null, tokens: [20] },
];

let gateway: TestGateway;
let db: pg.Client;
let at: number;
const served: Served[] = [];

/** Calls until one is limited (or `tokens` runs out); sums what the upstream reported for the admitted ones. */
async function traffic(tenant: Tenant, tokens: number[]) {
  const sums = { calls: 0, input: 0, output: 0 };
  for (const t of tokens) {
    const res = await chatCall(gateway, tenant, t);
    const body = (await res.json()) as { usage?: { prompt_tokens: number; completion_tokens: number } };
    if (res.status === 429) continue;
    expect(res.status).toBe(200);
    sums.calls += 1;
    sums.input += body.usage?.prompt_tokens ?? 0;
    sums.output += body.usage?.completion_tokens ?? 0;
  }
  return sums;
}

beforeAll(async () => {
  // Daily billing periods: a run tomorrow invoices today's usage.
  gateway = await startTestGateway("tenant_dashboard", { ROUTES: CHAT_ROUTES, BILLING_PERIOD: "day" });
  // Three calls a tenant's request bucket allows, then the fourth is limited and stores nothing.
  const quota = { ratePerMinute: null, burst: null, requestsPerMinute: 0, requestBurst: 3, unitPrice: "0.01" };
  for (const { name, dailyQuota, tokens } of STORIES) {
    const tenant = await newTenant(gateway, name, { ...quota, dailyUnits: dailyQuota });
    const sums = await traffic(tenant, tokens);
    const { totals } = await storedUsage(gateway, tenant, sums.calls);
    served.push({ tenant, name, dailyQuota, ...sums, units: totals.units, invoices: [] });
  }
  expect(served.map((s) => s.calls)).toEqual([3, 1]);
  at = Date.now();
  // The first run after today has closed and its grace hours have passed.
  await gateway.server.runBilling(nextDayStart(at) + (gateway.server.config.BILLING_GRACE_HOURS + 1) * 3_600_000);
  for (const s of served) {
    const res = await fetch(`${gateway.url}/admin/v1/invoices?tenantId=${s.tenant.id}`, {
      headers: { authorization: `Bearer ${gateway.token}` },
    });
    s.invoices = ((await res.json()) as { invoices: InvoiceView[] }).invoices;
    // No price book: every unit at the tenant's 0.01 USD, a cent.
    expect(s.invoices.map((i) => [i.periodStart, i.units, i.amountMinor, i.currency])).toEqual([
      [dayOf(at), s.units, s.units, "USD"],
    ]);
  }
  db = new pg.Client({ connectionString: gateway.databaseUrl, types: { getTypeParser } });
  await db.connect();
}, 60_000);

afterAll(async () => {
  await db?.end();
  await gateway?.stop();
});

/** Rows as plain values: bigint and numeric as numbers, dates as their text, instants as ISO strings. */
function getTypeParser(oid: number, format?: "text" | "binary") {
  if (oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC) return (v: string) => Number(v);
  if (oid === pg.types.builtins.DATE) return (v: string) => v;
  const parse = pg.types.getTypeParser(oid, format);
  if (oid === pg.types.builtins.TIMESTAMPTZ) return (v: string) => (parse(v) as Date).toISOString();
  return parse;
}

const tenantDashboard = loadDashboard("aegis-tenant.json");
const panels = targetsOf(tenantDashboard).map(({ panel, target }) => ({
  title: panel.title,
  sql: target.rawSql ?? "",
}));
const midnight = (day: string) => `${day}T00:00:00.000Z`;

/** What each panel must show for a tenant's story, over a range ending now. */
function expected(s: Served): Record<string, unknown[]> {
  const today = midnight(dayOf(at));
  const used = s.units;
  return {
    "Tokens per day by model and dimension": [
      { time: today, metric: "echo-1 input", tokens: s.input },
      { time: today, metric: "echo-1 output", tokens: s.output },
    ],
    "Quota use": [
      {
        "units used": used,
        "daily quota": s.dailyQuota,
        "quota used (%)": s.dailyQuota === null ? null : Math.round((1000 * used) / s.dailyQuota) / 10,
      },
    ],
    "Units per day against the daily quota": [{ time: today, units: used, "daily quota": s.dailyQuota }],
    "Usage by route and model": [
      {
        route: "chat",
        model: "echo-1",
        requests: s.calls,
        "input tokens": s.input,
        "cached input tokens": 0,
        "output tokens": s.output,
        units: used,
        "estimated units": 0,
      },
    ],
    Invoices: s.invoices.map((i) => ({
      invoice: i.id,
      "period start": i.periodStart,
      "period end": i.periodEnd,
      status: i.status,
      units: i.units,
      "amount (minor units)": i.amountMinor,
      currency: i.currency,
      created: i.createdAt,
    })),
  };
}

const run = async (sql: string, range: { from: number; to: number }, tenant: string) =>
  (await db.query(expandSql(sql, range, { tenant }))).rows;

it("has a SQL query in every target, and an expectation for each", () => {
  expect(panels.map((p) => p.title).sort()).toEqual(Object.keys(expected(served[0] as Served)).sort());
  expect(panels.filter((p) => p.sql.trim() === "").map((p) => p.title)).toEqual([]);
});

it("lists every tenant in the tenant variable, by name with its id as the value", async () => {
  const variable = tenantDashboard.templating.list.find((v) => v.name === "tenant");
  const rows = await run(variable?.query ?? "", { from: at - DAY_MS, to: at }, "");
  expect(rows.sort((a, b) => a.__value.localeCompare(b.__value))).toEqual(
    served
      .map((s) => ({ __text: `${s.name} (${s.tenant.id})`, __value: s.tenant.id }))
      .sort((a, b) => a.__value.localeCompare(b.__value)),
  );
});

describe.each(STORIES.map((story, i) => ({ i, name: story.name })))("for $name", ({ i }) => {
  it.each(panels)("$title shows the tenant's own usage, quota and invoices", async ({ title, sql }) => {
    const s = served[i] as Served;
    expect(await run(sql, { from: at - 7 * DAY_MS, to: at }, s.tenant.id)).toEqual(expected(s)[title]);
  });
});

// Ranges just outside the traffic's day (known once it has run): one that ends the day
// before, one that starts at the next midnight.
const OUTSIDE = {
  "ending the day before": () => ({ from: at - 7 * DAY_MS, to: at - DAY_MS }),
  "starting the next day": () => ({ from: nextDayStart(at), to: nextDayStart(at) + 7 * DAY_MS }),
};
const outside = panels.flatMap(({ title, sql }) =>
  Object.entries(OUTSIDE).map(([when, range]) => ({ title, sql, when, range })),
);

it.each(outside)("$title shows none of the traffic for a range $when", async ({ title, sql, range }) => {
  const s = served[0] as Served;
  const idle = title === "Quota use" ? [{ "units used": 0, "daily quota": DAILY_QUOTA, "quota used (%)": 0 }] : [];
  expect(await run(sql, range(), s.tenant.id)).toEqual(idle);
});
