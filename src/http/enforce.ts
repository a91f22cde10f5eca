// One limiter check, as data: the outcome, the decision and the headers to send.

import type { Decision } from "../core/limiter";
import { type CheckRequest, type LimiterStore, LimiterUnavailableError } from "../core/limiter-store";
import { limitHeaders, quotaExceeded } from "./limit-response";
import type { Problem } from "./problem";

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

/** Runs one check against the store. A denial is an outcome, never an exception. */
export async function enforce(
  store: LimiterStore,
  tenantId: string,
  request: CheckRequest,
  legacyHeaders = false,
): Promise<Enforcement> {
  let result: Awaited<ReturnType<LimiterStore["check"]>>;
  try {
    result = await store.check(tenantId, request);
  } catch (err) {
    if (err instanceof LimiterUnavailableError) return { outcome: "unavailable", tenantId, error: err };
    throw err;
  }
  if (result.status !== "ok") return { outcome: result.status, tenantId };
  const { decision, reservation } = result;
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
