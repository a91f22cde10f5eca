// What the gateway tells its metrics, as a narrow port: the self-hosted server counts it with
// prom-client (src/server/metrics.ts); the Worker writes one Analytics Engine data point per
// call from `completed` (analytics-metrics.ts); a runtime without either passes NO_METRICS.
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

/** A model label (and an Analytics Engine data point's model) is cut to this many characters: a request may name any model. */
export const MODEL_LABEL_LENGTH = 64;

/** One call at the limiter, told once it is over: for a forwarded call, once its reply is metered. */
export interface CallSummary {
  /** The tenant whose key the limiter verified (admitted, limited, suspended); null for any other outcome. */
  tenant: string | null;
  route: string;
  outcome: CallOutcome;
  /** The first policy a limited call broke; "" otherwise. */
  policy: string;
  /** The model the metered reply (or else the request) named; "" when none did. */
  model: string;
  /** How the upstream failed, if it did. */
  upstreamError: "" | "unreachable" | "5xx";
  /** The status the client got: the upstream's for a forwarded call, the gateway's for a refusal. */
  status: number;
  /** Tokens as metered; 0 for a call that was not forwarded or reported none. */
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  /** Milliseconds the limiter took to decide; 0 for a call refused before it was asked. */
  limiterMs: number;
  /** Milliseconds the upstream took to answer with its headers (or to fail); 0 when not forwarded. */
  upstreamMs: number;
  /** Milliseconds from the front door to the end of the call: for a stream, until it was metered. */
  totalMs: number;
}

export interface GatewayMetrics {
  /**
   * One per call at the limiter. `tenant` is the tenant whose key the limiter verified, when
   * it did (counters keep no tenant label; the per-call summary does).
   */
  call(route: string, outcome: CallOutcome, policy?: string, tenant?: string): void;
  /** A forwarded call whose upstream could not be reached (`unreachable`) or answered 5xx (`5xx`). */
  upstreamError(route: string, kind: "unreachable" | "5xx"): void;
  /** How long the limiter took to decide, refusals included. */
  limiterDecision(seconds: number): void;
  /** How long the upstream took to answer with its headers (or to fail). */
  upstream(route: string, seconds: number): void;
  /** Tokens a call used, as metered. */
  tokens(route: string, model: string | null, dimension: TokenDimension, count: number): void;
  /** Once per call at the limiter, when it is over, with what the calls above told of it. */
  completed(summary: CallSummary): void;
}

export const NO_METRICS: GatewayMetrics = {
  call() {},
  upstreamError() {},
  limiterDecision() {},
  upstream() {},
  tokens() {},
  completed() {},
};
