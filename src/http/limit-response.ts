// Turns a limiter decision into response headers and, for a rejection, a 429 problem.

import { type Decision, NEVER_RETRY_SECONDS, type PolicyReport } from "../core/limiter";
import { legacyRateLimitFields, openAiRateLimitFields, rateLimitFields } from "../core/ratelimit-headers";
import { Problem } from "./problem";

/** The RateLimit fields for some policies, plus the legacy trio when asked for. */
export function limitHeaders(policies: PolicyReport[], legacy: boolean): Record<string, string> {
  const fields: Record<string, string> = { ...rateLimitFields(policies), ...openAiRateLimitFields(policies) };
  return legacy ? { ...fields, ...legacyRateLimitFields(policies) } : fields;
}

function describePolicy(p: PolicyReport): string {
  if (p.kind === "concurrency") return `${p.quota} calls in flight at once, all taken`;
  const what = p.kind === "requests" ? "calls" : "units";
  return `${p.quota} ${what} per ${p.windowSeconds} s, ${p.remaining} left`;
}

/** The 429 for a rejected decision: problem+json naming the violated policies, with Retry-After. */
export function quotaExceeded(decision: Decision, legacy: boolean): Problem {
  const never = decision.retryAfterSeconds === null;
  const retryAfter = Math.max(1, decision.retryAfterSeconds ?? NEVER_RETRY_SECONDS);
  const described = decision.violated.map((name) => {
    const p = decision.policies.find((x) => x.name === name);
    return p ? `"${name}" (${describePolicy(p)})` : `"${name}"`;
  });
  const detail = never
    ? `a cost of ${decision.cost} exceeds what ${described.join(" and ")} can ever admit; the quota must be raised`
    : `${described.join(" and ")} cannot admit a cost of ${decision.cost}; retry in ${retryAfter} s${
        decision.policies.some((p) => p.kind === "concurrency" && decision.violated.includes(p.name))
          ? " (a slot frees when a call in flight ends: a hint, not a promise)"
          : ""
      }`;
  return new Problem(
    429,
    "quota-exceeded",
    detail,
    { "violated-policies": decision.violated, retryAfter, route: decision.route, cost: decision.cost },
    { ...limitHeaders(decision.policies, legacy), "Retry-After": String(retryAfter) },
  );
}

/** The 503 for a limiter that could not be reached (LIMITER_FAILURE_MODE=closed). */
export function limiterUnavailable(): Problem {
  return new Problem(
    503,
    "limiter-unavailable",
    "the rate limiter could not be reached; retry shortly",
    {},
    { "Retry-After": "1" },
  );
}
