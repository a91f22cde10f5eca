// The Worker entry: the gateway's fetch handler and the TenantLimiter Durable Object class.

import { billingTick } from "./billing/cron";
import { loadConfig } from "./config";
import type { UsageMessage } from "./core/usage-event";
import { openNeonDatabase } from "./db/neon";
import type { Env } from "./env";
import { createGateway } from "./http/app";
import { Problem } from "./http/problem";
import { defaultStore } from "./http/rate-limit";
import { consumeUsageBatch } from "./metering/queue-consumer";

export { TenantLimiter } from "./durable/tenant-limiter";
export type { Env } from "./env";
export { createGateway } from "./http/app";
export type { GatewayDeps } from "./http/context";
export type { Enforcement } from "./http/enforce";
export { type AegisContext, enforceRateLimit, type RateLimitOptions, rateLimit, recordUsage } from "./http/rate-limit";

function openDatabase(env: Env) {
  const config = loadConfig(env);
  if (!config.DATABASE_URL) throw new Problem(503, "database-not-configured", "DATABASE_URL is not set");
  return openNeonDatabase(config.DATABASE_URL, config.NEON_WS_PROXY);
}

const gateway = createGateway({ openDatabase, store: (env: Env) => defaultStore(env) });

export default {
  fetch: (request, env, ctx) => gateway.fetch(request, env, ctx),
  async scheduled(controller, env) {
    const handle = openDatabase(env);
    try {
      const { run, delivery } = await billingTick(handle.db, loadConfig(env), controller.scheduledTime);
      console.log(
        JSON.stringify({ msg: "billing tick", period: run.period, invoices: run.created.length, webhooks: delivery }),
      );
    } finally {
      await handle.close();
    }
  },
  async queue(batch, env) {
    await consumeUsageBatch(batch.messages, {
      openDatabase: () => openDatabase(env),
      // One message per letter: each stays under the queue's size limits.
      deadLetter: async (letters) => {
        for (const letter of letters) await env.USAGE_DLQ.send(letter, { contentType: "json" });
      },
    });
  },
} satisfies ExportedHandler<Env, UsageMessage>;
