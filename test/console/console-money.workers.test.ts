// Money on the console's invoices page: amounts are stored in the currency's minor unit,
// which is not a cent everywhere (none for JPY, a thousandth for KWD).

import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newInvoiceId } from "../../src/billing/ids";
import { invoices } from "../../src/db/schema";
import { ADMIN_TOKEN, BASE, newTenant, withDb } from "../support/workers/helpers";

const UI = `${BASE}/admin/ui`;

describe("console invoices page", () => {
  it("shows each amount in its currency's minor digits: 1,234 JPY, 1.234 KWD, 12.34 USD", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 5, dailyUnits: null }, "money");
    const amounts = [
      { currency: "JPY", decimal: "1234", digits: 0, shown: "1,234 JPY" },
      { currency: "KWD", decimal: "1.234", digits: 3, shown: "1.234 KWD" },
      { currency: "USD", decimal: "12.34", digits: 2, shown: "12.34 USD" },
    ].map((a, i) => ({ ...a, id: newInvoiceId(), periodStart: `2020-0${i + 1}-01`, periodEnd: `2020-0${i + 2}-01` }));
    await withDb((db) =>
      db.insert(invoices).values(
        amounts.map((a) => ({
          id: a.id,
          tenantId: t.id,
          periodStart: a.periodStart,
          periodEnd: a.periodEnd,
          units: 1234,
          amountMinor: 1234,
          currency: a.currency,
          status: "issued" as const,
          lineItems: [],
        })),
      ),
    );

    const login = await SELF.fetch(`${UI}/login`, {
      method: "POST",
      body: new URLSearchParams({ token: ADMIN_TOKEN }),
      redirect: "manual",
    });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] as string;
    const res = await SELF.fetch(`${UI}/invoices`, { headers: { cookie } });
    expect(res.status).toBe(200);
    const html = await res.text();
    for (const a of amounts) {
      const row = new RegExp(`<tr data-invoice="${a.id}">.*?</tr>`, "s").exec(html)?.[0];
      expect(row, a.currency).toBeDefined();
      // Shown as the server formats it, with the exact decimal for the browser's locale.
      expect(row, a.currency).toContain(
        `<td class="num"><data class="money" value="${a.decimal}" data-currency="${a.currency}" data-digits="${a.digits}">${a.shown}</data></td>`,
      );
    }
  });
});
