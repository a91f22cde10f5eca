// The TenantLimiter's copy of its tenant's config and keys (the snapshot): kept in storage so
// that it survives eviction, loaded from Postgres once however many calls wait for it,
// reloaded in the background behind the admin API's pushes, and forgotten when the tenant is
// no longer in Postgres. It also answers the key check every call starts with.

import { describeError } from "../core/errors";
import { MISSING_TENANT_TTL_MS, UNKNOWN_KEY_REFRESH_MS } from "../core/limiter-rules";
import type { LoadTenantSnapshot, TenantSnapshot } from "../core/limiter-store";
import { log } from "../core/log";
import { hashIn } from "../core/secrets";
import type { Authorized } from "./limiter-env";
import type { LimiterStorage } from "./limiter-storage";

export interface TenantSnapshotDeps {
  storage: LimiterStorage;
  /** Null when no database is configured: a cold tenant cannot be loaded, and nothing refreshes. */
  source: LoadTenantSnapshot | null;
  /** The object's name, for logs; and the tenant id, which throws when the object has no name. */
  name: string | undefined;
  tenantId: () => string;
  /** The limiter's clock, read at each use (tests replace it). */
  clock: () => number;
  /** How old a snapshot may grow before a call reloads it (CONFIG_REFRESH_SECONDS). */
  refreshMs: number;
  /**
   * The tenant is gone from Postgres and its snapshot was just dropped: the object lets go of
   * its limits, in the same synchronous block.
   */
  onForget: () => void;
}

export class HeldSnapshot {
  /** The snapshot held; null before a load, and once the tenant is forgotten. */
  snapshot: TenantSnapshot | null = null;
  /** The load in flight, if any: every call waiting for the tenant waits for this one. */
  loading: Promise<TenantSnapshot | null> | null = null;
  private loadedAt = 0;
  private missingUntil = 0;

  constructor(private readonly deps: TenantSnapshotDeps) {
    const saved = deps.storage.readSnapshot();
    if (saved) ({ snapshot: this.snapshot, loadedAt: this.loadedAt } = saved);
  }

  /** Whether a recent load found no such tenant: it is refused without asking Postgres again. */
  knownMissing(): boolean {
    return this.deps.clock() < this.missingUntil;
  }

  /** Replaces the snapshot, unless the one held is newer. */
  adopt(snapshot: TenantSnapshot): void {
    if (this.snapshot && this.snapshot.version > snapshot.version) return;
    this.snapshot = snapshot;
    this.loadedAt = this.deps.clock();
    this.missingUntil = 0;
    this.deps.storage.writeSnapshot(snapshot, this.loadedAt);
  }

  authorize(snapshot: TenantSnapshot | null, keyHash: string | undefined): Authorized {
    if (!snapshot) return { denied: { status: "unauthenticated" } };
    const known = keyHash === undefined || hashIn(keyHash, snapshot.keyHashes);
    // Behind the pushes, a snapshot reloads when it is old; and sooner when it has just
    // turned away a key it does not know, which may be a new key whose push was lost.
    this.refreshIfOlderThan(known ? this.deps.refreshMs : UNKNOWN_KEY_REFRESH_MS);
    if (!known) return { denied: { status: "unauthenticated" } };
    if (snapshot.status !== "active") return { denied: { status: "suspended" } };
    return { snapshot };
  }

  /** Loads the snapshot from Postgres once, however many calls are waiting for it. */
  load(): Promise<TenantSnapshot | null> {
    if (this.knownMissing()) return Promise.resolve(null);
    this.loading ??= this.fetch().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private async fetch(): Promise<TenantSnapshot | null> {
    if (!this.deps.source) {
      throw new Error("TenantLimiter: DATABASE_URL is not set, so the tenant's config cannot be loaded");
    }
    const tenantId = this.deps.tenantId();
    // The source bounds the load (LIMITER_LOAD_TIMEOUT_MS) and closes its connection.
    const loaded = await this.deps.source(tenantId);
    if (loaded) this.adopt(loaded);
    else this.forget();
    return this.snapshot;
  }

  /** The tenant is not in Postgres (never was, or was deleted): refuse it, keep no limits. */
  private forget(): void {
    this.missingUntil = this.deps.clock() + MISSING_TENANT_TTL_MS;
    if (!this.snapshot) return;
    this.snapshot = null;
    this.deps.onForget();
  }

  /** A safety net behind the admin API's pushes: reload a snapshot older than `maxAgeMs`, in the background. */
  private refreshIfOlderThan(maxAgeMs: number): void {
    if (this.loading || this.deps.clock() - this.loadedAt < maxAgeMs) return;
    if (!this.deps.source) return;
    this.load().catch((err: unknown) => {
      log.error("tenant snapshot refresh failed", { tenant: this.deps.name, error: describeError(err) });
    });
  }
}
