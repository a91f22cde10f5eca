// Reading a limiter's CheckResult in the conformance suites: a decision or a reservation
// that must be there, and a policy of a decision by name.

import type { Decision } from "../../../src/core/limiter";
import type { CheckResult } from "../../../src/core/limiter-store";

export function decisionOf(r: CheckResult): Decision {
  if (r.status !== "ok") throw new Error(`expected a decision, got ${r.status}`);
  return r.decision;
}

export function reservationOf(r: CheckResult): string {
  if (r.status !== "ok" || !r.reservation) throw new Error(`expected a reservation, got ${JSON.stringify(r)}`);
  return r.reservation.id;
}

export const policy = (d: Decision, name: string) => d.policies.find((p) => p.name === name);
