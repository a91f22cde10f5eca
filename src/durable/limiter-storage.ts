// The TenantLimiter's SQLite tables, and reads and writes of its state.

import type { LimiterState } from "../core/limiter";
import type { TenantSnapshot } from "../core/limiter-store";
import type { BucketState } from "../core/token-bucket";

export interface Reservation {
  id: string;
  route: string;
  units: number;
  day: string;
  expiresAt: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS buckets (route TEXT PRIMARY KEY, ticks INTEGER NOT NULL, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS daily (id INTEGER PRIMARY KEY CHECK (id = 1), day TEXT NOT NULL, used INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS reservations (
  id TEXT PRIMARY KEY, route TEXT NOT NULL, units INTEGER NOT NULL, day TEXT NOT NULL, expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS reservations_expiry ON reservations (expires_at);
`;

/** Typed access to one limiter's SQLite storage. Every method is synchronous. */
export class LimiterStorage {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(SCHEMA);
  }

  readSnapshot(): { snapshot: TenantSnapshot; loadedAt: number } | null {
    const row = this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'snapshot'").toArray()[0];
    return row ? (JSON.parse(row.v) as { snapshot: TenantSnapshot; loadedAt: number }) : null;
  }

  writeSnapshot(snapshot: TenantSnapshot, loadedAt: number): void {
    this.sql.exec(
      "INSERT INTO meta (k, v) VALUES ('snapshot', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
      JSON.stringify({ snapshot, loadedAt }),
    );
  }

  readState(): LimiterState {
    const buckets: Record<string, BucketState> = {};
    for (const b of this.sql.exec<{ route: string; ticks: number; at: number }>(
      "SELECT route, ticks, at FROM buckets",
    )) {
      buckets[b.route] = { ticks: b.ticks, at: b.at };
    }
    const d = this.sql.exec<{ day: string; used: number }>("SELECT day, used FROM daily WHERE id = 1").toArray()[0];
    return { buckets, daily: d ? { day: d.day, used: d.used } : undefined };
  }

  /** Writes what changed between two states: the touched bucket rows and the daily row. */
  writeState(before: LimiterState, after: LimiterState): void {
    for (const [route, b] of Object.entries(after.buckets)) {
      if (!b || b === before.buckets[route]) continue;
      this.sql.exec(
        "INSERT INTO buckets (route, ticks, at) VALUES (?, ?, ?) ON CONFLICT (route) DO UPDATE SET ticks = excluded.ticks, at = excluded.at",
        route,
        b.ticks,
        b.at,
      );
    }
    if (after.daily && after.daily !== before.daily) {
      this.sql.exec(
        "INSERT INTO daily (id, day, used) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET day = excluded.day, used = excluded.used",
        after.daily.day,
        after.daily.used,
      );
    }
  }

  insertReservation(r: Reservation): void {
    this.sql.exec(
      "INSERT INTO reservations (id, route, units, day, expires_at) VALUES (?, ?, ?, ?, ?)",
      r.id,
      r.route,
      r.units,
      r.day,
      r.expiresAt,
    );
  }

  takeReservation(id: string): Reservation | null {
    const row = this.sql
      .exec<{ id: string; route: string; units: number; day: string; expires_at: number }>(
        "DELETE FROM reservations WHERE id = ? RETURNING id, route, units, day, expires_at",
        id,
      )
      .toArray()[0];
    return row ? { id: row.id, route: row.route, units: row.units, day: row.day, expiresAt: row.expires_at } : null;
  }

  /** Drops reservations that expired; they keep their estimate, so nothing else changes. */
  deleteExpiredReservations(now: number): void {
    this.sql.exec("DELETE FROM reservations WHERE expires_at <= ?", now);
  }
}
