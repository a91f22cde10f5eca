// A lease report's stream entry as the Redis limiter script writes it (limiter-script-lease.ts:
// fields r, L, t and C), for tests that read such entries without running the script.

import type { LeaseReport } from "../../src/core/limiter-store";
import { packedCalls } from "../../src/redis/redis-leases";

export function leaseReportEntry(route: string, report: LeaseReport): string[] {
  const { base, packed } = packedCalls(report);
  return ["r", route, "L", `${report.leaseId}.${report.seq}`, "t", String(base), "C", packed.join("\n")];
}
