// The usage dimensions every limiter puts on the events it emits: checked before any state
// moves, and filled in the same way by the Durable Object, the Redis stream's reader and
// memoryStore(), so that no backend's events differ from another's.

import { assertUnits } from "./limiter-rules";
import { modelName } from "./token-usage";
import type { UsageDimensions, UsageEvent, UsageMetadata } from "./usage-event";

/** The dimension fields of an emitted event: all present, `estimated` only when true. */
export type EventDimensions = Required<
  Pick<UsageEvent, "model" | "requests" | "inputTokens" | "outputTokens" | "cachedInputTokens">
> & { estimated?: true };

/** Refuses a model no event may carry (empty, over 128 characters, NUL, a lone surrogate). */
export function assertModel(model: string | null | undefined): void {
  if (model === undefined || model === null || modelName(model) !== undefined) return;
  throw new RangeError(`model must be 1 to 128 characters of storable text, got ${JSON.stringify(model)}`);
}

/**
 * Refuses dimensions outside what an event may carry, before any state moves, as
 * assertUnits does for units: token counts are whole numbers from 0 to MAX_CALL_UNITS, and
 * the cached part of the input is no more than the input.
 */
export function assertDimensions(usage: UsageDimensions | undefined): void {
  if (!usage) return;
  assertModel(usage.model);
  for (const name of ["inputTokens", "outputTokens", "cachedInputTokens"] as const) {
    const value = usage[name];
    if (value !== undefined) assertUnits(value, name);
  }
  if ((usage.cachedInputTokens ?? 0) > (usage.inputTokens ?? 0)) {
    throw new RangeError(
      `cachedInputTokens (${usage.cachedInputTokens}) cannot exceed inputTokens (${usage.inputTokens ?? 0})`,
    );
  }
  if (usage.estimated !== undefined && typeof usage.estimated !== "boolean") {
    throw new RangeError(`estimated must be a boolean, got ${JSON.stringify(usage.estimated)}`);
  }
}

/**
 * The dimensions of one call's event: one request, its tokens (0 when not given), and its
 * model, else the `model` its metadata names (where the sniffer has put it so far), else null.
 *
 * @example
 * eventDimensions({ inputTokens: 12, outputTokens: 3 }, { model: "gpt-4o" });
 * // { model: "gpt-4o", requests: 1, inputTokens: 12, outputTokens: 3, cachedInputTokens: 0 }
 */
export function eventDimensions(usage: UsageDimensions | undefined, metadata?: UsageMetadata): EventDimensions {
  return {
    model: usage?.model ?? modelName(metadata?.model) ?? null,
    requests: 1,
    inputTokens: usage?.inputTokens ?? 0,
    outputTokens: usage?.outputTokens ?? 0,
    cachedInputTokens: usage?.cachedInputTokens ?? 0,
    ...(usage?.estimated === true ? { estimated: true as const } : {}),
  };
}

/** The dimensions of a reservation recorded at its estimate (it expired, or was settled too late). */
export function estimatedDimensions(model: string | null | undefined): UsageDimensions {
  return { model: model ?? null, estimated: true };
}
