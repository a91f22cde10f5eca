// The tenant dashboard's SQL against the real Postgres: after the known traffic of
// tenant-story.ts (calls admitted and limited through a self-hosted gateway, stored by its
// consumer, invoiced by daily billing runs), each panel's query, with Grafana's variables and
// macros expanded, returns the rows that traffic implies, and none of them for ranges just
// outside its days.

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nextDayStart } from "../../src/core/calendar";
import { expandSql, loadDashboard, targetsOf } from "../support/grafana-dashboard";
import { CHAT_ROUTES } from "../support/metrics-scrape";
import { startTestGateway, type TestGateway } from "../support/test-gateway";
import {
  billDays,
  DAILY_QUOTA,
  expectedInvoices,
  expectedRows,
  invoicesOf,
  type Served,
  STORIES,
  serve,
} from "./tenant-story";

const DAY_MS = 86_400_000;
let gateway: TestGateway;
let db: pg.Client;
let started: number;
let at: number;
const served: Served[] = [];

beforeAll(async () => {
  // Daily billing periods: a run after a day has closed invoices that day's usage.
  gateway = await startTestGateway("tenant_dashboard", { ROUTES: CHAT_ROUTES, BILLING_PERIOD: "day" });
  started = Date.now();
  for (const story of STORIES) served.push(await serve(gateway, story));
  at = Date.now();
  await billDays(gateway, started, at);
  for (const s of served) {
    s.invoices = await invoicesOf(gateway, s.tenant);
    const billed = s.invoices.map(({ periodStart, units, amountMinor, currency }) => ({
      periodStart,
      units,
      amountMinor,
      currency,
    }));
    expect(billed.sort((a, b) => a.periodStart.localeCompare(b.periodStart))).toEqual(expectedInvoices(s));
  }
  db = new pg.Client({ connectionString: gateway.databaseUrl, types: { getTypeParser } });
  await db.connect();
  // When each stored call happened, for the quota day's expectation (computed with the
  // limiter's own calendar, not with SQL).
  for (const s of served) {
    const { rows } = await db.query<{ units: number; occurred_at: string }>(
      "SELECT units, occurred_at FROM usage_records WHERE tenant_id = $1",
      [s.tenant.id],
    );
    s.records = rows.map((r) => ({ units: r.units, occurredAt: Date.parse(r.occurred_at) }));
    expect(s.records).toHaveLength(STORIES.find((story) => story.name === s.name)?.admitted ?? -1);
  }
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

const run = async (sql: string, range: { from: number; to: number }, tenant: string) =>
  (await db.query(expandSql(sql, range, { tenant }))).rows;

it("has a SQL query in every target, and an expectation for each", () => {
  expect(panels.map((p) => p.title).sort()).toEqual(Object.keys(expectedRows(served[0] as Served, at)).sort());
  expect(panels.filter((p) => p.sql.trim() === "").map((p) => p.title)).toEqual([]);
});

it("lists every tenant in the tenant variable, by name with its id as the value", async () => {
  const variable = tenantDashboard.templating.list.find((v) => v.name === "tenant");
  const rows = await run(variable?.query ?? "", { from: at - DAY_MS, to: at }, "");
  const byId = (a: { __value: string }, b: { __value: string }) => a.__value.localeCompare(b.__value);
  expect(rows.sort(byId)).toEqual(
    served.map((s) => ({ __text: `${s.name} (${s.tenant.id})`, __value: s.tenant.id })).sort(byId),
  );
});

describe.each(STORIES.map((story, i) => ({ i, name: story.name })))("for $name", ({ i }) => {
  it.each(panels)("$title shows the tenant's own usage, quota and invoices", async ({ title, sql }) => {
    const s = served[i] as Served;
    expect(await run(sql, { from: at - 7 * DAY_MS, to: at }, s.tenant.id)).toEqual(expectedRows(s, at)[title]);
  });
});

// Ranges just outside the traffic's days (known once it has run): one that ends the second
// before the first day, one that starts at the midnight after the last.
const OUTSIDE = {
  "ending the day before": () => {
    const to = Math.floor(started / DAY_MS) * DAY_MS - 1000;
    return { from: to - 7 * DAY_MS, to };
  },
  "starting the next day": () => ({ from: nextDayStart(at), to: nextDayStart(at) + 7 * DAY_MS }),
};
const outside = panels.flatMap(({ title, sql }) =>
  Object.entries(OUTSIDE).map(([when, range]) => ({ title, sql, when, range })),
);

it.each(outside)("$title shows none of the traffic for a range $when", async ({ title, sql, range }) => {
  const s = served[0] as Served;
  const { from, to } = range();
  // The quota panel counts the tenant's own day holding the range's end, which in Asia/Kolkata
  // may still be the traffic's day when the UTC day before has ended: its rows are computed.
  const idle = title === "Quota use" ? expectedRows(s, to)[title] : [];
  expect(await run(sql, { from, to }, s.tenant.id)).toEqual(idle);
});

it("counts quota use on the tenant's own day: none on the one before the traffic's, all on the traffic's", async () => {
  const s = served[0] as Served;
  const quota = panels.find((p) => p.title === "Quota use")?.sql ?? "";
  const first = Math.min(...s.records.map((r) => r.occurredAt));
  // The last instant of the Kolkata day before the first call's (UTC+05:30, no DST).
  const kolkataMidnight = Math.floor((first + 19_800_000) / DAY_MS) * DAY_MS - 19_800_000;
  const before = await run(quota, { from: kolkataMidnight - DAY_MS, to: kolkataMidnight - 1000 }, s.tenant.id);
  expect(before).toEqual([
    { "units used": 0, "daily quota": DAILY_QUOTA, "quota used (%)": 0, "time zone": "Asia/Kolkata" },
  ]);
  const during = await run(quota, { from: kolkataMidnight, to: first }, s.tenant.id);
  expect(during[0]?.["units used"]).toBeGreaterThan(0);
  expect(during).toEqual(expectedRows(s, first)["Quota use"]);
});

it("shows an operator's override of the daily quota while it lasts, and the quota's own after", async () => {
  const s = served[0] as Served;
  const quota = panels.find((p) => p.title === "Quota use")?.sql ?? "";
  const until = at + 3_600_000;
  const admin = (method: string, body?: unknown) =>
    fetch(`${gateway.url}/admin/v1/tenants/${s.tenant.id}/override`, {
      method,
      headers: { authorization: `Bearer ${gateway.token}`, "content-type": "application/json" },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  const put = await admin("PUT", { quota: { dailyUnits: 400 }, until: new Date(until).toISOString() });
  expect(put.status).toBe(200);
  try {
    const [own] = expectedRows(s, at)["Quota use"] as { "units used": number }[];
    const used = own?.["units used"] ?? -1;
    expect(await run(quota, { from: at - DAY_MS, to: at }, s.tenant.id)).toEqual([
      {
        "units used": used,
        "daily quota": 400,
        "quota used (%)": Math.round((1000 * used) / 400) / 10,
        "time zone": "Asia/Kolkata",
      },
    ]);
    // Past `until` the quota's own limit is back, whatever the row still holds.
    const after = await run(quota, { from: until, to: until + 1000 }, s.tenant.id);
    expect(after[0]?.["daily quota"]).toBe(DAILY_QUOTA);
  } finally {
    expect((await admin("DELETE")).status).toBeLessThan(300);
  }
});
