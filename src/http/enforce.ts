// One limiter check, as data: the outcome, the decision and the headers to send.

import { isRouteKey, routeKeySchema } from "../config";
import type { Decision } from "../core/limiter";
import { type CheckRequest, type LimiterStore, LimiterUnavailableError, TenantLoadError } from "../core/limiter-store";
import { MAX_CALL_UNITS } from "../core/limits";
import { limitHeaders, quotaExceeded } from "./limit-response";
import { Problem } from "./problem";

export type Enforcement =
  | {
      outcome: "allowed";
      tenantId: string;
      decision: Decision;
      headers: Record<string, string>;
      reservation?: { id: string; expiresAt: number };
    }
  | { outcome: "limited"; tenantId: string; decision: Decision; problem: Problem }
  | { outcome: "unauthenticated" | "suspended"; tenantId: string }
  | { outcome: "unavailable"; tenantId: string; error: LimiterUnavailableError };

function assertValid(request: CheckRequest): void {
  // The schema only for a key that fails, to say why: parsing each call's route cost the
  // limited call about 2% of the isolate's CPU (bench:profile).
  const route = isRouteKey(request.route) ? null : routeKeySchema.safeParse(request.route);
  if (route && !route.success) {
    throw new Problem(
      400,
      "invalid-route",
      `invalid route key ${JSON.stringify(request.route)}: ${route.error.issues[0]?.message}`,
    );
  }
  for (const [name, value] of [
    ["cost", request.cost],
    ["defaultCost", request.defaultCost],
  ] as const) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0 && value <= MAX_CALL_UNITS)) {
      throw new Problem(
        400,
        "invalid-cost",
        `${name} must be a whole number of units from 0 to ${MAX_CALL_UNITS}, got ${value}`,
      );
    }
  }
}

/**
 * Runs one check against the store. A denial is an outcome, never an exception; a
 * malformed route or cost (a bug in the caller) throws a 400 Problem before the store is
 * asked, so it can never pass for an unavailable limiter. `background` takes the work a
 * detached lease holder started, to let it finish after the response.
 */
export async function enforce(
  store: LimiterStore,
  tenantId: string,
  request: CheckRequest,
  legacyHeaders = false,
  background?: (work: Promise<void>) => void,
): Promise<Enforcement> {
  assertValid(request);
  let result: Awaited<ReturnType<LimiterStore["check"]>>;
  try {
    result = await store.check(tenantId, request);
  } catch (err) {
    if (err instanceof LimiterUnavailableError) return { outcome: "unavailable", tenantId, error: err };
    throw err;
  }
  if (result.status === "late") {
    return {
      outcome: "unavailable",
      tenantId,
      error: new LimiterUnavailableError("the limiter answered after the deadline"),
    };
  }
  if (result.status === "cold") {
    const error = new TenantLoadError("the limiter has not loaded the tenant (a check that must not load it)");
    return { outcome: "unavailable", tenantId, error };
  }
  if (result.status !== "ok") return { outcome: result.status, tenantId };
  const { decision, reservation } = result;
  if (result.background) background?.(result.background);
  if (!decision.allowed)
    return { outcome: "limited", tenantId, decision, problem: quotaExceeded(decision, legacyHeaders) };
  return {
    outcome: "allowed",
    tenantId,
    decision,
    headers: limitHeaders(decision.policies, legacyHeaders),
    reservation,
  };
}
