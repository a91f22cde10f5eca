// The self-hosted gateway's Prometheus metrics, with prom-client: the gateway's port
// (src/core/gateway-metrics.ts) counted in a registry of this server's own, so that several
// servers in one process (tests, or an app that embeds two) never share counters.
//
// Cardinality: route and policy come from the route table, outcome and dimension are fixed
// sets, and the model label takes the first MAX_MODELS names an upstream reports; after
// that, further models are counted as "other". There is no tenant label.

import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";
import {
  type CallOutcome,
  type GatewayMetrics,
  MODEL_LABEL_LENGTH,
  type TokenDimension,
} from "../core/gateway-metrics";

/** Distinct model names kept as label values; an upstream names as many as it likes. */
export const MAX_MODELS = 100;
export class PromMetrics implements GatewayMetrics {
  readonly registry = new Registry();
  private readonly calls = new Counter({
    name: "aegis_calls_total",
    help: "Calls by route and outcome at the limiter, one each; policy names the first limit a limited call broke.",
    labelNames: ["route", "outcome", "policy"] as const,
    registers: [this.registry],
  });
  private readonly upstreamErrors = new Counter({
    name: "aegis_upstream_errors_total",
    help: "Forwarded calls whose upstream could not be reached, or answered 5xx.",
    labelNames: ["route", "kind"] as const,
    registers: [this.registry],
  });
  private readonly decisions = new Histogram({
    name: "aegis_limiter_decision_seconds",
    help: "Time the limiter took to decide a call, refusals included.",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  private readonly upstreamTime = new Histogram({
    name: "aegis_upstream_seconds",
    help: "Time the upstream took to answer with its headers, or to fail.",
    labelNames: ["route"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly tokenCount = new Counter({
    name: "aegis_tokens_total",
    help: "Tokens calls used, as metered, by route, model and dimension.",
    labelNames: ["route", "model", "dimension"] as const,
    registers: [this.registry],
  });
  private readonly models = new Set<string>();
  // prom-client hashes a label set on every call; the children of the sets seen are kept.
  private readonly callChildren = new Map<string, { inc(): void }>();
  private readonly upstreamChildren = new Map<string, { observe(v: number): void }>();
  private readonly tokenChildren = new Map<string, { inc(v: number): void }>();

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: "aegis_" });
  }

  call(route: string, outcome: CallOutcome, policy = ""): void {
    const key = `${route}\u0000${outcome}\u0000${policy}`;
    let child = this.callChildren.get(key);
    if (!child) {
      child = this.calls.labels({ route, outcome, policy });
      this.callChildren.set(key, child);
    }
    child.inc();
  }

  upstreamError(route: string, kind: "unreachable" | "5xx"): void {
    this.upstreamErrors.inc({ route, kind });
  }

  limiterDecision(seconds: number): void {
    this.decisions.observe(seconds);
  }

  upstream(route: string, seconds: number): void {
    let child = this.upstreamChildren.get(route);
    if (!child) {
      child = this.upstreamTime.labels({ route });
      this.upstreamChildren.set(route, child);
    }
    child.observe(seconds);
  }

  tokens(route: string, model: string | null, dimension: TokenDimension, count: number): void {
    const label = this.modelLabel(model);
    const key = `${route}\u0000${label}\u0000${dimension}`;
    let child = this.tokenChildren.get(key);
    if (!child) {
      child = this.tokenCount.labels({ route, model: label, dimension });
      this.tokenChildren.set(key, child);
    }
    child.inc(count);
  }

  /** The counters above have counted the call already; a per-call summary is the Worker's (Analytics Engine). */
  completed(): void {}

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private modelLabel(named: string | null): string {
    if (named === null || named === "") return "";
    // A request may name any model; a label value is kept short.
    const model = named.slice(0, MODEL_LABEL_LENGTH);
    if (this.models.has(model)) return model;
    if (this.models.size >= MAX_MODELS) return "other";
    this.models.add(model);
    return model;
  }
}
