// Token leases: how much a holder asks for. A scope (tenant, key, route) is counted over the
// current and the previous term; a lease is asked for once the scope made LEASE_MIN_CALLS
// calls in one of them, and sized to about a term of its demand, so that a quiet key stays
// in exact mode and a hot one renews about once a term.
//
// Once the current term has LEASE_MIN_CALLS calls, its demand is its rate so far, over at
// least DEMAND_SAMPLE_MS, times the term: traffic that starts hot reaches a lease sized to it
// in a few renewals (each up to four times the last), not in one per doubling, each of whose
// round trips sends the calls made meanwhile to the authority one by one. The bound keeps a
// short burst from taking much more than it used, which another holder would then miss.

import { LEASE_TERM_MS } from "./lease";
import { MAX_LEASE_REQUESTS } from "./lease-grant";
import type { LeaseAsk } from "./limiter-store";
import { MAX_CALL_UNITS } from "./limits";

/** Calls a scope must make in one term before its checks ask for a lease. */
export const LEASE_MIN_CALLS = 4;
/**
 * The shortest stretch of a term a rate is taken over. A scope's first LEASE_MIN_CALLS calls
 * in a term, however close together, ask for LEASE_TERM_MS / DEMAND_SAMPLE_MS times as many
 * (16).
 */
const DEMAND_SAMPLE_MS = 250;
/** Scopes counted at once; past it, the counts start over (a flood of keys cannot grow it). */
const DEMAND_SCOPES = 10_000;

interface Demand {
  termStart: number;
  /** An admitted call's ask got no lease: none is asked for before this. */
  declinedUntil: number;
  units: number;
  calls: number;
  unitsBefore: number;
  callsBefore: number;
}

export function leaseDemand() {
  const scopes = new Map<string, Demand>();
  return {
    /** Counts a call of `cost` units to the scope at `at`. */
    count(scope: string, cost: number, at: number): void {
      let d = scopes.get(scope);
      if (!d) {
        if (scopes.size >= DEMAND_SCOPES) scopes.clear();
        d = { termStart: at, declinedUntil: 0, units: 0, calls: 0, unitsBefore: 0, callsBefore: 0 };
        scopes.set(scope, d);
      }
      if (at - d.termStart >= LEASE_TERM_MS) {
        // Over two terms since the term began: that demand is stale.
        const recent = at - d.termStart < 2 * LEASE_TERM_MS;
        d.unitsBefore = recent ? d.units : 0;
        d.callsBefore = recent ? d.calls : 0;
        d.units = 0;
        d.calls = 0;
        d.termStart = at;
      }
      d.units += cost;
      d.calls += 1;
    },

    /**
     * Adds units a call used beyond what it was counted at (a reserved call settled above its
     * estimate), so that the next lease is sized to what calls use, not to their estimates.
     */
    add(scope: string, units: number): void {
      const d = scopes.get(scope);
      if (d && units > 0) d.units += units;
    },

    /**
     * An admitted call that asked for a lease got none: the tenant is in exact mode, or the
     * route or the moment allows none (docs/architecture.md). Its calls ask again a term
     * later, so that an exact tenant's busy key costs the authority one ask a term, not one
     * a call, and one switched to lease mode is leased within a term.
     */
    decline(scope: string, at: number): void {
      const d = scopes.get(scope);
      if (d) d.declinedUntil = at + LEASE_TERM_MS;
    },

    /**
     * About one term of the scope's demand at `at`, to lease beyond the asking call: the
     * previous term's, or the current term's rate so far, whichever is more. Nothing for a
     * quiet scope.
     */
    ask(scope: string, at: number): Omit<LeaseAsk, "id"> | undefined {
      const d = scopes.get(scope);
      if (!d || at < d.declinedUntil || Math.max(d.calls, d.callsBefore) < LEASE_MIN_CALLS) return undefined;
      // A term's first few calls say little of its rate: the last term's demand stands.
      const toTerm = d.calls < LEASE_MIN_CALLS ? 1 : LEASE_TERM_MS / Math.max(DEMAND_SAMPLE_MS, at - d.termStart);
      return {
        units: Math.min(MAX_CALL_UNITS, Math.max(Math.ceil(d.units * toTerm), d.unitsBefore)),
        requests: Math.min(MAX_LEASE_REQUESTS, Math.max(Math.ceil(d.calls * toTerm), d.callsBefore)),
      };
    },
  };
}

/**
 * A scope's name, the same string for every call of one tenant, key and route: the holder's
 * maps are looked up by it several times a call, and a string built anew each call is copied
 * flat and hashed for the first (about a sixth of a leased call's CPU in bench:redis's leased
 * row, by the profile); a string seen before has its hash. Bounded as the demand is.
 */
export function scopeNames(): (tenantId: string, keyHash: string, route: string) => string {
  const byTenant = new Map<string, Map<string, Map<string, string>>>();
  let named = 0;
  return (tenantId, keyHash, route) => {
    if (named >= DEMAND_SCOPES) {
      byTenant.clear();
      named = 0;
    }
    let byKey = byTenant.get(tenantId);
    if (!byKey) {
      byKey = new Map();
      byTenant.set(tenantId, byKey);
    }
    let byRoute = byKey.get(keyHash);
    if (!byRoute) {
      byRoute = new Map();
      byKey.set(keyHash, byRoute);
    }
    let scope = byRoute.get(route);
    if (scope === undefined) {
      scope = `${tenantId}\u0000${keyHash}\u0000${route}`;
      byRoute.set(route, scope);
      named++;
    }
    return scope;
  };
}
