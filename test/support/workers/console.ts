// The operator console through the real Worker, for the console's workerd tests: a login, a
// page with its CSRF token, and a form POST.

import { SELF } from "cloudflare:test";
import { expect } from "vitest";
import { ADMIN_TOKEN, BASE } from "./helpers";

export const UI = `${BASE}/admin/ui`;

/** Logs in with the operator token; the session cookie, as a Cookie header's value. */
export async function login(headers: Record<string, string> = {}): Promise<string> {
  const res = await SELF.fetch(`${UI}/login`, {
    method: "POST",
    headers,
    body: new URLSearchParams({ token: ADMIN_TOKEN }),
    redirect: "manual",
  });
  expect(res.status).toBe(303);
  const cookie = res.headers.get("set-cookie") ?? "";
  return cookie.split(";")[0] as string;
}

/** A console page, and the CSRF token its forms carry. */
export async function page(path: string, cookie: string): Promise<{ status: number; html: string; csrf: string }> {
  const res = await SELF.fetch(`${UI}${path}`, { headers: { cookie }, redirect: "manual" });
  const html = await res.text();
  return { status: res.status, html, csrf: /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "" };
}

/** A urlencoded form POST, as a browser sends it, without following the redirect. */
export function postForm(
  path: string,
  cookie: string,
  body: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return SELF.fetch(`${UI}${path}`, {
    method: "POST",
    headers: { cookie, ...headers },
    body: new URLSearchParams(body),
    redirect: "manual",
  });
}
