// One front-door call's metrics, gathered into the summary the metrics port is told once the
// call is over: the limiter's check and the proxy report to it as to any GatewayMetrics (each
// report goes on to the runtime's metrics at once), and it adds up what they said.
//
// A refused call is over when its refusal is answered; a forwarded one when its reply has been
// metered, which for a stream is after the response has left: the proxy takes the call over
// (`forwarding`) and finishes it from its settle.

import type { CallOutcome, CallSummary, GatewayMetrics, TokenDimension } from "../core/gateway-metrics";

export class CallTrace implements GatewayMetrics {
  private readonly started = performance.now();
  private outcome: Pick<CallSummary, "tenant" | "route" | "outcome" | "policy"> | null = null;
  private model = "";
  private upstreamFailure: CallSummary["upstreamError"] = "";
  private limiterMs = 0;
  private upstreamMs = 0;
  private readonly tokenCounts = { input: 0, output: 0, cached_input: 0 };
  private forwarded = false;
  private done = false;

  constructor(private readonly sink: GatewayMetrics) {}

  call(route: string, outcome: CallOutcome, policy?: string, tenant?: string): void {
    this.sink.call(route, outcome, policy, tenant);
    this.outcome = { tenant: tenant ?? null, route, outcome, policy: policy ?? "" };
  }

  upstreamError(route: string, kind: "unreachable" | "5xx"): void {
    this.sink.upstreamError(route, kind);
    this.upstreamFailure = kind;
  }

  limiterDecision(seconds: number): void {
    this.sink.limiterDecision(seconds);
    this.limiterMs += seconds * 1000;
  }

  upstream(route: string, seconds: number): void {
    this.sink.upstream(route, seconds);
    this.upstreamMs += seconds * 1000;
  }

  tokens(route: string, model: string | null, dimension: TokenDimension, count: number): void {
    this.sink.tokens(route, model, dimension, count);
    if (model) this.model = model;
    this.tokenCounts[dimension] += count;
  }

  completed(summary: CallSummary): void {
    this.sink.completed(summary);
  }

  /** The proxy has the call: it finishes it once the reply is metered, not the front door. */
  forwarding(): void {
    this.forwarded = true;
  }

  /** Whether the proxy took the call over. */
  get isForwarded(): boolean {
    return this.forwarded;
  }

  /**
   * Tells the port the call is over, once. `requestModel` is the model the request named, for a
   * call whose reply named none. A call that never reached the limiter (a public route) is
   * not one: nothing is told.
   */
  finish(status: number, requestModel?: string | null): void {
    if (this.done || !this.outcome) return;
    this.done = true;
    this.sink.completed({
      ...this.outcome,
      model: this.model || requestModel || "",
      upstreamError: this.upstreamFailure,
      status,
      inputTokens: this.tokenCounts.input,
      outputTokens: this.tokenCounts.output,
      cachedInputTokens: this.tokenCounts.cached_input,
      limiterMs: this.limiterMs,
      upstreamMs: this.upstreamMs,
      totalMs: performance.now() - this.started,
    });
  }
}
