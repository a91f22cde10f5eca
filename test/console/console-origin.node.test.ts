// The console's origin rules, on the gateway app directly: with CONSOLE_ORIGIN it answers on
// that host only and takes forms from that origin (also behind a TLS-terminating proxy);
// bodies are bounded before anything parses them.

import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { createGateway } from "../../src/http/app";

const TOKEN = "origin-test-admin-token-0123";
const gateway = createGateway({
  openDatabase: () => {
    throw new Error("no database in this test");
  },
  store: () => {
    throw new Error("no limiter in this test");
  },
});
const env = (extra: Record<string, string> = {}) => ({ ADMIN_TOKEN: TOKEN, ...extra }) as unknown as Env;
const login = (url: string, e: Env, headers: Record<string, string> = {}, token = TOKEN) =>
  gateway.request(url, { method: "POST", body: new URLSearchParams({ token }), headers, redirect: "manual" }, e);

describe("console origin", () => {
  it("serves the console on CONSOLE_ORIGIN's host only, and takes forms from that origin", async () => {
    const e = env({ CONSOLE_ORIGIN: "https://console.example.com" });
    // Behind a proxy that terminates TLS, the server sees http://; the browser sends https://.
    const ok = await login("http://console.example.com/admin/ui/login", e, { origin: "https://console.example.com" });
    expect(ok.status).toBe(303);
    expect(ok.headers.get("set-cookie")).toContain("Secure");
    const elsewhere = await gateway.request("http://api.example.com/admin/ui/login", {}, e);
    expect(elsewhere.status).toBe(404);
    const foreign = await login("http://console.example.com/admin/ui/login", e, { origin: "https://api.example.com" });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { code: string }).code).toBe("forbidden-origin");
    expect(foreign.headers.get("set-cookie")).toBeNull();
  });

  it("without CONSOLE_ORIGIN takes forms from the request's own origin only", async () => {
    const e = env();
    expect((await login("http://gw.test/admin/ui/login", e, { origin: "http://gw.test" })).status).toBe(303);
    const foreign = await login("http://gw.test/admin/ui/login", e, { origin: "https://evil.test" });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { code: string }).code).toBe("forbidden-origin");
    expect(foreign.headers.get("set-cookie")).toBeNull();
    expect((await login("http://gw.test/admin/ui/login", e, {}, "wrong-token-xxxxxxxx")).status).toBe(401);
  });

  it("refuses a large body before reading it", async () => {
    const res = await gateway.request(
      "http://gw.test/admin/ui/login",
      {
        method: "POST",
        body: "token=".padEnd(64 * 1024, "x"),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      },
      env(),
    );
    expect(res.status).toBe(413);
  });
});
