// The limiter script's calling convention: a typed call in, KEYS and ARGV out. The script
// reads its arguments by position (see limiter-script.ts), so every call site passes an
// object and this module alone knows which slot holds what and how an absent value is sent.

import type { TenantSnapshot } from "../core/limiter-store";
import { type KeyLimits, own, type RouteOverride } from "../core/limits";
import { basisPoints } from "../core/quota-alerts";
import { cleanMetadata, type UsageDimensions, type UsageMetadata } from "../core/usage-event";
import type { TenantKeys } from "./keys";
import { limiterScript } from "./limiter-script";
import type { RedisCommands } from "./lua-script";
import type { RedisReply } from "./resp/index";

/** ARGV 2 to 6. Ops that read no config (load, forget, sweep) leave all but `now` out. */
export interface CallContext {
  now: number;
  /** The tenant's calendar day (YYYY-MM-DD) in `zone`. */
  today?: string;
  zone?: string;
  /** The "version:hash" of the config this process holds: the script sends the config only if it differs. */
  knownVersion?: string;
  /** SHA-256 hex of the caller's key; absent when the caller identified the tenant itself. */
  keyHash?: string;
}

export type LimiterOp =
  | {
      op: "check" | "checkstale";
      /** The usage event's id, or the reservation's id when reserving. */
      eventId: string;
      route: string;
      cost?: number;
      /** The route table's cost, for a route the tenant does not price. */
      defaultCost?: number;
      reserve: boolean;
      expiresAt: number;
      metadata?: UsageMetadata;
      /** The event's dimensions; when reserving, those of the reservation recorded at its estimate. */
      dimensions: UsageDimensions;
    }
  /** One reservation or a batch of a tenant's, settled in this order. */
  | { op: "settle"; items: SettleCall[] }
  | {
      op: "record";
      eventId: string;
      route: string;
      units: number;
      occurredAt: number;
      metadata?: UsageMetadata;
      idempotencyTtlMs: number;
      dimensions: UsageDimensions;
    }
  /** A lease, after a check admitted its call (limiter-script-lease.ts). */
  | { op: "lease"; leaseId: string; route: string; units: number; requests: number; holdUntil: number }
  /**
   * A holder's report of the calls a lease admitted, and what it gives back: the calls as one
   * stream entry's text (reportedCalls()), with their count and their units.
   */
  | {
      op: "report";
      leaseId: string;
      seq: number;
      close: boolean;
      giveBack: { units: number; requests: number };
      calls: number;
      units: number;
      /** Compact lines: the time they count from (packedCalls()). Null: lines with an event id each. */
      base: number | null;
      /** The entry's text in pieces of under 8,000 characters, which the script joins. */
      packed: string[];
    }
  | { op: "peek" }
  | { op: "sweep"; limit: number }
  /** Marks the tenant missing for `markerTtlMs`, unless Redis holds a version newer than `newerThan`. */
  | { op: "forget"; markerTtlMs: number; newerThan: number }
  /**
   * `configTtlMs`: how long the config stays good after it is written. `overrideUntil`: when
   * the override the snapshot's limits include ends; past it the config is never used, not
   * even as a stale config while Postgres is out of reach.
   */
  | { op: "load"; snapshot: TenantSnapshot; configTtlMs: number; overrideUntil?: number };

/** One settle of a `settle` call. */
export interface SettleCall {
  reservationId: string;
  units: number;
  metadata?: UsageMetadata;
  dimensions: UsageDimensions;
}

export type LimiterCall = CallContext & LimiterOp;

export interface EncodedCall {
  keys: string[];
  args: (string | number)[];
}

/** Metadata as the script stores it: cleaned JSON, or "" for none. */
export function metadataArg(metadata: UsageMetadata | undefined): string {
  const clean = cleanMetadata(metadata);
  return clean ? JSON.stringify(clean) : "";
}

/**
 * Dimensions as the stream entry carries them: compact JSON of the fields given (a model,
 * the token counts, `estimated`), "" for none. The stream's reader adds `requests: 1` and
 * the model of the metadata (usage-stream-entry.ts), as the other backends do when they emit.
 */
export function dimensionsArg(usage: UsageDimensions): string {
  const { model, inputTokens, outputTokens, cachedInputTokens, estimated } = usage;
  // The common call of a lease's report carries none: no object to build.
  if (!model && !inputTokens && !outputTokens && !cachedInputTokens && !estimated) return "";
  const compact = {
    ...(model ? { model } : {}),
    ...(inputTokens ? { inputTokens } : {}),
    ...(outputTokens ? { outputTokens } : {}),
    ...(cachedInputTokens ? { cachedInputTokens } : {}),
    ...(estimated ? { estimated } : {}),
  };
  return Object.keys(compact).length > 0 ? JSON.stringify(compact) : "";
}

/** ARGV 7 onwards. Redis has no null argument: an absent value is "". */
function opArgs(call: LimiterOp): (string | number)[] {
  switch (call.op) {
    case "check":
    case "checkstale":
      return [
        call.eventId,
        call.route,
        call.cost ?? "",
        call.defaultCost ?? "",
        call.reserve ? "1" : "0",
        call.expiresAt,
        metadataArg(call.metadata),
        dimensionsArg(call.dimensions),
      ];
    // settle, sweep and forget leave ARGV 7 (check's event id) empty and start at 8.
    case "settle":
      return [
        "",
        ...call.items.flatMap((i) => [i.reservationId, i.units, metadataArg(i.metadata), dimensionsArg(i.dimensions)]),
      ];
    case "record":
      return [
        call.eventId,
        call.route,
        call.units,
        call.occurredAt,
        metadataArg(call.metadata),
        call.idempotencyTtlMs,
        dimensionsArg(call.dimensions),
      ];
    case "lease":
      return [call.leaseId, call.route, call.units, call.requests, call.holdUntil];
    case "report":
      return [
        call.leaseId,
        call.seq,
        call.close ? "1" : "0",
        call.giveBack.units,
        call.giveBack.requests,
        call.calls,
        call.units,
        call.base ?? "",
        ...call.packed,
      ];
    case "peek":
      return [];
    case "sweep":
      return ["", call.limit];
    case "forget":
      return ["", call.markerTtlMs, call.newerThan];
    case "load": {
      const { snapshot } = call;
      const { limits } = snapshot;
      const routes = Object.entries(limits.routes).flatMap(([route, o]) => [route, routeSpec(o)]);
      const keys = snapshot.keyHashes.flatMap((hash) => [hash, keySpec(own(limits.keys, hash))]);
      return [
        snapshot.version,
        snapshot.status,
        part(limits.ratePerMinute),
        part(limits.burst),
        part(limits.requestsPerMinute),
        part(limits.requestBurst),
        part(limits.maxConcurrent),
        limits.dailyUnits ?? -1,
        limits.timeZone,
        limits.shadow ? 1 : 0,
        JSON.stringify(limits),
        call.configTtlMs,
        // Quota alert thresholds in basis points, ascending, comma-separated ("" for none).
        [...(limits.alerts?.thresholds ?? [])]
          .sort((a, b) => a - b)
          .map(basisPoints)
          .join(","),
        call.overrideUntil ?? "",
        routes.length / 2,
        ...routes,
        ...keys,
      ];
    }
  }
}

/** A limit as the tenant hash stores it: "" for none (a route's: the tenant's, or none). */
const part = (n: number | null | undefined): string | number => n ?? "";

/** A route's override as "rate,burst,cost,rrate,rburst,conc" (the script's r:<route> field). */
function routeSpec(o: RouteOverride): string {
  const { ratePerMinute, burst, cost, requestsPerMinute, requestBurst, maxConcurrent } = o;
  return [ratePerMinute, burst, cost, requestsPerMinute, requestBurst, maxConcurrent].map(part).join(",");
}

/** A live key's k:<hash> field: "rate,burst,rrate,rburst" when it has limits of its own, else "1". */
function keySpec(k: KeyLimits | undefined): string {
  const parts = k ? [k.ratePerMinute, k.burst, k.requestsPerMinute, k.requestBurst] : [];
  return parts.some((n) => typeof n === "number") ? parts.map(part).join(",") : "1";
}

/** KEYS and ARGV for one call of the limiter script on the tenant whose keys these are. */
export function encodeLimiterCall(keys: TenantKeys, call: LimiterCall): EncodedCall {
  // KEYS[5] is read by record only; any key of the tenant keeps the call in its cluster slot.
  const idem = keys.idem(call.op === "record" ? call.eventId : "");
  return {
    keys: [keys.tenant, keys.res, keys.resx, keys.stream, idem],
    args: [
      call.op,
      call.now,
      call.today ?? "",
      call.zone ?? "",
      call.knownVersion ?? "",
      call.keyHash ?? "",
      ...opArgs(call),
    ],
  };
}

/** Runs one call of the limiter script. */
export function runLimiterCall(redis: RedisCommands, keys: TenantKeys, call: LimiterCall): Promise<RedisReply> {
  const { keys: keyList, args } = encodeLimiterCall(keys, call);
  return limiterScript.run(redis, keyList, args);
}
