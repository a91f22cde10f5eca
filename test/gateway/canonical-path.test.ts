// The path the route table judges is the path the upstream serves: properties over
// arbitrary spellings of paths, as the URL parser hands them to the gateway.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { canonicalPath, decodedPath } from "../../src/core/canonical-path";
import { matchRoute } from "../../src/core/route-table";

const ROUTES = loadConfig({
  ROUTES: JSON.stringify([
    { method: "POST", path: "/v1/chat/*", route: "chat", cost: 1 },
    { path: "/v1/embeddings", route: "embed", cost: 2 },
    { path: "/v1/files/r%C3%A9sum%C3%A9", route: "files" },
    { path: "/health", route: "health", public: true },
  ]),
}).ROUTES;

/** What an upstream that decodes before routing (uvicorn, Go) sees: every escape decoded. */
function upstreamView(path: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < path.length; i++) {
    if (path[i] === "%" && /^[0-9A-Fa-f]{2}$/.test(path.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(path.slice(i + 1, i + 3), 16));
      i += 2;
    } else for (const b of new TextEncoder().encode(path[i])) bytes.push(b);
  }
  return new TextDecoder().decode(new Uint8Array(bytes)).replace(/\/{2,}/g, "/");
}

/** The pathname the gateway gets for a raw request target. */
const pathnameOf = (raw: string) => new URL(`http://gateway.test${raw}`).pathname;

const hex = (code: number, upper: boolean) => {
  const h = code.toString(16).padStart(2, "0");
  return `%${upper ? h.toUpperCase() : h}`;
};

/** One character of a path, spelled plainly or as an escape with either case of hex. */
const spelledChar = fc
  .tuple(
    fc.oneof(
      fc.constantFrom(..."abcxyzACZ0129-._~"),
      fc.constantFrom(..."!$&'()*+,=:@ "),
      fc.constantFrom("é", "ü", "中", "😀"),
    ),
    fc.boolean(),
    fc.boolean(),
  )
  .map(([ch, escaped, upper]) =>
    escaped && ch.length === 1 && ch.charCodeAt(0) < 0x80 ? hex(ch.charCodeAt(0), upper) : ch,
  );
const segment = fc.array(spelledChar, { minLength: 1, maxLength: 8 }).map((a) => a.join(""));
const rawPath = fc
  .array(fc.oneof(segment, fc.constantFrom("v1", "chat", "completions", "embeddings", "health", "")), {
    minLength: 1,
    maxLength: 6,
  })
  .map((segments) => `/${segments.join("/")}`);

/** A path the route table knows, with each character escaped or not at random. */
const respelled = fc
  .tuple(
    fc.constantFrom("/v1/chat/completions", "/v1/embeddings", "/health", "/v1/files/résumé"),
    fc.infiniteStream(fc.tuple(fc.boolean(), fc.boolean())),
  )
  .map(([path, coins]) => {
    const it = coins[Symbol.iterator]();
    let out = "";
    for (const ch of path) {
      const [escaped, upper] = it.next().value as [boolean, boolean];
      const code = ch.charCodeAt(0);
      out += escaped && ch !== "/" && code < 0x80 ? hex(code, upper) : ch;
    }
    return { path, out };
  });

describe("canonical path", () => {
  it("is what a decoding upstream serves: the route of any spelling is the route of the decoded path", () => {
    fc.assert(
      fc.property(rawPath, fc.constantFrom("GET", "POST"), (raw, method) => {
        const canonical = canonicalPath(pathnameOf(raw));
        if ("refused" in canonical) return;
        // The forwarded path means, to the upstream, exactly the path that was matched...
        expect(upstreamView(canonical.path)).toBe(canonical.decoded);
        // ...and what the original request meant.
        expect(canonical.decoded).toBe(upstreamView(pathnameOf(raw)));
        // Forwarding it again changes nothing: one canonical form.
        expect(canonicalPath(canonical.path)).toEqual(canonical);
        expect(matchRoute(ROUTES, method, canonical.decoded)).toEqual(
          matchRoute(ROUTES, method, upstreamView(pathnameOf(raw))),
        );
      }),
      { numRuns: 2_000 },
    );
  });

  it("charges an escaped spelling of a known route to that route, and forwards its plain form", () => {
    fc.assert(
      fc.property(respelled, ({ path, out }) => {
        const canonical = canonicalPath(pathnameOf(out));
        if ("refused" in canonical) throw new Error(`refused ${out}: ${canonical.refused}`);
        expect(canonical.decoded).toBe(path);
        expect(canonical.path).toBe(pathnameOf(path));
        expect(matchRoute(ROUTES, "POST", canonical.decoded)).toEqual(matchRoute(ROUTES, "POST", path));
      }),
      { numRuns: 1_000 },
    );
  });

  it("decodes the reviewer's spelling of the chat route", () => {
    const canonical = canonicalPath(pathnameOf("/v1/%63hat/completions"));
    expect(canonical).toEqual({ path: "/v1/chat/completions", decoded: "/v1/chat/completions" });
    expect(matchRoute(ROUTES, "POST", "/v1/chat/completions").route).toBe("chat");
  });

  it("collapses slashes and keeps reserved escapes, in upper case", () => {
    expect(canonicalPath("//v1///chat//completions")).toEqual({
      path: "/v1/chat/completions",
      decoded: "/v1/chat/completions",
    });
    expect(canonicalPath("/v1/files/report%20final%3f")).toEqual({
      path: "/v1/files/report%20final%3F",
      decoded: "/v1/files/report final?",
    });
  });

  it("refuses encoded slashes, backslashes and NUL, stray '%', ';' and dot segments", () => {
    for (const p of [
      "/health/..%2Fv1",
      "/health/..%2fv1",
      "/a%5Cb",
      "/a\\b",
      "/a%00b",
      "/a%zzb",
      "/a%2",
      "/v1/embeddings;x=1",
      "/v1/./embeddings",
      "/v1/../embeddings",
      "/v1/%FF",
      "/v1/%C0%AF",
    ]) {
      expect("refused" in canonicalPath(p), p).toBe(true);
    }
  });

  it("keeps characters outside the BMP whole, in requests and in rule paths", () => {
    const rules = loadConfig({ ROUTES: JSON.stringify([{ path: "/v1/😀/x", route: "smile" }]) }).ROUTES;
    expect(rules[0]?.path).toBe("/v1/😀/x");
    const canonical = canonicalPath(pathnameOf("/v1/😀/x"));
    expect(canonical).toEqual({ path: "/v1/%F0%9F%98%80/x", decoded: "/v1/😀/x" });
    if ("decoded" in canonical) expect(matchRoute(rules, "GET", canonical.decoded).route).toBe("smile");
  });

  it("is case-sensitive, as the upstreams are", () => {
    const upper = canonicalPath(pathnameOf("/V1/Chat/completions"));
    expect(upper).toEqual({ path: "/V1/Chat/completions", decoded: "/V1/Chat/completions" });
    expect(matchRoute(ROUTES, "POST", "/V1/Chat/completions").route).toBe("default");
  });

  it("stores an escaped rule path decoded, and refuses a rule path no request could match", () => {
    expect(ROUTES.find((r) => r.route === "files")?.path).toBe("/v1/files/résumé");
    expect(() => loadConfig({ ROUTES: JSON.stringify([{ path: "/a%2Fb", route: "x" }]) })).toThrow(/ROUTES/);
  });
});

describe("canonical path, the plain shortcut", () => {
  it("answers exactly what decoding answers, for any path", () => {
    const piece = fc.constantFrom(
      "/",
      "//",
      ".",
      "..",
      "a",
      "Z",
      "0",
      "-",
      "_",
      "~",
      "v1",
      "%",
      "%2e",
      "%41",
      "%2F",
      ";",
      "\\",
      "é",
      "😀",
      " ",
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 12 }).map((parts) => parts.join("")),
        (path) => {
          expect(canonicalPath(path)).toEqual(decodedPath(path));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("takes the plain paths of calls as they are", () => {
    for (const path of ["/", "/v1/chat/completions", "/v1/models/gpt-4o-mini", "/a/.b/..c/", "/v1/"]) {
      expect(canonicalPath(path)).toEqual({ path, decoded: path });
    }
  });
});
