// The price book on the self-hosted billing path: the operator API on Node, node-postgres,
// and the scheduler's billing tick, on a scratch database of this file's own. The story and
// the invoices it must produce are the Workers test's (price-book-scenario.ts), so the two
// runtimes are held to identical invoices.

import { expect, it } from "vitest";
import { billingSettings } from "../../src/billing/settings";
import { openNodeDatabase } from "../../src/db/node";
import { startTestGateway } from "../support/test-gateway";
import { startWebhookReceiver } from "../support/webhook-receiver";
import { TEST_WEBHOOK_SECRET } from "../support/webhook-secret";
import { expectPriceBookScenario, runPriceBookScenario } from "./price-book-scenario";

it("bills per model, dimension and tier exactly as the Workers path does", async () => {
  const receiver = await startWebhookReceiver();
  const gateway = await startTestGateway("price_book", {
    KEY_SIGNING_SECRET: "price-book-signing-secret-0123456789abcdef",
    BILLING_WEBHOOK_URL: `${receiver.url}/hooks/self-hosted-prices/200`,
    BILLING_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
  });
  const db = openNodeDatabase(gateway.databaseUrl, 2);
  try {
    const result = await runPriceBookScenario({
      admin: (path, init = {}) =>
        fetch(`${gateway.url}/admin/v1${path}`, {
          method: init.method ?? "GET",
          headers: { authorization: `Bearer ${gateway.token}`, "content-type": "application/json" },
          ...(init.json === undefined ? {} : { body: JSON.stringify(init.json) }),
        }),
      withDb: (fn) => fn(db.db),
      tick: async (iso) => {
        await gateway.server.runBilling(Date.parse(iso));
      },
      settings: billingSettings(gateway.server.config),
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
    await db.close();
    await gateway.stop();
    await receiver.close();
  }
}, 60_000);
