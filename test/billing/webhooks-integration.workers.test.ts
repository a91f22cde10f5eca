// Webhook delivery to a real local receiver that verifies every request with the
// standardwebhooks package. Time is injected: each dispatch is told what time it is.
//
// The deliveries live in a database of this file's own (private-database.ts). In the shared
// one, any other file's cron tick dispatches every pending delivery that is due at its
// scheduled time: a tick at 2031-02-01 (billing-integration's) would send these, enqueued
// at 2031-01-01, to its own mailbox, between this file's steps, and a delivery meant to stay
// pending, or to fail on schedule, would come out delivered. The operator API here is the
// Worker's, called with that database's env; its BILLING_WEBHOOK_URL is a mailbox of its own.

import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { invoiceEvent } from "../../src/billing/invoice-view";
import { deliverDue } from "../../src/billing/webhooks/dispatcher";
import { enqueueWebhooks } from "../../src/billing/webhooks/outbox";
import { webhookDeliveries } from "../../src/db/schema";
import { TEST_WEBHOOK_SECRET } from "../support/webhook-secret";
import { type PrivateDatabase, privateDatabase } from "../support/workers/private-database";

let db: PrivateDatabase;
beforeAll(async () => {
  db = await privateDatabase("webhooks-integration");
});
afterAll(async () => {
  await db?.drop();
});

interface Received {
  id: string;
  timestamp: string;
  signature: string;
  verified: boolean;
  body: { type: string; data: { id: string } };
}

const box = () => `b${Math.random().toString(36).slice(2, 10)}`;
const target = (name: string, script: string) => ({
  url: `${inject("webhookUrl")}/hooks/${name}/${script}`,
  secrets: [TEST_WEBHOOK_SECRET],
});
const received = async (name: string) =>
  (await (await fetch(`${inject("webhookUrl")}/hooks/${name}/log`)).json()) as Received[];

async function enqueue(now: Date): Promise<string> {
  const [id] = await db.withDb((d) =>
    d.transaction((tx) =>
      enqueueWebhooks(
        tx,
        [
          invoiceEvent("invoice.created", {
            id: `inv_test${Math.random().toString(36).slice(2, 10)}`,
            tenantId: "tnaaaaaaaaaaaaaaaa",
            periodStart: "2031-01-01",
            periodEnd: "2031-02-01",
            units: 1,
            amountMinor: 1,
            currency: "USD",
            status: "issued",
            lineItems: [],
            billingAccountId: null,
            paymentMethodRef: null,
          }),
        ],
        now,
      ),
    ),
  );
  return id as string;
}

const row = async (id: string) => {
  const [r] = await db.withDb((d) => d.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, id)));
  if (!r) throw new Error(`no delivery ${id}`);
  return r;
};

/** Dispatches this one delivery at its next attempt time, as the cron would. */
async function tick(id: string, name: string, script: string) {
  const r = await row(id);
  return db.withDb((d) => deliverDue(d, target(name, script), { now: r.nextAttemptAt ?? new Date(), ids: [id] }));
}

describe("webhook delivery", () => {
  it("retries a receiver that answers 500 twice, then 200: three attempts, one webhook-id, all verified", async () => {
    const name = box();
    const id = await enqueue(new Date("2031-01-01T00:00:00Z"));
    for (let i = 0; i < 3; i++) await tick(id, name, "500,500,200");
    const log = await received(name);
    expect(log).toHaveLength(3);
    expect(new Set(log.map((r) => r.id))).toEqual(new Set([id]));
    expect(log.every((r) => r.verified)).toBe(true);
    expect(log[0]?.body.type).toBe("invoice.created");
    const done = await row(id);
    expect(done).toMatchObject({ status: "delivered", attempts: 3, lastStatus: 200, nextAttemptAt: null });
  });

  it("follows the schedule 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then fails", async () => {
    const name = box();
    const start = new Date("2031-01-01T00:00:00Z");
    const id = await enqueue(start);
    const gaps: number[] = [];
    let previous = start.getTime();
    for (let attempt = 1; attempt <= 8; attempt++) {
      await tick(id, name, "500");
      const r = await row(id);
      if (r.nextAttemptAt) {
        gaps.push(r.nextAttemptAt.getTime() - previous);
        previous = r.nextAttemptAt.getTime();
      }
    }
    // The schedule as documented, written out here rather than read from the dispatcher.
    const second = 1_000;
    const minute = 60 * second;
    const hour = 60 * minute;
    expect(gaps).toEqual([5 * second, 5 * minute, 30 * minute, 2 * hour, 5 * hour, 10 * hour, 10 * hour]);
    expect(await row(id)).toMatchObject({ status: "failed", attempts: 8, lastStatus: 500, lastError: "HTTP 500" });
    expect(await received(name)).toHaveLength(8);
    // A failed delivery is not attempted again by the cron.
    const again = await db.withDb((d) =>
      deliverDue(d, target(name, "200"), { now: new Date("2032-01-01T00:00:00Z"), ids: [id] }),
    );
    expect(again.attempted).toBe(0);
  });

  it("stops for good on 410, and honours Retry-After on 429 and 503", async () => {
    const gone = box();
    const id = await enqueue(new Date("2031-01-01T00:00:00Z"));
    await tick(id, gone, "410");
    expect(await row(id)).toMatchObject({ status: "disabled", attempts: 1, lastStatus: 410, nextAttemptAt: null });

    const busy = box();
    const now = new Date("2031-01-01T00:00:00Z");
    const other = await enqueue(now);
    await tick(other, busy, "503r3600");
    expect((await row(other)).nextAttemptAt?.getTime()).toBe(now.getTime() + 3_600_000);
    await tick(other, busy, "503r3600,429r1");
    // A Retry-After shorter than the schedule does not bring the retry forward (5 min).
    expect((await row(other)).nextAttemptAt?.getTime()).toBe(now.getTime() + 3_600_000 + 300_000);
  });

  it("lists deliveries and redelivers one with the same webhook-id", async () => {
    const name = box();
    const id = await enqueue(new Date("2031-01-01T00:00:00Z"));
    await tick(id, name, "410");
    const list = await db.adminJson<{ deliveries: { id: string; status: string }[] }>(
      "/webhooks/deliveries?status=disabled&limit=200",
    );
    expect(list.deliveries.map((d) => d.id)).toContain(id);
    const res = await db.admin(`/webhooks/deliveries/${id}/redeliver`, { method: "POST" });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ id, status: "pending", attempts: 0 });
    // Sent at once, in the request's after-response work (db.admin waits for it), to the
    // configured BILLING_WEBHOOK_URL (this database's mailbox), with the same webhook-id.
    expect(await row(id)).toMatchObject({ status: "delivered", attempts: 1 });
    const log = await db.received();
    expect(log.map((r) => [r.id, r.verified])).toEqual([[id, true]]);
    expect((await db.admin("/webhooks/deliveries/msg_aaaaaaaaaaaaaaaaaaaa/redeliver", { method: "POST" })).status).toBe(
      404,
    );
  });

  it("sends each due delivery once, however many dispatchers run at once", async () => {
    const name = box();
    const now = new Date("2031-01-01T00:00:00Z");
    const ids = await Promise.all(Array.from({ length: 6 }, () => enqueue(now)));
    const runs = await Promise.all(
      Array.from({ length: 3 }, () => db.withDb((d) => deliverDue(d, target(name, "200"), { now, ids }))),
    );
    expect(runs.reduce((n, r) => n + r.delivered, 0)).toBe(6);
    const log = await received(name);
    expect(log.map((r) => r.id).sort()).toEqual([...ids].sort());
  });

  it("leaves deliveries pending when no webhook URL is configured", async () => {
    const id = await enqueue(new Date("2031-01-01T00:00:00Z"));
    const result = await db.withDb((d) => deliverDue(d, null, { ids: [id], now: new Date("2031-01-02T00:00:00Z") }));
    expect(result.attempted).toBe(0);
    expect(await row(id)).toMatchObject({ status: "pending", attempts: 0 });
  });
});
