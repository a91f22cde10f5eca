// The `aegis webhooks` commands: the delivery history, and sending a delivery again.

import type { Delivery } from "../client/types";
import type { Command } from "./commands";
import { type Flags, int, need, str, UsageError } from "./flags";
import { table } from "./table";

const STATUSES = ["pending", "delivered", "failed", "disabled"] as const;

/** The tenant an event is about: every payload names it in data.tenantId. */
function tenantOf(d: Delivery): string | undefined {
  const data = d.payload.data;
  if (typeof data !== "object" || data === null) return undefined;
  const id = (data as { tenantId?: unknown }).tenantId;
  return typeof id === "string" ? id : undefined;
}

function statusOf(flags: Flags): (typeof STATUSES)[number] | undefined {
  const s = str(flags, "status");
  if (s === undefined) return undefined;
  const known = STATUSES.find((k) => k === s);
  if (!known) throw new UsageError(`--status is ${STATUSES.join(", ")}; got ${s}`);
  return known;
}

const deliveryTable = (deliveries: Delivery[]) =>
  table(
    ["id", "event", "tenant", "status", "attempts", "last answer", "next attempt", "created"],
    deliveries.map((d) => [
      d.id,
      d.eventType,
      tenantOf(d),
      d.status,
      d.attempts,
      d.lastStatus ?? d.lastError,
      d.nextAttemptAt,
      d.createdAt,
    ]),
  );

export const webhookCommands: Record<string, Command> = {
  async "webhooks deliveries"(admin, _args, flags) {
    const list = await admin.listDeliveries({
      status: statusOf(flags),
      tenantId: str(flags, "tenant"),
      limit: int(flags, "limit", 50),
      cursor: str(flags, "cursor"),
    });
    const more = list.nextCursor ? `\nmore: --cursor ${list.nextCursor}` : "";
    const text = list.deliveries.length === 0 ? "no deliveries" : deliveryTable(list.deliveries);
    return { json: list, text: text + more };
  },
  async "webhooks redeliver"(admin, args) {
    const d = await admin.redeliver(need(args, 0, "DELIVERY (a delivery id, msg_...)"));
    return {
      json: d,
      text: `${d.id} is due again (${d.status}, attempts start over); it is sent at once when BILLING_WEBHOOK_URL is set\n${deliveryTable([d])}`,
    };
  },
};
