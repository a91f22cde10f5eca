// The limiter conformance suite's usage events: every backend puts the same dimensions on
// the events it emits (the design's v2 usage event). A settled reservation carries the
// breakdown its settle gave; a reservation recorded at its estimate is marked estimated,
// with no tokens; a plain admitted call and a report are one request each. Run by
// limiterConformance() for every backend; the harness reads a backend's events its own way.

import { describe, expect, it } from "vitest";
import type { CheckRequest, RecordRequest } from "../../../src/core/limiter-store";
import type { UsageDimensions, UsageMetadata } from "../../../src/core/usage-event";
import { type ConformanceHarness, limitsOf, T0 } from "./limiter-conformance";

const NO_TOKENS = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 };

export function usageEventConformance(backend: string, harness: () => ConformanceHarness): void {
  describe(`usage event conformance: ${backend}`, () => {
    async function tenant() {
      const h = harness();
      const t = await h.createTenant(limitsOf({ burst: 1_000, dailyUnits: 100_000 }));
      await h.setNow(t, T0);
      const check = (cost: number, extra: Partial<CheckRequest> = {}) =>
        h.store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", cost, ...extra });
      const reserve = async (cost: number, extra: Partial<CheckRequest> = {}) => {
        const r = await check(cost, { ...extra, reserve: true });
        if (r.status !== "ok" || !r.reservation) throw new Error(`expected a reservation, got ${r.status}`);
        return r.reservation.id;
      };
      const settle = (id: string, units: number, metadata?: UsageMetadata, usage?: UsageDimensions) =>
        h.store.settle(t.tenantId, id, units, metadata, usage);
      const record = (idempotencyKey: string, units: number, extra: Partial<RecordRequest> = {}) =>
        h.store.record(t.tenantId, {
          keyHash: t.keyHash,
          idempotencyKey,
          units,
          route: "batch",
          occurredAt: T0 - 60_000,
          ...extra,
        });
      /** The events, by their units: each test gives every event units of its own. */
      const byUnits = async (count: number) => {
        const events = await h.events(t, count);
        expect(events).toHaveLength(count);
        return new Map(events.map((e) => [e.units, e]));
      };
      const usedToday = async () => {
        const r = await h.store.limits(t.tenantId, { keyHash: t.keyHash, routes: [] });
        if (r.status !== "ok") throw new Error(`limits: ${r.status}`);
        return r.limits.daily.used;
      };
      return { h, t, check, reserve, settle, record, byUnits, usedToday };
    }

    it("settles with the breakdown given: model, tokens, one request; a reported estimate says so", async () => {
      const { reserve, settle, byUnits } = await tenant();
      const usage = { model: "gpt-4o", inputTokens: 5, outputTokens: 2, cachedInputTokens: 3 };
      expect(await settle(await reserve(10), 7, { finish: "stop" }, usage)).toEqual({ status: "settled", units: 7 });
      // No model given: the one the metadata names (where the sniffer puts it); the metadata stays.
      await settle(await reserve(10), 8, { model: "claude-x" }, { inputTokens: 6, outputTokens: 2 });
      await settle(await reserve(9), 9, undefined, { estimated: true });
      // A caller from before the dimensions: one request of no known model, no tokens.
      await settle(await reserve(10), 4);

      const events = await byUnits(4);
      expect(events.get(7)).toMatchObject({ route: "chat", occurredAt: T0, ...usage, requests: 1 });
      expect(events.get(7)?.metadata).toEqual({ finish: "stop" });
      expect(events.get(8)).toMatchObject({ model: "claude-x", requests: 1, inputTokens: 6, outputTokens: 2 });
      expect(events.get(8)).toMatchObject({ cachedInputTokens: 0, metadata: { model: "claude-x" } });
      expect(events.get(9)).toMatchObject({ model: null, requests: 1, ...NO_TOKENS, estimated: true });
      expect(events.get(4)).toMatchObject({ model: null, requests: 1, ...NO_TOKENS });
      for (const units of [7, 8, 4]) expect(events.get(units)?.estimated).toBeUndefined();
    });

    it("makes a plain admitted call and a report one request each, with the model and tokens they name", async () => {
      const { check, record, byUnits } = await tenant();
      await check(3, { model: "m-plain" });
      await check(2, { metadata: { model: "m-meta" } });
      // A peek and a refusal are no usage.
      await check(0, { model: "m-peek" });
      expect(await check(5_000)).toMatchObject({ status: "ok", decision: { allowed: false } });
      const tokens = { inputTokens: 20, outputTokens: 10, cachedInputTokens: 4 };
      expect(await record("job-1", 30, { model: "m-job", ...tokens })).toMatchObject({ status: "recorded" });
      expect(await record("job-2", 11)).toMatchObject({ status: "recorded" });

      const events = await byUnits(4);
      expect(events.get(3)).toMatchObject({ route: "chat", model: "m-plain", requests: 1, ...NO_TOKENS });
      expect(events.get(2)).toMatchObject({
        model: "m-meta",
        requests: 1,
        ...NO_TOKENS,
        metadata: { model: "m-meta" },
      });
      expect(events.get(30)).toMatchObject({ route: "batch", model: "m-job", requests: 1, ...tokens });
      expect(events.get(11)).toMatchObject({ route: "batch", model: null, requests: 1, ...NO_TOKENS });
      for (const e of events.values()) expect(e.estimated).toBeUndefined();
    });

    it("records a reservation not settled in time at its estimate: estimated, no tokens, the check's model", async () => {
      const { h, t, reserve, settle, byUnits } = await tenant();
      const late = await reserve(12, { model: "m-check" });
      await reserve(5, { metadata: { model: "m-meta" } });
      await reserve(6);
      await h.setNow(t, T0 + h.reservationTtlMs + 1);
      // Settled too late: what is billed is the estimate, so the settle's breakdown is not kept.
      const usage = { model: "m-settle", inputTokens: 1, outputTokens: 1 };
      expect(await settle(late, 2, undefined, usage)).toEqual({ status: "expired" });
      // The other two expire unsettled.
      await h.sweep(t);

      const events = await byUnits(3);
      expect(events.get(12)).toMatchObject({ model: "m-check", requests: 1, ...NO_TOKENS, estimated: true });
      expect(events.get(5)).toMatchObject({ model: "m-meta", requests: 1, ...NO_TOKENS, estimated: true });
      expect(events.get(6)).toMatchObject({ model: null, requests: 1, ...NO_TOKENS, estimated: true });
      for (const e of events.values()) expect(e.occurredAt).toBe(T0);
    });

    it("refuses tokens out of range, more cached than input, or an unstorable model, before anything moves", async () => {
      const { check, reserve, settle, record, byUnits, usedToday } = await tenant();
      const id = await reserve(10);
      const bad: [UsageDimensions, RegExp][] = [
        [{ inputTokens: 2, cachedInputTokens: 3 }, /cachedInputTokens/],
        [{ outputTokens: -1 }, /outputTokens/],
        [{ inputTokens: 1.5 }, /inputTokens/],
        [{ outputTokens: 1_000_000_001 }, /outputTokens/],
        [{ model: "" }, /model/],
      ];
      for (const [usage, message] of bad) await expect(settle(id, 4, undefined, usage)).rejects.toThrow(message);
      await expect(record("job-1", 5, { inputTokens: 1, cachedInputTokens: 2 })).rejects.toThrow(/cachedInputTokens/);
      await expect(check(1, { model: "m".repeat(129) })).rejects.toThrow(/model/);
      expect(await usedToday()).toBe(10);

      // Nothing moved: the reservation is there to settle, the report's key is unused.
      expect(await settle(id, 4, undefined, { inputTokens: 3, outputTokens: 1 })).toEqual({
        status: "settled",
        units: 4,
      });
      expect(await record("job-1", 5)).toMatchObject({ status: "recorded" });
      expect(await usedToday()).toBe(9);
      const events = await byUnits(2);
      expect(events.get(4)).toMatchObject({ requests: 1, inputTokens: 3, outputTokens: 1, cachedInputTokens: 0 });
      expect(events.get(5)).toMatchObject({ requests: 1, ...NO_TOKENS });
    });
  });
}
