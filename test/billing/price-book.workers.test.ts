// The price book on the Workers billing path: the operator API in workerd, the Neon driver,
// and the real Cron handler, on a database of this file's own (the global book and the
// invoiced-days watermark are database-wide). price-book.node.test.ts tells the same story
// to the self-hosted path; both must bill exactly EXPECTED.

import { afterAll, beforeAll, expect, it } from "vitest";
import { billingSettings } from "../../src/billing/settings";
import { loadConfig } from "../../src/config";
import { type PrivateDatabase, privateDatabase } from "../support/workers/private-database";
import { expectPriceBookScenario, runPriceBookScenario } from "./price-book-scenario";

let db: PrivateDatabase;
beforeAll(async () => {
  db = await privateDatabase("price-book");
});
afterAll(async () => {
  await db?.drop();
});

it("bills per model, dimension and tier at the prices in force each day, late usage at its day's price", async () => {
  const result = await runPriceBookScenario({
    admin: (path, init) => db.admin(path, init),
    withDb: (fn) => db.withDb(fn),
    tick: (iso) => db.scheduled(iso),
    settings: billingSettings(loadConfig(db.env)),
  });
  expectPriceBookScenario(result);
  // The Worker also sent invoice.created, signed, with the lines and the payment reference.
  const sent = (await db.received()).filter((r) => r.body.type === "invoice.created");
  expect(sent.map((r) => [r.verified, r.body.data.paymentMethodRef, r.body.data.amountMinor])).toEqual([
    [true, "pm_1NzQ8x2eZvKYlo2C", 2583],
    [true, "pm_1NzQ8x2eZvKYlo2C", 650],
  ]);
});
