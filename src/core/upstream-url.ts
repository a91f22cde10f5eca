// Where a proxied call goes: the upstream's base URL joined with the request's path and query.

export function upstreamUrl(upstream: string, requestUrl: string): string {
  const base = new URL(upstream);
  const req = new URL(requestUrl);
  const basePath = base.pathname.endsWith("/") ? base.pathname.slice(0, -1) : base.pathname;
  return `${base.origin}${basePath}${req.pathname}${req.search}`;
}
