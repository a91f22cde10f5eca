// The Redis usage stream's entry format: the limiter script writes one field `e` of
// tab-separated parts (id, route, units, occurred at, metadata, settle metadata, dimensions),
// and the stream consumer reads it back into a queue message. Entries written before the
// dimensions (six parts) must still read, as events without them.

import { describe, expect, it } from "vitest";
import type { UsageEvent } from "../../src/core/usage-event";
import { usageEventSchema } from "../../src/metering/messages";
import { dimensionsArg } from "../../src/redis/limiter-call";
import { eventBodyOf } from "../../src/redis/usage-stream-entry";

const TENANT = "tnaaaaaaaaaaaaaaaf";
const AT = Date.UTC(2026, 5, 15, 10);

/** The event an entry with these parts stands for. */
function eventOf(...parts: string[]): unknown {
  const body = eventBodyOf(TENANT, ["e", parts.join("\t")]) as { v: 1; events: unknown[] };
  expect(body.v).toBe(1);
  expect(body.events).toHaveLength(1);
  return body.events[0];
}

const valid = (event: unknown): UsageEvent => usageEventSchema.parse(event);
const base = ["ev_1", "chat", "12", String(AT)];

describe("usage stream entry", () => {
  it("reads an entry from before the dimensions (six parts) as an event without them", () => {
    const event = valid(eventOf(...base, '{"model":"m1"}', '{"finish":"stop"}'));
    expect(event).toEqual({
      eventId: "ev_1",
      tenantId: TENANT,
      route: "chat",
      units: 12,
      occurredAt: AT,
      metadata: { model: "m1", finish: "stop" },
    });
  });

  it("reads the dimensions part: the tokens and model given, one request, estimated only when said", () => {
    const dims = '{"model":"gpt-4o","inputTokens":9,"outputTokens":3,"cachedInputTokens":4}';
    expect(valid(eventOf(...base, "", "", dims))).toEqual({
      eventId: "ev_1",
      tenantId: TENANT,
      route: "chat",
      units: 12,
      occurredAt: AT,
      model: "gpt-4o",
      requests: 1,
      inputTokens: 9,
      outputTokens: 3,
      cachedInputTokens: 4,
    });
    expect(valid(eventOf(...base, "", "", '{"estimated":true}'))).toMatchObject({
      model: null,
      requests: 1,
      inputTokens: 0,
      estimated: true,
    });
  });

  it("takes the model of either metadata part when the dimensions name none", () => {
    expect(valid(eventOf(...base, '{"model":"held"}', "", ""))).toMatchObject({ model: "held", requests: 1 });
    expect(valid(eventOf(...base, '{"model":"held"}', '{"model":"settled"}', "{}"))).toMatchObject({
      model: "settled",
      metadata: { model: "settled" },
    });
    expect(valid(eventOf(...base, '{"model":"meta"}', "", '{"model":"given"}'))).toMatchObject({ model: "given" });
  });

  it("lets the schema refuse dimensions that are unreadable or cannot be right, so the entry is dead-lettered", () => {
    for (const dims of ["{oops", "[1]", '{"inputTokens":2,"cachedInputTokens":3}', '{"outputTokens":-1}']) {
      expect(usageEventSchema.safeParse(eventOf(...base, "", "", dims)).success).toBe(false);
    }
  });

  it("writes what it reads: the script's dimensions argument is compact JSON of what was given", () => {
    expect(dimensionsArg({})).toBe("");
    expect(dimensionsArg({ model: null, inputTokens: 0, estimated: false })).toBe("");
    const usage = { model: "m", inputTokens: 5, outputTokens: 1, cachedInputTokens: 2, estimated: true };
    const arg = dimensionsArg(usage);
    expect(arg).toBe('{"model":"m","inputTokens":5,"outputTokens":1,"cachedInputTokens":2,"estimated":true}');
    expect(valid(eventOf(...base, "", "", arg))).toMatchObject({ ...usage, requests: 1 });
  });
});
