// The calls a tenant has in flight, as its own `GET /account/v1/limits` reports them.

/** The in-flight count of the tenant's cap named `policy` (default the tenant's own); -1 if it has none. */
export async function inFlight(gatewayUrl: string, key: string, policy = "concurrency"): Promise<number> {
  const res = await fetch(`${gatewayUrl}/account/v1/limits`, { headers: { authorization: `Bearer ${key}` } });
  if (!res.ok) throw new Error(`GET /account/v1/limits: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { concurrency: { name: string; inFlight: number }[] };
  return body.concurrency.find((c) => c.name === policy)?.inFlight ?? -1;
}
