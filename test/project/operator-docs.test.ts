// The operator's reference pages say what the code takes: http-api.md's quota tables list
// every field of the quota and of a route's entry, and wrangler.toml's commented [vars]
// block, which the README tells an operator to uncomment, holds only settings the gateway
// reads, each with a value its config accepts.

import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_KEYS, loadConfig } from "../../src/config";
import { QuotaSchema, RouteOverrideSchema } from "../../src/http/schemas/tenants";
import { STOP_WAIT_MS } from "../../src/redis/usage-consumer-loop";
import { DEFAULT_CLAIM_IDLE_MS } from "../../src/redis/usage-stream-consumer";
import {
  IDLE_POLL_MS,
  PG_POOL_MAX,
  PROBE_TIMEOUT_MS,
  SHUTDOWN_GRACE_MS,
  SWEEP_EVERY_MS,
} from "../../src/server/timings";

const ROOT = path.resolve(import.meta.dirname, "../..");
const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");

/** The first column of every table row between `from` and the next heading of its level. */
function tableFields(markdown: string, from: string): string[][] {
  const start = markdown.indexOf(from);
  expect(start, `${from} is in the page`).toBeGreaterThanOrEqual(0);
  const rest = markdown.slice(start + from.length);
  const section = rest.slice(0, rest.search(/\n### /));
  // Each table is a run of rows; a blank line or prose ends it.
  return section
    .split(/\n\s*\n/)
    .filter((block) => block.trim().startsWith("|"))
    .map((table) => [...table.matchAll(/^\| `(\w+)`/gm)].map((m) => m[1] ?? ""));
}

describe("operator docs", () => {
  it("http-api.md lists every quota field and every field of a route's entry", () => {
    const [quota, route] = tableFields(read("docs/http-api.md"), "### Quotas");
    expect(quota?.slice().sort()).toEqual(Object.keys(QuotaSchema.shape).sort());
    expect(route?.slice().sort()).toEqual(Object.keys(RouteOverrideSchema.shape).sort());
  });

  it("self-hosting.md and the README quote the self-hosted server's timings and sizes as the code sets them", () => {
    const flat = (file: string) => read(file).replace(/\s+/g, " ");
    const guide = flat("docs/self-hosting.md");
    const s = (ms: number) => ms / 1000;
    for (const phrase of [
      `up to **${PG_POOL_MAX} connections**`,
      `a sweep every ${s(SWEEP_EVERY_MS)} s`,
      `answer within ${s(PROBE_TIMEOUT_MS)} s`,
      `finish for up to ${s(SHUTDOWN_GRACE_MS)} s`,
      `for up to ${s(SHUTDOWN_GRACE_MS)} s, a billing run`,
      `waits up to ${s(STOP_WAIT_MS)} s`,
      `idle for ${s(DEFAULT_CLAIM_IDLE_MS)} s (they look every ${s(DEFAULT_CLAIM_IDLE_MS) / 2} s)`,
      `within ${s(DEFAULT_CLAIM_IDLE_MS)} to ${s(DEFAULT_CLAIM_IDLE_MS) * 1.5} s`,
    ]) {
      expect(guide, phrase).toContain(phrase);
    }
    expect(flat("README.md")).toContain(`every ${IDLE_POLL_MS} ms when idle`);
  });

  it("wrangler.toml's [vars] block names only settings the gateway reads, with values it accepts", () => {
    const toml = read("wrangler.toml");
    const block = toml.slice(toml.indexOf("# [vars]"), toml.indexOf("\n\n", toml.indexOf("# [vars]")));
    const vars: Record<string, string> = {};
    for (const m of block.matchAll(/^# (\w+) = (?:"([^"]*)"|'([^']*)')/gm)) {
      vars[m[1] ?? ""] = m[2] ?? m[3] ?? "";
    }
    expect(Object.keys(vars).length).toBeGreaterThan(10);
    expect(Object.keys(vars).filter((k) => !(CONFIG_KEYS as string[]).includes(k))).toEqual([]);
    // Uncommented as it stands, beside the secrets the README puts, the block is a
    // configuration the gateway starts with (UNSIGNED_KEYS=refuse needs the signing secret, a webhook URL its secret).
    const secrets = {
      KEY_SIGNING_SECRET: "k".repeat(32),
      ADMIN_TOKEN: "a".repeat(32),
      BILLING_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 7).toString("base64")}`,
    };
    expect(() => loadConfig({ ...vars, ...secrets })).not.toThrow();
    // The README names the block's settings and leaves secrets to `wrangler secret put`.
    const readme = read("README.md");
    expect(readme).toContain("commented `[vars]` block");
    for (const secret of readme.matchAll(/wrangler secret put (\w+)/g)) {
      expect(CONFIG_KEYS as string[]).toContain(secret[1]);
      expect(Object.keys(vars)).not.toContain(secret[1]);
    }
  });
});
