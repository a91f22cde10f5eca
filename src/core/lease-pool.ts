// Token leases, the holder's side: the tokens an isolate or a process holds for one tenant
// (and key and route), admitted from without a round trip while the lease lasts.
//
// Synchronous and shared by every request of the isolate: it holds numbers, never a promise,
// because on Workers a request may not wait for I/O another request started. So a call that
// finds the pool empty or expired renews it itself (one round trip, which gives back what is
// left and asks for the next lease); several may renew at once, and each grant joins the pool.

import { LEASE_TERM_MS } from "./lease";

/** What a renewal sends the authority: the tokens given back, and the lease asked for. */
export interface LeaseRenewal {
  /** Unused tokens of the pool, taken out of it: the authority puts them back in the bucket. */
  giveBack: number;
  /** Tokens asked for, the calling call's cost included. */
  want: number;
  /** The calling call's cost: a grant below it admits nothing. */
  min: number;
}

export interface LeasePoolOptions {
  /** Default LEASE_TERM_MS. */
  termMs?: number;
  /** Most tokens one renewal asks for, whatever the demand. Default: no cap but the bucket's. */
  maxWant?: number;
}

export class LeasePool {
  private left = 0;
  private expiresAt = 0;
  /** Tokens admitted in the current and the previous term: the demand a renewal sizes to. */
  private used = 0;
  private usedBefore = 0;
  private termStart = 0;
  private readonly termMs: number;
  private readonly maxWant: number;

  constructor(options: LeasePoolOptions = {}) {
    this.termMs = options.termMs ?? LEASE_TERM_MS;
    this.maxWant = options.maxWant ?? Number.MAX_SAFE_INTEGER;
  }

  /** Admits a call of `cost` from the pool, if the lease is live and holds enough. */
  take(cost: number, now: number): boolean {
    if (now >= this.expiresAt || cost > this.left) return false;
    this.left -= cost;
    this.count(cost, now);
    return true;
  }

  /**
   * Starts a renewal for a call of `cost` the pool could not admit: takes what is left out
   * of the pool (to give back) and asks for about one term of this holder's demand.
   */
  renewal(cost: number, now: number): LeaseRenewal {
    const giveBack = this.left;
    this.left = 0;
    this.roll(now);
    const demand = Math.max(this.used, this.usedBefore);
    return { giveBack, want: Math.max(cost, Math.min(this.maxWant, demand + cost)), min: cost };
  }

  /**
   * A renewal's grant, of which the renewing call takes `cost` when admitted (granted >= cost).
   * `sentAt` is when that renewal was sent: the term runs from then, not from the answer, so a
   * renewal answered late cannot stretch what the pool admits past a term after the authority
   * last looked at the tenant (a revocation or a quota change made since).
   */
  granted(granted: number, cost: number, sentAt: number): boolean {
    if (granted < cost || granted === 0) return false;
    this.left += granted - cost;
    this.expiresAt = Math.max(this.expiresAt, sentAt + this.termMs);
    this.count(cost, sentAt);
    return true;
  }

  /** Tokens in the pool now, expired or not (they are the authority's until given back). */
  held(): number {
    return this.left;
  }

  private count(cost: number, now: number): void {
    this.roll(now);
    this.used += cost;
  }

  private roll(now: number): void {
    if (now - this.termStart < this.termMs) return;
    // Over two terms since the last call: that demand is stale.
    this.usedBefore = now - this.termStart < 2 * this.termMs ? this.used : 0;
    this.used = 0;
    this.termStart = now;
  }
}
