import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addForwarding,
  decodedReply,
  dropHopByHop,
  fetchDecodes,
  forwardableHeaders,
  setForwarding,
} from "../../src/http/forward-headers";
import { Problem } from "../../src/http/problem";
import { notForwarded } from "../../src/http/proxy";

const gzip = async (text: string) =>
  new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer();

describe("decoded replies", () => {
  it("decodes a coding fetch() left encoded, drops the stale length, and weakens a strong ETag", async () => {
    const body = '{"usage":{"total_tokens":3}}';
    const upstream = new Response(await gzip(body), {
      headers: { "content-encoding": "gzip", "content-length": "999", etag: '"abc"' },
    });
    const reply = decodedReply(upstream, []);
    expect(reply.headers.get("content-encoding")).toBeNull();
    expect(reply.headers.get("content-length")).toBeNull();
    expect(reply.headers.get("etag")).toBe('W/"abc"');
    expect(await new Response(reply.body).text()).toBe(body);
  });

  it("only drops the headers of a coding fetch() already decoded", async () => {
    const upstream = new Response("plain", { headers: { "content-encoding": "br", "content-length": "42" } });
    const reply = decodedReply(upstream, ["gzip", "br"]);
    expect(reply.headers.get("content-encoding")).toBeNull();
    expect(reply.headers.get("content-length")).toBeNull();
    expect(await new Response(reply.body).text()).toBe("plain");
  });

  it("keeps the length of an identity reply", () => {
    const upstream = new Response("12345", { headers: { "content-encoding": "identity", "content-length": "5" } });
    expect(decodedReply(upstream, []).headers.get("content-length")).toBe("5");
  });

  it("refuses a coding nobody decodes, and several codings, with a 502", () => {
    for (const coding of ["zstd", "gzip, br", "compress"]) {
      const upstream = new Response("x", { headers: { "content-encoding": coding } });
      const err = (() => {
        try {
          decodedReply(upstream, ["gzip", "x-gzip", "deflate", "br"]);
        } catch (e) {
          return e;
        }
      })();
      expect(err, coding).toBeInstanceOf(Problem);
      expect((err as Problem).code).toBe("upstream-encoding");
    }
  });

  it("passes a reply with no body (HEAD, 204, 304) whatever its coding", () => {
    const upstream = new Response(null, { status: 304, headers: { "content-encoding": "zstd", etag: '"v1"' } });
    const reply = decodedReply(upstream, []);
    expect(reply.body).toBeNull();
    expect(reply.headers.get("content-encoding")).toBeNull();
  });

  it("knows what each runtime's fetch() decodes of a reply to an identity request", () => {
    expect(fetchDecodes("Cloudflare-Workers")).toEqual(["gzip", "br"]);
    expect(fetchDecodes("Deno/2.9.6")).toEqual([]);
    expect(fetchDecodes("Node.js/24")).toEqual(["gzip", "x-gzip", "deflate", "br"]);
    expect(fetchDecodes("Bun/1.4.5")).toEqual(["gzip", "x-gzip", "deflate", "br"]);
  });
});

describe("forwarding headers", () => {
  it("drops hop-by-hop headers and those Connection names", () => {
    const h = new Headers({
      connection: "close, X-Secret",
      "x-secret": "1",
      "keep-alive": "5",
      te: "trailers",
      a: "b",
    });
    dropHopByHop(h);
    expect([...h.keys()]).toEqual(["a"]);
  });

  it("replaces every client-sent forwarding header with the gateway's view", () => {
    const h = new Headers({
      "x-forwarded-for": "6.6.6.6",
      "x-forwarded-prefix": "/evil",
      "x-forwarded-server": "evil",
      "cf-connecting-ip": "6.6.6.6",
      "fastly-client-ip": "6.6.6.6",
      forwarded: "for=6.6.6.6",
      kept: "yes",
    });
    setForwarding(h, { address: "2001:db8::1", url: new URL("https://api.example.com/v1/x") });
    expect(Object.fromEntries(h)).toEqual({
      forwarded: 'for="[2001:db8::1]";proto=https;host="api.example.com"',
      kept: "yes",
      "x-forwarded-for": "2001:db8::1",
      "x-forwarded-host": "api.example.com",
      "x-forwarded-proto": "https",
      "x-real-ip": "2001:db8::1",
    });
  });
});

describe("forwardable headers in one pass", () => {
  // Names from every class the proxy treats apart, and plain ones.
  const POOL = [
    "connection",
    "keep-alive",
    "te",
    "upgrade",
    "host",
    "proxy-authorization",
    "x-secret",
    "authorization",
    "x-api-key",
    "api-key",
    "aegis-tenant",
    "x-aegis-route",
    "x-forwarded-for",
    "x-forwarded-prefix",
    "forwarded",
    "x-real-ip",
    "cf-connecting-ip",
    "content-type",
    "accept",
    "openai-organization",
    "x-stainless-lang",
    "user-agent",
  ];
  const drop = notForwarded;
  const client = { address: "203.0.113.9", url: new URL("https://gw.example/v1/chat/completions") };

  it("gives the upstream exactly what copying, dropHopByHop, the deletes and setForwarding gave", () => {
    const headerArb = fc.tuple(fc.constantFrom(...POOL), fc.stringMatching(/^[a-zA-Z0-9 ,._-]{0,12}$/));
    fc.assert(
      fc.property(fc.array(headerArb, { maxLength: 12 }), fc.subarray(POOL), (pairs, named) => {
        const incoming = new Headers();
        for (const [name, value] of pairs) incoming.append(name, value);
        if (named.length > 0) incoming.set("connection", named.join(", "));
        const before = new Headers(incoming);
        dropHopByHop(before);
        for (const name of [...before.keys()]) if (drop(name)) before.delete(name);
        setForwarding(before, client);
        const after = forwardableHeaders(incoming, drop);
        addForwarding(after, client);
        expect([...after]).toEqual([...before]);
      }),
      { numRuns: 300 },
    );
  });

  it("ignores a Connection token that is no header name (deleting it threw: a 500)", () => {
    const incoming = new Headers({ connection: "close, not a name", accept: "*/*" });
    const copied = new Headers(incoming);
    dropHopByHop(copied);
    expect([...copied]).toEqual([["accept", "*/*"]]);
    expect([...forwardableHeaders(incoming, () => false)]).toEqual([["accept", "*/*"]]);
  });
});
