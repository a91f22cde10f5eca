// The headers of a proxied call, both ways: what the upstream may learn about the client,
// and what the client may be told about the upstream's reply.

import { Problem } from "./problem";

/** Headers that describe one connection and never cross a proxy (RFC 9110 section 7.6.1). */
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
];

/**
 * Headers that tell an upstream who the client is, as proxies and CDNs set them. A client's
 * own values are never forwarded (nor any `x-forwarded-*`): the gateway sets them from what
 * it saw itself. Self-hosted, a client could send Cloudflare's own header too.
 */
const CLIENT_IDENTITY = [
  "forwarded",
  "x-real-ip",
  "true-client-ip",
  "x-client-ip",
  "x-cluster-client-ip",
  "x-original-forwarded-for",
  "fastly-client-ip",
  "x-envoy-external-address",
  "cf-connecting-ip",
  "cf-connecting-ipv6",
];

/**
 * The content codings this runtime's fetch() decodes by itself in a reply to a request that
 * asked for `identity` (measured: undici on Node and Bun decode all four, workerd gzip and
 * br, Deno none). A reply with several codings is refused everywhere: runtimes disagree.
 */
export function fetchDecodes(
  userAgent = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent ?? "",
): readonly string[] {
  if (userAgent.startsWith("Cloudflare-Workers")) return ["gzip", "br"];
  if (userAgent.startsWith("Deno")) return [];
  return ["gzip", "x-gzip", "deflate", "br"];
}

/** Codings the gateway decodes itself, with DecompressionStream, when fetch() did not. */
const DECOMPRESSION_FORMAT: Record<string, string> = {
  gzip: "gzip",
  "x-gzip": "gzip",
  deflate: "deflate",
  br: "brotli",
};

function decompression(coding: string): DecompressionStream | null {
  const format = DECOMPRESSION_FORMAT[coding];
  try {
    // "brotli" is newer than the standard's formats; a runtime without it throws here.
    return format ? new DecompressionStream(format as "gzip") : null;
  } catch {
    return null;
  }
}

/** Drops the hop-by-hop headers, and every header the `Connection` field names. */
export function dropHopByHop(headers: Headers): void {
  for (const name of (headers.get("connection") ?? "").split(",")) {
    const token = name.trim().toLowerCase();
    // A token that is no header name names no header; deleting it would throw (a 500).
    if (TOKEN.test(token)) headers.delete(token);
  }
  for (const h of HOP_BY_HOP) headers.delete(h);
}

/** An HTTP field name (RFC 9110 section 5.1: a token). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

const NEVER_FORWARDED = new Set([...HOP_BY_HOP, ...CLIENT_IDENTITY]);

/**
 * The client's request headers as an upstream may get them, copied in one pass: without the
 * hop-by-hop headers and those `Connection` names, the client's own forwarding headers (the
 * gateway sets its own with `addForwarding`), and those `drop` names (lower case). The same
 * as a copy, `dropHopByHop` and `setForwarding`'s deletes, in one loop: on Workers each
 * `delete` is a call into the runtime, and the proxy made about thirty a call.
 */
export function forwardableHeaders(incoming: Headers, drop: (name: string) => boolean): Headers {
  const named = new Set((incoming.get("connection") ?? "").split(",").map((t) => t.trim().toLowerCase()));
  const out = new Headers();
  for (const [name, value] of incoming) {
    if (NEVER_FORWARDED.has(name) || named.has(name) || name.startsWith("x-forwarded-") || drop(name)) continue;
    out.append(name, value);
  }
  return out;
}

/** What the gateway itself knows about a call's client. */
export interface ClientView {
  /** The client's address, when the runtime tells it. */
  address?: string;
  /** The URL the gateway was called at. */
  url: URL;
}

function forwardedNode(address: string): string {
  // RFC 7239 section 6: an IPv6 address is bracketed, and then the value must be quoted.
  return address.includes(":") ? `"[${address}]"` : address;
}

/**
 * Replaces the client's forwarding headers with the gateway's own view: `X-Forwarded-For`
 * and `X-Real-IP` (when the address is known), `X-Forwarded-Proto`, `X-Forwarded-Host`, and
 * the same in one RFC 7239 `Forwarded` field.
 */
export function setForwarding(headers: Headers, client: ClientView): void {
  for (const h of CLIENT_IDENTITY) headers.delete(h);
  for (const name of [...headers.keys()]) if (name.startsWith("x-forwarded-")) headers.delete(name);
  addForwarding(headers, client);
}

/** Sets the gateway's forwarding headers on headers that hold none of the client's. */
export function addForwarding(headers: Headers, client: ClientView): void {
  const proto = client.url.protocol.replace(/:$/, "");
  const host = client.url.host;
  const forwarded = [`proto=${proto}`, `host="${host}"`];
  if (client.address) {
    headers.set("x-forwarded-for", client.address);
    headers.set("x-real-ip", client.address);
    forwarded.unshift(`for=${forwardedNode(client.address)}`);
  }
  headers.set("x-forwarded-proto", proto);
  headers.set("x-forwarded-host", host);
  headers.set("forwarded", forwarded.join(";"));
}

/**
 * The upstream reply as it may go to the client: headers and body that agree. The gateway
 * asks for `identity`, but an upstream may compress anyway. fetch() decodes some codings on
 * its own and leaves their `Content-Encoding` and `Content-Length` behind; sent on, the
 * client would read a body labelled gzip that is not, cut at the compressed length (and, on
 * a keep-alive connection, take the rest for the next response). So those headers are
 * dropped, a coding fetch() left alone is decoded here, and one nobody can decode is
 * refused: its body could neither be metered nor be vouched for.
 */
export function decodedReply(
  upstream: Response,
  decodedByFetch: readonly string[] = fetchDecodes(),
): { headers: Headers; body: ReadableStream<Uint8Array> | null } {
  const headers = new Headers(upstream.headers);
  dropHopByHop(headers);
  const codings = (headers.get("content-encoding") ?? "")
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
  let body: ReadableStream<Uint8Array> | null = upstream.body;
  const [coding] = codings;
  // A reply with no body (HEAD, 204, 304) has nothing to decode, only headers to drop.
  if (body !== null && coding !== undefined && (codings.length > 1 || !decodedByFetch.includes(coding))) {
    const decoder = codings.length === 1 ? decompression(coding) : null;
    if (!decoder) {
      throw new Problem(
        502,
        "upstream-encoding",
        `the upstream answered with content-encoding ${JSON.stringify(headers.get("content-encoding"))}, which the gateway cannot decode; it asks upstreams for identity`,
      );
    }
    // The DOM and Workers typings disagree on its chunk type; both runtimes pass bytes.
    body = body.pipeThrough(decoder as unknown as TransformStream<Uint8Array, Uint8Array>);
  }
  headers.delete("content-encoding");
  if (codings.length > 0) {
    headers.delete("content-length");
    // A strong validator names the encoded bytes (RFC 9110 section 8.8.3): what is sent is
    // the same content, not the same bytes.
    const etag = headers.get("etag");
    if (etag?.startsWith('"')) headers.set("etag", `W/${etag}`);
  }
  return { headers, body };
}
