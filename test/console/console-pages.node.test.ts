// Every console page in Chromium (the one npm installs, via launchChromium()) against the
// self-hosted gateway on real Postgres and Redis: at 1280 and 375 px wide, with a screenshot
// of each in test-artifacts/console/<page>-<width>.png, no page wider than a 375 px phone, and
// axe-core (WCAG 2 A and AA rules) finding nothing serious or critical. Numbers, money and
// dates are shown in the browser's locale by the console's served script, under its CSP.

import { mkdirSync } from "node:fs";
import path from "node:path";
import axe, { type AxeResults } from "axe-core";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/lib/wrangler-dev";
import { AegisAdmin, AegisClient } from "../../src/client/index";
import { launchChromium } from "../support/chromium";
import { startTestGateway, type TestGateway } from "../support/test-gateway";

const SHOTS = path.join(ROOT, "test-artifacts", "console");
const WIDTHS = [1280, 375] as const;

let gateway: TestGateway;
let browser: Browser;
let admin: AegisAdmin;
let acme: { id: string };
let borealis: { id: string };

beforeAll(async () => {
  // Daily invoices at 0.37 USD a unit, and no BILLING_WEBHOOK_URL: deliveries wait, pending.
  gateway = await startTestGateway("console_pages", { BILLING_PERIOD: "day", BILLING_UNIT_COST: "0.37" });
  admin = new AegisAdmin({ baseUrl: gateway.url, token: gateway.token });
  acme = await admin.createTenant({
    name: "Acme Analytics",
    quota: { ratePerMinute: 600, burst: 100, dailyUnits: 1_500, routes: { chat: { requestsPerMinute: 60 } } },
  });
  borealis = await admin.createTenant({ name: "Borealis Labs", quota: { dailyUnits: null } });
  const acmeKey = (await admin.createKey(acme.id, { name: "production" })).key;
  const borealisKey = (await admin.createKey(borealis.id, { name: "batch" })).key;
  const acmeClient = new AegisClient({ baseUrl: gateway.url, apiKey: acmeKey, retry: false });
  for (let d = 1; d <= 4; d++) {
    await acmeClient.recordUsage({
      units: 100 * d,
      jobId: `day-${d}`,
      occurredAt: new Date(Date.now() - d * 86_400_000),
    });
  }
  for (let i = 0; i < 3; i++) {
    await (await acmeClient.fetch("/v1/chat/completions", { method: "POST", json: { model: "m" } })).arrayBuffer();
  }
  // Yesterday's 12,345 units make Borealis an invoice of 4,567.65 USD, and its webhook delivery.
  await new AegisClient({ baseUrl: gateway.url, apiKey: borealisKey, retry: false }).recordUsage({
    units: 12_345,
    jobId: "yesterday",
    occurredAt: new Date(Date.now() - 86_400_000),
  });
  await gateway.server.flushUsage();
  await gateway.server.runBilling(Date.now());
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
});

/** A context whose pages carry axe-core (injected by the browser, so the page's CSP doesn't apply to it). */
async function newContext(locale = "en-US"): Promise<BrowserContext> {
  const context = await browser.newContext({ locale });
  await context.addInitScript({ content: axe.source });
  return context;
}

async function logIn(page: Page): Promise<void> {
  await page.goto(`${gateway.url}/admin/ui/login`);
  await page.fill('input[name="token"]', gateway.token);
  await Promise.all([page.waitForURL(`${gateway.url}/admin/ui`), page.click('button[type="submit"]')]);
}

/** axe-core's serious and critical WCAG 2 A/AA violations on the page, one line each. */
async function accessibilityProblems(page: Page): Promise<string[]> {
  // A string, evaluated in the page: this file is type-checked without the DOM's types.
  const results = await page.evaluate<AxeResults>(
    'axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] } })',
  );
  // axe ran its rules: a page where none applied would pass without proving anything.
  expect(results.passes.length).toBeGreaterThan(10);
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

/** Shows the page at each width: screenshot, no sideways scrolling at 375 px, and axe. */
async function checkPage(page: Page, name: string): Promise<void> {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: path.join(SHOTS, `${name}-${width}.png`), fullPage: true });
    // Both: in quirks mode (a page without its doctype) only <body> reports the overflow.
    const wide = Number(
      await page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"),
    );
    if (width === 375) expect(wide, `${name} is ${wide} px wide at 375`).toBeLessThanOrEqual(375);
    const problems = await accessibilityProblems(page);
    if (problems.length > 0) console.log(`${name} at ${width} px:\n${problems.join("\n")}`);
    expect(problems, `${name} at ${width} px`).toEqual([]);
  }
}

describe("console pages in Chromium", () => {
  it("every page at 1280 and 375 px: screenshots, nothing wider than the phone, no serious axe violations", async () => {
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(`${gateway.url}/admin/ui/login`);
    expect(await page.evaluate("document.compatMode")).toBe("CSS1Compat");
    await checkPage(page, "login");
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
      await checkPage(page, name);
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
    new Intl.DateTimeFormat("en-US", { dateStyle: "medium", timeStyle: "short" }).format(Date.parse(iso)),
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

/** Presses Tab until the element `selector` finds has the focus (at most 80 times). */
async function tabTo(page: Page, selector: string): Promise<void> {
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate(`document.activeElement?.matches(${JSON.stringify(selector)}) === true`)) return;
  }
  throw new Error(`Tab never reached ${selector}`);
}

/** The text `selector` shows once the page the last action led to has it. */
const shown = (page: Page, selector: string) =>
  expect.poll(
    () =>
      page
        .locator(selector)
        .first()
        .textContent({ timeout: 1_000 })
        .catch(() => null),
    {
      timeout: 10_000,
    },
  );

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
    await context.close();
  }, 60_000);
});
