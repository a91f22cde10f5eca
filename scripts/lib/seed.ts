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

/** Finds the tenant named "demo" (creating it the first time) and mints it a new key. */
export async function seedDemoTenant(
  base: string,
  token: string,
): Promise<{ tenantId: string; key: string; created: boolean }> {
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
  const key = await adminCall<{ key: string }>(base, token, `/tenants/${tenantId}/keys`, {
    method: "POST",
    body: JSON.stringify({ name: `npm start ${new Date().toISOString()}` }),
  });
  return { tenantId, key: key.key, created };
}
