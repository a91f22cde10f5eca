// A scrape never fails because Redis or Postgres does: the gauge read from a source that is
// down keeps its last value, and aegis_metrics_source_up says which source it was.

import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { PipelineMetrics } from "../../src/server/pipeline-metrics";

describe("pipeline metrics' sources", () => {
  it("answers the scrape with the source marked down, and the last value kept", async () => {
    const registry = new Registry();
    let redisUp = true;
    new PipelineMetrics(registry, {
      deadLetters: async () => {
        if (!redisUp) throw new Error("connection refused");
        return 4;
      },
      // Never answers: the 2 s bound ends the wait.
      deliveries: () => new Promise<Record<string, number>>(() => {}),
    });
    const first = await registry.metrics();
    expect(first).toContain("aegis_usage_dead_letters 4");
    expect(first).toContain('aegis_metrics_source_up{source="redis"} 1');
    expect(first).toContain('aegis_metrics_source_up{source="postgres"} 0');
    redisUp = false;
    const second = await registry.metrics();
    expect(second).toContain("aegis_usage_dead_letters 4");
    expect(second).toContain('aegis_metrics_source_up{source="redis"} 0');
  }, 10_000);
});
