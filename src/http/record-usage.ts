// Usage reported after the fact (a finished job): validated, counted against the daily
// quota and recorded once per idempotency key, with its model and tokens when given.

import { routeKeySchema } from "../config";
import { DAY_MS } from "../core/calendar";
import type { Decision } from "../core/limiter";
import { type LimiterStore, LimiterUnavailableError } from "../core/limiter-store";
import { DEFAULT_ROUTE, MAX_CALL_UNITS } from "../core/limits";
import { modelName } from "../core/token-usage";
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
  /** What counts against the quota. Default: inputTokens + outputTokens; one of them is required. */
  units?: number;
  /** Default: "default". */
  route?: string;
  idempotencyKey: string;
  /** When the usage happened; default now. */
  occurredAt?: Date | number;
  metadata?: UsageMetadata;
  /** The model the job used. Default: `metadata.model`, else none. */
  model?: string | null;
  /** Every input token, cached ones included. */
  inputTokens?: number;
  /** Output tokens, reasoning included. */
  outputTokens?: number;
  /** The part of inputTokens served from a cache; at most inputTokens. */
  cachedInputTokens?: number;
}

/** The token counts a report gives (those it leaves out are absent). */
type ReportedTokens = Pick<UsageInput, "inputTokens" | "outputTokens" | "cachedInputTokens">;

export type RecordOutcome =
  | { outcome: "recorded"; eventId: string; decision: Decision; headers: Record<string, string> }
  | { outcome: "duplicate"; eventId: string }
  | { outcome: "limited"; decision: Decision; problem: Problem }
  | { outcome: "unauthenticated" | "suspended" }
  | { outcome: "unavailable"; error: LimiterUnavailableError };

function invalid(detail: string): Problem {
  return new Problem(400, "invalid-usage", detail);
}

function isCount(n: unknown): n is number {
  return Number.isSafeInteger(n) && (n as number) >= 0 && (n as number) <= MAX_CALL_UNITS;
}

/** The report's tokens, checked: whole numbers in range, the cached part no more than the input. */
function tokensOf(input: UsageInput): ReportedTokens {
  const tokens: ReportedTokens = {};
  for (const name of ["inputTokens", "outputTokens", "cachedInputTokens"] as const) {
    const value = input[name];
    if (value === undefined) continue;
    if (!isCount(value)) throw invalid(`${name} must be a whole number from 0 to ${MAX_CALL_UNITS}, got ${value}`);
    tokens[name] = value;
  }
  if ((tokens.cachedInputTokens ?? 0) > (tokens.inputTokens ?? 0)) {
    throw invalid("cachedInputTokens cannot exceed inputTokens (which counts cached tokens too)");
  }
  return tokens;
}

/** The units a report counts: as given, else its input + output tokens. */
function unitsOf(input: UsageInput, tokens: ReportedTokens): number {
  const fromTokens = tokens.inputTokens !== undefined || tokens.outputTokens !== undefined;
  if (input.units === undefined && !fromTokens)
    throw invalid("units is required unless inputTokens or outputTokens is");
  const units = input.units ?? (tokens.inputTokens ?? 0) + (tokens.outputTokens ?? 0);
  if (!Number.isSafeInteger(units) || units < 1 || units > MAX_REPORTED_UNITS) {
    const what = input.units === undefined ? "units (inputTokens + outputTokens)" : "units";
    throw invalid(`${what} must be a whole number from 1 to ${MAX_REPORTED_UNITS}, got ${units}`);
  }
  return units;
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
  const tokens = tokensOf(input);
  const units = unitsOf(input, tokens);
  if (input.model !== undefined && input.model !== null && modelName(input.model) === undefined) {
    throw invalid("model must be 1 to 128 characters, without NUL or unpaired surrogates");
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
    units,
    route,
    occurredAt: occurredAtOf(input, now),
    metadata: input.metadata,
    ...(input.model ? { model: input.model } : {}),
    ...tokens,
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
