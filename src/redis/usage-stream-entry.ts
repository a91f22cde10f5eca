// A usage stream entry (the Redis limiter's outbox, written by the script's emit() and
// alert()) read back into the queue message body it stands for.
//
// The entry's one field `e` holds tab-separated parts: event id, route, units, occurred at,
// metadata JSON, settle metadata JSON, dimensions JSON. Entries written before the dimensions
// have six parts: they stand for events without them (one request of no known model, no
// tokens, which is how the ingest counts such events).
//
// A lease's report (limiter-script-lease.ts) writes its calls as one entry: field `r` the
// route, `L` the lease's id and the report's seq ("<lease id>.<seq>"), `t` a time in ms, and
// `C` a line per call: units \t occurred at, in ms after `t` \t metadata JSON \t dimensions
// JSON. The event of line i (from 0) has the id ev_<L>.<i>. Reports written before `C` have
// field `E` instead, a line per call: event id \t units \t occurred at \t metadata JSON \t
// dimensions JSON. Their events are checked one by one downstream, as a queue message's are.

import { DAILY_POLICY } from "../core/limits";
import { BASIS } from "../core/quota-alerts";
import { eventDimensions } from "../core/usage-dimensions";
import { cleanMetadata, type UsageDimensions, type UsageMetadata } from "../core/usage-event";
import type { RedisReply } from "./resp/index";

/** The field `field` of an entry, or null. */
function fieldOf(raw: RedisReply[] | null, field: string): string | null {
  if (!raw) return null;
  for (let i = 0; i + 1 < raw.length; i += 2) if (String(raw[i]) === field) return String(raw[i + 1]);
  return null;
}

/** The usage events an entry stands for: a lease report's one per line, else one. */
export function eventCountOf(raw: RedisReply[] | null): number {
  const calls = fieldOf(raw, "C") ?? fieldOf(raw, "E");
  if (calls === null) return 1;
  let n = 1;
  for (let i = calls.indexOf("\n"); i !== -1; i = calls.indexOf("\n", i + 1)) n++;
  return n;
}

/** An entry's parts: the field `field` (`e` for an event, `a` for an alert) split at its tabs. */
function partsOf(raw: RedisReply[] | null, field = "e"): string[] | null {
  return fieldOf(raw, field)?.split("\t") ?? null;
}

/**
 * A quota alert entry's body: the field `a` holds day, threshold in basis points, units used,
 * the daily limit and the time, tab-separated (the script's alert()). Null: not an alert.
 */
function alertBodyOf(tenantId: string, raw: RedisReply[] | null): unknown {
  const parts = partsOf(raw, "a");
  if (!parts) return null;
  const [day, bp, used, limit, at] = parts;
  const alert = {
    tenantId,
    day,
    policy: DAILY_POLICY,
    threshold: Number(bp) / BASIS,
    used: Number(used),
    limit: Number(limit),
    at: Number(at),
  };
  return { v: 1, events: [], alerts: [alert] };
}

function parseMetadata(...parts: (string | undefined)[]): UsageMetadata | undefined {
  let merged: Record<string, unknown> | undefined;
  for (const part of parts) {
    if (!part) continue;
    try {
      const value = JSON.parse(part) as unknown;
      if (value && typeof value === "object" && !Array.isArray(value)) merged = { ...merged, ...value };
    } catch {
      // Unreadable metadata is dropped; the usage itself still counts.
    }
  }
  return cleanMetadata(merged);
}

/**
 * The dimensions part as the limiter wrote it, or undefined when it is unreadable. Its
 * values are taken as they are: the consumer's schema refuses any that are out of range.
 */
function parseDimensions(part: string): UsageDimensions | undefined {
  if (part === "") return {};
  try {
    const value = JSON.parse(part) as unknown;
    return value && typeof value === "object" && !Array.isArray(value) ? (value as UsageDimensions) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The queue message body an entry stands for; malformed entries fail validation and are
 * dead-lettered. An unreadable dimensions part is such a failure: billing the event without
 * its tokens would be wrong, and its raw text rides along for the operator to see.
 */
export function eventBodyOf(tenantId: string, raw: RedisReply[] | null): unknown {
  const alert = alertBodyOf(tenantId, raw);
  if (alert) return alert;
  const route = fieldOf(raw, "r") ?? "";
  const compact = fieldOf(raw, "C");
  if (compact !== null) {
    const ids = `ev_${fieldOf(raw, "L") ?? ""}.`;
    // A missing or unreadable time makes every event's time NaN, which the ingest refuses.
    const base = Number(fieldOf(raw, "t") ?? Number.NaN);
    return {
      v: 1,
      events: compact.split("\n").map((line, i) => {
        const [units, after, meta, dims] = line.split("\t");
        const occurredAt = after === undefined || after === "" ? Number.NaN : base + Number(after);
        return eventOf(tenantId, [`${ids}${i}`, route, units, String(occurredAt), meta, "", dims ?? ""]);
      }),
    };
  }
  const calls = fieldOf(raw, "E");
  if (calls !== null) {
    return {
      v: 1,
      events: calls.split("\n").map((line) => {
        const [eventId, units, occurredAt, meta, dims] = line.split("\t");
        return eventOf(tenantId, [eventId, route, units, occurredAt, meta, "", dims ?? ""]);
      }),
    };
  }
  return { v: 1, events: [eventOf(tenantId, partsOf(raw) ?? [])] };
}

/** One event from its parts: event id, route, units, occurred at, metadata, settle metadata, dimensions. */
function eventOf(tenantId: string, parts: (string | undefined)[]): unknown {
  const [eventId, route, units, occurredAt, meta, meta2, dims] = parts;
  const metadata = parseMetadata(meta, meta2);
  const event = {
    eventId,
    tenantId,
    route,
    units: Number(units),
    occurredAt: Number(occurredAt),
    ...(metadata ? { metadata } : {}),
  };
  if (dims === undefined) return event;
  const usage = parseDimensions(dims);
  const dimensions = usage ? eventDimensions(usage, metadata) : { unreadableDimensions: dims };
  return { ...event, ...dimensions };
}
