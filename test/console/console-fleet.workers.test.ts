// The console's fleet page on the Worker, over a database of this file's own (top tenants and
// pipeline state are global to a database): today's top tenants by tokens in order with their
// figures, the pipeline's state, the admitted calls stored per minute, and the plain word that
// refusals per minute are in Analytics Engine, since a Worker counts none itself.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isoDay } from "../../src/core/calendar";
import { billingState, invoices, usageDaily, usageLate, usageRecords, webhookDeliveries } from "../../src/db/schema";
import { tableRows } from "../support/html-table";
import { login } from "../support/workers/console";
import { type PrivateDatabase, privateDatabase } from "../support/workers/private-database";

let db: PrivateDatabase;
let cookie: string;
beforeAll(async () => {
  db = await privateDatabase("console-fleet");
  cookie = await login();
});
afterAll(async () => {
  await db?.drop();
});

async function fleetPage(): Promise<string> {
  const res = await db.fetch("/admin/ui/fleet", { headers: { cookie } });
  expect(res.status).toBe(200);
  return res.text();
}

/** A table's rows: the row's data-* value, then each cell's text without its tags. */
const cell = (html: string, check: string) =>
  tableRows(html, "pipeline", "data-check").find((r) => r[0] === check)?.[2] ?? "";

describe("console fleet page", () => {
  it("answers with an empty database, and says where refusals per minute are", async () => {
    const html = await fleetPage();
    expect(html).toContain("No usage stored today yet.");
    expect(html).toContain("No calls in the last hour.");
    expect(html).toContain('id="refusals-elsewhere"');
    expect(html).toContain("<code>aegis_calls</code>");
    expect(cell(html, "usage-ingest")).toBe("no usage stored yet");
    expect(cell(html, "late-usage")).toBe("none waiting");
    expect(cell(html, "webhooks")).toBe("0 pending, 0 failed, 0 disabled, 0 delivered");
    expect(cell(html, "billing")).toBe("no invoice run has committed yet");
    expect(html).toContain('<a href="/admin/ui/fleet" aria-current="page">Fleet</a>');
  });

  it("lists today's top tenants by tokens, 20 at most, and the pipeline's state", async () => {
    const now = Date.now();
    const today = isoDay(now);
    const a = await db.newTenant({ ratePerMinute: 0, burst: 5, dailyUnits: null }, "Alpha");
    const b = await db.newTenant({ ratePerMinute: 0, burst: 5, dailyUnits: null }, "Bravo");
    const c = await db.newTenant({ ratePerMinute: 0, burst: 5, dailyUnits: null }, "Charlie");
    const d4 = await db.newTenant({ ratePerMinute: 0, burst: 5, dailyUnits: null }, "Delta");
    const row = (tenantId: string, day: string, route: string, model: string, t: [number, number, number, number]) => ({
      tenantId,
      day,
      route,
      model,
      requests: 1,
      inputTokens: t[0],
      cachedInputTokens: t[1],
      outputTokens: t[2],
      units: t[3],
    });
    // Ghosts: tenants since deleted (the rollup keeps no foreign key), fewer tokens than the
    // named ones, one token less each; the last three fall below the 20 shown.
    const ghosts = Array.from({ length: 19 }, (_, i) =>
      row(`ghost-${String(i).padStart(2, "0")}`, today, "chat", "m", [100 - i, 0, 0, 1]),
    );
    const minuteAgo = (n: number) => new Date(now - n * 60_000);
    await db.withDb(async (d) => {
      await d.insert(usageDaily).values([
        // Alpha: 1,200,000 + 34,567 tokens over two routes and models; its day before is not today's.
        row(a.id, today, "chat", "gpt-a", [1_000_000, 250_000, 30_000, 1_030_000]),
        row(a.id, today, "batch", "gpt-b", [200_000, 0, 4_567, 204_567]),
        row(a.id, isoDay(now - 86_400_000), "chat", "gpt-a", [9_000_000, 0, 0, 9_000_000]),
        // Bravo and Charlie have the same tokens: Charlie's units put it first. Delta has the
        // most units of the three, but a token less.
        row(b.id, today, "chat", "gpt-a", [2_000, 0, 1_000, 3_000]),
        row(c.id, today, "chat", "gpt-a", [2_500, 500, 500, 9_000]),
        row(d4.id, today, "chat", "gpt-a", [2_999, 0, 0, 50_000]),
        ...ghosts,
      ]);
      const record = (id: string, tenantId: string, occurredAt: Date, receivedAt = occurredAt) => ({
        eventId: id,
        tenantId,
        route: "chat",
        units: 1,
        occurredAt,
        receivedAt,
      });
      await d
        .insert(usageRecords)
        .values([
          record("e1", a.id, minuteAgo(1.5)),
          record("e2", b.id, minuteAgo(1.5)),
          record("e3", a.id, minuteAgo(5), minuteAgo(4)),
          record("e4", c.id, minuteAgo(3 * 60)),
        ]);
      await d
        .insert(usageLate)
        .values([
          row(a.id, "2030-01-10", "chat", "gpt-a", [0, 0, 0, 1_500]),
          row(b.id, "2030-01-05", "chat", "", [0, 0, 0, 250]),
        ]);
      const delivery = (id: string, status: "pending" | "failed" | "delivered", createdAt: Date) => ({
        id,
        eventType: "invoice.created",
        payload: {},
        status,
        createdAt,
      });
      await d
        .insert(webhookDeliveries)
        .values([
          delivery("d1", "pending", minuteAgo(30)),
          delivery("d2", "pending", minuteAgo(1)),
          delivery("d3", "failed", minuteAgo(90)),
          delivery("d4", "delivered", minuteAgo(90)),
        ]);
      await d.insert(billingState).values({ id: 1, billedThrough: "2030-02-01" });
      await d.insert(invoices).values({
        id: "inv_fleet",
        tenantId: a.id,
        periodStart: "2030-01-01",
        periodEnd: "2030-02-01",
        units: 1,
        amountMinor: 1,
        currency: "USD",
        lineItems: [],
        createdAt: new Date("2030-02-01T00:15:02Z"),
      });
    });

    const html = await fleetPage();
    const top = tableRows(html, "top-tenants", "data-tenant");
    expect(top).toHaveLength(20);
    expect(top.slice(0, 4)).toEqual([
      [a.id, `Alpha ${a.id}`, "2", "1,200,000", "250,000", "34,567", "1,234,567"],
      [c.id, `Charlie ${c.id}`, "1", "2,500", "500", "500", "9,000"],
      [b.id, `Bravo ${b.id}`, "1", "2,000", "0", "1,000", "3,000"],
      [d4.id, `Delta ${d4.id}`, "1", "2,999", "0", "0", "50,000"],
    ]);
    expect(top.slice(4).map((r) => r[0])).toEqual(ghosts.slice(0, 16).map((g) => g.tenantId));
    expect(top[4]?.[1]).toBe("(deleted) ghost-00");
    expect(html).toContain(`<a href="/admin/ui/tenants/${a.id}">Alpha</a>`);

    const calls = tableRows(html, "calls", "data-minute");
    const minuteOf = (d: Date) => new Date(d.getTime() - (d.getTime() % 60_000)).toISOString();
    expect(calls).toEqual([
      [minuteOf(minuteAgo(1.5)), minuteOf(minuteAgo(1.5)).slice(11, 16), "2"],
      [minuteOf(minuteAgo(5)), minuteOf(minuteAgo(5)).slice(11, 16), "1"],
    ]);

    // Instants as <When>: ISO from the server (the text here), the reader's locale and zone in a browser.
    const newest = minuteAgo(1.5).toISOString().replace(/[.]/g, "\\.");
    expect(cell(html, "usage-ingest")).toMatch(
      new RegExp(`^newest stored call: (9\\d|1[01]\\d) s ago \\(made ${newest}, stored ${newest}\\)$`),
    );
    expect(html).toContain(`(made <time datetime="${minuteAgo(1.5).toISOString()}"`);
    expect(cell(html, "late-usage")).toBe(
      "1,750 units of 2 tenants, for days from 2030-01-05 on, wait for adjustment lines on the next invoices",
    );
    expect(cell(html, "webhooks")).toBe("2 pending (oldest written 30 min ago), 1 failed, 0 disabled, 1 delivered");
    expect(cell(html, "billing")).toBe(
      "every day before 2030-02-01 is invoiced; newest invoice written 2030-02-01T00:15:02.000Z",
    );
  });
});
