// The gateway's problem types, said once: the URN base and every code, which the HTTP layer
// sends, docs/problems.md describes (a unit test holds the two together) and the SDK types
// its errors with.

/** Problem types are URNs ending in the code, e.g. `urn:aegis-edge:problem:quota-exceeded`. */
export const PROBLEM_TYPE_BASE = "urn:aegis-edge:problem:";

export const PROBLEM_CODES = [
  "invalid-request",
  "invalid-path",
  "invalid-form",
  "invalid-route",
  "invalid-cursor",
  "invalid-cost",
  "invalid-usage",
  "invalid-range",
  "invalid-period",
  "invalid-override",
  "unauthorized",
  "tenant-suspended",
  "forbidden-origin",
  "csrf-failed",
  "tenant-not-found",
  "key-not-found",
  "invoice-not-found",
  "delivery-not-found",
  "invoice-conflict",
  "period-not-closed",
  "currency-mismatch",
  "price-history-fixed",
  "not-found",
  "body-too-large",
  "unsupported-media-type",
  "quota-exceeded",
  "internal",
  "misconfigured",
  "no-upstream",
  "upstream-unavailable",
  "upstream-encoding",
  "edge-sync-pending",
  "limiter-unavailable",
  "admin-disabled",
  "metrics-disabled",
  "metrics-unavailable",
  "not-ready",
  "database-not-configured",
  "database-unavailable",
] as const;

export type ProblemCode = (typeof PROBLEM_CODES)[number];
