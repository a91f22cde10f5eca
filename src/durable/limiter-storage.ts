// The TenantLimiter's SQLite tables, and reads and writes of its state.

import type { Reservation as HeldUnits, LimiterState } from "../core/limiter";
import type { TenantSnapshot } from "../core/limiter-store";

export interface Reservation extends HeldUnits {
  id: string;
  expiresAt: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
-- Limiter counters, one row each: "b:<route>" is a bucket (a = ticks, b = updated at, ms);
-- "daily" is the daily quota (a = units used, s = the day they were used on).
CREATE TABLE IF NOT EXISTS counters (k TEXT PRIMARY KEY, a INTEGER NOT NULL, b INTEGER NOT NULL, s TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reservations (
  id TEXT PRIMARY KEY, route TEXT NOT NULL, units INTEGER NOT NULL, bucket_ticks INTEGER NOT NULL,
  day TEXT NOT NULL, expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS reservations_expiry ON reservations (expires_at);
`;

/**
 * Typed access to one limiter's SQLite storage. Every method is synchronous.
 *
 * The tables are created on the first write, not on construction: an object addressed
 * with a made-up tenant id reads nothing, writes nothing, and so leaves no storage behind.
 */
export class LimiterStorage {
  private created: boolean;

  constructor(private readonly sql: SqlStorage) {
    this.created = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").toArray().length > 0;
  }

  private ensureSchema(): void {
    if (this.created) return;
    this.sql.exec(SCHEMA);
    this.created = true;
  }

  readSnapshot(): { snapshot: TenantSnapshot; loadedAt: number } | null {
    if (!this.created) return null;
    const row = this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'snapshot'").toArray()[0];
    return row ? (JSON.parse(row.v) as { snapshot: TenantSnapshot; loadedAt: number }) : null;
  }

  writeSnapshot(snapshot: TenantSnapshot, loadedAt: number): void {
    this.ensureSchema();
    this.sql.exec(
      "INSERT INTO meta (k, v) VALUES ('snapshot', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
      JSON.stringify({ snapshot, loadedAt }),
    );
  }

  /** Forgets the tenant entirely: its snapshot, counters and reservations. */
  deleteAll(): void {
    if (!this.created) return;
    this.sql.exec("DELETE FROM meta; DELETE FROM counters; DELETE FROM reservations;");
  }

  readState(): LimiterState {
    const state: LimiterState = { buckets: {}, daily: undefined };
    if (!this.created) return state;
    for (const row of this.sql.exec<{ k: string; a: number; b: number; s: string }>(
      "SELECT k, a, b, s FROM counters",
    )) {
      if (row.k === "daily") state.daily = { day: row.s, used: row.a };
      else if (row.k.startsWith("b:")) state.buckets[row.k.slice(2)] = { ticks: row.a, at: row.b };
    }
    return state;
  }

  /**
   * Writes what changed between two states (the touched bucket rows and the daily row) in
   * one statement: this runs on every admitted call, inside the tenant's serialization point.
   */
  writeState(before: LimiterState, after: LimiterState): void {
    const rows: (string | number)[][] = [];
    for (const [route, b] of Object.entries(after.buckets)) {
      if (b && b !== before.buckets[route]) rows.push([`b:${route}`, b.ticks, b.at, ""]);
    }
    if (after.daily && after.daily !== before.daily) rows.push(["daily", after.daily.used, 0, after.daily.day]);
    if (rows.length === 0) return;
    this.ensureSchema();
    this.sql.exec(
      `INSERT INTO counters (k, a, b, s) VALUES ${rows.map(() => "(?, ?, ?, ?)").join(", ")}
       ON CONFLICT (k) DO UPDATE SET a = excluded.a, b = excluded.b, s = excluded.s`,
      ...rows.flat(),
    );
  }

  insertReservation(r: Reservation): void {
    this.ensureSchema();
    this.sql.exec(
      "INSERT INTO reservations (id, route, units, bucket_ticks, day, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
      r.id,
      r.route,
      r.units,
      r.bucketTicks,
      r.day,
      r.expiresAt,
    );
  }

  takeReservation(id: string): Reservation | null {
    if (!this.created) return null;
    const row = this.sql
      .exec<{ id: string; route: string; units: number; bucket_ticks: number; day: string; expires_at: number }>(
        "DELETE FROM reservations WHERE id = ? RETURNING id, route, units, bucket_ticks, day, expires_at",
        id,
      )
      .toArray()[0];
    if (!row) return null;
    return {
      id: row.id,
      route: row.route,
      units: row.units,
      bucketTicks: row.bucket_ticks,
      day: row.day,
      expiresAt: row.expires_at,
    };
  }

  /** Drops reservations that expired; they keep their estimate, so nothing else changes. */
  deleteExpiredReservations(now: number): void {
    if (this.created) this.sql.exec("DELETE FROM reservations WHERE expires_at <= ?", now);
  }
}
