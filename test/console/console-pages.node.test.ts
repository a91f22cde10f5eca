// Every console page in Chromium (the one npm installs, via launchChromium()) against the
// self-hosted gateway on real Postgres and Redis: at 1280 and 375 px wide, with a screenshot
// of each in test-artifacts/console/<page>-<width>.png, no page wider than a 375 px phone, and
// axe-core (WCAG 2 A and AA rules) finding nothing serious or critical. Numbers, money and
// dates are shown in the browser's locale by the console's served script, under its CSP.

import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/lib/wrangler-dev";
import { AegisAdmin, AegisClient } from "../../src/client/index";
import { closedPeriod } from "../../src/core/billing-period";
import { DAY_MS, isoDay } from "../../src/core/calendar";
import { launchChromium } from "../support/chromium";
import { accessibilityProblems, axeContext, checkPage, shown, tabTo } from "../support/console-chromium";
import { startTestGateway, type TestGateway } from "../support/test-gateway";

const SHOTS = path.join(ROOT, "test-artifacts", "console");
/** Hours after a day ends before it is invoiced (BILLING_GRACE_HOURS, the default, said here). */
const GRACE_HOURS = 2;
/** The global book's price, effective after every day this file bills: it shows, and prices nothing. */
const GLOBAL_PRICE = "0.000009";

let gateway: TestGateway;
let browser: Browser;
let admin: AegisAdmin;
let acme: { id: string };
let borealis: { id: string };

beforeAll(async () => {
  // Daily invoices at 0.37 USD a unit, and no BILLING_WEBHOOK_URL: deliveries wait, pending.
  gateway = await startTestGateway("console_pages", {
    BILLING_PERIOD: "day",
    BILLING_GRACE_HOURS: String(GRACE_HOURS),
    BILLING_UNIT_COST: "0.37",
  });
  admin = new AegisAdmin({ baseUrl: gateway.url, token: gateway.token });
  acme = await admin.createTenant({
    name: "Acme Analytics",
    quota: { ratePerMinute: 600, burst: 100, dailyUnits: 1_500, routes: { chat: { requestsPerMinute: 60 } } },
  });
  borealis = await admin.createTenant({ name: "Borealis Labs", quota: { dailyUnits: null } });
  // One price in each book, so that the prices tables render (and are checked by axe).
  const later = isoDay(Date.now() + 30 * DAY_MS);
  await admin.setPrices({
    currency: "USD",
    prices: [{ model: "*", dimension: "requests", unitPrice: GLOBAL_PRICE, effectiveFrom: later }],
  });
  await admin.setTenantPrices(acme.id, {
    currency: "USD",
    prices: [{ model: "gpt-4o*", dimension: "outputTokens", unitPrice: "0.00001", effectiveFrom: later }],
  });
  const acmeKey = (await admin.createKey(acme.id, { name: "production" })).key;
  const borealisKey = (await admin.createKey(borealis.id, { name: "batch" })).key;
  const acmeClient = new AegisClient({ baseUrl: gateway.url, apiKey: acmeKey, retry: false });
  for (let d = 1; d <= 4; d++) {
    await acmeClient.recordUsage({
      units: 100 * d,
      jobId: `day-${d}`,
      occurredAt: new Date(Date.now() - d * DAY_MS),
    });
  }
  for (let i = 0; i < 3; i++) {
    await (await acmeClient.fetch("/v1/chat/completions", { method: "POST", json: { model: "m" } })).arrayBuffer();
  }
  // 12,345 units in the day the run below bills make Borealis an invoice of 4,567.65 USD, and
  // its webhook delivery. That day is the one before now − the grace: before 02:00 UTC, the
  // day before yesterday, so the usage is stamped inside it rather than a day ago.
  const now = Date.now();
  const billed = closedPeriod(now, "day", GRACE_HOURS);
  await new AegisClient({ baseUrl: gateway.url, apiKey: borealisKey, retry: false }).recordUsage({
    units: 12_345,
    jobId: "billed-day",
    occurredAt: new Date(Date.parse(billed.start) + DAY_MS / 2),
  });
  await gateway.server.flushUsage();
  await gateway.server.runBilling(now);
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
});

async function logIn(page: Page): Promise<void> {
  await page.goto(`${gateway.url}/admin/ui/login`);
  await page.fill('input[name="token"]', gateway.token);
  await Promise.all([page.waitForURL(`${gateway.url}/admin/ui`), page.click('button[type="submit"]')]);
}

describe("console pages in Chromium", () => {
  it("every page at 1280 and 375 px: screenshots, nothing wider than the phone, no serious axe violations", async () => {
    const context = await axeContext(browser);
    const page = await context.newPage();
    await page.goto(`${gateway.url}/admin/ui/login`);
    expect(await page.evaluate("document.compatMode")).toBe("CSS1Compat");
    await checkPage(page, "login", SHOTS);
    await logIn(page);
    const pages: [string, string][] = [
      ["tenants", "/admin/ui"],
      ["tenant", `/admin/ui/tenants/${acme.id}`],
      ["invoices", "/admin/ui/invoices"],
      ["deliveries", "/admin/ui/deliveries"],
      ["prices", "/admin/ui/prices"],
      ["fleet", "/admin/ui/fleet"],
    ];
    for (const [name, url] of pages) {
      await page.goto(`${gateway.url}${url}`);
      await checkPage(page, name, SHOTS);
      // Both books have a price: their tables were laid out and checked.
      if (name === "prices" || name === "tenant") expect(await page.locator("#prices tbody tr").count()).toBe(1);
      if (name === "tenant") await checkTenantPage(page);
      if (name === "invoices") await checkInvoicesPage(page);
      if (name === "deliveries") {
        expect(await page.textContent("#webhook-target")).toContain("No webhook URL is configured");
        // One invoice.created a tenant, each naming its tenant.
        const named = await page.locator("#deliveries tbody td:nth-child(3) a").allTextContents();
        expect(named.sort()).toEqual(["Acme Analytics", "Borealis Labs"]);
      }
    }
    await context.close();
  }, 120_000);

  it("a refused form and a notice pass axe too, at both widths", async () => {
    const context = await axeContext(browser);
    const page = await context.newPage();
    await logIn(page);
    await page.fill('#new-tenant input[name="name"]', "Dawn Freight");
    await page.fill('#new-tenant input[name="dailyUnits"]', "2000000000000");
    await page.click('#new-tenant button[type="submit"]');
    await shown(page, "#new-tenant p.error").toMatch(/^Not created: quota\.dailyUnits: /);
    await checkPage(page, "refused-form", SHOTS);
    await page.fill('#new-tenant input[name="dailyUnits"]', "");
    await page.click('#new-tenant button[type="submit"]');
    await shown(page, "#notice").toBe("Tenant created.");
    await checkPage(page, "notice", SHOTS);
    await context.close();
  }, 60_000);

  it("shows a day-only value as its UTC day west of UTC, and times with their zone", async () => {
    const context = await axeContext(browser, { timezoneId: "America/Los_Angeles" });
    const page = await context.newPage();
    await logIn(page);
    await page.goto(`${gateway.url}/admin/ui/tenants/${acme.id}`);
    // Midnight UTC is the evening before in Los Angeles: the day must not slip back one.
    const today = isoDay(Date.now());
    const cell = page.locator(`#usage-days tr[data-day="${today}"] time`);
    expect(await cell.getAttribute("datetime")).toBe(today);
    const utcDay = new Intl.DateTimeFormat("en-US", { dateStyle: "medium", timeZone: "UTC" });
    expect(await cell.textContent()).toBe(utcDay.format(Date.parse(today)));
    // A timestamp is shown in the reader's zone, and says which.
    expect(await page.locator("#keys tbody time").first().textContent()).toMatch(/ (PST|PDT)$/);
    expect(await accessibilityProblems(page)).toEqual([]);
    await context.close();
  }, 60_000);
});

/** The chart scaled to the data and the quota, its values on hover and in a table; dates in the locale. */
async function checkTenantPage(page: Page): Promise<void> {
  const chart = page.locator("svg.chart").first();
  // The busiest day is 400 units and the quota 1,500: the axis tops at 2,000, the quota drawn.
  expect(await chart.getAttribute("data-top")).toBe("2000");
  expect(await chart.locator("line.quota").getAttribute("data-quota")).toBe("1500");
  const titles = await chart.locator("g > title").allTextContents();
  expect(titles).toHaveLength(30);
  expect(titles.filter((t) => /: 400 units$/.test(t))).toHaveLength(1);
  expect(await page.locator('#usage-days tr[data-day] td:nth-child(2) data[value="400"]').count()).toBe(1);
  // The key's creation time: the ISO timestamp in its title, the text in the browser's locale.
  const created = page.locator("#keys tbody time").first();
  const iso = (await created.getAttribute("datetime")) ?? "";
  expect(await created.getAttribute("title")).toBe(iso);
  expect(await created.textContent()).toBe(
    new Intl.DateTimeFormat("en-US", { dateStyle: "medium", timeStyle: "long" }).format(Date.parse(iso)),
  );
}

async function checkInvoicesPage(page: Page): Promise<void> {
  const row = page.locator("#invoices > tbody > tr", { hasText: "Borealis Labs" });
  const cell = (n: number) => row.locator(`:scope > td:nth-child(${n})`);
  expect(await cell(2).locator("a").textContent()).toBe("Borealis Labs");
  expect(await cell(4).textContent()).toBe("12,345");
  // The exact amount, in the currency's format for en-US.
  expect(await cell(5).textContent()).toBe("$4,567.65");
}

describe("console actions in Chromium", () => {
  it("logs in and edits a quota with the keyboard alone; the operator API has the new quota", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${gateway.url}/admin/ui/login`);
    await tabTo(page, 'input[name="token"]');
    await page.keyboard.type(gateway.token);
    await Promise.all([page.waitForURL(`${gateway.url}/admin/ui`), page.keyboard.press("Enter")]);
    await tabTo(page, `a[href="/admin/ui/tenants/${acme.id}"]`);
    await Promise.all([page.waitForURL(`**/admin/ui/tenants/${acme.id}`), page.keyboard.press("Enter")]);
    await tabTo(page, '#quota input[name="dailyUnits"]');
    await page.keyboard.press("Control+A");
    await page.keyboard.type("2500");
    await page.keyboard.press("Enter");
    await shown(page, "#notice").toBe("Quota saved: it applies from the next call.");
    expect((await admin.getTenant(acme.id)).quota.dailyUnits).toBe(2_500);
    await context.close();
  }, 60_000);

  it("creates, suspends and activates a tenant, edits a route's limits and the unit price, with a notice after each", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await logIn(page);
    // A refused form comes back with the reason and what was typed.
    await page.fill('#new-tenant input[name="name"]', "Cobalt Robotics");
    await page.fill('#new-tenant input[name="burst"]', "50");
    // More units a day than the gateway takes: the browser lets it through, the server does not.
    await page.fill('#new-tenant input[name="dailyUnits"]', "2000000000000");
    await page.click('#new-tenant button[type="submit"]');
    await shown(page, "#new-tenant p.error").toMatch(/^Not created: quota\.dailyUnits: /);
    expect(await page.getAttribute('#new-tenant input[name="name"]', "value")).toBe("Cobalt Robotics");
    expect(await page.getAttribute('#new-tenant input[name="burst"]', "value")).toBe("50");
    expect(await page.getAttribute('#new-tenant input[name="dailyUnits"]', "value")).toBe("2000000000000");
    await page.fill('#new-tenant input[name="dailyUnits"]', "");
    await page.click('#new-tenant button[type="submit"]');
    await shown(page, "#notice").toBe("Tenant created.");
    const id = /\/admin\/ui\/tenants\/(\w+)$/.exec(page.url())?.[1] ?? "";
    expect(await admin.getTenant(id)).toMatchObject({
      name: "Cobalt Robotics",
      status: "active",
      quota: { burst: 50 },
    });

    await page.click("#status button");
    await shown(page, "#notice").toMatch(/^Tenant suspended/);
    expect((await admin.getTenant(id)).status).toBe("suspended");
    await page.click("#status button");
    await shown(page, "#notice").toMatch(/^Tenant activated/);
    expect((await admin.getTenant(id)).status).toBe("active");

    await page.fill('#route-form input[name="route"]', "no spaces");
    await page.fill('#route-form input[name="requestsPerMinute"]', "30");
    await page.click('#route-form button[type="submit"]');
    await shown(page, "p.error").toMatch(/^Not saved: route: /);
    expect(await page.getAttribute('#route-form input[name="route"]', "value")).toBe("no spaces");
    expect(await page.getAttribute('#route-form input[name="requestsPerMinute"]', "value")).toBe("30");
    await page.fill('#route-form input[name="route"]', "chat");
    await page.fill('#route-form input[name="requestBurst"]', "5");
    await page.click('#route-form button[type="submit"]');
    await shown(page, "#notice").toMatch(/^Route limits saved/);
    expect((await admin.getTenant(id)).quota.routes).toEqual({ chat: { requestsPerMinute: 30, requestBurst: 5 } });
    await page.click('tr[data-route="chat"] button');
    await shown(page, "#notice").toMatch(/^Route limits removed/);
    expect((await admin.getTenant(id)).quota.routes).toEqual({});

    await page.fill('#quota input[name="unitPrice"]', "0.000003");
    await page.click('#quota button[type="submit"]');
    await shown(page, "#notice").toMatch(/^Quota saved/);
    expect((await admin.getTenant(id)).quota).toMatchObject({ unitPrice: "0.000003", burst: 50 });
    await context.close();
  }, 60_000);

  it("shows money in the browser's locale, marks an invoice paid and redelivers a webhook, with a notice after each", async () => {
    const context = await browser.newContext({ locale: "de-DE" });
    const page = await context.newPage();
    await logIn(page);
    await page.goto(`${gateway.url}/admin/ui/invoices`);
    const row = page.locator("#invoices > tbody > tr", { hasText: "Borealis Labs" });
    // The same exact amount as in en-US, in German: comma decimals, the sign after.
    expect(await row.locator(":scope > td:nth-child(5)").textContent()).toBe("4.567,65\u00a0$");
    const invoiceId = (await row.getAttribute("data-invoice")) ?? "";
    await row.locator('button[type="submit"]').click();
    await shown(page, "#notice").toBe("Invoice marked paid.");
    expect(await page.locator(`tr[data-invoice="${invoiceId}"]`).count()).toBe(0);
    expect((await admin.listInvoices({ status: "paid" })).invoices.map((i) => i.id)).toContain(invoiceId);

    await page.goto(`${gateway.url}/admin/ui/deliveries`);
    await page.locator("#deliveries tbody tr").first().locator('button[type="submit"]').click();
    await shown(page, "#notice").toBe("Delivery queued to be sent again.");

    // A unit price, exact, in German: decimal comma, no float's rounding.
    await page.goto(`${gateway.url}/admin/ui/prices`);
    const price = page.locator("#prices tbody tr").first().locator("data.decimal");
    expect(await price.getAttribute("value")).toBe(GLOBAL_PRICE);
    expect(await price.textContent()).toBe("0,000009");
    await context.close();
  }, 60_000);
});
