// The one form of a request path that the gateway both matches against the route table and
// forwards upstream, so that a tenant cannot pick its route by spelling a path another way.
//
// Upstreams decode percent-escapes before routing (uvicorn and so vLLM, Go's net/http,
// Express): `/v1/%63hat/completions` is served as `/v1/chat/completions`. So the route table
// is matched against the fully decoded path, and the path forwarded is the canonical
// encoding of exactly that decoded path:
// - escapes of unreserved characters (RFC 3986 section 2.3: letters, digits, - . _ ~) are
//   decoded, every other escape is kept with upper-case hex (section 6.2.2.1);
// - runs of slashes collapse to one;
// - an escape that decodes to '/', '\' or NUL, a '%' that starts no escape, escapes that
//   are not UTF-8, a ';' (path parameters, which some servers strip and others keep), and a
//   dot segment are refused: upstreams disagree about them, so no one form could describe
//   what the upstream serves.
// Matching is case-sensitive, as HTTP paths are (RFC 3986 section 6.2.2.1) and as those
// upstreams route.

export type CanonicalPath =
  | {
      /** The path to forward: canonical percent-encoding, slashes collapsed. */
      path: string;
      /** The fully decoded path: what the route table is matched against. */
      decoded: string;
    }
  | { refused: string };

const UNRESERVED = /^[A-Za-z0-9._~-]$/;
const HEX2 = /^[0-9A-Fa-f]{2}$/;
// Fatal: two different byte strings must never decode to the same path (U+FFFD for both).
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * A path that is its own canonical form: unreserved characters and single slashes only, and
 * no dot segment. Nearly every call's path is one, and needs no decoding.
 */
const PLAIN = /^(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9._~-]+)*\/?$/;

/** Canonicalizes a URL's pathname (as `new URL(...).pathname` gives it). */
export function canonicalPath(pathname: string): CanonicalPath {
  if (pathname.length > 0 && PLAIN.test(pathname)) return { path: pathname, decoded: pathname };
  return decodedPath(pathname);
}

/** canonicalPath's general case: decodes and re-encodes the path, or refuses it. */
export function decodedPath(pathname: string): CanonicalPath {
  if (!pathname.startsWith("/")) return { refused: "the path must start with '/'" };
  let path = "";
  const bytes: number[] = [];
  for (let i = 0; i < pathname.length; i++) {
    // Whole code points: a character outside the BMP is two UTF-16 units, one UTF-8 sequence.
    const ch = String.fromCodePoint(pathname.codePointAt(i) as number);
    if (ch.length === 2) i++;
    if (ch === "\\") return { refused: "the path may not contain '\\'" };
    if (ch === ";") return { refused: "the path may not contain ';' (path parameters are not supported)" };
    if (ch !== "%") {
      path += ch;
      for (const b of encoder.encode(ch)) bytes.push(b);
      continue;
    }
    const hex = pathname.slice(i + 1, i + 3);
    if (!HEX2.test(hex)) return { refused: "the path has a '%' that does not start a percent-escape" };
    const code = Number.parseInt(hex, 16);
    if (code === 0x2f || code === 0x5c || code === 0) {
      return { refused: "the path may not contain an encoded '/', '\\' or NUL" };
    }
    const char = String.fromCharCode(code);
    path += code < 0x80 && UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
    bytes.push(code);
    i += 2;
  }
  path = path.replace(/\/{2,}/g, "/");
  let decoded: string;
  try {
    decoded = utf8.decode(new Uint8Array(bytes)).replace(/\/{2,}/g, "/");
  } catch {
    return { refused: "the path's percent-escapes are not UTF-8" };
  }
  // The URL parser resolves dot segments, plain or encoded; one left here came from elsewhere.
  if (decoded.split("/").some((s) => s === "." || s === "..")) {
    return { refused: "the path may not contain '.' or '..' segments" };
  }
  return { path, decoded };
}
