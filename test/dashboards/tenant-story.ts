// The known traffic of the tenant dashboard's test, and the rows each of its panels must show
// for it. Two tenants call through a self-hosted gateway: one with a daily quota counted in
// Asia/Kolkata (its quota day starts at 18:30 UTC) whose request bucket limits its fourth
// call, one without a quota, named with a quote. Their
// usage per UTC day comes from the gateway's own usage read, held to the tokens the upstream
// reported; a daily billing run invoices each day that had usage. The traffic may cross a
// UTC midnight (AEGIS_TEST_NOW=midnight runs do that): every expectation goes by day.

import { expect } from "vitest";
import type { InvoiceView } from "../../src/billing/invoice-view";
import { dayOf, nextDayStart } from "../../src/core/calendar";
import { newTenant, storedUsage, type Tenant, type UsageRead } from "../support/metered-tenant";
import { chatCall } from "../support/metrics-scrape";
import type { TestGateway } from "../support/test-gateway";

export const DAILY_QUOTA = 1000;

export const STORIES = [
  { name: "Dashboard tenant", dailyQuota: DAILY_QUOTA, timeZone: "Asia/Kolkata", tokens: [7, 10, 12, 9], admitted: 3 },
  { name: "O'Hara", dailyQuota: null, timeZone: "UTC", tokens: [20], admitted: 1 },
];

export interface Served {
  tenant: Tenant;
  name: string;
  dailyQuota: number | null;
  timeZone: string;
  days: UsageRead["days"];
  /** The stored usage records' units and when each call happened (epoch ms): read from Postgres once stored. */
  records: { units: number; occurredAt: number }[];
  invoices: InvoiceView[];
}

/** Runs one story: its calls, its stored usage (held to what the upstream reported). */
export async function serve(gateway: TestGateway, story: (typeof STORIES)[number]): Promise<Served> {
  // No units bucket; three calls in the request bucket, which never refills; 0.01 USD a unit.
  const quota = { ratePerMinute: null, burst: null, requestsPerMinute: 0, requestBurst: 3, unitPrice: "0.01" };
  const tenant = await newTenant(gateway, story.name, {
    ...quota,
    dailyUnits: story.dailyQuota,
    timeZone: story.timeZone,
  });
  const reported = { requests: 0, inputTokens: 0, outputTokens: 0 };
  for (const tokens of story.tokens) {
    const res = await chatCall(gateway, tenant, tokens);
    const body = (await res.json()) as { usage?: { prompt_tokens: number; completion_tokens: number } };
    if (res.status === 429) continue;
    expect(res.status).toBe(200);
    reported.requests += 1;
    reported.inputTokens += body.usage?.prompt_tokens ?? 0;
    reported.outputTokens += body.usage?.completion_tokens ?? 0;
  }
  expect(reported.requests).toBe(story.admitted);
  const usage = await storedUsage(gateway, tenant, reported.requests);
  expect(usage.totals).toMatchObject({ ...reported, cachedInputTokens: 0, estimatedUnits: 0 });
  const { name, dailyQuota, timeZone } = story;
  return { tenant, name, dailyQuota, timeZone, days: usage.days, records: [], invoices: [] };
}

/** Bills every UTC day from `from` to `to` (daily periods), each once it has closed and its grace has passed. */
export async function billDays(gateway: TestGateway, from: number, to: number): Promise<void> {
  const grace = (gateway.server.config.BILLING_GRACE_HOURS + 1) * 3_600_000;
  for (let day = from; dayOf(day) <= dayOf(to); day = nextDayStart(day))
    await gateway.server.runBilling(nextDayStart(day) + grace);
}

/** The tenant's invoices, as the operator API lists them. */
export async function invoicesOf(gateway: TestGateway, tenant: Tenant): Promise<InvoiceView[]> {
  const res = await fetch(`${gateway.url}/admin/v1/invoices?tenantId=${tenant.id}`, {
    headers: { authorization: `Bearer ${gateway.token}` },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { invoices: InvoiceView[] }).invoices;
}

const midnight = (day: string) => `${day}T00:00:00.000Z`;
const sum = (rows: { units: number }[]) => rows.reduce((n, r) => n + r.units, 0);

/** Units per UTC day, the days in order. */
function unitsByDay(s: Served): [string, number][] {
  const days = new Map<string, number>();
  for (const d of s.days) days.set(d.day, (days.get(d.day) ?? 0) + d.units);
  return [...days].sort(([a], [b]) => a.localeCompare(b));
}

/** What each panel must show for a tenant's story, over a range that holds it all and ends at `to`. */
export function expectedRows(s: Served, to: number): Record<string, unknown[]> {
  const perDay = unitsByDay(s);
  // The quota day is the tenant's own: the calls whose day in its time zone is `to`'s.
  const quotaDay = dayOf(to, s.timeZone);
  const usedOnLastDay = sum(s.records.filter((r) => dayOf(r.occurredAt, s.timeZone) === quotaDay));
  const name = (model: string | null) => model ?? "(no model)";
  const dimensions = [
    ["cached_input", "cachedInputTokens"],
    ["input", "inputTokens"],
    ["output", "outputTokens"],
  ] as const;
  return {
    "Tokens per day by model and dimension": s.days
      .flatMap((d) =>
        dimensions.map(([dim, key]) => ({ time: midnight(d.day), metric: `${name(d.model)} ${dim}`, tokens: d[key] })),
      )
      .filter((r) => r.tokens > 0)
      .sort((a, b) => a.time.localeCompare(b.time) || a.metric.localeCompare(b.metric)),
    "Quota use": [
      {
        "units used": usedOnLastDay,
        "daily quota": s.dailyQuota,
        "quota used (%)": s.dailyQuota === null ? null : Math.round((1000 * usedOnLastDay) / s.dailyQuota) / 10,
        "time zone": s.timeZone,
      },
    ],
    "Units per day against the daily quota": perDay.map(([day, units]) => ({
      time: midnight(day),
      units,
      "daily quota": s.dailyQuota,
    })),
    "Usage by route and model": [
      {
        route: "chat",
        model: "echo-1",
        requests: s.days.reduce((n, d) => n + d.requests, 0),
        "input tokens": s.days.reduce((n, d) => n + d.inputTokens, 0),
        "cached input tokens": 0,
        "output tokens": s.days.reduce((n, d) => n + d.outputTokens, 0),
        units: sum(s.days),
        "estimated units": 0,
      },
    ],
    Invoices: s.invoices
      .sort((a, b) => b.periodStart.localeCompare(a.periodStart))
      .map((i) => ({
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

/** One invoice per day with usage: that day's units, a cent each (no price book, the tenant's 0.01 USD). */
export function expectedInvoices(s: Served): unknown[] {
  return unitsByDay(s)
    .filter(([, units]) => units > 0)
    .map(([day, units]) => ({ periodStart: day, units, amountMinor: units, currency: "USD" }));
}
