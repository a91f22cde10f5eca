// Metering a proxied reply: find the units it used and their breakdown, without holding it
// up, and settle.

import type { TokenCounter } from "../core/prompt-estimate";
import { modelName, usageFromHeaders } from "../core/token-usage";
import type { UsageDimensions, UsageMetadata } from "../core/usage-event";
import { UsageSniffer } from "../core/usage-sniffer";

/** Settles the call: its units, the reply's metadata, and the breakdown (tokens, model, estimated). */
export type ReportUsed = (units: number, metadata?: UsageMetadata, usage?: UsageDimensions) => void;

/** What a call on a token route is settled to when its reply reports no usage. */
export interface TokenFallback {
  /** The prompt's estimate, billed as its input. */
  inputTokens: number;
  /** The model the request named, for a reply that names none. */
  model: string | null;
  /** Counts the output the reply carried. */
  count: TokenCounter;
}

/** What a call is settled to when its upstream reports nothing. */
export interface MeterFallback {
  /** The units reserved: what a call off the token routes is billed. */
  units: number;
  /** On a token route: the input estimate and the output counted, instead of the reservation. */
  tokens?: TokenFallback;
}

/**
 * How long a reply whose client has left is still read, for the usage at its end. Workers
 * keep background work about 30 s after the response: the settle must come before that, or
 * the reservation would expire and be billed at its whole estimate.
 */
export const ABANDONED_READ_MS = 25_000;

/** A bound on the reading of an abandoned reply: resolves when it is reached. */
export type ReadBound = () => { reached: Promise<void>; clear(): void };

/** A bound of `ms` milliseconds from when the client left. */
export function timeBound(ms: number): ReadBound {
  return () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reached = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    return { reached, clear: () => timer !== undefined && clearTimeout(timer) };
  };
}

/** The upstream reported nothing: the reserved estimate stands. */
const ESTIMATED: UsageDimensions = { estimated: true };

/**
 * The settle of a reply that reported no usage. Off the token routes, the reservation.
 * On them: nothing for a refusal (4xx), else the input estimate and the output counted from
 * what the reply carried, marked estimated, never the worst case that was reserved.
 */
function unreported(status: number, fallback: MeterFallback, model: string | null, outputTokens: () => number) {
  const tokens = fallback.tokens;
  if (!tokens) return { units: fallback.units, usage: ESTIMATED };
  if (status >= 400) return { units: 0, usage: { model } };
  const outputTokensCounted = outputTokens();
  return {
    units: tokens.inputTokens + outputTokensCounted,
    usage: {
      model,
      inputTokens: tokens.inputTokens,
      outputTokens: outputTokensCounted,
      cachedInputTokens: 0,
      estimated: true,
    },
  };
}

/**
 * Returns the reply to send on, and settles the call's reservation, exactly once, to the
 * units it used, with their breakdown:
 * - a 5xx reply settles to 0, with no tokens (the caller is not billed for the upstream's failure);
 * - else the upstream's `x-usage-input-tokens`/`x-usage-output-tokens` (the tokens) or
 *   `x-usage-units` headers, at once;
 * - else the usage of a JSON body, or of a stream's events (token-usage.ts), read as the
 *   bytes pass (the first byte is never delayed, a stream never buffered), once the body has
 *   ended: its tokens and model;
 * - else the estimate that was reserved, marked `estimated`; on a token route, the input
 *   estimate plus the output counted from the reply instead (nothing for a 4xx).
 * If the client goes away before the end, the rest of the upstream's reply is still read
 * (in `background`, without sending it anywhere, within `readBound`), so a stream cut short
 * is billed for the usage its upstream reports rather than for the estimate; past the
 * bound, on what was seen by then.
 */
export function meterResponse(
  res: Response,
  fallback: MeterFallback,
  reportUsed: ReportUsed,
  background: (work: Promise<unknown>) => void,
  readBound: ReadBound = timeBound(ABANDONED_READ_MS),
): Response {
  if (res.status >= 500) {
    reportUsed(0);
    return res;
  }
  // x-usage-input-tokens / x-usage-output-tokens, else x-usage-units: for upstreams that
  // state their usage in headers, whatever their body is.
  const reported = usageFromHeaders((name) => res.headers.get(name));
  const requestModel = fallback.tokens?.model ?? null;
  if (reported !== undefined) {
    reportUsed(reported.units, undefined, { ...reported.tokens, ...(requestModel ? { model: requestModel } : {}) });
    return res;
  }
  if (!res.body) {
    const { units, usage } = unreported(res.status, fallback, requestModel, () => 0);
    reportUsed(units, undefined, usage);
    return res;
  }
  const sniffer = new UsageSniffer(res.headers.get("content-type"), { collectOutput: fallback.tokens !== undefined });
  const reader = res.body.getReader();
  let settled = false;
  let cancelled = false;
  // The read in flight when the client leaves: the drain takes over its chunk.
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
  /** Settles once; `complete` is false when the reply was cut off (an error, or the read's bound). */
  const finish = (complete: boolean) => {
    if (settled) return;
    settled = true;
    const usage = sniffer.finish();
    const model = modelName(usage.metadata?.model) ?? requestModel;
    const count = fallback.tokens?.count;
    if (usage.units === undefined) {
      const settle = unreported(res.status, fallback, model, () => (count ? sniffer.outputTokens(count) : 0));
      reportUsed(settle.units, usage.metadata, settle.usage);
      return;
    }
    const tokens = sniffer.tokens();
    if (complete) {
      reportUsed(usage.units, usage.metadata, { ...tokens, model });
      return;
    }
    // A report seen before the reply was cut off is not its last word (Anthropic's comes at
    // the start, with 1 output token): the output counted so far, if more, and estimated.
    const counted = tokens && count ? sniffer.outputTokens(count) : 0;
    const outputTokens = Math.max(tokens?.outputTokens ?? 0, counted);
    const units = tokens ? tokens.inputTokens + outputTokens : usage.units;
    reportUsed(units, usage.metadata, { ...tokens, ...(tokens ? { outputTokens } : {}), model, estimated: true });
  };
  const drain = async () => {
    const bound = readBound();
    const reachedBound = bound.reached.then(() => null);
    let complete = false;
    try {
      for (;;) {
        const read = await Promise.race([pending ?? reader.read(), reachedBound]);
        pending = null;
        if (read === null) {
          // Out of time: what was seen is all there is to bill.
          void reader.cancel().catch(() => {});
          break;
        }
        if (read.done) {
          complete = true;
          break;
        }
        sniffer.push(read.value);
      }
    } catch {
      // the upstream broke off too: settle on what was seen
    } finally {
      bound.clear();
    }
    finish(complete);
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        pending = reader.read();
        const { done, value } = await pending;
        if (cancelled) return;
        pending = null;
        if (done) {
          finish(true);
          controller.close();
          return;
        }
        sniffer.push(value);
        controller.enqueue(value);
      } catch (err) {
        if (cancelled) return;
        finish(false);
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
