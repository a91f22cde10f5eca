// The `aegis` CLI's billing fields of tenants and invoices against a running gateway (the
// self-hosted server, on real Postgres and Redis): a tenant's payment method, set, shown and
// removed; its billing account; and invoices priced with the price book (v2 lines) in `invoices list`.

import { describe, expect, it } from "vitest";
import { newInvoiceId } from "../../src/billing/ids";
import { AegisAdmin } from "../../src/client/index";
import type { Invoice, InvoiceLine, Tenant } from "../../src/client/types";
import { openNodeDatabase } from "../../src/db/node";
import { invoices } from "../../src/db/schema";
import { cliHarness } from "./cli-harness";

const cli = cliHarness("clibilling");
const { aegis, json } = cli;
const admin = () => new AegisAdmin({ baseUrl: cli.gateway().url, token: cli.gateway().token });

describe("aegis tenants --payment-method", () => {
  it("sets the payment method at creation, shows it, changes it and removes it", async () => {
    const created = await json<Tenant>(
      "tenants",
      "create",
      "--name",
      "paying co",
      "--payment-method",
      "pm_1NzQ8x2eZvKYlo2C",
    );
    expect(created.paymentMethodRef).toBe("pm_1NzQ8x2eZvKYlo2C");
    expect((await admin().getTenant(created.id)).paymentMethodRef).toBe("pm_1NzQ8x2eZvKYlo2C");
    expect((await aegis("tenants", "get", created.id)).out).toMatch(/^payment method: pm_1NzQ8x2eZvKYlo2C$/m);

    const changed = await aegis("tenants", "update", created.id, "--payment-method", "cus_P2x9");
    expect(changed.code, changed.err).toBe(0);
    expect(changed.out).toBe(`updated ${created.id}: paying co, billing account none, payment method cus_P2x9\n`);
    expect((await admin().getTenant(created.id)).paymentMethodRef).toBe("cus_P2x9");
    const renamed = await json<Tenant>("tenants", "update", created.id, "--name", "renamed co");
    expect(renamed).toMatchObject({ name: "renamed co", paymentMethodRef: "cus_P2x9" });

    expect(await json<Tenant>("tenants", "update", created.id, "--payment-method", "none")).toMatchObject({
      paymentMethodRef: null,
    });
    expect((await aegis("tenants", "get", created.id)).out).toMatch(/^payment method: none$/m);

    // A card number is refused: the gateway stores references, never card data.
    const card = await aegis("tenants", "update", created.id, "--payment-method", "4242424242424242");
    expect(card.code).toBe(1);
    expect(card.err).toMatch(/^aegis: 400 invalid-request: paymentMethodRef: this is a card number/);
    expect((await admin().getTenant(created.id)).paymentMethodRef).toBeNull();
  });
});

describe("aegis tenants --billing-account", () => {
  it("sets the billing account at creation, renames, changes and removes it, and shows it", async () => {
    const created = await json<Tenant>("tenants", "create", "--name", "account co", "--billing-account", "acct_1");
    expect((await admin().getTenant(created.id)).billingAccountId).toBe("acct_1");
    const changed = await aegis(...`tenants update ${created.id} --name renamed --billing-account acct_2`.split(" "));
    expect(changed.code, changed.err).toBe(0);
    expect(changed.out).toBe(`updated ${created.id}: renamed, billing account acct_2, payment method none\n`);
    expect(await admin().getTenant(created.id)).toMatchObject({ name: "renamed", billingAccountId: "acct_2" });
    expect((await aegis("tenants", "get", created.id)).out).toMatch(/^billing account: acct_2$/m);
    expect(await json<Tenant>("tenants", "update", created.id, "--billing-account", "none")).toMatchObject({
      billingAccountId: null,
    });
    expect((await admin().getTenant(created.id)).billingAccountId).toBeNull();
  });
});

describe("aegis invoices list, with the price book's lines", () => {
  it("lists an invoice whose lines are per model and dimension, and --json carries them as they are", async () => {
    const t = await json<Tenant>("tenants", "create", "--name", "v2 lines co");
    // Written to the database directly: the billing run's pricing has tests of its own
    // (test/billing/price-book*); here the CLI only has to list and carry such an invoice.
    const period = { periodStart: "2021-03-01", periodEnd: "2021-04-01" };
    const lineItems: InvoiceLine[] = [
      {
        model: "gpt-4o",
        dimension: "outputTokens",
        tier: 1,
        quantity: 300_000,
        unitPrice: "0.000009",
        amountMinor: 270,
        ...period,
      },
      { model: null, dimension: "requests", quantity: 40, unitPrice: "0.001", amountMinor: 4, ...period },
    ];
    const row = {
      id: newInvoiceId(),
      tenantId: t.id,
      ...period,
      units: 300_040,
      amountMinor: 274,
      currency: "USD",
      lineItems,
      billingAccountId: "acct_42",
      paymentMethodRef: "pm_1NzQ8x2eZvKYlo2C",
    };
    const handle = openNodeDatabase(cli.gateway().databaseUrl, 1);
    try {
      await handle.db.insert(invoices).values(row);
    } finally {
      await handle.close();
    }
    const listed = await aegis("invoices", "list", "--tenant", t.id);
    expect(listed.code, listed.err).toBe(0);
    expect(listed.out).toMatch(
      new RegExp(`^${row.id}\\s+${t.id}\\s+2021-03-01\\.\\.2021-04-01\\s+300040\\s+2\\.74 USD\\s+issued$`, "m"),
    );
    const [invoice] = (await json<{ invoices: Invoice[] }>("invoices", "list", "--tenant", t.id)).invoices;
    expect(invoice).toMatchObject({
      id: row.id,
      lineItems,
      billingAccountId: "acct_42",
      paymentMethodRef: "pm_1NzQ8x2eZvKYlo2C",
    });
  });
});
