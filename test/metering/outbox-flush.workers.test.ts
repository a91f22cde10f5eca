// The limiter's outbox against a queue that fails: rows go only once a send succeeds.
// A failing stand-in is the only way to make a send fail here; the last step uses the
// real queue binding.

import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newEventId, type UsageMessage } from "../../src/core/usage-event";
import { LimiterStorage } from "../../src/durable/limiter-storage";
import { flushOutbox } from "../../src/durable/outbox-flusher";
import type { TenantLimiter } from "../../src/tenant-limiter";
import { env, limiterStub } from "../support/workers/helpers";

function queueThatFailsAfter(successes: number, sent: UsageMessage[][]): Pick<Queue<UsageMessage>, "sendBatch"> {
  let calls = 0;
  return {
    sendBatch: async (messages) => {
      if (calls++ >= successes) throw new Error("Queue send failed: 503");
      sent.push([...messages].map((m) => m.body));
      return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } };
    },
  };
}

describe("outbox flush", () => {
  it("deletes exactly the events a successful send carried, keeps the rest, and sends them later", async () => {
    const stub = limiterStub("tnoutboxtestaaaaaa");
    await runInDurableObject(stub, async (_: TenantLimiter, state) => {
      const storage = new LimiterStorage(state.storage.sql);
      // Big metadata makes several messages, and several sendBatch calls.
      for (let i = 0; i < 3_000; i++) {
        storage.appendEvent({
          eventId: newEventId(),
          tenantId: "tnoutboxtestaaaaaa",
          route: "default",
          units: i,
          occurredAt: 1_795_000_000_000 + i,
          metadata: { note: "x".repeat(200) },
        });
      }
      await expect(flushOutbox(storage, queueThatFailsAfter(0, []))).rejects.toThrow("503");
      expect(storage.outboxSize()).toBe(3_000);

      const sent: UsageMessage[][] = [];
      await expect(flushOutbox(storage, queueThatFailsAfter(1, sent))).rejects.toThrow("503");
      const carried = sent.flat().flatMap((m) => m.events);
      expect(carried.length).toBeGreaterThan(0);
      expect(storage.outboxSize()).toBe(3_000 - carried.length);
      // The oldest went first, and they are gone; the next flush starts after them.
      expect(carried.map((e) => e.units)).toEqual(Array.from({ length: carried.length }, (_, i) => i));
      const next = storage.readOutbox(1)[0];
      expect(next && "event" in next ? next.event.units : null).toBe(carried.length);

      const result = await flushOutbox(storage, env.USAGE_QUEUE);
      expect(result).toEqual({ sent: 3_000 - carried.length, remaining: 0 });
    });
  });

  // 5,000 written here, not read from FLUSH_MAX_EVENTS: a cap changed by mistake must fail.
  it("sends at most 5,000 events per flush and reports the rest", async () => {
    const stub = limiterStub("tnoutboxtestbbbbbb");
    await runInDurableObject(stub, async (_: TenantLimiter, state) => {
      const storage = new LimiterStorage(state.storage.sql);
      for (let i = 0; i < 5_010; i++) {
        storage.appendEvent({
          eventId: newEventId(),
          tenantId: "tnoutboxtestbbbbbb",
          route: "default",
          units: 1,
          occurredAt: 1_795_000_000_000,
        });
      }
      const sent: UsageMessage[][] = [];
      expect(await flushOutbox(storage, queueThatFailsAfter(1_000, sent))).toEqual({
        sent: 5_000,
        remaining: 10,
      });
      for (const batch of sent) {
        expect(batch.length).toBeLessThanOrEqual(100);
        expect(new TextEncoder().encode(JSON.stringify(batch)).length).toBeLessThanOrEqual(256_000);
      }
    });
  });
});
