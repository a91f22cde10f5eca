// What the TenantLimiter Durable Object is given (its bindings) and what its key check answers.

import type { TenantSnapshot } from "../core/limiter-store";
import type { UsageMessage } from "../core/usage-event";

/**
 * The bindings the Durable Object reads: its outbox's queue, and the settings `loadConfig`
 * validates. The Worker's full `Env` satisfies it; `durable/` does not import the entry's types.
 */
export interface LimiterEnv {
  USAGE_QUEUE: Queue<UsageMessage>;
}

/** A key check's answer: the tenant's snapshot, or why the call is refused. */
export type Authorized =
  | { snapshot: TenantSnapshot }
  | { denied: { status: "unauthenticated" } | { status: "suspended" } };
