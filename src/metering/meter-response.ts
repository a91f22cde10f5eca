// Metering a proxied reply: find the units it used and their breakdown, without holding it
// up, and settle.

import { modelName, usageFromHeaders } from "../core/token-usage";
import type { UsageDimensions, UsageMetadata } from "../core/usage-event";
import { UsageSniffer } from "../core/usage-sniffer";

/** Settles the call: its units, the reply's metadata, and the breakdown (tokens, model, estimated). */
export type ReportUsed = (units: number, metadata?: UsageMetadata, usage?: UsageDimensions) => void;

/** The upstream reported nothing: the reserved estimate stands. */
const ESTIMATED: UsageDimensions = { estimated: true };

/**
 * Returns the reply to send on, and settles the call's reservation, exactly once, to the
 * units it used, with their breakdown:
 * - a 5xx reply settles to 0, with no tokens (the caller is not billed for the upstream's failure);
 * - else the upstream's `x-usage-input-tokens`/`x-usage-output-tokens` (the tokens) or
 *   `x-usage-units` headers, at once;
 * - else the usage of a JSON body, or of a stream's events (token-usage.ts), read as the
 *   bytes pass (the first byte is never delayed, a stream never buffered), once the body has
 *   ended: its tokens and model;
 * - else the estimate that was reserved, marked `estimated`.
 * If the client goes away before the end, the rest of the upstream's reply is still read
 * (in `background`, without sending it anywhere), so a stream cut short is billed for the
 * usage its upstream reports rather than for the estimate.
 */
export function meterResponse(
  res: Response,
  estimate: number,
  reportUsed: ReportUsed,
  background: (work: Promise<unknown>) => void,
): Response {
  if (res.status >= 500) {
    reportUsed(0);
    return res;
  }
  // x-usage-input-tokens / x-usage-output-tokens, else x-usage-units: for upstreams that
  // state their usage in headers, whatever their body is.
  const reported = usageFromHeaders((name) => res.headers.get(name));
  if (reported !== undefined) {
    reportUsed(reported.units, undefined, { ...reported.tokens });
    return res;
  }
  if (!res.body) {
    reportUsed(estimate, undefined, ESTIMATED);
    return res;
  }
  const sniffer = new UsageSniffer(res.headers.get("content-type"));
  const reader = res.body.getReader();
  let settled = false;
  let cancelled = false;
  // The read in flight when the client leaves: the drain takes over its chunk.
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
  const finish = () => {
    if (settled) return;
    settled = true;
    const usage = sniffer.finish();
    if (usage.units === undefined) {
      reportUsed(estimate, usage.metadata, ESTIMATED);
      return;
    }
    reportUsed(usage.units, usage.metadata, { ...sniffer.tokens(), model: modelName(usage.metadata?.model) ?? null });
  };
  const drain = async () => {
    try {
      for (;;) {
        const { done, value } = await (pending ?? reader.read());
        pending = null;
        if (done) break;
        sniffer.push(value);
      }
    } catch {
      // the upstream broke off too: settle on what was seen
    }
    finish();
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        pending = reader.read();
        const { done, value } = await pending;
        if (cancelled) return;
        pending = null;
        if (done) {
          finish();
          controller.close();
          return;
        }
        sniffer.push(value);
        controller.enqueue(value);
      } catch (err) {
        if (cancelled) return;
        finish();
        controller.error(err);
      }
    },
    cancel() {
      cancelled = true;
      background(drain());
    },
  });
  return new Response(body, res);
}
