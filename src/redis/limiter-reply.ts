// Reading the limiter script's replies: the counters it found, as src/core's LimiterState,
// so that the store can rebuild the Decision with the same code as every other backend.

import type { LimiterState } from "../core/limiter";
import type { BucketState } from "../core/token-bucket";
import type { RedisReply } from "./resp/index";

/** A Lua nil (or a missing slot) as null, anything else as its text. */
export const str = (v: RedisReply | undefined): string | null => (v === null || v === undefined ? null : String(v));
export const num = (v: RedisReply | undefined): number => Number(v);
/** The numeric config version of a "version:hash" tag. */
export const versionOf = (tag: RedisReply | undefined): number => Number.parseInt(String(tag), 10) || 0;

/** A bucket stored as "ticks:at". */
export function bucketOf(raw: string | null): BucketState | undefined {
  if (raw === null) return undefined;
  const [ticks, at] = raw.split(":");
  return { ticks: Number(ticks), at: Number(at) };
}

/** The day's counter from its two reply slots (d.day, d.used). */
export function dailyOf(day: RedisReply | undefined, used: RedisReply | undefined): LimiterState["daily"] {
  const d = str(day);
  return d === null ? undefined : { day: d, used: num(used) };
}

/** The counters `peek` answers, as field/value pairs: b:<route> per bucket, d.day and d.used. */
export function peekedState(fields: RedisReply[]): LimiterState {
  const state: LimiterState = { buckets: {}, daily: undefined };
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const field = String(fields[i]);
    const value = String(fields[i + 1]);
    if (field.startsWith("b:")) state.buckets[field.slice(2)] = bucketOf(value);
    else if (field === "d.day") state.daily = { day: value, used: state.daily?.used ?? 0 };
    else if (field === "d.used") state.daily = { day: state.daily?.day ?? "", used: Number(value) };
  }
  return state;
}
