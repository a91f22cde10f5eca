// Usage reported after the fact (a finished job): validated, counted against the daily
// quota and recorded once per idempotency key.

import { routeKeySchema } from "../config";
import { DAY_MS } from "../core/calendar";
import type { Decision } from "../core/limiter";
import { type LimiterStore, LimiterUnavailableError } from "../core/limiter-store";
import { DEFAULT_ROUTE, MAX_CALL_UNITS } from "../core/limits";
import type { UsageMetadata } from "../core/usage-event";
import { usageMetadataSchema } from "../metering/messages";
import { limitHeaders, quotaExceeded } from "./limit-response";
import { Problem } from "./problem";

/** How far ahead of the gateway's clock a report may date its usage. */
export const MAX_FUTURE_MS = 5 * 60_000;
/** How far back a report may date its usage. */
export const MAX_PAST_MS = 90 * DAY_MS;
/** Largest single report. */
export const MAX_REPORTED_UNITS = MAX_CALL_UNITS;

export interface UsageInput {
  units: number;
  /** Default: "default". */
  route?: string;
  idempotencyKey: string;
  /** When the usage happened; default now. */
  occurredAt?: Date | number;
  metadata?: UsageMetadata;
}

export type RecordOutcome =
  | { outcome: "recorded"; eventId: string; decision: Decision; headers: Record<string, string> }
  | { outcome: "duplicate"; eventId: string }
  | { outcome: "limited"; decision: Decision; problem: Problem }
  | { outcome: "unauthenticated" | "suspended" }
  | { outcome: "unavailable"; error: LimiterUnavailableError };

function invalid(detail: string): Problem {
  return new Problem(400, "invalid-usage", detail);
}

function occurredAtOf(input: UsageInput, now: number): number {
  const at = input.occurredAt === undefined ? now : new Date(input.occurredAt).getTime();
  if (Number.isNaN(at)) throw invalid("occurredAt is not a valid time");
  if (at > now + MAX_FUTURE_MS) throw invalid("occurredAt is more than 5 minutes in the future");
  if (at < now - MAX_PAST_MS) throw invalid("occurredAt is more than 90 days in the past");
  return Math.floor(at);
}

/**
 * Records one report. Bad input throws a 400 Problem before the limiter is asked; every
 * other result is an outcome, never an exception.
 */
export async function recordReportedUsage(
  store: LimiterStore,
  tenantId: string,
  input: UsageInput,
  options: { keyHash?: string; legacyHeaders?: boolean; now?: number } = {},
): Promise<RecordOutcome> {
  const now = options.now ?? Date.now();
  if (!Number.isSafeInteger(input.units) || input.units < 1 || input.units > MAX_REPORTED_UNITS) {
    throw invalid(`units must be a whole number from 1 to ${MAX_REPORTED_UNITS}, got ${input.units}`);
  }
  const route = input.route ?? DEFAULT_ROUTE;
  if (!routeKeySchema.safeParse(route).success) throw invalid(`invalid route key ${JSON.stringify(route)}`);
  if (!/^[\x21-\x7e]{1,200}$/.test(input.idempotencyKey)) {
    throw invalid("idempotencyKey must be 1 to 200 printable ASCII characters without spaces");
  }
  if (input.metadata !== undefined && !usageMetadataSchema.safeParse(input.metadata).success) {
    throw invalid("metadata must be at most 16 entries of short strings, numbers or booleans");
  }
  const request = {
    keyHash: options.keyHash,
    idempotencyKey: input.idempotencyKey,
    units: input.units,
    route,
    occurredAt: occurredAtOf(input, now),
    metadata: input.metadata,
  };
  let result: Awaited<ReturnType<LimiterStore["record"]>>;
  try {
    result = await store.record(tenantId, request);
  } catch (err) {
    if (err instanceof LimiterUnavailableError) return { outcome: "unavailable", error: err };
    throw err;
  }
  const legacy = options.legacyHeaders ?? false;
  switch (result.status) {
    case "recorded":
      return {
        outcome: "recorded",
        eventId: result.eventId,
        decision: result.decision,
        headers: limitHeaders(result.decision.policies, legacy),
      };
    case "duplicate":
      return { outcome: "duplicate", eventId: result.eventId };
    case "limited":
      return { outcome: "limited", decision: result.decision, problem: quotaExceeded(result.decision, legacy) };
    default:
      return { outcome: result.status };
  }
}
