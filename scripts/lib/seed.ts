// Seeds the demo tenant through the operator API, exactly as an operator would.

/** In units, which the demo upstream reports as tokens: 6,000 a minute, bursts of 1,000. */
export const DEMO_QUOTA = { ratePerMinute: 6_000, burst: 1_000, dailyUnits: 100_000 };

async function adminCall<T>(base: string, token: string, path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${base}/admin/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...init.headers },
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? "GET"} /admin/v1${path} answered ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** The name every demo key npm start mints begins with. */
const DEMO_KEY_NAME = "npm start ";

/**
 * Finds the tenant named "demo" (creating it the first time), mints it a new key and revokes
 * the demo keys earlier starts minted: a key is shown once (only its hash is kept), so each
 * start shows a new one, and the old ones don't pile up still working.
 */
export async function seedDemoTenant(
  base: string,
  token: string,
): Promise<{ tenantId: string; key: string; created: boolean; revoked: number }> {
  let tenantId: string | undefined;
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const page: { tenants: { id: string; name: string }[]; nextCursor: string | null } = await adminCall(
      base,
      token,
      `/tenants?limit=200${query}`,
    );
    tenantId = page.tenants.find((t) => t.name === "demo")?.id;
    cursor = tenantId ? null : page.nextCursor;
  } while (cursor);
  const created = !tenantId;
  if (!tenantId) {
    const tenant = await adminCall<{ id: string }>(base, token, "/tenants", {
      method: "POST",
      body: JSON.stringify({ name: "demo", quota: DEMO_QUOTA }),
    });
    tenantId = tenant.id;
  }
  const key = await adminCall<{ id: string; key: string }>(base, token, `/tenants/${tenantId}/keys`, {
    method: "POST",
    body: JSON.stringify({ name: `${DEMO_KEY_NAME}${new Date().toISOString()}` }),
  });
  const { keys } = await adminCall<{ keys: { id: string; name: string | null; revokedAt: string | null }[] }>(
    base,
    token,
    `/tenants/${tenantId}/keys`,
  );
  const old = keys.filter((k) => k.id !== key.id && k.revokedAt === null && k.name?.startsWith(DEMO_KEY_NAME));
  for (const k of old) {
    const res = await fetch(`${base}/admin/v1/tenants/${tenantId}/keys/${k.id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}` },
    });
    if (!res.ok) throw new Error(`DELETE /admin/v1/tenants/${tenantId}/keys/${k.id} answered ${res.status}`);
  }
  return { tenantId, key: key.key, created, revoked: old.length };
}
