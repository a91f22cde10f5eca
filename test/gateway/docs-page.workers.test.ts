// The API reference at /docs: served by the gateway itself, with its assets and a strict CSP.

import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BASE } from "../support/workers/helpers";

describe("/docs", () => {
  it("serves the reference page and its assets from the gateway, under a strict CSP", async () => {
    const page = await SELF.fetch(`${BASE}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    const html = await page.text();
    expect(html).toContain('<script src="/docs/app.js" defer></script>');
    expect(html).not.toMatch(/https?:\/\//);

    const js = await SELF.fetch(`${BASE}/docs/app.js`);
    expect(js.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(await js.text()).toContain('fetch("/openapi.json")');
    const css = await SELF.fetch(`${BASE}/docs/app.css`);
    expect(css.headers.get("content-type")).toMatch(/^text\/css/);

    // What the page renders: every operation of the contract is in the document.
    const spec = (await (await SELF.fetch(`${BASE}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(spec.openapi).toBe("3.1.0");
    const operations = Object.entries(spec.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    );
    for (const op of [
      "POST /admin/v1/tenants",
      "GET /admin/v1/tenants/{id}",
      "PUT /admin/v1/tenants/{id}/quota",
      "DELETE /admin/v1/tenants/{id}/keys/{keyId}",
      "POST /admin/v1/billing/run",
      "PUT /admin/v1/prices",
      "PUT /admin/v1/tenants/{id}/prices",
      "POST /admin/v1/invoices/{id}/pay",
      "POST /admin/v1/webhooks/deliveries/{id}/redeliver",
      "GET /account/v1/limits",
      "POST /account/v1/usage",
      "GET /account/v1/usage",
    ]) {
      expect(operations).toContain(op);
    }
  });
});
