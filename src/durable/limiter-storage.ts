// The TenantLimiter's SQLite tables, and reads and writes of its state.

import type { HeldLease } from "../core/lease-grant";
import type { LimiterState } from "../core/limiter";
import type { TenantSnapshot } from "../core/limiter-store";
import type { QuotaAlert } from "../core/quota-alerts";
import type { UsageEvent } from "../core/usage-event";
import {
  chunksOf,
  type LeaseRow,
  leaseOf,
  MIGRATIONS,
  OUTBOX_CHUNK_CHARS,
  type Reservation,
  type ReservationRow,
  reservationOf,
} from "./limiter-schema";

export type { Reservation } from "./limiter-schema";

export type OutboxRow = { seq: number; event: UsageEvent } | { seq: number; alert: QuotaAlert };

/**
 * Typed access to one limiter's SQLite storage. Every method is synchronous.
 *
 * The tables are created on the first write, not on construction: an object addressed
 * with a made-up tenant id reads nothing, writes nothing, and so leaves no storage behind.
 */
export class LimiterStorage {
  private version: number;

  constructor(private readonly sql: SqlStorage) {
    const created = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").toArray().length > 0;
    const row = created ? sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'schema'").toArray()[0] : undefined;
    // Storage from before versions were recorded is version 1.
    this.version = created ? Number(row?.v ?? 1) : 0;
    if (created) this.ensureSchema();
  }

  private ensureSchema(): void {
    if (this.version >= MIGRATIONS.length) return;
    for (const migration of MIGRATIONS.slice(this.version)) this.sql.exec(migration);
    this.version = MIGRATIONS.length;
    this.sql.exec(
      "INSERT INTO meta (k, v) VALUES ('schema', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
      String(this.version),
    );
  }

  private get created(): boolean {
    return this.version > 0;
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

  /**
   * Forgets the tenant's config and limits. Unsent usage events stay: the usage happened
   * and must still be billed (the caller records held reservations first).
   */
  deleteTenant(): void {
    if (!this.created) return;
    this.sql.exec("DELETE FROM meta WHERE k = 'snapshot'; DELETE FROM counters; DELETE FROM idempotency;");
  }

  readState(): LimiterState {
    const state: LimiterState = { buckets: {}, daily: undefined };
    if (!this.created) return state;
    for (const row of this.sql.exec<{ k: string; a: number; b: number; s: string }>(
      "SELECT k, a, b, s FROM counters",
    )) {
      // The daily row's b is the highest quota alert threshold fired that day (basis points).
      if (row.k === "daily") state.daily = { day: row.s, used: row.a, ...(row.b > 0 ? { alerted: row.b } : {}) };
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
    if (after.daily && after.daily !== before.daily) {
      rows.push(["daily", after.daily.used, after.daily.alerted ?? 0, after.daily.day]);
    }
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
      `INSERT INTO reservations (id, route, units, bucket_ticks, day, expires_at, reserved_at, metadata, model,
         key_hash, key_ticks)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      r.id,
      r.route,
      r.units,
      r.bucketTicks,
      r.day,
      r.expiresAt,
      r.reservedAt,
      r.metadata ? JSON.stringify(r.metadata) : null,
      r.model ?? null,
      r.keyHash ?? null,
      r.keyTicks ?? 0,
    );
  }

  /**
   * Reservations held and not yet expired at `now`: the calls in flight, the tenant's and
   * `route`'s. An expired one no longer holds its slot, whether or not the alarm has run.
   */
  inFlight(now: number, route: string): { tenant: number; route: number } {
    if (!this.created) return { tenant: 0, route: 0 };
    const row = this.sql
      .exec<{ tenant: number; route: number | null }>(
        "SELECT count(*) AS tenant, sum(route = ?) AS route FROM reservations WHERE expires_at > ?",
        route,
        now,
      )
      .one();
    return { tenant: row.tenant, route: row.route ?? 0 };
  }

  /** The calls in flight at `now`, the tenant's and per route. */
  inFlightByRoute(now: number): { tenant: number; routes: Record<string, number> } {
    const routes: Record<string, number> = {};
    let tenant = 0;
    if (!this.created) return { tenant, routes };
    for (const row of this.sql.exec<{ route: string; n: number }>(
      "SELECT route, count(*) AS n FROM reservations WHERE expires_at > ? GROUP BY route",
      now,
    )) {
      routes[row.route] = row.n;
      tenant += row.n;
    }
    return { tenant, routes };
  }

  /** Removes the reservations held under `ids`, in one statement, and returns them by id. */
  takeReservations(ids: readonly string[]): Map<string, Reservation> {
    if (!this.created || ids.length === 0) return new Map();
    const rows = this.sql
      .exec<ReservationRow>(
        "DELETE FROM reservations WHERE id IN (SELECT value FROM json_each(?)) RETURNING *",
        JSON.stringify(ids),
      )
      .toArray();
    return new Map(rows.map((row) => [row.id, reservationOf(row)]));
  }

  /** Removes and returns the reservations that expired by `now`. */
  takeExpiredReservations(now: number): Reservation[] {
    if (!this.created) return [];
    return this.sql
      .exec<ReservationRow>("DELETE FROM reservations WHERE expires_at <= ? RETURNING *", now)
      .toArray()
      .map(reservationOf);
  }

  /** When the next reservation expires or lease's hold runs out, or null if none is held. */
  nextExpiry(): number | null {
    if (!this.created) return null;
    return this.sql
      .exec<{ at: number | null }>(
        `SELECT min(at) AS at FROM
           (SELECT min(expires_at) AS at FROM reservations UNION ALL SELECT min(hold_until) FROM leases)`,
      )
      .one().at;
  }

  insertLease(l: HeldLease): void {
    this.ensureSchema();
    this.sql.exec(
      `INSERT INTO leases (id, route, key_hash, units, requests, day, granted_at, hold_until, seq)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      l.id,
      l.route,
      l.keyHash ?? null,
      l.units,
      l.requests,
      l.day,
      l.grantedAt,
      l.holdUntil,
      l.seq,
    );
  }

  lease(id: string): HeldLease | null {
    if (!this.created) return null;
    const row = this.sql.exec<LeaseRow>("SELECT * FROM leases WHERE id = ?", id).toArray()[0];
    return row ? leaseOf(row) : null;
  }

  /** Keeps what a report left the lease holding, or forgets it (null: the report closed it). */
  updateLease(id: string, after: HeldLease | null): void {
    if (!after) return void this.sql.exec("DELETE FROM leases WHERE id = ?", id);
    this.sql.exec(
      "UPDATE leases SET units = ?, requests = ?, seq = ? WHERE id = ?",
      after.units,
      after.requests,
      after.seq,
      id,
    );
  }

  /** Removes and returns the leases whose hold ran out by `now`. */
  takeExpiredLeases(now: number): HeldLease[] {
    if (!this.created) return [];
    return this.sql.exec<LeaseRow>("DELETE FROM leases WHERE hold_until <= ? RETURNING *", now).toArray().map(leaseOf);
  }

  appendEvent(event: UsageEvent): void {
    this.appendOutbox([JSON.stringify(event)]);
  }

  /**
   * Appends events and alerts (as JSON) in their order, in one statement whatever their number.
   * A quota alert rides the outbox with the events, as {"alert": ...}: no usage event has that field.
   */
  appendOutbox(rows: readonly string[]): void {
    if (rows.length === 0) return;
    this.ensureSchema();
    if (rows.length === 1) return void this.sql.exec("INSERT INTO outbox (event) VALUES (?)", rows[0]);
    for (const chunk of chunksOf(rows, OUTBOX_CHUNK_CHARS)) {
      this.sql.exec("INSERT INTO outbox (event) SELECT value FROM json_each(?) ORDER BY key", JSON.stringify(chunk));
    }
  }

  /** The oldest unsent events and alerts, in order, with their sequence numbers. */
  readOutbox(limit: number): OutboxRow[] {
    if (!this.created) return [];
    return this.sql
      .exec<{ seq: number; event: string }>("SELECT seq, event FROM outbox ORDER BY seq LIMIT ?", limit)
      .toArray()
      .map((r) => {
        const item = JSON.parse(r.event) as UsageEvent | { alert: QuotaAlert };
        return "alert" in item ? { seq: r.seq, alert: item.alert } : { seq: r.seq, event: item };
      });
  }

  /** Deletes the events up to and including `seq`, once the queue has them. */
  deleteOutboxThrough(seq: number): void {
    this.sql.exec("DELETE FROM outbox WHERE seq <= ?", seq);
  }

  outboxSize(): number {
    if (!this.created) return 0;
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n;
  }

  /** The event id recorded for an idempotency key, if the key has been seen. */
  idempotentEvent(key: string): string | null {
    if (!this.created) return null;
    return (
      this.sql.exec<{ event_id: string }>("SELECT event_id FROM idempotency WHERE key = ?", key).toArray()[0]
        ?.event_id ?? null
    );
  }

  rememberIdempotencyKey(key: string, eventId: string, at: number): void {
    this.ensureSchema();
    this.sql.exec("INSERT INTO idempotency (key, event_id, at) VALUES (?, ?, ?)", key, eventId, at);
  }

  forgetIdempotencyKeysBefore(at: number): void {
    if (this.created) this.sql.exec("DELETE FROM idempotency WHERE at < ?", at);
  }
}
