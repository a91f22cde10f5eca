// Metering a proxied reply: find the units it used, without holding it up, and settle.

import type { UsageMetadata } from "../core/usage-event";
import { UsageSniffer, unitsFromHeader } from "../core/usage-sniffer";

export type Settle = (units: number, metadata?: UsageMetadata) => void;

/** The header an upstream sets to report the units a call used; it wins over the body. */
export const USAGE_UNITS_HEADER = "x-usage-units";

/**
 * Returns the reply to send on, and settles the call's reservation to the units it used:
 * - a 5xx reply settles to 0 (the caller is not billed for the upstream's failure);
 * - else the upstream's `x-usage-units` header, at once;
 * - else `usage.total_tokens` of a JSON body, or of the last SSE chunk that has one, read
 *   by a transform as the bytes pass (the first byte is never delayed, a stream never
 *   buffered), once the body has ended;
 * - else the estimate that was reserved.
 * A reply the client abandons midway is not settled here: its reservation expires and
 * keeps the estimate.
 */
export function meterResponse(res: Response, estimate: number, settle: Settle): Response {
  if (res.status >= 500) {
    settle(0);
    return res;
  }
  const reported = unitsFromHeader(res.headers.get(USAGE_UNITS_HEADER));
  if (reported !== undefined) {
    settle(reported);
    return res;
  }
  if (!res.body) {
    settle(estimate);
    return res;
  }
  const sniffer = new UsageSniffer(res.headers.get("content-type"));
  const body = res.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        sniffer.push(chunk);
        controller.enqueue(chunk);
      },
      flush() {
        const usage = sniffer.finish();
        settle(usage.units ?? estimate, usage.metadata);
      },
    }),
  );
  return new Response(body, res);
}
