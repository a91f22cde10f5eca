// The console's invoices page with the lines of both versions: v2 lines (model, dimension,
// tier, quantity) of invoices priced by the price book, and the v1 lines (one per route) that
// invoices issued before it keep, with each invoice's payment method.

import { describe, expect, it } from "vitest";
import { newInvoiceId } from "../../src/billing/ids";
import { invoices } from "../../src/db/schema";
import { login, page } from "../support/workers/console";
import { newTenant, withDb } from "../support/workers/helpers";

const quota = { ratePerMinute: 0, burst: 5, dailyUnits: null };

describe("console, invoice lines", () => {
  it("shows v2 lines with their tier and adjustment marker, and the v1 lines of an older invoice", async () => {
    const t = await newTenant(quota, "invoice lines");
    const v2 = newInvoiceId();
    const v1 = newInvoiceId();
    const base = { tenantId: t.id, units: 0, currency: "USD", status: "issued" as const };
    await withDb((d) =>
      d.insert(invoices).values([
        {
          ...base,
          id: v2,
          periodStart: "2019-02-01",
          periodEnd: "2019-03-01",
          amountMinor: 280,
          paymentMethodRef: "pm_1NzQ8x2eZvKYlo2C",
          billingAccountId: "acct_42",
          lineItems: [
            {
              model: "gpt-4o",
              dimension: "outputTokens",
              tier: 1,
              quantity: 300_000,
              unitPrice: "0.000009",
              amountMinor: 270,
              periodStart: "2019-02-01",
              periodEnd: "2019-03-01",
            },
            {
              model: null,
              dimension: "requests",
              quantity: 10,
              unitPrice: "0.01",
              amountMinor: 10,
              periodStart: "2019-01-01",
              periodEnd: "2019-02-01",
              adjustment: true,
            },
          ],
        },
        {
          ...base,
          id: v1,
          periodStart: "2019-01-01",
          periodEnd: "2019-02-01",
          amountMinor: 150,
          lineItems: [
            {
              kind: "usage",
              route: "chat",
              units: 1_000_000,
              requests: 12,
              unitPrice: "0.0000015",
              amountMinor: 150,
              periodStart: "2019-01-01",
              periodEnd: "2019-02-01",
            },
          ],
        },
      ]),
    );
    const { status, html } = await page("/invoices", await login());
    expect(status).toBe(200);
    const lines = /<table id="lines-([^"]+)">.*?<\/table>/gs;
    const tables = new Map([...html.matchAll(lines)].map((m) => [m[1], m[0]]));
    const second = tables.get(v2) ?? "";
    expect(second).toMatch(
      /<tr data-line="0" class="usage"><td><code>gpt-4o<\/code><\/td><td>outputTokens<\/td><td>2<\/td>/,
    );
    expect(second).toContain(
      '<td class="num"><data class="count" value="300000">300,000</data></td><td class="num"><data class="decimal" value="0.000009">0.000009</data></td><td class="num"><data class="money" value="2.70" data-currency="USD" data-digits="2">2.70 USD</data></td>',
    );
    expect(second).toMatch(
      /<tr data-line="1" class="adjustment"><td>\(no model\)<\/td>.*2019-01-01<\/time> to <time datetime="2019-02-01".*adjustment/s,
    );
    expect(tables.get(`v1-${v1}`)).toContain(
      '<td>chat</td><td class="num"><data class="count" value="1000000">1,000,000</data></td><td class="num"><data class="count" value="12">12</data></td>',
    );
    expect(html).toContain("<code>pm_1NzQ8x2eZvKYlo2C</code>");
  });
});
