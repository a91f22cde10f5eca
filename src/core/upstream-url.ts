// Where a proxied call goes: the upstream's base URL joined with the request's path and query.

export function upstreamUrl(upstream: string, path: string, search = ""): string {
  const base = new URL(upstream);
  const basePath = base.pathname.endsWith("/") ? base.pathname.slice(0, -1) : base.pathname;
  return `${base.origin}${basePath}${path}${search}`;
}
