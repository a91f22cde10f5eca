// A scrape never fails because Redis or Postgres does: the gauge read from a source that is
// down keeps its last value, and aegis_metrics_source_up says which source it was.

import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { PipelineMetrics } from "../../src/server/pipeline-metrics";

describe("pipeline metrics' sources", () => {
  it("answers the scrape with the source marked down, and the last value kept", async () => {
    const registry = new Registry();
    let redisUp = true;
    let deadLetters = 4;
    let deliveryReads = 0;
    new PipelineMetrics(registry, {
      pending: async () => {
        if (!redisUp) throw new Error("connection refused");
        return 7;
      },
      deadLetters: async () => deadLetters,
      // Never answers: the 2 s bound ends the wait.
      deliveries: () => {
        deliveryReads++;
        return new Promise<Record<string, number>>(() => {});
      },
    });
    const first = await registry.metrics();
    expect(first).toContain("aegis_usage_dead_letters 4");
    expect(first).toContain("aegis_usage_pending 7");
    expect(first).toContain('aegis_metrics_source_up{source="redis"} 1');
    expect(first).toContain('aegis_metrics_source_up{source="postgres"} 0');
    redisUp = false;
    deadLetters = 5;
    const second = await registry.metrics();
    // The pending count failed and keeps its value; the dead letters, read apart, moved.
    expect(second).toContain("aegis_usage_dead_letters 5");
    expect(second).toContain("aegis_usage_pending 7");
    expect(second).toContain('aegis_metrics_source_up{source="redis"} 0');
    // The hung Postgres read was joined by the second scrape, not started again.
    expect(deliveryReads).toBe(1);
  }, 10_000);
});

describe("the consumer's lag", () => {
  it("is the age of the oldest event the last poll read, and 0 once nothing waits", async () => {
    const registry = new Registry();
    const pipeline = new PipelineMetrics(registry, {
      pending: async () => 0,
      deadLetters: async () => 0,
      deliveries: async () => ({}),
    });
    const poll = { read: 3, batches: 1, stored: 3, duplicates: 0, deadLettered: 0, retried: 0 };
    pipeline.poll({ ...poll, oldestMs: 1_000_000 }, 1_042_500);
    expect(await registry.metrics()).toContain("aegis_usage_consumer_lag_seconds 42.5");
    pipeline.poll({ ...poll, read: 0, batches: 0, stored: 0, oldestMs: null }, 1_050_000);
    expect(await registry.metrics()).toContain("aegis_usage_consumer_lag_seconds 0");
  });
});
