// A Worker for the cross-request spike (test/limiter/coalescer-cross-request.workers.test.ts):
// one settle coalescer at module scope, shared by the requests of the isolate, as WP4 would
// keep it, with its real (default) window timer. The first settle of a batch (the leader's)
// starts the timer in the leader's request, and the flush runs there: it does real I/O (the
// Cache API), which workerd allows only in a request that is still running (the leader's
// waitUntil holds it).

import type { SettleItem } from "../../../src/core/limiter-store";
import { settleCoalescer } from "../../../src/core/settle-coalescer";

// Long enough that the follower joins the leader's batch however loaded the machine is.
const WINDOW_MS = 1_000;
const coalescer = settleCoalescer({ windowMs: WINDOW_MS });
const log: string[] = [];
let running = "none";

async function flush(tenantId: string, items: SettleItem[]) {
  log.push(`${tenantId}: flush of ${items.map((i) => i.reservationId).join(",")} in the ${running}'s request`);
  await caches.default.match("https://spike.invalid/");
  return items.map((i) => ({ status: "settled" as const, units: i.units }));
}

export default {
  async fetch(request, _env, ctx) {
    const url = new URL(request.url);
    const tenant = url.searchParams.get("tenant") ?? "t";
    if (url.pathname === "/leader") {
      const settled = coalescer.add(tenant, { reservationId: "leader", units: 1 }, async (t, items) => {
        running = "leader";
        return flush(t, items);
      });
      ctx.waitUntil(settled.then((r) => void log.push(`${tenant}: leader ${r.status}`)));
      return new Response("leader answered");
    }
    if (url.pathname === "/follower") {
      const added = coalescer.add(tenant, { reservationId: "follower", units: 2 }, async (t, items) => {
        running = "follower";
        return flush(t, items);
      });
      if (url.searchParams.get("wait") === "1") {
        const result = await added;
        log.push(`${tenant}: follower ${result.status}`);
        return Response.json(result);
      }
      // The fallback: enqueue and answer; only the leader's waitUntil waits for the flush.
      added.catch(() => {});
      return new Response("follower enqueued");
    }
    if (url.pathname === "/log") return Response.json(log.filter((line) => line.startsWith(`${tenant}:`)));
    return new Response("not found", { status: 404 });
  },
} satisfies ExportedHandler;
