// The Durable Object's settle batch writes its usage events in one statement (or a few, by
// size): they must land in the outbox in the batch's order, every one of them, however
// large their metadata.

import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { UsageEvent } from "../../src/core/usage-event";
import type { TenantLimiter } from "../../src/tenant-limiter";
import { limiterStub, newTenant } from "../support/workers/helpers";

/** The outbox's usage events, in sequence order, without sending them. */
const outboxEvents = (tenantId: string) =>
  runInDurableObject(limiterStub(tenantId), (_: TenantLimiter, state) =>
    state.storage.sql
      .exec<{ event: string }>("SELECT event FROM outbox ORDER BY seq")
      .toArray()
      .map((r) => JSON.parse(r.event) as UsageEvent | { alert: unknown })
      .filter((e): e is UsageEvent => !("alert" in e)),
  );

async function reserved(tenantId: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await limiterStub(tenantId).check({ route: "chat", cost: 1, reserve: true });
    if (r.status !== "ok" || !r.reservation) throw new Error(`check answered ${r.status}`);
    ids.push(r.reservation.id);
  }
  return ids;
}

describe("the Durable Object's settle batch and its outbox", () => {
  it("appends a batch's events in the batch's order (more than 9, so order by text would show)", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 10_000, dailyUnits: 1_000_000 });
    const ids = await reserved(t.id, 12);
    const before = (await outboxEvents(t.id)).length;
    const units = ids.map((_, i) => 100 + i);
    const results = await limiterStub(t.id).settleMany(
      ids.map((reservationId, i) => ({ reservationId, units: units[i] as number })),
    );
    expect(results.map((r) => r.status)).toEqual(ids.map(() => "settled"));
    const events = (await outboxEvents(t.id)).slice(before);
    expect(events.map((e) => e.units)).toEqual(units);
  });

  it("writes every event of a batch whose metadata exceeds one statement's share, in order", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 10_000, dailyUnits: 1_000_000 });
    const ids = await reserved(t.id, 100);
    const before = (await outboxEvents(t.id)).length;
    // 16 entries of about 250 characters each, with quotes to escape: about 4 KB an event,
    // 400 KB in all, over the 256 K characters one insert takes.
    const metadata = Object.fromEntries(Array.from({ length: 16 }, (_, k) => [`k${k}`, `"${"x".repeat(240)}" ${k}`]));
    const items = ids.map((reservationId, i) => ({ reservationId, units: i, metadata }));
    const results = await limiterStub(t.id).settleMany(items);
    expect(results.every((r) => r.status === "settled")).toBe(true);
    const events = (await outboxEvents(t.id)).slice(before);
    expect(events.map((e) => e.units)).toEqual(items.map((i) => i.units));
    expect(events[99]?.metadata?.k15).toBe(metadata.k15);
  });
});
