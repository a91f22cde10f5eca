// The console's price book and payment method through the real Worker. A tenant's own prices
// are safe in the shared database; the global book is not (it prices every other file's
// invoices), so there it only meets refused forms, and a valid global edit runs on a database
// of this file's own, which also holds the invoiced-days watermark it sets.

import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowsOf } from "../../src/db/database";
import { login, page, postForm } from "../support/workers/console";
import { ADMIN_TOKEN, adminJson, newTenant } from "../support/workers/helpers";
import { type PrivateDatabase, privateDatabase } from "../support/workers/private-database";

interface Book {
  currency: string;
  prices: Record<string, unknown>[];
  fixedBefore: string | null;
}
const tenantBook = (id: string) => adminJson<Book>(`/tenants/${id}/prices`);
const quota = { ratePerMinute: 0, burst: 5, dailyUnits: null };
/** A day no billing run of the shared database reaches, so no price of it is fixed. */
const FUTURE = "2099-01-01";
const TIERED = {
  model: "gpt-4o*",
  dimension: "outputTokens",
  unitPrice: "",
  effectiveFrom: FUTURE,
  tiers: "10000000:0.00001, rest:0.000008",
};
/** The <tr> of the price with that model, dimension and day. */
const rowOf = (html: string, key: string) =>
  new RegExp(`<tr data-price="${key.replace(/[*.]/g, "\\$&")}"[^>]*>.*?</tr>`, "s").exec(html)?.[0];

describe("console, a tenant's prices and payment method", () => {
  it("adds a tiered price to the tenant's own book, shows it, and removes it", async () => {
    const cookie = await login();
    const t = await newTenant(quota, "prices");
    const before = await page(`/tenants/${t.id}`, cookie);
    expect(before.html).toContain("No prices of its own: this tenant pays the global book.");
    expect(before.html).toContain("override");

    const added = await postForm(`/tenants/${t.id}/prices`, cookie, { csrf: before.csrf, ...TIERED });
    expect(added.status).toBe(303);
    expect((await tenantBook(t.id)).prices).toEqual([
      {
        model: "gpt-4o*",
        dimension: "outputTokens",
        unitPrice: "0.00001",
        effectiveFrom: FUTURE,
        tiers: [
          { upTo: 10_000_000, unitPrice: "0.00001" },
          { upTo: null, unitPrice: "0.000008" },
        ],
      },
    ]);
    const shown = await page(`/tenants/${t.id}`, cookie);
    const row = rowOf(shown.html, `gpt-4o* outputTokens ${FUTURE}`);
    expect(row).toContain('<td class="num"><data class="decimal" value="0.00001">0.00001</data></td>');
    expect(row).toContain(`<td><time datetime="${FUTURE}" title="${FUTURE}">${FUTURE}</time></td>`);
    expect(row).toContain("up to 10000000 at 0.00001; the rest at 0.000008");
    expect(row).toContain(`action="/admin/ui/tenants/${t.id}/prices/remove"`);

    const removed = await postForm(`/tenants/${t.id}/prices/remove`, cookie, {
      csrf: shown.csrf,
      model: "gpt-4o*",
      dimension: "outputTokens",
      effectiveFrom: FUTURE,
    });
    expect(removed.status).toBe(303);
    expect((await tenantBook(t.id)).prices).toEqual([]);
    const again = await postForm(`/tenants/${t.id}/prices/remove`, cookie, {
      csrf: shown.csrf,
      model: "gpt-4o*",
      dimension: "outputTokens",
      effectiveFrom: FUTURE,
    });
    expect(again.status).toBe(404);
    expect(await again.text()).toContain("it may have been removed already");
  });

  it("gives a bad price back as typed, with every problem at its place, and stores nothing", async () => {
    const cookie = await login();
    const t = await newTenant(quota, "bad prices");
    const { csrf } = await page(`/tenants/${t.id}`, cookie);
    const bad = {
      model: "gpt*4",
      dimension: "inputTokens",
      unitPrice: "0.0000000000001",
      effectiveFrom: FUTURE,
      tiers: "100:0.1, 50:0.2, rest:0.3",
    };
    const res = await postForm(`/tenants/${t.id}/prices`, cookie, { csrf, ...bad });
    expect(res.status).toBe(400);
    const html = await res.text();
    const problems = /<ul class="error" id="price-problems" role="alert">.*?<\/ul>/s.exec(html)?.[0] ?? "";
    expect(problems).toContain("<strong>Model pattern</strong>: a * may only end a model pattern");
    expect(problems).toContain("<strong>Unit price</strong>: at most 12 decimals");
    expect(problems).toContain("<strong>Tier 2, up to</strong>: tiers must not overlap");
    for (const typed of [bad.model, bad.unitPrice, bad.tiers]) expect(html).toContain(`value="${typed}"`);
    expect(html).toMatch(/<option value="inputTokens" selected[^>]*>/);
    expect((await tenantBook(t.id)).prices).toEqual([]);

    // Tiers that can't be read, and a second price for a model, dimension and day already priced.
    expect((await postForm(`/tenants/${t.id}/prices`, cookie, { csrf, ...TIERED })).status).toBe(303);
    const twice = await postForm(`/tenants/${t.id}/prices`, cookie, { csrf, ...TIERED, tiers: "10M:0.1, rest:0.2" });
    expect(twice.status).toBe(400);
    const text = await twice.text();
    expect(text).toContain("<strong>Tier 1</strong>: &quot;10M:0.1&quot;: write each tier as upTo:price");
    expect(text).toContain(
      `the same model, dimension and day as the book&#39;s outputTokens price of gpt-4o* from ${FUTURE}`,
    );
    expect((await tenantBook(t.id)).prices).toHaveLength(1);
  });

  it("sets the payment method reference, refuses a card number without showing it back, and clears it", async () => {
    const cookie = await login();
    const t = await newTenant(quota, "payment method");
    const { csrf } = await page(`/tenants/${t.id}`, cookie);
    const ref = "pm_1NzQ8x2eZvKYlo2C";
    expect(
      (await postForm(`/tenants/${t.id}/payment-method`, cookie, { csrf, paymentMethodRef: ` ${ref} ` })).status,
    ).toBe(303);
    expect((await adminJson<{ paymentMethodRef: string | null }>(`/tenants/${t.id}`)).paymentMethodRef).toBe(ref);
    expect((await page(`/tenants/${t.id}`, cookie)).html).toContain(`<code class="payment-method">${ref}</code>`);

    const card = await postForm(`/tenants/${t.id}/payment-method`, cookie, {
      csrf,
      paymentMethodRef: "4242424242424242",
    });
    expect(card.status).toBe(400);
    const html = await card.text();
    expect(html).toContain("this is a card number");
    expect(html).not.toContain("4242424242424242");
    const spaced = await postForm(`/tenants/${t.id}/payment-method`, cookie, { csrf, paymentMethodRef: "pm 1" });
    expect(spaced.status).toBe(400);
    const spacedHtml = await spaced.text();
    expect(spacedHtml).toContain("1 to 200 printable characters");
    expect(spacedHtml).toContain('value="pm 1"');
    expect((await adminJson<{ paymentMethodRef: string | null }>(`/tenants/${t.id}`)).paymentMethodRef).toBe(ref);

    expect((await postForm(`/tenants/${t.id}/payment-method`, cookie, { csrf, paymentMethodRef: "" })).status).toBe(
      303,
    );
    expect((await adminJson<{ paymentMethodRef: string | null }>(`/tenants/${t.id}`)).paymentMethodRef).toBeNull();
  });
});

describe("console, the global book in the shared database", () => {
  it("refuses a bad global price with its problems, and the book stays as it was", async () => {
    const cookie = await login();
    const before = (await adminJson<Book>("/prices")).prices;
    const shown = await page("/prices", cookie);
    expect(shown.status).toBe(200);
    expect(shown.html).toContain('<a href="/admin/ui/prices" aria-current="page">Prices</a>');
    const res = await postForm("/prices", cookie, {
      csrf: shown.csrf,
      model: "gpt*4",
      dimension: "requests",
      unitPrice: "0.0000000000001",
      effectiveFrom: "2099-02-30",
      tiers: "",
    });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain("<strong>Model pattern</strong>: a * may only end a model pattern");
    expect(html).toContain("<strong>Unit price</strong>: at most 12 decimals");
    expect(html).toContain("<strong>Effective from</strong>: a day that exists");
    expect(html).toContain('value="2099-02-30"');
    expect((await adminJson<Book>("/prices")).prices).toEqual(before);
  });
});

describe("console, the global book on a database of its own", () => {
  let db: PrivateDatabase;
  let cookie = "";
  beforeAll(async () => {
    db = await privateDatabase("console-prices");
    const res = await db.fetch("/admin/ui/login", {
      method: "POST",
      body: new URLSearchParams({ token: ADMIN_TOKEN }),
      redirect: "manual",
    });
    expect(res.status).toBe(303);
    cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
  });
  afterAll(async () => {
    await db?.drop();
  });

  const get = async (path: string) => {
    const html = await (await db.fetch(`/admin/ui${path}`, { headers: { cookie } })).text();
    return { html, csrf: /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "" };
  };
  const post = (path: string, body: Record<string, string>) =>
    db.fetch(`/admin/ui${path}`, {
      method: "POST",
      headers: { cookie },
      body: new URLSearchParams(body),
      redirect: "manual",
    });
  const globalBook = () => db.adminJson<Book>("/prices");

  it("shows the book, which days are fixed, and removes only prices that are not", async () => {
    await db.adminJson("/prices", {
      method: "PUT",
      json: {
        currency: "USD",
        prices: [
          { model: "*", dimension: "requests", unitPrice: "0.001", effectiveFrom: "2030-01-01" },
          { model: "gpt-4o", dimension: "inputTokens", unitPrice: "0.0000025", effectiveFrom: "2031-03-01" },
        ],
      },
    });
    await db.withDb((d) =>
      d.execute(sql`INSERT INTO billing_state (id, billed_through) VALUES (1, '2031-02-01')
        ON CONFLICT (id) DO UPDATE SET billed_through = excluded.billed_through`),
    );
    const shown = await get("/prices");
    const day = '<time datetime="2031-02-01" title="2031-02-01">2031-02-01</time>';
    expect(shown.html).toContain(`Prices before ${day} are fixed: those days are invoiced.`);
    expect(shown.html).toContain(`add one from ${day} or later.`);
    const fixed = rowOf(shown.html, "* requests 2030-01-01");
    expect(fixed).toContain('class="fixed"');
    expect(fixed).not.toContain("Remove");
    expect(rowOf(shown.html, "gpt-4o inputTokens 2031-03-01")).toContain('action="/admin/ui/prices/remove"');

    // A removal of a fixed price (a forged form: the page shows no button) is the API's 409.
    const forged = await post("/prices/remove", {
      csrf: shown.csrf,
      model: "*",
      dimension: "requests",
      effectiveFrom: "2030-01-01",
    });
    expect(forged.status).toBe(409);
    expect(await forged.text()).toContain("prices days already invoiced (before 2031-02-01)");
    const early = await post("/prices", {
      csrf: shown.csrf,
      model: "gpt-4o",
      dimension: "outputTokens",
      unitPrice: "0.00001",
      effectiveFrom: "2031-01-15",
      tiers: "",
    });
    expect(early.status).toBe(409);
    const earlyHtml = await early.text();
    expect(earlyHtml).toContain("<strong>Effective from</strong>: 2031-01-15 is a day already invoiced");
    expect(earlyHtml).toContain('value="2031-01-15"');
    expect((await globalBook()).prices).toHaveLength(2);

    const added = await post("/prices", {
      csrf: shown.csrf,
      model: "gpt-4o",
      dimension: "outputTokens",
      unitPrice: "0.00001",
      effectiveFrom: "2031-02-01",
      tiers: "",
    });
    expect(added.status).toBe(303);
    const open = { csrf: shown.csrf, model: "gpt-4o", dimension: "inputTokens", effectiveFrom: "2031-03-01" };
    expect((await post("/prices/remove", open)).status).toBe(303);
    expect((await globalBook()).prices).toEqual([
      { model: "*", dimension: "requests", unitPrice: "0.001", effectiveFrom: "2030-01-01" },
      { model: "gpt-4o", dimension: "outputTokens", unitPrice: "0.00001", effectiveFrom: "2031-02-01" },
    ]);
  });
  it("changes no book stored in an earlier BILLING_CURRENCY, which it would relabel unconverted", async () => {
    const t = await db.newTenant(quota);
    const price = { model: "claude*", dimension: "units", unitPrice: "0.5", effectiveFrom: "2031-06-01" };
    await db.adminJson(`/tenants/${t.id}/prices`, { method: "PUT", json: { currency: "USD", prices: [price] } });
    await db.withDb((d) => d.execute(sql`UPDATE prices SET currency = 'EUR' WHERE tenant_id = ${t.id}`));
    const shown = await get(`/tenants/${t.id}`);
    const warning = "these prices are stored in EUR, but this gateway invoices in USD (BILLING_CURRENCY)";
    expect(shown.html).toContain(warning);
    // The quota's unit price is in BILLING_CURRENCY, whatever currency the book was stored in.
    expect(shown.html).toContain("Unit price (USD per unit; empty: BILLING_UNIT_COST)");
    expect(shown.html).not.toContain("Unit price (EUR per unit");
    const add = await post(`/tenants/${t.id}/prices`, {
      csrf: shown.csrf,
      ...price,
      dimension: "requests",
      unitPrice: "0.01",
    });
    expect(add.status).toBe(400);
    expect(await add.text()).toContain(warning);
    const remove = await post(`/tenants/${t.id}/prices/remove`, { csrf: shown.csrf, ...price });
    expect(remove.status).toBe(400);
    const stored = await db.withDb((d) => d.execute(sql`SELECT currency FROM prices WHERE tenant_id = ${t.id}`));
    expect(rowsOf(stored)).toEqual([{ currency: "EUR" }]);
  });
});
