// Reported usage with its dimensions (recordReportedUsage, behind POST /account/v1/usage and
// recordUsage()): units default to input + output tokens, the tokens and the model reach the
// event, and a report whose tokens cannot be right is a 400 before the limiter is asked.

import { describe, expect, it } from "vitest";
import { memoryStore } from "../../src/core/memory-store";
import { type RecordOutcome, recordReportedUsage, type UsageInput } from "../../src/http/record-usage";

/** 2026-06-15 10:00 UTC. */
const T0 = Date.UTC(2026, 5, 15, 10, 0, 0);
const TENANT = "tnaaaaaaaaaaaaaaae";
const KEY = "b".repeat(64);

async function setup() {
  const store = memoryStore({ now: () => T0 });
  await store.apply({
    tenantId: TENANT,
    version: 1,
    status: "active",
    limits: { ratePerMinute: 0, burst: 10, dailyUnits: 10_000, timeZone: "UTC", shadow: false, routes: {} },
    keyHashes: [KEY],
  });
  const report = (input: Omit<UsageInput, "idempotencyKey">, idempotencyKey = "job-1"): Promise<RecordOutcome> =>
    recordReportedUsage(store, TENANT, { idempotencyKey, ...input }, { keyHash: KEY, now: T0 });
  return { store, report };
}

describe("recordReportedUsage with tokens", () => {
  it("counts input + output tokens as the units when no units are given, and records the breakdown", async () => {
    const { store, report } = await setup();
    const tokens = { inputTokens: 1_200, outputTokens: 300, cachedInputTokens: 1_000 };
    expect(await report({ model: "gpt-4o", ...tokens })).toMatchObject({ outcome: "recorded" });
    expect(store.drainUsage()).toEqual([
      expect.objectContaining({ units: 1_500, model: "gpt-4o", requests: 1, ...tokens, route: "default" }),
    ]);
  });

  it("keeps units that are given, takes the model from metadata when none is named, and needs no tokens", async () => {
    const { store, report } = await setup();
    await report({ units: 7, inputTokens: 100, outputTokens: 50, metadata: { model: "m-meta" } }, "job-1");
    await report({ units: 3 }, "job-2");
    await report({ outputTokens: 9 }, "job-3");
    const [given, bare, outputOnly] = store.drainUsage();
    expect(given).toMatchObject({
      units: 7,
      model: "m-meta",
      inputTokens: 100,
      outputTokens: 50,
      cachedInputTokens: 0,
    });
    expect(given?.metadata).toEqual({ model: "m-meta" });
    expect(bare).toMatchObject({ units: 3, model: null, requests: 1, inputTokens: 0, outputTokens: 0 });
    expect(outputOnly).toMatchObject({ units: 9, inputTokens: 0, outputTokens: 9 });
    for (const e of [given, bare, outputOnly]) expect(e?.estimated).toBeUndefined();
  });

  it("answers 400 invalid-usage, recording nothing, to tokens that cannot be right", async () => {
    const { store, report } = await setup();
    const bad: [Omit<UsageInput, "idempotencyKey">, RegExp][] = [
      [{ inputTokens: 5, cachedInputTokens: 6 }, /cachedInputTokens cannot exceed inputTokens/],
      [{ units: 4, cachedInputTokens: 1 }, /cachedInputTokens cannot exceed inputTokens/],
      [{ inputTokens: -1 }, /inputTokens must be a whole number/],
      [{ outputTokens: 2.5 }, /outputTokens must be a whole number/],
      [{ inputTokens: 1_000_000_001 }, /inputTokens must be a whole number/],
      [{ inputTokens: 600_000_000, outputTokens: 600_000_000 }, /units \(inputTokens \+ outputTokens\)/],
      [{ inputTokens: 0, outputTokens: 0 }, /units \(inputTokens \+ outputTokens\) must be .* from 1/],
      [{}, /units is required unless inputTokens or outputTokens is/],
      [{ cachedInputTokens: 0 }, /units is required/],
      [{ units: 1, model: "" }, /model must be 1 to 128 characters/],
      [{ units: 1, model: "m".repeat(129) }, /model must be 1 to 128 characters/],
    ];
    for (const [input, detail] of bad) {
      await expect(report(input)).rejects.toMatchObject({ status: 400, code: "invalid-usage", detail });
    }
    expect(store.drainUsage()).toEqual([]);
    // The idempotency key was never used.
    expect(await report({ units: 1 })).toMatchObject({ outcome: "recorded" });
  });
});
