// The sweep of reservations that expired unsettled, over every registered tenant: for
// tenants that make no further calls (a call sweeps its own tenant). The self-hosted server
// runs it every few seconds; on Workers the Cron Trigger runs it before billing.

import { DEFAULT_PREFIX, registryKey } from "./keys";
import type { RedisCommands } from "./lua-script";
import type { RedisLimiterStore } from "./redis-limiter-store";

/** Tenants swept at once: their scripts are pipelined on the one connection. */
const SWEEP_CONCURRENCY = 64;

export interface SweepOptions {
  /** Key prefix, as the store's. Default "aegis". */
  prefix?: string;
  /** Asked before each group of tenants: false ends the sweep (a shutdown, a spent time budget). */
  keepGoing(): boolean;
  /** Start at a random tenant, so a sweep that keeps running out of time does not always spare the same ones. */
  randomStart?: boolean;
}

/**
 * Records every registered tenant's expired reservations at their estimate, with `store`
 * (on `redis`, the connection the registry is read from). Returns how many it recorded.
 */
export async function sweepAllTenants(
  store: Pick<RedisLimiterStore, "sweepExpired">,
  redis: RedisCommands,
  options: SweepOptions,
): Promise<number> {
  const members = await redis.send(["SMEMBERS", registryKey(options.prefix ?? DEFAULT_PREFIX)]);
  const tenants = Array.isArray(members) ? members.map(String) : [];
  const from = options.randomStart ? Math.floor(Math.random() * tenants.length) : 0;
  const order = [...tenants.slice(from), ...tenants.slice(0, from)];
  let swept = 0;
  for (let i = 0; i < order.length && options.keepGoing(); i += SWEEP_CONCURRENCY) {
    const counts = await Promise.all(order.slice(i, i + SWEEP_CONCURRENCY).map((t) => store.sweepExpired(t)));
    swept += counts.reduce((a, b) => a + b, 0);
  }
  return swept;
}
