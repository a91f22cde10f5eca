// The price book on the self-hosted billing path: the operator API on Node, node-postgres,
// and the scheduler's billing tick, on a scratch database of this file's own. The story and
// the invoices it must produce are the Workers test's (price-book-scenario.ts), so the two
// runtimes are held to identical invoices.

import { expect, it } from "vitest";
import { createScratchDatabase } from "../../scripts/lib/scratch-database";
import { billingSettings } from "../../src/billing/settings";
import { openNodeDatabase } from "../../src/db/node";
import { RedisClient } from "../../src/redis/resp/client";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { startSelfHosted } from "../../src/server/self-hosted";
import { dropPrefix } from "../limiter/conformance/redis-harness";
import { startWebhookReceiver } from "../support/webhook-receiver";
import { TEST_WEBHOOK_SECRET } from "../support/webhook-secret";
import { expectPriceBookScenario, runPriceBookScenario } from "./price-book-scenario";

const ADMIN_TOKEN = "price-book-admin-token-0123456789";
const SHARED_REDIS = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";

it("bills per model, dimension and tier exactly as the Workers path does", async () => {
  const scratch = await createScratchDatabase("aegis_price_book");
  const receiver = await startWebhookReceiver();
  const db = openNodeDatabase(scratch.url, 2);
  const prefix = `aegis-test-${crypto.randomUUID().slice(0, 8)}`;
  const server = await startSelfHosted({
    env: {
      DATABASE_URL: scratch.url,
      RATE_LIMIT_REDIS_URL: SHARED_REDIS,
      AEGIS_REDIS_PREFIX: prefix,
      ADMIN_TOKEN,
      KEY_SIGNING_SECRET: "price-book-signing-secret-0123456789abcdef",
      UPSTREAM_URL: "http://127.0.0.1:9",
      BILLING_WEBHOOK_URL: `${receiver.url}/hooks/self-hosted-prices/200`,
      BILLING_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    },
    port: 0,
    instance: "prices",
    billing: false,
  });
  try {
    const result = await runPriceBookScenario({
      admin: (path, init = {}) =>
        fetch(`${server.url}/admin/v1${path}`, {
          method: init.method ?? "GET",
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
          ...(init.json === undefined ? {} : { body: JSON.stringify(init.json) }),
        }),
      withDb: (fn) => fn(db.db),
      tick: async (iso) => {
        await server.runBilling(Date.parse(iso));
      },
      settings: billingSettings(server.config),
    });
    expectPriceBookScenario(result);
    const log = (await (await fetch(`${receiver.url}/hooks/self-hosted-prices/log`)).json()) as {
      verified: boolean;
      body: { type: string; data: { paymentMethodRef: string; amountMinor: number } };
    }[];
    expect(log.map((r) => [r.body.type, r.verified, r.body.data.paymentMethodRef, r.body.data.amountMinor])).toEqual([
      ["invoice.created", true, "pm_1NzQ8x2eZvKYlo2C", 2583],
      ["invoice.created", true, "pm_1NzQ8x2eZvKYlo2C", 650],
    ]);
  } finally {
    await server.close();
    await db.close();
    const redis = new RedisClient({ url: SHARED_REDIS, connect: nodeSocket });
    await dropPrefix(redis, prefix);
    await redis.close();
    await receiver.close();
    await scratch.drop();
  }
}, 60_000);
