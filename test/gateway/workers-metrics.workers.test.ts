// GET /metrics on the Worker: rendered from Postgres, read with a real exposition-format
// parser after known usage (ingested into a database of this file's own), a billing run
// and a webhook backlog. Served only while METRICS_TOKEN is set; otherwise the path is the
// upstream's, proxied like any other.

import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import parsePrometheusTextFormat, { type ParsedFamily } from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newTenantId } from "../../src/core/secrets";
import { newEventId, type UsageEvent } from "../../src/core/usage-event";
import { webhookDeliveries } from "../../src/db/schema";
import { METRICS_TOP_TENANTS } from "../../src/http/postgres-metrics";
import worker from "../../src/index";
import { ingestUsage } from "../../src/metering/ingest";
import { BASE, newTenant as sharedTenant } from "../support/workers/helpers";
import { type PrivateDatabase, privateDatabase } from "../support/workers/private-database";

const METRICS_TOKEN = "metrics-workers-token-0123456789";

let db: PrivateDatabase;
beforeAll(async () => {
  db = await privateDatabase("workers-metrics");
});
afterAll(async () => {
  await db?.drop();
});

/** The Worker's fetch handler with `env` over db.env; resolves once its after-response work is done. */
async function get(path: string, env: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const ctx = createExecutionContext();
  const request = new Request(`${BASE}${path}`, { headers });
  const res = await worker.fetch(
    request as Request<unknown, IncomingRequestCfProperties>,
    { ...db.env, METRICS_TOKEN, ...env },
    ctx,
  );
  const body = await res.text();
  await waitOnExecutionContext(ctx);
  return { res, body };
}

async function scrape(): Promise<ParsedFamily[]> {
  const { res, body } = await get("/metrics", {}, { authorization: `Bearer ${METRICS_TOKEN}` });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain");
  return parsePrometheusTextFormat(body);
}

/** The samples of a family whose labels include `labels`. */
function samples(families: ParsedFamily[], name: string, labels: Record<string, string> = {}) {
  const family = families.find((f) => f.name === name);
  if (!family) throw new Error(`no ${name} in the scrape`);
  return family.metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
}

function value(families: ParsedFamily[], name: string, labels: Record<string, string> = {}): number {
  const found = samples(families, name, labels);
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name} with ${JSON.stringify(labels)}`);
  return Number(found[0]?.value);
}

const event = (tenantId: string, route: string, units: number, occurredAt: number, more: Partial<UsageEvent> = {}) =>
  ({ eventId: newEventId(), tenantId, route, units, occurredAt, ...more }) satisfies UsageEvent;

describe("GET /metrics on Workers", () => {
  it("renders today's usage per tenant (top tenants, the rest as _other), late usage, the webhook backlog and the last invoice run", async () => {
    // Last invoice run: two tenants' January 2020, invoiced by the cron tick of 1 February.
    const a = await db.newTenant({ ratePerMinute: 60, burst: 60, dailyUnits: null });
    const b = await db.newTenant({ ratePerMinute: 60, burst: 60, dailyUnits: null });
    await db.withDb((d) =>
      ingestUsage(d, [
        event(a.id, "chat", 10_000_000, Date.parse("2020-01-10T12:00:00Z")),
        event(b.id, "chat", 2_000_000, Date.parse("2020-01-11T12:00:00Z")),
      ]),
    );
    await db.scheduled("2020-02-01T03:00:00Z");
    // Late: January usage that arrives after January was invoiced.
    await db.withDb((d) =>
      ingestUsage(d, [event(a.id, "chat", 7, Date.parse("2020-01-20T12:00:00Z"), { inputTokens: 5, outputTokens: 2 })]),
    );
    // A delivery still pending, a minute old.
    await db.withDb((d) =>
      d.insert(webhookDeliveries).values({
        id: "whd_metrics_pending",
        eventType: "invoice.created",
        payload: {},
        status: "pending",
        createdAt: new Date(Date.now() - 60_000),
      }),
    );
    // Today: one more tenant than keep their label; tenant k used 100 + k units of gpt-4o on
    // chat, and the top one also 40 tokens of another model on msgs.
    const now = Date.now();
    const today = Array.from({ length: METRICS_TOP_TENANTS + 1 }, () => newTenantId());
    await db.withDb((d) =>
      ingestUsage(d, [
        ...today.map((tenant, k) =>
          event(tenant, "chat", 101 + k, now, { model: "gpt-4o", inputTokens: 1 + k, outputTokens: 100 }),
        ),
        event(today[METRICS_TOP_TENANTS] ?? "", "msgs", 40, now, {
          model: "claude-sonnet-4-5",
          inputTokens: 30,
          outputTokens: 10,
          cachedInputTokens: 20,
        }),
      ]),
    );

    const families = await scrape();
    const top = today[METRICS_TOP_TENANTS] ?? "";
    const chat = { route: "chat", model: "gpt-4o" };
    expect(value(families, "aegis_usage_today", { tenant: top, ...chat, dimension: "units" })).toBe(101 + 20);
    expect(value(families, "aegis_usage_today", { tenant: top, ...chat, dimension: "requests" })).toBe(1);
    expect(value(families, "aegis_usage_today", { tenant: top, ...chat, dimension: "input" })).toBe(21);
    expect(value(families, "aegis_usage_today", { tenant: top, ...chat, dimension: "output" })).toBe(100);
    const msgs = { tenant: top, route: "msgs", model: "claude-sonnet-4-5" };
    expect(value(families, "aegis_usage_today", { ...msgs, dimension: "units" })).toBe(40);
    expect(value(families, "aegis_usage_today", { ...msgs, dimension: "cached_input" })).toBe(20);
    // The tenant with the fewest units is folded into _other; the label takes 21 values.
    expect(samples(families, "aegis_usage_today", { tenant: today[0] ?? "" })).toEqual([]);
    expect(value(families, "aegis_usage_today", { tenant: "_other", ...chat, dimension: "units" })).toBe(101);
    const tenants = new Set(samples(families, "aegis_usage_today").map((m) => m.labels?.tenant));
    expect(tenants.size).toBe(METRICS_TOP_TENANTS + 1);
    expect(value(families, "aegis_usage_today_tenants")).toBe(METRICS_TOP_TENANTS + 1);

    expect(value(families, "aegis_usage_late", { dimension: "units" })).toBe(7);
    expect(value(families, "aegis_usage_late", { dimension: "input" })).toBe(5);
    expect(value(families, "aegis_usage_late", { dimension: "requests" })).toBe(1);

    // The tick sent both invoices' webhooks; the one inserted waits.
    expect(value(families, "aegis_webhook_deliveries", { status: "delivered" })).toBe(2);
    expect(value(families, "aegis_webhook_deliveries", { status: "pending" })).toBe(1);
    expect(value(families, "aegis_webhook_deliveries", { status: "failed" })).toBe(0);
    expect(value(families, "aegis_webhook_oldest_pending_seconds")).toBeGreaterThanOrEqual(60);

    const february = Date.parse("2020-02-01T00:00:00Z") / 1000;
    expect(value(families, "aegis_billing_billed_through_timestamp_seconds")).toBe(february);
    expect(value(families, "aegis_invoice_last_period_end_timestamp_seconds")).toBe(february);
    expect(value(families, "aegis_invoice_last_period_invoices")).toBe(2);
    // 12,000,000 units at 0.0000015 USD: 15 USD and 3 USD.
    expect(value(families, "aegis_invoice_last_period_amount_minor", { currency: "USD" })).toBe(1_800);
    const created = value(families, "aegis_invoice_last_created_timestamp_seconds");
    expect(created).toBeGreaterThan(february);
    expect(created).toBeLessThanOrEqual(Date.now() / 1000);
  });

  it("answers 401 to a missing or wrong token", async () => {
    const missing = await get("/metrics");
    expect(missing.res.status).toBe(401);
    expect(missing.res.headers.get("content-type")).toBe("application/problem+json");
    const wrong = await get("/metrics", {}, { authorization: "Bearer metrics-wrong-token-0123456789" });
    expect(wrong.res.status).toBe(401);
    expect(wrong.body).not.toContain("aegis_");
  });

  it("answers 503 metrics-unavailable when Postgres cannot be read", async () => {
    const url = new URL(db.url);
    url.pathname = "/aegis_no_such_database";
    const { res, body } = await get(
      "/metrics",
      { DATABASE_URL: url.toString() },
      { authorization: `Bearer ${METRICS_TOKEN}` },
    );
    expect(res.status).toBe(503);
    expect(JSON.parse(body)).toMatchObject({ status: 503, code: "metrics-unavailable" });
  });

  it("proxies /metrics to the upstream, as any other path, while METRICS_TOKEN is not set", async () => {
    // The shared database's tenant: the limiter Durable Objects load tenants from it.
    const t = await sharedTenant({ ratePerMinute: 60, burst: 10, dailyUnits: 1000 });
    const { res, body } = await get(
      "/metrics",
      { METRICS_TOKEN: undefined },
      {
        authorization: `Bearer ${t.key}`,
      },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("x-upstream")).toBe("echo");
    expect((JSON.parse(body) as { echo: { url: string } }).echo.url).toBe("/metrics");
  });
});
