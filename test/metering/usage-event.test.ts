import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { idempotentEventId, newEventId, packEvents, type UsageEvent } from "../../src/core/usage-event";

const eventArb: fc.Arbitrary<UsageEvent> = fc.record({
  eventId: fc.constant("").map(() => newEventId()),
  tenantId: fc.constant("tnaaaaaaaaaaaaaaaa"),
  route: fc.constantFrom("default", "chat"),
  units: fc.nat(1_000_000),
  occurredAt: fc.integer({ min: 1.7e12, max: 1.8e12 }),
  metadata: fc.option(fc.record({ model: fc.string({ maxLength: 100 }) }), { nil: undefined }),
});

describe("usage events", () => {
  it("packs events into messages under the size limit, in order, losing none", () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 300 }), fc.integer({ min: 400, max: 20_000 }), (events, maxBytes) => {
        const messages = packEvents(events, maxBytes);
        expect(messages.flatMap((m) => m.events)).toEqual(events);
        for (const m of messages) {
          expect(m.v).toBe(1);
          expect(m.events.length).toBeGreaterThan(0);
          const size = new TextEncoder().encode(JSON.stringify(m)).length;
          if (m.events.length > 1) expect(size).toBeLessThanOrEqual(maxBytes);
        }
      }),
    );
  });

  it("derives one event id per tenant and idempotency key", async () => {
    const a = await idempotentEventId("tnaaaaaaaaaaaaaaaa", "job-1");
    expect(a).toMatch(/^ik_[0-9a-f]{48}$/);
    expect(await idempotentEventId("tnaaaaaaaaaaaaaaaa", "job-1")).toBe(a);
    expect(await idempotentEventId("tnbbbbbbbbbbbbbbbb", "job-1")).not.toBe(a);
    expect(await idempotentEventId("tnaaaaaaaaaaaaaaaa", "job-2")).not.toBe(a);
  });
});
