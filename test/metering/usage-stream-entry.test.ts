// The Redis usage stream's entry format: the limiter script writes one field `e` of
// tab-separated parts (id, route, units, occurred at, metadata, settle metadata, dimensions),
// and the stream consumer reads it back into a queue message. Entries written before the
// dimensions (six parts) must still read, as events without them. A lease's report writes its
// calls as one entry of many events (fields r, L, t and C; before, r and E, which must still
// read).

import { describe, expect, it } from "vitest";
import type { UsageEvent } from "../../src/core/usage-event";
import { usageEventSchema } from "../../src/metering/messages";
import { dimensionsArg } from "../../src/redis/limiter-call";
import { packedCalls } from "../../src/redis/redis-leases";
import { eventBodyOf, eventCountOf } from "../../src/redis/usage-stream-entry";
import { leaseReportEntry } from "../support/lease-report-entry";

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

  it("reads a lease report's entry, cut into pieces under 8,000 characters, as one event per call", () => {
    const calls = Array.from({ length: 400 }, (_, i) => ({
      units: i + 1,
      occurredAt: AT + i,
      metadata: { job: `j${i}`, note: "x".repeat(40) },
      usage: i % 2 === 0 ? { model: "m-1", inputTokens: i, outputTokens: 1 } : {},
    }));
    const report = { leaseId: "ls_1", seq: 3, calls };
    const { units, packed } = packedCalls(report);
    expect(units).toBe((400 * 401) / 2);
    expect(packed.length).toBeGreaterThan(1);
    for (const piece of packed) expect(piece.length).toBeLessThan(8_000);
    // The script joins the pieces with newlines into one entry (fields r, L, t and C).
    expect(packed.join("\n").split("\n")[1]).toMatch(/^2\t1\t\{/);
    const body = eventBodyOf(TENANT, leaseReportEntry("chat", report)) as { events: unknown[] };
    const events = body.events.map(valid);
    expect(events).toHaveLength(400);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(400);
    expect(events[0]).toMatchObject({ eventId: "ev_ls_1.3.0", route: "chat", units: 1, occurredAt: AT, model: "m-1" });
    expect(events[0]?.metadata).toEqual({ job: "j0", note: "x".repeat(40) });
    expect(events[399]).toMatchObject({ units: 400, occurredAt: AT + 399, model: null, inputTokens: 0 });
  });

  it("reads a plain call's line, and a call settled before the report's first, at its own time", () => {
    const calls = [
      { units: 3, occurredAt: AT + 10 },
      { units: 1, occurredAt: AT, usage: {} },
    ];
    expect(packedCalls({ leaseId: "ls_2", seq: 1, calls }).packed).toEqual(["3\t0\t\t\n1\t-10\t\t"]);
    const body = eventBodyOf(TENANT, leaseReportEntry("embed", { leaseId: "ls_2", seq: 1, calls })) as {
      events: unknown[];
    };
    expect(body.events.map(valid)).toMatchObject([
      { eventId: "ev_ls_2.1.0", route: "embed", units: 3, occurredAt: AT + 10, requests: 1 },
      { eventId: "ev_ls_2.1.1", route: "embed", units: 1, occurredAt: AT, requests: 1 },
    ]);
  });

  it("refuses a report line with no time, rather than store it at another", () => {
    const entry = ["r", "chat", "L", "ls_3.1", "t", String(AT), "C", "1\t0\t\t\n1\t\t\t"];
    const [good, bad] = (eventBodyOf(TENANT, entry) as { events: unknown[] }).events;
    expect(valid(good)).toMatchObject({ eventId: "ev_ls_3.1.0", occurredAt: AT });
    expect(usageEventSchema.safeParse(bad).success).toBe(false);
  });

  it("reads a report entry written before compact lines (field E: an event id on every line)", () => {
    const lines = [
      `ev_ls_1.3.0\t2\t${AT}\t{"job":"a"}\t{"model":"m-1","inputTokens":4}`,
      `ev_ls_1.3.1\t1\t${AT + 5}\t\t`,
    ];
    const body = eventBodyOf(TENANT, ["r", "chat", "E", lines.join("\n")]) as { events: unknown[] };
    expect(eventCountOf(["r", "chat", "E", lines.join("\n")])).toBe(2);
    expect(body.events.map(valid)).toMatchObject([
      { eventId: "ev_ls_1.3.0", units: 2, occurredAt: AT, model: "m-1", inputTokens: 4, metadata: { job: "a" } },
      { eventId: "ev_ls_1.3.1", units: 1, occurredAt: AT + 5 },
    ]);
  });
});
