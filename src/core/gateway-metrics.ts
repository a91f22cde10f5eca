// What the gateway tells its metrics, as a narrow port: the self-hosted server counts it with
// prom-client (src/server/metrics.ts); a runtime without one passes NO_METRICS.
//
// Labels are bounded: routes and policies come from the configured route table, outcomes and
// dimensions are fixed, and models, which upstreams name, are capped by the implementation.

/** How a call ended at the limiter: one outcome per call that reached it. `rejected` is a bad request (a body that can't be estimated). */
export const CALL_OUTCOMES = [
  "admitted",
  "limited",
  "unauthorized",
  "suspended",
  "limiter_unavailable",
  "rejected",
] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

export type TokenDimension = "input" | "output" | "cached_input";

export interface GatewayMetrics {
  /** One per call at the limiter. */
  call(route: string, outcome: CallOutcome, policy?: string): void;
  /** A forwarded call whose upstream could not be reached (`unreachable`) or answered 5xx (`5xx`). */
  upstreamError(route: string, kind: "unreachable" | "5xx"): void;
  /** How long the limiter took to decide, refusals included. */
  limiterDecision(seconds: number): void;
  /** How long the upstream took to answer with its headers (or to fail). */
  upstream(route: string, seconds: number): void;
  /** Tokens a call used, as metered. */
  tokens(route: string, model: string | null, dimension: TokenDimension, count: number): void;
}

export const NO_METRICS: GatewayMetrics = {
  call() {},
  upstreamError() {},
  limiterDecision() {},
  upstream() {},
  tokens() {},
};
