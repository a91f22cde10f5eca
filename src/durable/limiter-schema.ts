// The TenantLimiter's SQLite schema (its migrations), and how its rows map to values.

import type { HeldLease } from "../core/lease-grant";
import type { HeldUnits } from "../core/limiter";
import type { UsageMetadata } from "../core/usage-event";

export interface Reservation extends HeldUnits {
  id: string;
  expiresAt: number;
  /** When the call was admitted: the usage event's time. */
  reservedAt: number;
  metadata?: UsageMetadata;
  /** The check's model, for the event if the reservation is recorded at its estimate. */
  model?: string | null;
}

/**
 * Schema versions, applied in order on the first write of an object that is behind. An
 * object created before a version exists keeps its data and gains the new tables.
 */
export const MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
   -- Limiter counters, one row each: "b:<route>" is a bucket (a = ticks, b = updated at, ms);
   -- "daily" is the daily quota (a = units used, s = the day they were used on).
   CREATE TABLE IF NOT EXISTS counters (k TEXT PRIMARY KEY, a INTEGER NOT NULL, b INTEGER NOT NULL, s TEXT NOT NULL);
   CREATE TABLE IF NOT EXISTS reservations (
     id TEXT PRIMARY KEY, route TEXT NOT NULL, units INTEGER NOT NULL, bucket_ticks INTEGER NOT NULL,
     day TEXT NOT NULL, expires_at INTEGER NOT NULL
   );
   CREATE INDEX IF NOT EXISTS reservations_expiry ON reservations (expires_at);`,
  `-- Usage events waiting to be sent to the queue, written with the quota change they belong to.
   CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL);
   -- Idempotency keys of reported usage, so a retried report is neither counted nor billed twice.
   CREATE TABLE idempotency (key TEXT PRIMARY KEY, event_id TEXT NOT NULL, at INTEGER NOT NULL);
   CREATE INDEX idempotency_at ON idempotency (at);
   ALTER TABLE reservations ADD COLUMN reserved_at INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE reservations ADD COLUMN metadata TEXT;`,
  `-- The model a check named, for the usage event of a reservation that expires unsettled.
   ALTER TABLE reservations ADD COLUMN model TEXT;`,
  `-- The key whose own units bucket a reservation took from, and how many ticks, for its settle.
   ALTER TABLE reservations ADD COLUMN key_hash TEXT;
   ALTER TABLE reservations ADD COLUMN key_ticks INTEGER NOT NULL DEFAULT 0;`,
  `-- Token leases held by gateways (lease-grant.ts's HeldLease): what each still holds, until
   -- its holder closes it or its hold runs out and the alarm records it at that.
   CREATE TABLE leases (
     id TEXT PRIMARY KEY, route TEXT NOT NULL, key_hash TEXT, units INTEGER NOT NULL,
     requests INTEGER NOT NULL, day TEXT NOT NULL, granted_at INTEGER NOT NULL,
     hold_until INTEGER NOT NULL, seq INTEGER NOT NULL
   );
   CREATE INDEX leases_hold ON leases (hold_until);`,
];

export type ReservationRow = {
  id: string;
  route: string;
  units: number;
  bucket_ticks: number;
  day: string;
  expires_at: number;
  reserved_at: number;
  metadata: string | null;
  model: string | null;
  key_hash: string | null;
  key_ticks: number;
};

/**
 * Characters of event JSON per outbox insert: a SQLite value is at most 2 MB on Durable
 * Objects, and the rows, escaped once more inside the array, at most double.
 */
export const OUTBOX_CHUNK_CHARS = 256 * 1024;

/** The rows in order, in runs of at most `maxChars` characters (a longer row alone). */
export function chunksOf(rows: readonly string[], maxChars: number): string[][] {
  const chunks: string[][] = [[]];
  let size = 0;
  for (const row of rows) {
    const last = chunks[chunks.length - 1] as string[];
    if (last.length > 0 && size + row.length > maxChars) {
      chunks.push([row]);
      size = row.length;
    } else {
      last.push(row);
      size += row.length;
    }
  }
  return chunks;
}

export function reservationOf(row: ReservationRow): Reservation {
  return {
    id: row.id,
    route: row.route,
    units: row.units,
    bucketTicks: row.bucket_ticks,
    day: row.day,
    expiresAt: row.expires_at,
    reservedAt: row.reserved_at,
    ...(row.metadata ? { metadata: JSON.parse(row.metadata) as UsageMetadata } : {}),
    ...(row.model ? { model: row.model } : {}),
    ...(row.key_hash ? { keyHash: row.key_hash, keyTicks: row.key_ticks } : {}),
  };
}

export type LeaseRow = {
  id: string;
  route: string;
  key_hash: string | null;
  units: number;
  requests: number;
  day: string;
  granted_at: number;
  hold_until: number;
  seq: number;
};

export function leaseOf(row: LeaseRow): HeldLease {
  return {
    id: row.id,
    route: row.route,
    ...(row.key_hash !== null ? { keyHash: row.key_hash } : {}),
    units: row.units,
    requests: row.requests,
    day: row.day,
    grantedAt: row.granted_at,
    holdUntil: row.hold_until,
    seq: row.seq,
  };
}
