// A console form the server could not carry out, through the real Worker: the operator gets a
// page of the console (text/html, role="alert", the problem's status and detail, a link back to
// the page the form was on), never the API's problem+json. Also the deliveries page with
// BILLING_WEBHOOK_URL set, and a tenant that no longer exists named "(deleted)".

import { describe, expect, it } from "vitest";
import { newInvoiceId } from "../../src/billing/ids";
import { invoices } from "../../src/db/schema";
import { login, page, postForm } from "../support/workers/console";
import { admin, env, newTenant, withDb } from "../support/workers/helpers";

/** The page a refused form answered with: its alert's text and its link back. */
async function problemPage(res: Response): Promise<{ alert: string; back: string; code: string }> {
  expect(res.headers.get("content-type")).toBe("text/html; charset=UTF-8");
  expect(res.headers.get("content-security-policy")).toMatch(/^default-src 'none';/);
  const html = await res.text();
  expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
  const alert = /<p class="error" role="alert" id="problem" data-code="([^"]+)">([^<]*)<\/p>/.exec(html);
  const back = /<a href="([^"]+)">Back to the page the form was on<\/a>/.exec(html);
  return { code: alert?.[1] ?? "", alert: alert?.[2] ?? "", back: back?.[1] ?? "" };
}

describe("console, a form the server refuses", () => {
  it("pays an invoice (again: harmless), refuses a void one with a 409 page, and names a deleted tenant", async () => {
    const cookie = await login();
    // No tenant has this id: the invoice outlived it.
    const ghost = "tnghostghostghost01";
    const id = newInvoiceId();
    const issued = {
      tenantId: ghost,
      units: 10,
      currency: "USD",
      status: "issued" as const,
      periodStart: "2018-01-01",
      periodEnd: "2018-01-02",
      amountMinor: 100,
      lineItems: [],
    };
    await withDb((d) => d.insert(invoices).values({ ...issued, id }));
    const list = await page("/invoices", cookie);
    const row = new RegExp(`<tr data-invoice="${id}">.*?</tr>`, "s").exec(list.html)?.[0] ?? "";
    expect(row).toContain(`<a href="/admin/ui/tenants/${ghost}">(deleted)</a> <code>${ghost}</code>`);

    // Marked paid once, and again (another tab, a double click): the second changes nothing.
    const paid = newInvoiceId();
    await withDb((d) =>
      d.insert(invoices).values({ ...issued, id: paid, periodStart: "2018-01-02", periodEnd: "2018-01-03" }),
    );
    for (let i = 0; i < 2; i++) {
      const res = await postForm(`/invoices/${paid}/pay`, cookie, { csrf: list.csrf });
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe("/admin/ui/invoices");
    }
    const voided = await admin(`/invoices/${id}/void`, { method: "POST" });
    expect(voided.status).toBe(200);
    const refused = await postForm(`/invoices/${id}/pay`, cookie, { csrf: list.csrf });
    expect(refused.status).toBe(409);
    expect(await problemPage(refused)).toEqual({
      code: "invoice-conflict",
      alert: `invoice ${id} is void and cannot be paid`,
      back: "/admin/ui/invoices",
    });

    const unknown = await postForm("/invoices/inv_aaaaaaaaaaaaaaaaaaaa/pay", cookie, { csrf: list.csrf });
    expect(unknown.status).toBe(404);
    expect((await problemPage(unknown)).back).toBe("/admin/ui/invoices");
  });

  it("answers a redelivery of an unknown delivery with a 404 page, and says where deliveries go", async () => {
    const cookie = await login();
    const shown = await page("/deliveries", cookie);
    // The Worker's BILLING_WEBHOOK_URL: its origin only, never the path (it may hold a token).
    const origin = new URL(env.BILLING_WEBHOOK_URL as string).origin;
    expect(shown.html).toContain(
      `<p id="webhook-target">Sent to <code>${origin}</code>, signed (Standard Webhooks) with BILLING_WEBHOOK_SECRET.</p>`,
    );
    expect(shown.html).not.toContain("No webhook URL is configured");
    const res = await postForm("/deliveries/msg_aaaaaaaaaaaaaaaaaaaa/redeliver", cookie, { csrf: shown.csrf });
    expect(res.status).toBe(404);
    expect(await problemPage(res)).toEqual({
      code: "delivery-not-found",
      alert: "no delivery msg_aaaaaaaaaaaaaaaaaaaa",
      back: "/admin/ui/deliveries",
    });
  });

  it("answers a status it does not know, and an unknown tenant, with a page linking back", async () => {
    const cookie = await login();
    const t = await newTenant({ ratePerMinute: 0, burst: 5, dailyUnits: 100 }, "problem page");
    const { csrf } = await page(`/tenants/${t.id}`, cookie);
    const bad = await postForm(`/tenants/${t.id}/status`, cookie, { status: "gone", csrf });
    expect(bad.status).toBe(400);
    expect(await problemPage(bad)).toEqual({
      code: "invalid-form",
      alert: "status must be &quot;active&quot; or &quot;suspended&quot;",
      back: `/admin/ui/tenants/${t.id}`,
    });
    const missing = await postForm("/tenants/tnaaaaaaaaaaaaaaaa/quota", cookie, { burst: "2", csrf });
    expect(missing.status).toBe(404);
    expect(await problemPage(missing)).toMatchObject({ code: "tenant-not-found", back: "/admin/ui" });
  });
});
