// The operator console at /admin/ui: server-rendered pages over the same repositories as the
// operator API. A login with ADMIN_TOKEN starts an HttpOnly, Secure, SameSite=Strict session;
// every form carries a CSRF token bound to it, and a POST from another origin is refused.

import { eq, sql } from "drizzle-orm";
import { type Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Child } from "hono/jsx";
import { listInvoices } from "../../billing/invoices";
import { listDeliveries, redeliver } from "../../billing/webhooks/deliveries";
import { formatMinor } from "../../core/money";
import { newKeyId, secretsEqual, sha256Hex } from "../../core/secrets";
import { usageDaily } from "../../db/schema";
import { createKey, getTenant, listKeys, listTenants, revokeKey, setQuota } from "../../db/tenants";
import { defaultLimits } from "../../defaults";
import { dailyUsage } from "../../metering/usage-query";
import { transition } from "../admin/billing";
import { mintKey } from "../admin/keys";
import { pushSnapshot } from "../admin/sync";
import { type GatewayEnv, withDatabase } from "../context";
import { Problem } from "../problem";
import { QuotaSchema } from "../schemas";
import { type DayPoint, UsageChart } from "./chart";
import { readForm } from "./form";
import { CONSOLE_CSS, Layout } from "./layout";
import { csrfToken, newSession, SESSION_COOKIE, SESSION_TTL_MS, verifyCsrf, verifySession } from "./session";

const DAY_MS = 86_400_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const PAGE_HEADERS = {
  "content-security-policy":
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "cache-control": "no-store",
  "referrer-policy": "same-origin",
};

export const consoleRoutes = new Hono<GatewayEnv>();

function adminToken(c: { get(k: "config"): { ADMIN_TOKEN?: string } }): string {
  const token = c.get("config").ADMIN_TOKEN;
  if (!token) throw new Problem(503, "admin-disabled", "the console is disabled because ADMIN_TOKEN is not set");
  return token;
}

consoleRoutes.get("/app.css", (c) => c.body(CONSOLE_CSS, 200, { "content-type": "text/css; charset=utf-8" }));

// With CONSOLE_ORIGIN set, the console lives on that host only (not on the origin that also
// serves the upstream's pages), and that is the origin its forms must come from; behind a
// TLS-terminating proxy it is also what the browser sends, whatever URL reaches the server.
consoleRoutes.use("*", async (c, next) => {
  const configured = c.get("config").CONSOLE_ORIGIN;
  const here = new URL(c.req.url);
  if (configured && new URL(configured).host !== here.host) {
    throw new Problem(404, "not-found", "the console is served on its own host");
  }
  if (c.req.method === "POST") {
    const origin = c.req.header("origin");
    const expected = configured ? new URL(configured).origin : here.origin;
    // A POST without an Origin header is not refused for that alone: it still needs the
    // session and its CSRF token (the login, the operator token). Browsers send Origin on
    // every cross-origin POST ("null" when they hide it, refused here like any foreign
    // origin), so one without it comes from a script, an old browser, or an extension that
    // strips it. The CSRF token, which only the console's own pages can read, stops a forged
    // form from any of those; requiring Origin (or Referer) would add no protection and
    // would lock such browsers out.
    if (origin && origin !== expected) {
      throw new Problem(403, "forbidden-origin", "the console accepts forms from its own pages only");
    }
  }
  await next();
});

function loginPage(error?: string) {
  return (
    <Layout title="Log in">
      {error ? <p class="error">{error}</p> : null}
      <form method="post" action="/admin/ui/login" class="stack">
        <label>
          Operator token <input type="password" name="token" autocomplete="current-password" required />
        </label>
        <button type="submit">Log in</button>
      </form>
    </Layout>
  );
}

consoleRoutes.get("/login", (c) => c.html(loginPage(), 200, PAGE_HEADERS));

consoleRoutes.post("/login", async (c) => {
  const form = await readForm(c);
  const presented = typeof form.token === "string" ? form.token : "";
  if (!presented || !(await secretsEqual(presented, adminToken(c)))) {
    return c.html(loginPage("That is not the operator token."), 401, PAGE_HEADERS);
  }
  setCookie(c, SESSION_COOKIE, await newSession(adminToken(c), Date.now()), {
    httpOnly: true,
    secure: true,
    sameSite: "Strict",
    path: "/admin/ui",
    maxAge: SESSION_TTL_MS / 1000,
  });
  return c.redirect("/admin/ui", 303);
});

// Everything below needs a session; forms also need its CSRF token.
consoleRoutes.use("*", async (c, next) => {
  const expiry = await verifySession(adminToken(c), getCookie(c, SESSION_COOKIE), Date.now());
  if (expiry === null) return c.redirect("/admin/ui/login", 302);
  c.set("sessionExpiry", expiry);
  c.set("csrf", await csrfToken(adminToken(c), expiry));
  if (c.req.method === "POST") {
    const form = await readForm(c);
    if (!(await verifyCsrf(adminToken(c), expiry, form.csrf))) {
      throw new Problem(403, "csrf-failed", "the form's CSRF token is missing or wrong; reload the page and try again");
    }
  }
  await next();
});
consoleRoutes.use("*", withDatabase());

consoleRoutes.post("/logout", (c) => {
  deleteCookie(c, SESSION_COOKIE, { path: "/admin/ui", secure: true });
  return c.redirect("/admin/ui/login", 303);
});

const Csrf = (props: { token: string }) => <input type="hidden" name="csrf" value={props.token} />;

consoleRoutes.get("/", async (c) => {
  const db = c.get("db");
  const { tenants } = await listTenants(db, { limit: 500 }, defaultLimits(c.get("config")));
  const today = isoDay(Date.now());
  const used = new Map<string, number>();
  const rows = await db
    .select({ tenantId: usageDaily.tenantId, units: sql<string>`sum(${usageDaily.units})` })
    .from(usageDaily)
    .where(eq(usageDaily.day, today))
    .groupBy(usageDaily.tenantId);
  for (const r of rows) used.set(r.tenantId, Number(r.units));
  // Who is nearest their limit comes first.
  const share = (t: (typeof tenants)[number]) =>
    t.quota.dailyUnits ? (used.get(t.id) ?? 0) / t.quota.dailyUnits : (used.get(t.id) ?? 0) > 0 ? 0 : -1;
  const sorted = [...tenants].sort((a, b) => share(b) - share(a));
  return c.html(
    <Layout title="Tenants" csrf={c.get("csrf")}>
      <p>Today's use ({today}, UTC) against each daily quota; the tenants nearest their limit first.</p>
      <table id="tenants">
        <thead>
          <tr>
            <th>Tenant</th>
            <th>Status</th>
            <th>Today</th>
            <th>Daily quota</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {sorted.map((t) => {
            const u = used.get(t.id) ?? 0;
            const q = t.quota.dailyUnits;
            const pct = q ? Math.min(100, Math.round((100 * u) / q)) : 0;
            const level = q && u >= q ? "over" : q && u >= 0.8 * q ? "warn" : "ok";
            return (
              <tr class={level} data-tenant={t.id}>
                <td>
                  <a href={`/admin/ui/tenants/${t.id}`}>{t.name}</a> <code>{t.id}</code>
                </td>
                <td>
                  <span class={`badge ${t.status}`}>{t.status}</span>
                </td>
                <td class="num use">{u}</td>
                <td>
                  {q === null ? (
                    "no daily limit"
                  ) : (
                    <span>
                      <meter min={0} max={q} low={0.8 * q} high={q - 0.5} optimum={0} value={Math.min(u, q)} /> {pct}%
                      of {q}
                    </span>
                  )}
                </td>
                <td />
              </tr>
            );
          })}
        </tbody>
      </table>
    </Layout>,
    200,
    PAGE_HEADERS,
  );
});

async function tenantPage(c: Context<GatewayEnv>, id: string, extra?: Child) {
  const db = c.get("db");
  const tenant = await getTenant(db, id, defaultLimits(c.get("config")));
  if (!tenant) throw new Problem(404, "tenant-not-found", `no tenant ${id}`);
  const now = Date.now();
  const from = isoDay(now - 29 * DAY_MS);
  const usage = await dailyUsage(db, id, from, isoDay(now + DAY_MS));
  const perDay = new Map<string, number>();
  for (const d of usage.days) perDay.set(d.day, (perDay.get(d.day) ?? 0) + d.units);
  const points: DayPoint[] = Array.from({ length: 30 }, (_, i) => {
    const day = isoDay(now - (29 - i) * DAY_MS);
    return { day, units: perDay.get(day) ?? 0 };
  });
  const keys = await listKeys(db, id);
  const q = tenant.quota;
  const csrf = c.get("csrf");
  return (
    <Layout title={tenant.name} csrf={csrf}>
      {extra}
      <p>
        <code>{tenant.id}</code> <span class={`badge ${tenant.status}`}>{tenant.status}</span>
      </p>
      <h2>Usage, last 30 days</h2>
      <UsageChart points={points} quota={q.dailyUnits} />
      <h2>Quota</h2>
      <form method="post" action={`/admin/ui/tenants/${id}/quota`} class="stack" id="quota">
        <Csrf token={csrf} />
        <label>
          Rate per minute <input name="ratePerMinute" type="number" min="0" value={String(q.ratePerMinute)} required />
        </label>
        <label>
          Burst <input name="burst" type="number" min="1" value={String(q.burst)} required />
        </label>
        <label>
          Daily units (empty: no limit){" "}
          <input name="dailyUnits" type="number" min="0" value={q.dailyUnits === null ? "" : String(q.dailyUnits)} />
        </label>
        <label>
          Time zone <input name="timeZone" value={q.timeZone} required />
        </label>
        <label>
          <input name="shadow" type="checkbox" value="1" checked={q.shadow} /> Shadow mode (report, never block)
        </label>
        <button type="submit">Save quota</button>
      </form>
      <h2>Keys</h2>
      <table id="keys">
        <thead>
          <tr>
            <th>Key</th>
            <th>Name</th>
            <th>Created</th>
            <th>Revoked</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => (
            <tr data-key={k.id}>
              <td>
                <code>{k.prefix}…</code>
              </td>
              <td>{k.name ?? ""}</td>
              <td>{k.createdAt}</td>
              <td>{k.revokedAt ?? ""}</td>
              <td>
                {k.revokedAt ? null : (
                  <form method="post" action={`/admin/ui/tenants/${id}/keys/${k.id}/revoke`} class="inline">
                    <Csrf token={csrf} />
                    <button type="submit">Revoke</button>
                  </form>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form method="post" action={`/admin/ui/tenants/${id}/keys`} class="stack" id="new-key">
        <Csrf token={csrf} />
        <label>
          New key's name <input name="name" maxlength={200} />
        </label>
        <button type="submit">Create key</button>
      </form>
    </Layout>
  );
}

consoleRoutes.get("/tenants/:id", async (c) => c.html(await tenantPage(c, c.req.param("id")), 200, PAGE_HEADERS));

consoleRoutes.post("/tenants/:id/quota", async (c) => {
  const id = c.req.param("id");
  const db = c.get("db");
  const defaults = defaultLimits(c.get("config"));
  const tenant = await getTenant(db, id, defaults);
  if (!tenant) throw new Problem(404, "tenant-not-found", `no tenant ${id}`);
  const form = await readForm(c);
  const num = (v: unknown) => (typeof v === "string" && v.trim() !== "" ? Number(v) : undefined);
  const parsed = QuotaSchema.safeParse({
    ratePerMinute: num(form.ratePerMinute),
    burst: num(form.burst),
    dailyUnits: num(form.dailyUnits) ?? null,
    timeZone: typeof form.timeZone === "string" ? form.timeZone.trim() : undefined,
    shadow: form.shadow === "1",
    routes: tenant.quota.routes,
    unitPrice: tenant.quota.unitPrice,
  });
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    return c.html(await tenantPage(c, id, <p class="error">{`Not saved: ${detail}`}</p>), 400, PAGE_HEADERS);
  }
  const changed = await setQuota(db, id, parsed.data as never, defaults);
  if (!changed) throw new Problem(404, "tenant-not-found", `no tenant ${id}`);
  await pushSnapshot(c, changed.snapshot, true);
  return c.redirect(`/admin/ui/tenants/${id}`, 303);
});

consoleRoutes.post("/tenants/:id/keys", async (c) => {
  const id = c.req.param("id");
  const form = await readForm(c);
  const name = typeof form.name === "string" && form.name.trim() !== "" ? form.name.trim().slice(0, 200) : null;
  const { key, prefix } = await mintKey(c.get("config"), id);
  const row = { id: newKeyId(), prefix, keyHash: await sha256Hex(key), name };
  const changed = await createKey(c.get("db"), id, row, defaultLimits(c.get("config")));
  if (!changed) throw new Problem(404, "tenant-not-found", `no tenant ${id}`);
  await pushSnapshot(c, changed.snapshot, false);
  const shown = (
    <div class="notice" id="created-key">
      <p>The new key, shown this once. Store it now:</p>
      <code class="secret">{key}</code>
    </div>
  );
  return c.html(await tenantPage(c, id, shown), 201, PAGE_HEADERS);
});

consoleRoutes.post("/tenants/:id/keys/:keyId/revoke", async (c) => {
  const { id, keyId } = c.req.param();
  const { result, found } = await revokeKey(c.get("db"), id, keyId, defaultLimits(c.get("config")));
  if (!result || !found) throw new Problem(404, "key-not-found", `tenant ${id} has no key ${keyId}`);
  await pushSnapshot(c, result.snapshot, true);
  return c.redirect(`/admin/ui/tenants/${id}`, 303);
});

consoleRoutes.get("/invoices", async (c) => {
  const { items } = await listInvoices(c.get("db"), { status: "issued", limit: 200 });
  const csrf = c.get("csrf");
  return c.html(
    <Layout title="Unpaid invoices" csrf={csrf}>
      <table id="invoices">
        <thead>
          <tr>
            <th>Invoice</th>
            <th>Tenant</th>
            <th>Period</th>
            <th>Units</th>
            <th>Amount</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {items.map((i) => (
            <tr data-invoice={i.id}>
              <td>
                <code>{i.id}</code>
              </td>
              <td>
                <a href={`/admin/ui/tenants/${i.tenantId}`}>{i.tenantId}</a>
              </td>
              <td>{`${i.periodStart} to ${i.periodEnd}`}</td>
              <td class="num">{i.units}</td>
              <td class="num">{`${formatMinor(BigInt(i.amountMinor), i.currency)} ${i.currency}`}</td>
              <td>
                <form method="post" action={`/admin/ui/invoices/${i.id}/pay`} class="inline">
                  <Csrf token={csrf} />
                  <button type="submit">Mark paid</button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {items.length === 0 ? <p>Nothing is waiting to be paid.</p> : null}
    </Layout>,
    200,
    PAGE_HEADERS,
  );
});

consoleRoutes.post("/invoices/:id/pay", async (c) => {
  await transition(c, c.req.param("id"), "paid");
  return c.redirect("/admin/ui/invoices", 303);
});

consoleRoutes.get("/deliveries", async (c) => {
  const { items } = await listDeliveries(c.get("db"), { limit: 100 });
  const csrf = c.get("csrf");
  return c.html(
    <Layout title="Webhook deliveries" csrf={csrf}>
      <table id="deliveries">
        <thead>
          <tr>
            <th>Delivery</th>
            <th>Event</th>
            <th>Status</th>
            <th>Attempts</th>
            <th>Last error</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {items.map((d) => (
            <tr data-delivery={d.id}>
              <td>
                <code>{d.id}</code>
              </td>
              <td>{d.eventType}</td>
              <td>{d.status}</td>
              <td class="num">{d.attempts}</td>
              <td>{d.lastError ?? ""}</td>
              <td>
                <form method="post" action={`/admin/ui/deliveries/${d.id}/redeliver`} class="inline">
                  <Csrf token={csrf} />
                  <button type="submit">Redeliver</button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {items.length === 0 ? <p>No webhook deliveries yet.</p> : null}
    </Layout>,
    200,
    PAGE_HEADERS,
  );
});

consoleRoutes.post("/deliveries/:id/redeliver", async (c) => {
  const id = c.req.param("id");
  if (!(await redeliver(c.get("db"), id))) throw new Problem(404, "delivery-not-found", `no delivery ${id}`);
  return c.redirect("/admin/ui/deliveries", 303);
});
