// The console's forms against whatever a client may send: every POST answers a 4xx
// (problem+json, or the form page with its error) or goes through, and never a 500.

import { SELF } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, adminJson, BASE, newTenant } from "../support/workers/helpers";

const UI = `${BASE}/admin/ui`;
const MULTIPART = "multipart/form-data; boundary=x";

let cookie = "";
let csrf = "";
let tenant = { id: "", keyId: "" };

beforeAll(async () => {
  const res = await SELF.fetch(`${UI}/login`, {
    method: "POST",
    body: new URLSearchParams({ token: ADMIN_TOKEN }),
    redirect: "manual",
  });
  expect(res.status).toBe(303);
  cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
  tenant = await newTenant({ ratePerMinute: 0, burst: 5, dailyUnits: 100 }, "console fuzz");
  const html = await (await SELF.fetch(`${UI}/tenants/${tenant.id}`, { headers: { cookie } })).text();
  csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
  expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
});

/** A POST with exactly the content type given: the body goes as bytes, so fetch adds none of its own. */
function post(path: string, contentType: string, body: string | Uint8Array, session = true): Promise<Response> {
  const headers: Record<string, string> = {};
  if (contentType) headers["content-type"] = contentType;
  if (session) headers.cookie = cookie;
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  return SELF.fetch(`${UI}${path}`, { method: "POST", headers, body: bytes, redirect: "manual" });
}

type Field = [name: string, value: string, filename?: string];

/** A multipart body with boundary "x"; without its closing delimiter when `close` is false. */
function multipart(fields: Field[], close = true): string {
  const parts = fields.map(
    ([name, value, filename]) =>
      `--x\r\nContent-Disposition: form-data; name="${name}"${filename === undefined ? "" : `; filename="${filename}"`}\r\n\r\n${value}\r\n`,
  );
  return parts.join("") + (close ? "--x--\r\n" : "");
}

/** The field as a browser frames it: quotes and line breaks in a part's header escaped. */
function browserField([name, value, filename]: Field): Field {
  const quoted = (s: string) => s.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
  return filename === undefined ? [quoted(name), value] : [quoted(name), value, quoted(filename)];
}

async function problemCode(res: Response): Promise<string> {
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const body = (await res.json()) as { status: number; code: string; detail: string };
  expect(body.status).toBe(res.status);
  expect(body.detail.length).toBeGreaterThan(0);
  return body.code;
}

describe("console forms", () => {
  it("answers a broken multipart login with 400 invalid-form, not 500", async () => {
    const res = await post("/login", MULTIPART, "broken", false);
    expect(res.status).toBe(400);
    expect(await problemCode(res)).toBe("invalid-form");
    expect(res.headers.get("set-cookie")).toBeNull();
    const unterminated = await post("/login", MULTIPART, multipart([["token", ADMIN_TOKEN]], false), false);
    expect(unterminated.status).toBe(400);
    expect(unterminated.headers.get("set-cookie")).toBeNull();
    const noBoundary = await post("/login", "multipart/form-data", `token=${ADMIN_TOKEN}`, false);
    expect(noBoundary.status).toBe(400);
    expect(await problemCode(noBoundary)).toBe("invalid-form");
  });

  it("answers a broken multipart form behind a session with 400 invalid-form, before any change", async () => {
    const keys = async () => (await adminJson<{ keys: unknown[] }>(`/tenants/${tenant.id}/keys`)).keys.length;
    const before = await keys();
    for (const path of [
      `/tenants/${tenant.id}/quota`,
      `/tenants/${tenant.id}/keys`,
      `/tenants/${tenant.id}/keys/${tenant.keyId}/limits`,
      "/logout",
    ]) {
      const res = await post(path, MULTIPART, multipart([["csrf", csrf]], false));
      expect(res.status, path).toBe(400);
      expect(await problemCode(res), path).toBe("invalid-form");
    }
    expect(await keys()).toBe(before);
  });

  it("refuses a body that is not a form with 415, with or without a session", async () => {
    const login = await post("/login", "application/json", JSON.stringify({ token: ADMIN_TOKEN }), false);
    expect(login.status).toBe(415);
    expect(await problemCode(login)).toBe("unsupported-media-type");
    expect(login.headers.get("set-cookie")).toBeNull();
    for (const type of ["application/json", "text/plain", ""]) {
      const res = await post(`/tenants/${tenant.id}/quota`, type, `csrf=${csrf}&burst=2`);
      expect(res.status, type).toBe(415);
      expect(await problemCode(res), type).toBe("unsupported-media-type");
    }
  });

  it("still takes well-formed multipart and urlencoded forms, whatever the case of the media type", async () => {
    const form = new FormData();
    form.set("token", ADMIN_TOKEN);
    const login = await SELF.fetch(`${UI}/login`, { method: "POST", body: form, redirect: "manual" });
    expect(login.status).toBe(303);
    const quota = [
      ["csrf", csrf],
      ["ratePerMinute", "0"],
      ["burst", "7"],
      ["timeZone", "UTC"],
    ] satisfies Field[];
    const viaMultipart = await post(`/tenants/${tenant.id}/quota`, "Multipart/Form-Data; boundary=x", multipart(quota));
    expect(viaMultipart.status).toBe(303);
    const viaUrlencoded = await post(
      `/tenants/${tenant.id}/quota`,
      "application/x-www-form-urlencoded; charset=UTF-8",
      new URLSearchParams(quota).toString(),
    );
    expect(viaUrlencoded.status).toBe(303);
  });

  it("never answers 5xx to fuzzed bodies on any console form", async () => {
    const paths = [
      `/tenants/${tenant.id}/quota`,
      `/tenants/${tenant.id}/keys`,
      `/tenants/${tenant.id}/keys/${tenant.keyId}/limits`,
      `/tenants/${tenant.id}/keys/${tenant.keyId}/revoke`,
      // A tenant's prices only: a fuzzed form that happened to add a global price would
      // price every other file's invoices in this shared database.
      `/tenants/${tenant.id}/prices`,
      `/tenants/${tenant.id}/prices/remove`,
      `/tenants/${tenant.id}/payment-method`,
      `/tenants/${tenant.id}/status`,
      `/tenants/${tenant.id}/routes`,
      `/tenants/${tenant.id}/routes/remove`,
      `/tenants/${tenant.id}/override`,
      `/tenants/${tenant.id}/override/end`,
      // Creates tenants (named by the fuzz) in the shared database; nothing else reads them.
      "/tenants",
      "/tenants/tnaaaaaaaaaaaaaaaa/quota",
      "/tenants/tnaaaaaaaaaaaaaaaa/prices",
      "/invoices/inv_aaaaaaaaaaaaaaaaaaaa/pay",
      "/deliveries/msg_aaaaaaaaaaaaaaaaaaaa/redeliver",
      "/logout",
    ];
    const name = fc.oneof(
      fc.constantFrom(
        "token",
        "csrf",
        "ratePerMinute",
        "burst",
        "requestsPerMinute",
        "requestBurst",
        "maxConcurrent",
        "dailyUnits",
        "timeZone",
        "shadow",
        "leases",
        "clear",
        "name",
        "model",
        "dimension",
        "unitPrice",
        "effectiveFrom",
        "tiers",
        "paymentMethodRef",
        "route",
        "status",
        "cost",
        "alerts",
        "hours",
        "x[]",
      ),
      fc.string(),
    );
    const value = fc.oneof(
      fc.constantFrom(
        "",
        "0",
        "-1",
        "1e400",
        "NaN",
        "9223372036854775808",
        "1",
        "UTC",
        "Not/AZone",
        ADMIN_TOKEN,
        "gpt-4o*",
        "units",
        "2099-01-01",
        "5:0.1, rest:0.01",
        "4242424242424242",
        "active",
        "suspended",
        "chat",
        "0.8, 1",
        "24",
        "0.000002",
      ),
      fc.string(),
      fc.string({ unit: "binary" }),
    );
    const field: fc.Arbitrary<Field> = fc.oneof(
      fc.tuple(name, value),
      fc.tuple(name, value, fc.string()).map(([n, v, f]): Field => [n, v, f]),
    );
    const fields = fc.array(field, { maxLength: 6 });
    // The right token, a wrong one, or none: past the CSRF check and short of it.
    const withCsrf = fc
      .tuple(fields, fc.constantFrom("right", "wrong", "none"))
      .map(([fs, which]): Field[] =>
        which === "none" ? fs : [...fs, ["csrf", which === "right" ? csrf : "x".repeat(43)]],
      );
    const urlencoded = (fs: Field[]) => new URLSearchParams(fs.map(([n, v]) => [n, v])).toString();
    const body: fc.Arbitrary<string | Uint8Array> = fc.oneof(
      fc.string(),
      fc.string({ unit: "binary" }),
      fc.uint8Array({ maxLength: 256 }),
      withCsrf.map((fs) => multipart(fs)),
      fc.tuple(withCsrf, fc.string()).map(([fs, tail]) => multipart(fs, false) + tail),
      fc.string().map((s) => `--x\r\n${s}`),
      withCsrf.map(urlencoded),
      fc.tuple(withCsrf, fc.string()).map(([fs, raw]) => `${urlencoded(fs)}&${raw}`),
    );
    const contentType = fc.constantFrom(
      MULTIPART,
      "multipart/form-data",
      "application/x-www-form-urlencoded",
      "application/json",
      "text/plain",
      "",
    );
    // Half the requests are forms a browser could send, with the right token, so that many
    // reach the handlers; the other half pair any body with any content type.
    const browserForm = fields.map((fs): Field[] => [...fs.map(browserField), ["csrf", csrf]]);
    const request: fc.Arbitrary<{ type: string; body: string | Uint8Array }> = fc.oneof(
      browserForm.map((fs) => ({ type: MULTIPART, body: multipart(fs) })),
      browserForm.map((fs) => ({ type: "application/x-www-form-urlencoded", body: urlencoded(fs) })),
      fc.record({ type: contentType, body }),
      fc.record({ type: contentType, body }),
    );
    const route = fc.constantFrom(
      { path: "/login", session: false },
      ...paths.map((path) => ({ path, session: true })),
    );
    const refusedBeforeHandler = new Set(["csrf-failed", "invalid-form", "unsupported-media-type"]);
    let handled = 0;
    await fc.assert(
      fc.asyncProperty(route, request, async ({ path, session }, { type, body: b }) => {
        const res = await post(path, type, b, session);
        const text = await res.text();
        const sent = typeof b === "string" ? JSON.stringify(b) : `${b.length} bytes`;
        expect(res.status, `POST ${path} (${type || "no type"}) ${sent} -> ${text}`).toBeLessThan(500);
        const answered = res.headers.get("content-type") ?? "";
        if (res.status >= 400) expect(answered, text).toMatch(/^(application\/problem\+json|text\/html)/);
        const problem = answered === "application/problem+json" ? (JSON.parse(text) as { code: string }) : null;
        if (session && !refusedBeforeHandler.has(problem?.code ?? "")) handled++;
      }),
      { numRuns: 200 },
    );
    // A fuzz that rarely got past the CSRF check would prove little about the handlers
    // (about 80 of the 200 do; fewer than 30 would mean the arbitraries broke).
    expect(handled).toBeGreaterThan(30);
  });
});
