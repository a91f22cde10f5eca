// Pushing a changed tenant snapshot to its limiter, so the change applies on the next request.

import type { Context } from "hono";
import { describeError } from "../../core/errors";
import type { TenantSnapshot } from "../../core/limiter-store";
import type { GatewayEnv } from "../context";
import { LEGACY_SYNC_HEADER, SYNC_HEADER } from "../gateway-headers";
import { Problem } from "../problem";

/**
 * Pushes `snapshot` to the tenant's limiter. Postgres already holds the change; if the push
 * fails, the limiter picks it up on its next refresh.
 *
 * `mustConfirm` is for changes that take something away (a revoked key, a suspension, a
 * lower quota): the operator gets a 502 and can repeat the idempotent request. Creations
 * only get a header, because failing them would lose a key that is shown only once.
 */
export async function pushSnapshot(
  c: Context<GatewayEnv>,
  snapshot: TenantSnapshot,
  mustConfirm: boolean,
): Promise<void> {
  try {
    await c.get("deps").store(c.env).apply(snapshot);
  } catch (err) {
    const refresh = c.get("config").CONFIG_REFRESH_SECONDS;
    c.var.log.error("limiter push failed", { tenant: snapshot.tenantId, error: describeError(err) });
    if (mustConfirm) {
      throw new Problem(
        502,
        "edge-sync-pending",
        `the change was saved, but the limiter did not confirm it; it applies within ${refresh} s, or repeat this request to push it now`,
      );
    }
    c.header(SYNC_HEADER, "pending");
    c.header(LEGACY_SYNC_HEADER, "pending");
  }
}
