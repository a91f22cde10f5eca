// Reading the limiter script's replies: the counters it found, as src/core's LimiterState,
// so that the store can rebuild the Decision with the same code as every other backend.

import type { InFlight, LimiterState } from "../core/limiter";
import type { SettleItem, SettleResult } from "../core/limiter-store";
import type { InFlightCounts } from "../core/limits-report";
import type { BucketState } from "../core/token-bucket";
import type { RedisReply } from "./resp/index";

/** A Lua nil (or a missing slot) as null, anything else as its text. */
export const str = (v: RedisReply | undefined): string | null => (v === null || v === undefined ? null : String(v));
export const num = (v: RedisReply | undefined): number => Number(v);
/** The numeric config version of a "version:hash" tag. */
export const versionOf = (tag: RedisReply | undefined): number => Number.parseInt(String(tag), 10) || 0;

/** A bucket stored as "ticks:at"; null or "" (a packed reply's absent part) for none. */
export function bucketOf(raw: string | null): BucketState | undefined {
  if (raw === null || raw === "") return undefined;
  const colon = raw.indexOf(":");
  return { ticks: Number(raw.slice(0, colon)), at: Number(raw.slice(colon + 1)) };
}

/** The day's counter from its two reply slots (d.day, d.used). */
export function dailyOf(day: RedisReply | undefined, used: RedisReply | undefined): LimiterState["daily"] {
  const d = str(day);
  return d === null ? undefined : { day: d, used: num(used) };
}

/** What a check answered: the cost it resolved, whether the script admitted the call, and the state it found. */
export interface CheckedState {
  cost: number;
  allowed: boolean;
  state: LimiterState;
  inFlight: InFlight;
}

/**
 * The state a check found, as decide() takes it, from reply slot 4: one tab-separated string
 * (the script packs it, as fewer reply elements cost both sides less) of the cost, 1 if
 * allowed, the four buckets as stored (the route's units and requests, the key's units and
 * requests: src/core bucketPolicies()'s state keys, each the field b:<state key>; "" for
 * none), the day (d.day, d.used; "" for none), and the tenant's and the route's calls in
 * flight. Without a key, the key's two parts are "" and no state key is made for them.
 */
export function checkedState(reply: RedisReply[], route: string, keyHash: string | undefined): CheckedState {
  const p = String(reply[4]).split("\t");
  if (p.length !== 10) throw new Error(`unexpected limiter check reply: ${p.length} parts`);
  const buckets: LimiterState["buckets"] = {
    [route]: bucketOf(p[2] as string),
    [`${route}/requests`]: bucketOf(p[3] as string),
  };
  if (keyHash !== undefined) {
    buckets[`key/${keyHash}/${route}`] = bucketOf(p[4] as string);
    buckets[`key/${keyHash}/${route}/requests`] = bucketOf(p[5] as string);
  }
  const day = p[6] as string;
  return {
    cost: Number(p[0]),
    allowed: p[1] === "1",
    state: { buckets, daily: day === "" ? undefined : { day, used: Number(p[7]) } },
    inFlight: { tenant: Number(p[8]), route: Number(p[9]) },
  };
}

/**
 * The counters `peek` answers, as field/value pairs: b:<state key> per bucket, d.day and
 * d.used, and the calls in flight, n (the tenant's) and n:<route>.
 */
export function peekedState(fields: RedisReply[]): { state: LimiterState; inFlight: InFlightCounts } {
  const state: LimiterState = { buckets: {}, daily: undefined };
  const inFlight: InFlightCounts = { tenant: 0, routes: {} };
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const field = String(fields[i]);
    const value = String(fields[i + 1]);
    if (field.startsWith("b:")) state.buckets[field.slice(2)] = bucketOf(value);
    else if (field === "d.day") state.daily = { day: value, used: state.daily?.used ?? 0 };
    else if (field === "d.used") state.daily = { day: state.daily?.day ?? "", used: Number(value) };
    else if (field === "n") inFlight.tenant = Number(value);
    else if (field.startsWith("n:")) inFlight.routes[field.slice(2)] = Number(value);
  }
  return { state, inFlight };
}

/**
 * What a settle call answered for its items, in order (slot 4 on: settled, expired or
 * unknown), or null when the script answered another number of results than items, or a
 * status that is none of those: a script bug, never to be read as "unknown".
 */
export function settledResults(reply: RedisReply[], items: SettleItem[]): SettleResult[] | null {
  const statuses = reply.slice(4).map(str);
  if (statuses.length !== items.length) return null;
  if (statuses.some((s) => s !== "settled" && s !== "expired" && s !== "unknown")) return null;
  return items.map(({ units }, i): SettleResult => {
    const status = statuses[i];
    if (status === "settled") return { status: "settled", units };
    return status === "expired" ? { status: "expired" } : { status: "unknown" };
  });
}
