// The Worker's per-call metrics: a Worker runs in many isolates that no scraper can reach, so
// each call at the limiter becomes one Workers Analytics Engine data point, written when the
// call is over (docs/http-api.md, "Metrics", has the layout and a SQL API query).
//
// Analytics Engine keeps every value it is given, so the tenant may be a column here although
// it is never a Prometheus label: the data point is an event, not a time series.

import { type CallSummary, type GatewayMetrics, MODEL_LABEL_LENGTH, NO_METRICS } from "./gateway-metrics";

/** What the Worker's `analytics_engine_datasets` binding offers (workers-types' AnalyticsEngineDataset). */
export interface DataPointWriter {
  writeDataPoint(point: { indexes?: string[]; blobs?: string[]; doubles?: number[] }): void;
}

/** The blobs' names, in position order (blob1 is the first): docs/http-api.md lists them too. */
export const DATA_POINT_BLOBS = ["tenant", "route", "model", "outcome", "policy", "upstream_error"] as const;
/** The doubles' names, in position order (double1 is the first). */
export const DATA_POINT_DOUBLES = [
  "input_tokens",
  "output_tokens",
  "cached_input_tokens",
  "limiter_ms",
  "upstream_ms",
  "total_ms",
  "status",
] as const;

/** One call as a data point: index1 is the tenant (Analytics Engine samples by it), absent for no tenant. */
export function dataPointOf(summary: CallSummary): { indexes?: string[]; blobs: string[]; doubles: number[] } {
  const blobs = [
    summary.tenant ?? "",
    summary.route,
    summary.model.slice(0, MODEL_LABEL_LENGTH),
    summary.outcome,
    summary.policy,
    summary.upstreamError,
  ];
  const doubles = [
    summary.inputTokens,
    summary.outputTokens,
    summary.cachedInputTokens,
    summary.limiterMs,
    summary.upstreamMs,
    summary.totalMs,
    summary.status,
  ];
  return summary.tenant ? { indexes: [summary.tenant], blobs, doubles } : { blobs, doubles };
}

/**
 * Metrics that write each finished call to `dataset`, and count nothing else; NO_METRICS when
 * the Worker has no dataset bound. A failed write is the dataset's to report, never the call's.
 */
export function analyticsMetrics(dataset: DataPointWriter | undefined): GatewayMetrics {
  if (!dataset) return NO_METRICS;
  return {
    ...NO_METRICS,
    completed(summary) {
      try {
        dataset.writeDataPoint(dataPointOf(summary));
      } catch {
        // Analytics are best effort: a call is never failed for its data point.
      }
    },
  };
}
