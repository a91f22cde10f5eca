// Every header the gateway itself sets, under one prefix, `Aegis-`: to the client, to the
// operator and to the upstream. A client can set none of them on the upstream's request.
//
// Upstreams written before the prefix was unified read `x-aegis-*`; the gateway still sends
// those names too, with the same values, and still drops a client's own. They are
// deprecated: read the `Aegis-*` names.

/** To the client: "false" when the limiter was unreachable and the call went through unchecked. */
export const NOT_ENFORCED_HEADER = "Aegis-Limit-Enforced";
/** To the operator: "pending" when a change was saved but its push to the limiter was not confirmed. */
export const SYNC_HEADER = "Aegis-Sync";
/** SYNC_HEADER's name before the prefix was unified: still sent alongside, deprecated. */
export const LEGACY_SYNC_HEADER = "Aegis-Edge-Sync";
/** To the upstream: the tenant whose key the limiter verified. */
export const TENANT_HEADER = "Aegis-Tenant-Id";
/** To the upstream: the route key the call matched. */
export const ROUTE_HEADER = "Aegis-Route";
/** To the upstream, instead of the tenant id: the limiter was down and the key was never verified. */
export const UNENFORCED_HEADER = "Aegis-Unenforced";

/** The deprecated names of the upstream headers, sent alongside. */
export const LEGACY_UPSTREAM_NAMES: Readonly<Record<string, string>> = {
  [TENANT_HEADER]: "x-aegis-tenant-id",
  [ROUTE_HEADER]: "x-aegis-route",
  [UNENFORCED_HEADER]: "x-aegis-unenforced",
};

/** Whether a request header is one only the gateway may set (so a client's is dropped). */
export function isGatewayHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.startsWith("aegis-") || lower.startsWith("x-aegis-");
}

/** Sets an upstream header under its name and its deprecated one. */
export function setUpstreamHeader(headers: Headers, name: string, value: string): void {
  headers.set(name, value);
  const legacy = LEGACY_UPSTREAM_NAMES[name];
  if (legacy) headers.set(legacy, value);
}
