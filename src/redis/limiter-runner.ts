// The Redis limiter store's one way to run a script op: the tenant's config loaded on a
// miss, a changed zone followed, an unknown key reloaded where nothing runs in the
// background, and the answer paired with the limits it was decided with.

import { dayOf } from "../core/calendar";
import { UNKNOWN_KEY_REFRESH_MS } from "../core/limiter-rules";
import type { TenantLimits } from "../core/limits";
import { tenantKeys } from "./keys";
import { type LimiterOp, runLimiterCall } from "./limiter-call";
import { num, str, versionOf } from "./limiter-reply";
import type { RedisCommands } from "./lua-script";
import type { RedisReply } from "./resp/index";
import type { TenantConfigs } from "./tenant-config";

/** What one op of the script answered, with the limits it decided with. */
export type Ran = { reply: RedisReply[]; limits: TenantLimits; now: number };
export type Denied = { denied: { status: "unauthenticated" } | { status: "suspended" } };

/** Raised inside runOp() when a check that must not load finds the tenant cold; check() answers "cold". */
export class ColdTenant extends Error {}

export interface RunnerDeps {
  redis: RedisCommands;
  prefix: string;
  configs: TenantConfigs;
  clock: () => number;
  backgroundRefresh?: boolean;
  configRefreshSeconds: number;
}

/**
 * Runs one op of the script, loading the config on a miss and following a changed zone.
 * `opAt` may return null to call the op off (a deadline passed).
 */
export async function runOp(
  deps: RunnerDeps,
  tenantId: string,
  keyHash: string | undefined,
  opAt: (now: number) => LimiterOp | null,
  coldIsAnswer = false,
): Promise<Ran | Denied | null> {
  const keys = tenantKeys(deps.prefix, tenantId);
  for (let attempt = 0; attempt < 4; attempt++) {
    const memo = deps.configs.memoOf(tenantId);
    const zone = deps.configs.zoneOf(tenantId, memo);
    const now = deps.clock();
    const op = opAt(now);
    if (op === null) return null;
    const reply = await runLimiterCall(deps.redis, keys, {
      ...op,
      now,
      today: dayOf(now, zone),
      zone,
      knownVersion: memo?.version,
      keyHash,
    });
    if (!Array.isArray(reply)) throw new Error(`unexpected limiter script reply: ${String(reply)}`);
    const kind = str(reply[0]);
    if (kind === "miss") {
      // The caller bounds the load apart from the check (see guardedStore).
      if (coldIsAnswer) throw new ColdTenant();
      await deps.configs.reload(tenantId, 0);
      continue;
    }
    if (kind === "tz") {
      deps.configs.rememberZone(tenantId, String(reply[1]));
      continue;
    }
    if (kind === "missing") return { denied: { status: "unauthenticated" } };
    const loadedAt = num(reply[kind === "unauth" || kind === "suspended" ? 1 : 3]);
    const seen = kind === "unauth" || kind === "suspended" ? undefined : versionOf(reply[1]);
    if (kind === "unauth") {
      // Nothing was consumed: where no background work may outlive the call, reload now
      // (the key may be new, its push lost) and ask again, once.
      const stale = deps.clock() - loadedAt >= UNKNOWN_KEY_REFRESH_MS;
      if (stale && deps.backgroundRefresh === false && attempt < 2) {
        // The caller bounds the reload apart from the check; after a failed one, this is the answer.
        if (coldIsAnswer && op.op === "check") throw new ColdTenant();
        if (!coldIsAnswer) {
          await deps.configs.reload(tenantId, undefined);
          continue;
        }
      }
      deps.configs.refreshIfOlderThan(tenantId, loadedAt, UNKNOWN_KEY_REFRESH_MS, undefined);
      return { denied: { status: "unauthenticated" } };
    }
    deps.configs.refreshIfOlderThan(tenantId, loadedAt, deps.configRefreshSeconds * 1000, seen);
    if (kind === "suspended") return { denied: { status: "suspended" } };
    const limits = deps.configs.limitsOf(tenantId, memo, str(reply[1]) ?? "", str(reply[2]));
    return { reply, limits, now };
  }
  throw new Error(`limiter config for tenant ${tenantId} kept changing; giving up after 4 attempts`);
}
