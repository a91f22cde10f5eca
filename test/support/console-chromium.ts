// Checks a console page in Chromium: screenshots at 1280 and 375 px, nothing wider than the
// phone, and axe-core's WCAG 2 A/AA rules, with every <details> open so that what it hides
// is laid out and checked too. Also the keyboard and wait helpers the console's browser tests
// share. The page must carry axe-core (a context made by axeContext()).

import path from "node:path";
import axe, { type AxeResults } from "axe-core";
import type { Browser, BrowserContext, BrowserContextOptions, Page } from "playwright-core";
import { expect } from "vitest";

const WIDTHS = [1280, 375] as const;

/** A context whose pages carry axe-core (injected by the browser, so the page's CSP doesn't apply to it). */
export async function axeContext(browser: Browser, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ locale: "en-US", ...options });
  await context.addInitScript({ content: axe.source });
  return context;
}

/** Opens every <details> on the page; how many there are. */
export async function openAllDetails(page: Page): Promise<number> {
  // A string, evaluated in the page: this file is type-checked without the DOM's types.
  const opened = await page.evaluate(
    'Array.from(document.querySelectorAll("details")).map((d) => { d.open = true; return d.open; })',
  );
  const all = opened as boolean[];
  expect(all.every(Boolean)).toBe(true);
  return all.length;
}

/** axe-core's serious and critical WCAG 2 A/AA violations on the page, one line each. */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  const results = await page.evaluate<AxeResults>(
    'axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] } })',
  );
  // axe ran its rules: a page where none applied would pass without proving anything.
  expect(results.passes.length).toBeGreaterThan(10);
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

/** Shows the page at each width, every <details> open: screenshot, no sideways scrolling at 375 px, and axe. */
export async function checkPage(page: Page, name: string, shots: string): Promise<void> {
  await openAllDetails(page);
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: path.join(shots, `${name}-${width}.png`), fullPage: true });
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

/** Presses Tab until the element `selector` finds has the focus (at most 80 times). */
export async function tabTo(page: Page, selector: string): Promise<void> {
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate(`document.activeElement?.matches(${JSON.stringify(selector)}) === true`)) return;
  }
  throw new Error(`Tab never reached ${selector}`);
}

/** The text `selector` shows once the page the last action led to has it. */
export const shown = (page: Page, selector: string) =>
  expect.poll(
    () =>
      page
        .locator(selector)
        .first()
        .textContent({ timeout: 1_000 })
        .catch(() => null),
    { timeout: 10_000 },
  );
