// GET /metrics on the Worker: rendered from Postgres, read with a real exposition-format
// parser after known usage (ingested into a database of this file's own), a billing run
// and a webhook backlog. Served only while METRICS_TOKEN is set; otherwise the path is the
// upstream's, proxied like any other.
//
// The values are checked on a render at a fixed `now` (the Worker's own scrape reads its
// current UTC day, which a run started before midnight crosses); through the Worker, the
// wiring: the token, the 503, the proxying, and a scrape whose values do not depend on the day.

import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { sql } from "drizzle-orm";
import parsePrometheusTextFormat, { type ParsedFamily } from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newTenantId } from "../../src/core/secrets";
import { withTimeout } from "../../src/core/timeout";
import { newEventId, type UsageEvent } from "../../src/core/usage-event";
import { type Database, rowsOf } from "../../src/db/database";
import { openNeonDatabase } from "../../src/db/neon";
import { invoices, webhookDeliveries } from "../../src/db/schema";
import { METRICS_TOP_TENANTS, renderPostgresMetrics } from "../../src/http/postgres-metrics";
import worker from "../../src/index";
import { ingestUsage } from "../../src/metering/ingest";
import { BASE, env, eventually, newTenant as sharedTenant } from "../support/workers/helpers";
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

/** The exposition rendered from this file's database at `now`, through the Neon driver as on Workers. */
async function render(now: number): Promise<ParsedFamily[]> {
  const { body } = await renderPostgresMetrics(openNeonDatabase(db.url, env.NEON_WS_PROXY), { now });
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

/** Noon of the day the value checks take as today: after the January invoice run, so not late. */
const NOW = Date.parse("2020-03-05T12:00:00Z");
const FEBRUARY = Date.parse("2020-02-01T00:00:00Z") / 1000;
/** Two model names that differ only after the 64 characters a model label keeps. */
const LONG_MODEL = "m".repeat(64);

describe("GET /metrics on Workers", () => {
  // Tenants a and b are invoiced for January 2020 by the cron tick of 1 February.
  let a: { id: string };
  let b: { id: string };
  let today: string[];
  beforeAll(async () => {
    a = await db.newTenant({ ratePerMinute: 60, burst: 60, dailyUnits: null });
    b = await db.newTenant({ ratePerMinute: 60, burst: 60, dailyUnits: null });
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
    // Today (NOW's day): one more tenant than keep their label; tenant k used 100 + k units of
    // gpt-4o on chat, the top one also 40 units of another model on msgs and two calls of
    // models whose names share their first 64 characters. Yesterday's usage is not today's.
    today = Array.from({ length: METRICS_TOP_TENANTS + 1 }, () => newTenantId());
    const top = today[METRICS_TOP_TENANTS] ?? "";
    await db.withDb((d) =>
      ingestUsage(d, [
        ...today.map((tenant, k) =>
          event(tenant, "chat", 101 + k, NOW, { model: "gpt-4o", inputTokens: 1 + k, outputTokens: 100 }),
        ),
        event(top, "msgs", 40, NOW, {
          model: "claude-sonnet-4-5",
          inputTokens: 30,
          outputTokens: 10,
          cachedInputTokens: 20,
        }),
        event(top, "chat", 3, NOW, { model: `${LONG_MODEL}-a` }),
        event(top, "chat", 4, NOW, { model: `${LONG_MODEL}-b` }),
        event(top, "chat", 1_000_000, NOW - 86_400_000, { model: "gpt-4o" }),
      ]),
    );
  });

  it("renders today's usage per tenant (top tenants, the rest as _other), late usage, the webhook backlog and the last invoice run", async () => {
    // b's invoice is voided, and a draft of a later period is written after the run: neither
    // is an invoice of the latest invoiced period.
    await db.withDb(async (d) => {
      await d.execute(sql`UPDATE invoices SET status = 'void', voided_at = now() WHERE tenant_id = ${b.id}`);
      await d.insert(invoices).values({
        id: "inv_metrics_draft",
        tenantId: a.id,
        periodStart: "2020-02-01",
        periodEnd: "2020-03-01",
        units: 1,
        amountMinor: 999,
        currency: "USD",
        status: "draft",
        lineItems: [],
        createdAt: new Date(Date.now() + 3_600_000),
      });
      // A delivery still pending, a minute old at NOW.
      await d.insert(webhookDeliveries).values({
        id: "whd_metrics_pending",
        eventType: "invoice.created",
        payload: {},
        status: "pending",
        createdAt: new Date(NOW - 60_000),
      });
    });
    const [issued] = await db.withDb(async (d) =>
      rowsOf<{ created: number }>(
        await d.execute(
          sql`SELECT extract(epoch FROM created_at)::float8 AS created FROM invoices WHERE tenant_id = ${a.id} AND status = 'issued'`,
        ),
      ),
    );

    const families = await render(NOW);
    const top = today[METRICS_TOP_TENANTS] ?? "";
    const chat = { route: "chat", model: "gpt-4o" };
    expect(value(families, "aegis_usage_today", { tenant: top, ...chat, dimension: "units" })).toBe(101 + 20);
    expect(value(families, "aegis_usage_today", { tenant: top, ...chat, dimension: "requests" })).toBe(1);
    expect(value(families, "aegis_usage_today", { tenant: top, ...chat, dimension: "input" })).toBe(21);
    expect(value(families, "aegis_usage_today", { tenant: top, ...chat, dimension: "output" })).toBe(100);
    const msgs = { tenant: top, route: "msgs", model: "claude-sonnet-4-5" };
    expect(value(families, "aegis_usage_today", { ...msgs, dimension: "units" })).toBe(40);
    expect(value(families, "aegis_usage_today", { ...msgs, dimension: "cached_input" })).toBe(20);
    // The two long names are one label, cut to 64 characters, their usage summed.
    const long = { tenant: top, route: "chat", model: LONG_MODEL };
    expect(value(families, "aegis_usage_today", { ...long, dimension: "units" })).toBe(7);
    expect(value(families, "aegis_usage_today", { ...long, dimension: "requests" })).toBe(2);
    const models = new Set(samples(families, "aegis_usage_today").map((m) => m.labels?.model));
    expect([...models].sort()).toEqual(["claude-sonnet-4-5", "gpt-4o", LONG_MODEL]);
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
    expect(value(families, "aegis_webhook_oldest_pending_seconds")).toBe(60);

    expect(value(families, "aegis_billing_billed_through_timestamp_seconds")).toBe(FEBRUARY);
    expect(value(families, "aegis_invoice_last_period_end_timestamp_seconds")).toBe(FEBRUARY);
    // a's invoice: 10,000,000 units at 0.0000015 USD, 15 USD; b's (3 USD) is void.
    expect(value(families, "aegis_invoice_last_period_invoices")).toBe(1);
    expect(value(families, "aegis_invoice_last_period_amount_minor", { currency: "USD" })).toBe(1_500);
    expect(value(families, "aegis_invoice_last_created_timestamp_seconds")).toBeCloseTo(issued?.created ?? 0, 3);

    // The next day's scrape has none of this day's usage.
    const tomorrow = await render(NOW + 86_400_000);
    expect(value(tomorrow, "aegis_usage_today_tenants")).toBe(0);
    expect(samples(tomorrow, "aegis_usage_today")).toEqual([]);
  });

  it("stops a read in Postgres when it runs out of time, not only the wait for it", async () => {
    const locker = openNeonDatabase(db.url, env.NEON_WS_PROXY);
    const waitingOnLocks = async (tx: Pick<Database, "execute">) => {
      // A transaction keeps the first pg_stat_activity it reads unless told to forget it.
      await tx.execute(sql`SELECT pg_stat_clear_snapshot()`);
      const [row] = rowsOf<{ n: number }>(
        await tx.execute(sql`
          SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'`),
      );
      return row?.n;
    };
    try {
      await locker.db.transaction(async (tx) => {
        // The read of usage_late waits for this lock until its statement timeout.
        await tx.execute(sql`LOCK TABLE usage_late IN ACCESS EXCLUSIVE MODE`);
        let closing: Promise<void> | undefined;
        const read = renderPostgresMetrics(openNeonDatabase(db.url, env.NEON_WS_PROXY), {
          now: NOW,
          timeoutMs: 3_000,
          release: (c) => {
            closing = c;
          },
        });
        const failed = expect(read).rejects.toMatchObject({ status: 503, code: "metrics-unavailable" });
        // The read has reached the lock, and waits there.
        await eventually(async () => expect(await waitingOnLocks(tx)).toBe(1), 3_000);
        await failed;
        // The handle closes once Postgres has cancelled the statement and the read's
        // transaction is over; a read given up on but left waiting would hold it open.
        await withTimeout(
          closing ?? Promise.reject(new Error("not released")),
          10_000,
          () => new Error("the handle did not close"),
        );
        expect(await waitingOnLocks(tx)).toBe(0);
      });
    } finally {
      await locker.close();
    }
  });

  it("serves the scrape through the Worker, at its own today", async () => {
    const families = await scrape();
    // Every usage row is of 2020: the Worker's today has none, whichever day it is.
    expect(value(families, "aegis_usage_today_tenants")).toBe(0);
    expect(value(families, "aegis_billing_billed_through_timestamp_seconds")).toBe(FEBRUARY);
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
