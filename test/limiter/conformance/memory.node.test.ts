// The conformance suite against the in-memory store, in Node: every tenant in one store.

import { limiterConformance } from "./limiter-conformance";
import { type MemoryHarness, memoryHarness } from "./memory-harness";

let harness: MemoryHarness | undefined;

limiterConformance(
  "memory (Node)",
  () => {
    harness ??= memoryHarness();
    return harness;
  },
  { settleMany: true, leases: true },
);
