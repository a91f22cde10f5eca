// The limiter store port: what the HTTP layer needs from a per-tenant limiter backend.
//
// The Durable Object implements it on Workers; the Redis adapter implements it for
// self-hosted runs. One conformance suite holds every implementation to the same contract.

import type { Decision } from "./limiter";
import type { TenantLimits } from "./limits";
import type { LimitsFigures } from "./limits-report";
import type { UsageDimensions, UsageMetadata } from "./usage-event";

export type TenantStatus = "active" | "suspended";

/** Everything a limiter needs to know about a tenant, as pushed from Postgres. */
export interface TenantSnapshot {
  tenantId: string;
  /** Increases with every change; a limiter ignores a snapshot older than the one it has. */
  version: number;
  status: TenantStatus;
  limits: TenantLimits;
  /** SHA-256 hex hashes of the tenant's live (unrevoked) keys. */
  keyHashes: string[];
}

/**
 * Where a limiter loads a tenant it does not hold, or holds too old: Postgres, in every
 * runtime. Null means there is no such tenant.
 */
export type LoadTenantSnapshot = (tenantId: string) => Promise<TenantSnapshot | null>;

export interface CheckRequest {
  /** SHA-256 hex of the presented API key. Absent when the embedding app has identified the tenant. */
  keyHash?: string;
  route: string;
  /** Units to take. Absent: the tenant's route cost, else `defaultCost`, else 1. 0 peeks. */
  cost?: number;
  /** The route table's cost for this route, used when `cost` is absent. */
  defaultCost?: number;
  /** Hold the units as a reservation, to be settled to the actual units later. */
  reserve?: boolean;
  /** Kept with the usage event (the model, say). */
  metadata?: UsageMetadata;
  /**
   * The model the call is for, when known before the reply: the event of a non-reserved
   * call, or of a reservation recorded at its estimate, names it. Default: `metadata.model`.
   */
  model?: string | null;
  /**
   * When the caller stops waiting (ms since the epoch). A limiter that gets to the call
   * later answers "late" and consumes nothing: the caller has already answered 503.
   */
  deadline?: number;
  /**
   * False: a limiter without the tenant's config answers "cold" at once instead of loading
   * it from Postgres, so that the caller can give the load its own, longer, bound (`load`).
   * Default true.
   */
  loadIfCold?: boolean;
  /**
   * With `loadIfCold: false`: use a config held past its refresh time instead of answering
   * "cold". The gateway asks for it only after a reload from Postgres failed.
   */
  allowStale?: boolean;
  /**
   * Lease mode: besides the call, lease these units and requests to the caller (a gateway's
   * isolate or process) for it to admit later calls from without a round trip. Granted only
   * to a call admitted outright, for a tenant in lease mode, on a route without a
   * calls-in-flight cap; else ignored. See LeaseAsk.
   */
  lease?: LeaseAsk;
}

/** A lease asked for with a check (docs/architecture.md, "Token leases"). */
export interface LeaseAsk {
  /**
   * The lease's id, chosen by the holder (newLeaseId()): a holder whose check failed can close
   * a lease granted to it whose grant it never heard. An id already held is granted nothing.
   */
  id: string;
  /** Units asked for, beyond the checked call's own; whole, 0 to MAX_CALL_UNITS. */
  units: number;
  /** Calls asked for, beyond the checked call; whole, 0 to MAX_LEASE_REQUESTS. */
  requests: number;
}

/** Units and calls taken from a tenant's buckets and daily quota for one holder to admit from. */
export interface Lease {
  id: string;
  /** Units the holder may admit calls from, at most what it asked for. */
  units: number;
  /** Calls it may admit, at most what it asked for. */
  requests: number;
  /** The units of a call that names no cost: the tenant's route cost, as a check resolves it. */
  routeCost: number;
  /** How long, from when it sent the check, the holder may admit from the lease (LEASE_TERM_MS). */
  termMs: number;
  /**
   * How long the authority holds the lease (the term, then the reservation TTL for the
   * reserved calls it admitted to be settled): past it, the lease is recorded at what it
   * still holds, and a report of it is answered "unknown".
   */
  holdMs: number;
}

/** One call a holder admitted from a lease, as its usage event will say. */
export interface LeasedCall {
  units: number;
  /** When the call was admitted, ms since the epoch. */
  occurredAt: number;
  metadata?: UsageMetadata;
  usage?: UsageDimensions;
}

/** What a holder tells the authority about one lease: the calls it admitted, and what it gives back. */
export interface LeaseReport {
  leaseId: string;
  /**
   * 1 for the lease's first report, one more for each after it: a report the authority has
   * already applied (one retried after a timeout) is answered "duplicate" and applied once.
   */
  seq: number;
  /** Calls admitted from the lease since the last report: each becomes a usage event. */
  calls: LeasedCall[];
  /** Units and calls the holder will not admit from the lease, back to the buckets now. */
  giveBack?: { units: number; requests: number };
  /**
   * Every call the lease admitted is in this report or an earlier one: whatever the lease
   * still holds goes back to the buckets, and the lease is gone.
   */
  close?: boolean;
}

export type LeaseReportResult =
  | { status: "reported" }
  | { status: "duplicate" }
  /**
   * No such lease is held: it was closed, or it went unclosed until its hold ran out and what
   * it still held was recorded as one usage event at that estimate, as an unsettled
   * reservation is. The report changes nothing.
   */
  | { status: "unknown" };

/** Usage a tenant reports after the fact (a finished job). */
export interface RecordRequest {
  keyHash?: string;
  /** The caller's key for this report: the same key is recorded once. */
  idempotencyKey: string;
  units: number;
  route: string;
  /** When the usage happened, ms since the epoch. */
  occurredAt: number;
  metadata?: UsageMetadata;
  /** The model the usage was for. Default: `metadata.model`, else none. */
  model?: string | null;
  /** Every input token, cached ones included. Default 0. */
  inputTokens?: number;
  /** Output tokens, reasoning included. Default 0. */
  outputTokens?: number;
  /** The part of inputTokens served from a cache; at most inputTokens. Default 0. */
  cachedInputTokens?: number;
}

export type RecordResult =
  | { status: "recorded"; eventId: string; decision: Decision }
  | { status: "duplicate"; eventId: string }
  | { status: "limited"; decision: Decision }
  | { status: "unauthenticated" }
  | { status: "suspended" };

/** What a limiter answers a check: what crosses a Durable Object's RPC. */
export type CheckAnswer =
  | { status: "ok"; decision: Decision; reservation?: { id: string; expiresAt: number }; lease?: Lease }
  | { status: "unauthenticated" }
  | { status: "suspended" }
  | { status: "late" }
  /** Only with `loadIfCold: false`: the tenant's config is not here yet; nothing was consumed. */
  | { status: "cold" };

/**
 * What a store answers a check: a limiter's answer, and from a lease holder in detached mode
 * (lease-holder.ts), the work the call started, which must be let finish after the response
 * (a Worker's waitUntil).
 */
export type CheckResult = Exclude<CheckAnswer, { status: "ok" }> | (CheckOk & { background?: Promise<void> });
type CheckOk = Extract<CheckAnswer, { status: "ok" }>;

export type SettleResult =
  | { status: "settled"; units: number }
  | { status: "expired" }
  | { status: "unknown" }
  /**
   * Only from a store whose settles are coalesced in detached mode (Workers): the settle
   * joined a batch another request flushes, which reports its outcome. No backend answers it.
   */
  | { status: "queued" };

/** One settle of a batch: `settle`'s arguments after the tenant id. */
export interface SettleItem {
  reservationId: string;
  units: number;
  metadata?: UsageMetadata;
  usage?: UsageDimensions;
}

export interface LimitsReport extends LimitsFigures {
  tenantId: string;
  shadow: boolean;
}

export type LimitsResult =
  | { status: "ok"; limits: LimitsReport }
  | { status: "unauthenticated" }
  | { status: "suspended" };

export interface LimiterStore {
  check(tenantId: string, request: CheckRequest): Promise<CheckResult>;
  /**
   * Settles a reservation to the units used, and records the usage with its breakdown
   * (`usage`: the model, the tokens, whether the units are an estimate). A reservation past
   * its expiry is recorded at its estimate instead, marked `estimated`, with no tokens.
   */
  settle(
    tenantId: string,
    reservationId: string,
    units: number,
    metadata?: UsageMetadata,
    usage?: UsageDimensions,
  ): Promise<SettleResult>;
  /**
   * Settles several reservations of one tenant in one round trip: one result per item, in
   * order, each what `settle` would have answered had the items been settled one after
   * another. A duplicate id answers "unknown" the second time. An item that fails
   * validation fails the whole batch before any of it is applied. Optional: a store
   * without it is settled one call per item (see settle-coalescer.ts).
   */
  settleMany?(tenantId: string, items: SettleItem[]): Promise<SettleResult[]>;
  /**
   * Reports the calls a holder admitted from a lease, and gives back what it did not use.
   * Only a store that grants leases has it.
   */
  reportLease?(tenantId: string, report: LeaseReport): Promise<LeaseReportResult>;
  /** Records reported usage against the daily quota, once per idempotency key. */
  record(tenantId: string, request: RecordRequest): Promise<RecordResult>;
  limits(tenantId: string, request: { keyHash?: string; routes: string[] }): Promise<LimitsResult>;
  /** Replaces the limiter's copy of the tenant's config and keys. */
  apply(snapshot: TenantSnapshot): Promise<void>;
  /**
   * Loads the tenant's config and keys from Postgres into the limiter (or remembers that
   * there is no such tenant). A store without it loads inside `check`.
   */
  load?(tenantId: string): Promise<void>;
}

/** The store could not be reached or did not answer in time. Never means "limited". */
export class LimiterUnavailableError extends Error {
  override name = "LimiterUnavailableError";
}

/**
 * The limiter answered, but the tenant's config could not be loaded from Postgres in time,
 * so its key cannot be verified. Unlike an unreachable limiter, this never lets a call
 * through, whatever LIMITER_FAILURE_MODE says: a flood of fresh tenants, or a slow
 * Postgres, must not turn into unverified traffic.
 */
export class TenantLoadError extends LimiterUnavailableError {
  override name = "TenantLoadError";
}
