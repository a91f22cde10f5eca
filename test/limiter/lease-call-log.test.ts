// The calls a lease admitted, kept as columns (lease-call-log.ts): whatever the adds and takes,
// the reports carry every call once, in order, each with its own units, time, metadata and
// breakdown, as a list of call objects would.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LeasedCallLog, NO_USAGE } from "../../src/core/lease-call-log";
import type { LeasedCall } from "../../src/core/limiter-store";

const callArb = fc.record({
  units: fc.nat(1_000),
  occurredAt: fc.integer({ min: 1_700_000_000_000, max: 1_900_000_000_000 }),
  metadata: fc.option(fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), fc.nat()), { nil: undefined }),
  usage: fc.option(fc.record({ model: fc.string({ maxLength: 8 }), inputTokens: fc.nat() }), { nil: undefined }),
});

describe("leased call log", () => {
  it("hands out every call once, in order, with its own parts", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            callArb,
            fc.nat(5).map((max) => ({ take: max })),
          ),
          { maxLength: 60 },
        ),
        (steps) => {
          const log = new LeasedCallLog();
          const expected: LeasedCall[] = [];
          const reported: LeasedCall[] = [];
          for (const step of steps) {
            if ("take" in step) {
              const taken = log.take(step.take);
              expect(taken.length).toBe(Math.min(step.take, taken.length + log.length));
              reported.push(...taken);
            } else {
              log.add(step.units, step.occurredAt, step.metadata, step.usage);
              expected.push({
                units: step.units,
                occurredAt: step.occurredAt,
                metadata: step.metadata,
                usage: step.usage ?? NO_USAGE,
              });
            }
          }
          reported.push(...log.take(Number.MAX_SAFE_INTEGER));
          expect(log.length).toBe(0);
          expect(reported).toEqual(expected);
        },
      ),
    );
  });

  it("takes at most the number asked for, oldest first", () => {
    const log = new LeasedCallLog();
    for (let i = 0; i < 5; i++) log.add(i + 1, 1_800_000_000_000 + i);
    expect(log.take(2).map((c) => c.units)).toEqual([1, 2]);
    expect(log.length).toBe(3);
    expect(log.take(10).map((c) => [c.units, c.occurredAt, c.usage])).toEqual([
      [3, 1_800_000_000_002, NO_USAGE],
      [4, 1_800_000_000_003, NO_USAGE],
      [5, 1_800_000_000_004, NO_USAGE],
    ]);
    expect(log.take(10)).toEqual([]);
  });
});
