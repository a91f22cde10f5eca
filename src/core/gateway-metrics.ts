// What the gateway tells its metrics, as a narrow port: the self-hosted server counts it with
// prom-client (src/server/metrics.ts); a runtime without one passes NO_METRICS.
//
// Labels are bounded: routes and policies come from the configured route table, outcomes and
// dimensions are fixed, and models, which upstreams name, are capped by the implementation.

/** How a call ended at the limiter; `upstream_error` is an admitted call whose upstream failed. */
export type CallOutcome =
  | "admitted"
  | "limited"
  | "unauthorized"
  | "suspended"
  | "limiter_unavailable"
  | "upstream_error";

export type TokenDimension = "input" | "output" | "cached_input";

export interface GatewayMetrics {
  /** One per call at the limiter (and one more when an admitted call's upstream fails). */
  call(route: string, outcome: CallOutcome, policy?: string): void;
  /** How long the limiter took to decide, refusals included. */
  limiterDecision(seconds: number): void;
  /** How long the upstream took to answer with its headers (or to fail). */
  upstream(route: string, seconds: number): void;
  /** Tokens a call used, as metered. */
  tokens(route: string, model: string | null, dimension: TokenDimension, count: number): void;
}

export const NO_METRICS: GatewayMetrics = {
  call() {},
  limiterDecision() {},
  upstream() {},
  tokens() {},
};
