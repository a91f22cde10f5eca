// The console's v2 limits through the real Worker: the quota editor's request bucket, cap and
// optional units bucket, each key's limits form, what a refused form gives back (the reason,
// and what was typed), and that what is saved is what the next call meets.

import { describe, expect, it } from "vitest";
import { login, page, postForm } from "../support/workers/console";
import { adminJson, call, newTenant } from "../support/workers/helpers";

/** The fields of the forms `selector` matches, as the page renders them (value attributes). */
async function formValues(html: string, selector: string): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  await new HTMLRewriter()
    .on(`${selector} input`, {
      element(e) {
        const name = e.getAttribute("name");
        if (!name || name === "csrf") return;
        const checkbox = e.getAttribute("type") === "checkbox";
        values[name] = checkbox
          ? e.hasAttribute("checked")
            ? (e.getAttribute("value") ?? "")
            : ""
          : (e.getAttribute("value") ?? "");
      },
    })
    .transform(new Response(html))
    .text();
  return values;
}

/** The text of the key's limits cell, and whether its form is open. */
async function keyRow(html: string, keyId: string): Promise<{ limits: string; open: boolean; forms: number }> {
  let limits = "";
  let open = false;
  let forms = 0;
  await new HTMLRewriter()
    .on(`tr[data-key="${keyId}"] span.limits`, {
      text(t) {
        limits += t.text;
      },
    })
    .on(`tr[data-key="${keyId}"] details`, {
      element(e) {
        open = e.hasAttribute("open");
      },
    })
    .on(`tr[data-key="${keyId}"] form.key-limits`, {
      element() {
        forms++;
      },
    })
    .transform(new Response(html))
    .text();
  return { limits, open, forms };
}

const policies = (res: Response) => res.headers.get("ratelimit-policy") ?? "";
const tenantQuota = async (id: string) => (await adminJson<{ quota: Record<string, unknown> }>(`/tenants/${id}`)).quota;
const keyLimits = async (tenantId: string, keyId: string) =>
  (await adminJson<{ keys: { id: string; limits: unknown }[] }>(`/tenants/${tenantId}/keys`)).keys.find(
    (k) => k.id === keyId,
  )?.limits;

describe("console, v2 limits", () => {
  it("saves a request bucket and a cap without a units bucket, shows them, and the next call meets them", async () => {
    const cookie = await login();
    const t = await newTenant({ ratePerMinute: 60, burst: 10, dailyUnits: 1_000 });
    const before = await page(`/tenants/${t.id}`, cookie);
    const zone = (await tenantQuota(t.id)).timeZone as string;
    expect(await formValues(before.html, "form#quota")).toEqual({
      ratePerMinute: "60",
      burst: "10",
      requestsPerMinute: "",
      requestBurst: "",
      maxConcurrent: "",
      dailyUnits: "1000",
      timeZone: zone,
      alerts: "0.8, 1",
      unitPrice: "",
      shadow: "",
      leases: "",
    });

    const form = {
      ratePerMinute: "",
      burst: "",
      // No refill: what is left does not depend on how long the test takes.
      requestsPerMinute: "0",
      requestBurst: "2",
      maxConcurrent: "3",
      dailyUnits: "1000",
      timeZone: zone,
    };
    const saved = await postForm(`/tenants/${t.id}/quota`, cookie, { ...form, csrf: before.csrf });
    expect(saved.status).toBe(303);
    expect(saved.headers.get("location")).toBe(`/admin/ui/tenants/${t.id}`);
    expect(await tenantQuota(t.id)).toMatchObject({
      ratePerMinute: null,
      burst: null,
      requestsPerMinute: 0,
      requestBurst: 2,
      maxConcurrent: 3,
      dailyUnits: 1_000,
    });
    expect(await formValues((await page(`/tenants/${t.id}`, cookie)).html, "form#quota")).toEqual({
      ...form,
      alerts: "0.8, 1",
      unitPrice: "",
      shadow: "",
      leases: "",
    });

    const first = await call(t.key);
    expect(first.status).toBe(200);
    expect(policies(first)).toContain('"chat/requests";q=2');
    expect(policies(first)).toContain('"concurrency";q=3');
    // No units bucket: the route's units policy is not there.
    expect(policies(first)).not.toMatch(/"chat";/);
    expect((await call(t.key)).status).toBe(200);
    const third = await call(t.key);
    expect(third.status).toBe(429);
    expect(((await third.json()) as { "violated-policies": string[] })["violated-policies"]).toEqual(["chat/requests"]);
  });

  it("gives a refused quota back as typed, with the reason, and saves nothing", async () => {
    const cookie = await login();
    const t = await newTenant({ ratePerMinute: 60, burst: 10, dailyUnits: 1_000 });
    const stored = await tenantQuota(t.id);
    const { csrf } = await page(`/tenants/${t.id}`, cookie);
    const typed = {
      ratePerMinute: "",
      burst: "7",
      requestsPerMinute: "120",
      requestBurst: "0",
      maxConcurrent: "abc",
      dailyUnits: "",
      timeZone: "Mars/Olympus",
      alerts: "0.8, 1",
      unitPrice: "",
      shadow: "1",
      leases: "1",
    };
    const notNumber = await postForm(`/tenants/${t.id}/quota`, cookie, { ...typed, csrf });
    expect(notNumber.status).toBe(400);
    const html = await notNumber.text();
    expect(html).toContain("Not saved: maxConcurrent: must be a whole number, or empty for none");
    expect(await formValues(html, "form#quota")).toEqual(typed);

    const fixedOne = { ...typed, maxConcurrent: "4" };
    const outOfRange = await postForm(`/tenants/${t.id}/quota`, cookie, { ...fixedOne, csrf });
    expect(outOfRange.status).toBe(400);
    const again = await outOfRange.text();
    expect(again).toMatch(/Not saved: [^<]*requestBurst: /);
    expect(again).toMatch(/Not saved: [^<]*timeZone: not an IANA time zone name/);
    expect(await formValues(again, "form#quota")).toEqual(fixedOne);
    expect(await tenantQuota(t.id)).toEqual(stored);
  });

  it("switches lease mode on with its checkbox, shows it ticked, and off again", async () => {
    const cookie = await login();
    const t = await newTenant({ ratePerMinute: 60, burst: 10, dailyUnits: 1_000 });
    const before = await page(`/tenants/${t.id}`, cookie);
    const shown = await formValues(before.html, "form#quota");
    expect(shown.leases).toBe("");
    const on = await postForm(`/tenants/${t.id}/quota`, cookie, { ...shown, leases: "1", csrf: before.csrf });
    expect(on.status).toBe(303);
    expect(await tenantQuota(t.id)).toMatchObject({ leases: true, shadow: false, ratePerMinute: 60, burst: 10 });
    const ticked = await page(`/tenants/${t.id}`, cookie);
    expect(await formValues(ticked.html, "form#quota")).toEqual({ ...shown, leases: "1" });

    // A browser sends nothing for an unticked box: that is off.
    const { leases: _on, ...unticked } = await formValues(ticked.html, "form#quota");
    const off = await postForm(`/tenants/${t.id}/quota`, cookie, { ...unticked, csrf: ticked.csrf });
    expect(off.status).toBe(303);
    expect((await tenantQuota(t.id)).leases).toBe(false);
    expect((await formValues((await page(`/tenants/${t.id}`, cookie)).html, "form#quota")).leases).toBe("");
  });

  it("leaves a limit the form does not send as it is, as a page from before that field would", async () => {
    const cookie = await login();
    const t = await newTenant({
      ratePerMinute: 60,
      burst: 10,
      dailyUnits: 1_000,
      requestsPerMinute: 30,
      maxConcurrent: 5,
    });
    const { csrf } = await page(`/tenants/${t.id}`, cookie);
    const zone = (await tenantQuota(t.id)).timeZone as string;
    const old = { ratePerMinute: "60", burst: "4", dailyUnits: "1000", timeZone: zone, csrf };
    expect((await postForm(`/tenants/${t.id}/quota`, cookie, old)).status).toBe(303);
    expect(await tenantQuota(t.id)).toMatchObject({ burst: 4, requestsPerMinute: 30, maxConcurrent: 5 });
  });

  it("shows each key's limits, sets them with the key's form, and clears them", async () => {
    const cookie = await login();
    const t = await newTenant({ ratePerMinute: 0, burst: 100, dailyUnits: null });
    const before = await page(`/tenants/${t.id}`, cookie);
    expect(await keyRow(before.html, t.keyId)).toEqual({ limits: "none", open: false, forms: 1 });
    const path = `/tenants/${t.id}/keys/${t.keyId}/limits`;

    const form = { ratePerMinute: "", burst: "", requestsPerMinute: "0", requestBurst: "1" };
    const saved = await postForm(path, cookie, { ...form, csrf: before.csrf });
    expect(saved.status).toBe(303);
    expect(saved.headers.get("location")).toBe(`/admin/ui/tenants/${t.id}`);
    expect(await keyLimits(t.id, t.keyId)).toEqual({ requestsPerMinute: 0, requestBurst: 1 });
    const shown = (await page(`/tenants/${t.id}`, cookie)).html;
    expect((await keyRow(shown, t.keyId)).limits).toBe("requests/min 0, request burst 1");
    expect(await formValues(shown, `tr[data-key="${t.keyId}"] form.key-limits`)).toEqual(form);

    const first = await call(t.key);
    expect(first.status).toBe(200);
    expect(policies(first)).toContain('"key/chat/requests";q=1');
    const second = await call(t.key);
    expect(second.status).toBe(429);
    expect(((await second.json()) as { "violated-policies": string[] })["violated-policies"]).toEqual([
      "key/chat/requests",
    ]);

    // "Clear limits" sends the fields too; the button is what decides.
    const cleared = await postForm(path, cookie, { ...form, clear: "1", csrf: before.csrf });
    expect(cleared.status).toBe(303);
    expect(await keyLimits(t.id, t.keyId)).toBeNull();
    expect((await call(t.key)).status).toBe(200);

    // Every field left empty is no limits at all, as a clear is.
    await postForm(path, cookie, { ...form, csrf: before.csrf });
    const emptied = { ratePerMinute: "", burst: "", requestsPerMinute: "", requestBurst: "", csrf: before.csrf };
    expect((await postForm(path, cookie, emptied)).status).toBe(303);
    expect(await keyLimits(t.id, t.keyId)).toBeNull();
  });

  it("gives a refused key form back as typed in that key's row, and refuses what the other forms refuse", async () => {
    const cookie = await login();
    const t = await newTenant({ ratePerMinute: 0, burst: 100, dailyUnits: null });
    const other = await adminJson<{ id: string }>(`/tenants/${t.id}/keys`, {
      method: "POST",
      json: { limits: { requestsPerMinute: 9 } },
    });
    const { csrf } = await page(`/tenants/${t.id}`, cookie);
    const path = `/tenants/${t.id}/keys/${t.keyId}/limits`;

    const typed = { ratePerMinute: "5", burst: "0", requestsPerMinute: "x", requestBurst: "" };
    const refused = await postForm(path, cookie, { ...typed, csrf });
    expect(refused.status).toBe(400);
    const html = await refused.text();
    expect(html).toContain("Not saved: requestsPerMinute: must be a whole number, or empty for none");
    expect(await keyRow(html, t.keyId)).toMatchObject({ open: true, limits: "none" });
    expect(await formValues(html, `tr[data-key="${t.keyId}"] form.key-limits`)).toEqual(typed);
    // The other key's form shows what it has, closed.
    expect(await keyRow(html, other.id)).toMatchObject({ open: false, limits: "requests/min 9" });
    expect(await formValues(html, `tr[data-key="${other.id}"] form.key-limits`)).toMatchObject({
      requestsPerMinute: "9",
    });

    const tooSmall = await postForm(path, cookie, { ...typed, requestsPerMinute: "", csrf });
    expect(tooSmall.status).toBe(400);
    expect(await tooSmall.text()).toMatch(/Not saved: burst: /);
    expect(await keyLimits(t.id, t.keyId)).toBeNull();

    const valid = { ratePerMinute: "5", burst: "5", requestsPerMinute: "", requestBurst: "", csrf };
    const forged = await postForm(path, cookie, { ...valid, csrf: "x".repeat(43) });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { code: string }).code).toBe("csrf-failed");
    const foreign = await postForm(path, cookie, valid, { origin: "https://evil.example" });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { code: string }).code).toBe("forbidden-origin");
    const unknown = await postForm(`/tenants/${t.id}/keys/keyaaaaaaaaaaaaaaaa/limits`, cookie, valid);
    expect(unknown.status).toBe(404);
    // The console's own page for it, not the API's problem+json.
    expect(unknown.headers.get("content-type")).toBe("text/html; charset=UTF-8");
    expect(await unknown.text()).toContain('role="alert" id="problem" data-code="key-not-found"');
    expect(await keyLimits(t.id, t.keyId)).toBeNull();

    // A revoked key shows its limits, without a form.
    await adminJson(`/tenants/${t.id}/keys/${other.id}`, { method: "DELETE" });
    const after = (await page(`/tenants/${t.id}`, cookie)).html;
    expect(await keyRow(after, other.id)).toEqual({ limits: "requests/min 9", open: false, forms: 0 });
  });
});
