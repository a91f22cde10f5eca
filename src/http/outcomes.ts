// The one mapping from a limiter's answer to the problem a caller gets: 401 for a key the
// limiter does not know, 403 for a suspended tenant, 429 for a refusal, 503 for a limiter
// that could not be reached. Only the limiter's own outage error becomes a 503; anything
// else is a bug and stays a 500.

import { LimiterUnavailableError } from "../core/limiter-store";
import { invalidKey, suspended } from "./api-key";
import { limiterUnavailable } from "./limit-response";
import type { Problem } from "./problem";

export type Refusal =
  | { outcome: "limited"; problem: Problem }
  | { outcome: "unauthenticated" | "suspended" }
  | { outcome: "unavailable" };

/** The problem for an outcome other than an admission. */
export function refusalProblem(refusal: Refusal): Problem {
  switch (refusal.outcome) {
    case "limited":
      return refusal.problem;
    case "unauthenticated":
      return invalidKey();
    case "suspended":
      return suspended();
    case "unavailable":
      return limiterUnavailable();
  }
}

/** Throws the 401 or 403 when the limiter did not vouch for the tenant. */
export function assertVouched(status: string): void {
  if (status === "unauthenticated" || status === "suspended") throw refusalProblem({ outcome: status });
}

/** A limiter call whose outage, and only that, becomes the 503 limiter-unavailable problem. */
export async function askLimiter<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof LimiterUnavailableError) throw limiterUnavailable();
    throw err;
  }
}
