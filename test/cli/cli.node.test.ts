// The `aegis` CLI against a running gateway (the self-hosted server, on real Postgres and
// Redis): every command in text and in --json, and its exit codes (run as a process, in
// cli-process.node.test.ts).

import { beforeAll, describe, expect, it } from "vitest";
import { newInvoiceId } from "../../src/billing/ids";
import { runCli } from "../../src/cli/cli";
import { openNodeDatabase } from "../../src/db/node";
import { invoices } from "../../src/db/schema";
import type { SelfHosted } from "../../src/server/self-hosted";
import { cliHarness } from "./cli-harness";

const cli = cliHarness("cli", { BILLING_GRACE_HOURS: "0", BILLING_UNIT_COST: "0.01" });
const { aegis, json } = cli;
let server: SelfHosted;
let TOKEN = "";

beforeAll(() => {
  server = cli.gateway().server;
  TOKEN = cli.gateway().token;
});

describe("aegis CLI", () => {
  it("runs every operator command, in text and in --json", async () => {
    const created = await aegis(
      "tenants",
      "create",
      "--name",
      "Acme AI",
      "--rate",
      "0",
      "--burst",
      "2",
      "--daily",
      "100",
    );
    expect(created.code).toBe(0);
    const id = created.out.match(/created tenant (tn[a-z2-7]{16})/)?.[1] as string;
    expect(id).toMatch(/^tn[a-z2-7]{16}$/);
    expect(created.out).toMatch(/Acme AI\s+active\s+0\s+2\s+100/);
    const second = await json<{ id: string; quota: { dailyUnits: number | null } }>(
      "tenants",
      "create",
      "--name",
      "Beta",
      "--rate",
      "10",
      "--burst",
      "10",
      "--daily",
      "none",
    );
    expect(second.quota.dailyUnits).toBeNull();

    const list = await aegis("tenants", "list", "--limit", "100");
    expect(list.out).toContain(id);
    expect(list.out.split("\n")[0]).toMatch(/^id\s+name\s+status/);
    expect((await json<{ tenants: { id: string }[] }>("tenants", "list")).tenants.map((t) => t.id)).toContain(
      second.id,
    );
    expect((await aegis("tenants", "get", id)).out).toContain("Acme AI");
    expect(await json("tenants", "get", id)).toMatchObject({ id, name: "Acme AI", status: "active" });

    const key = await aegis("keys", "create", id, "--name", "ci");
    expect(key.out).toMatch(/shown once/);
    const apiKey = key.out.match(/(ak_\S+)/)?.[1] as string;
    const keyJson = await json<{ id: string; key: string }>("keys", "create", id);
    expect(keyJson.key).toMatch(/^ak_/);
    expect((await aegis("keys", "list", id)).out).toContain(keyJson.id);
    expect((await json<{ keys: { id: string }[] }>("keys", "list", id)).keys.map((k) => k.id)).toContain(keyJson.id);

    const quota = await aegis("quotas", "set", id, "--rate", "0", "--burst", "5", "--daily", "50", "--tz", "UTC");
    expect(quota.out).toMatch(/quota of tn\S+ set/);
    expect(
      (await json<{ quota: { burst: number } }>("quotas", "set", id, "--rate", "0", "--burst", "6", "--daily", "none"))
        .quota.burst,
    ).toBe(6);

    // Usage: two calls now, and a job of last month reported late.
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${server.url}/v1/chat/completions?units=3`, {
        method: "POST",
        headers: { authorization: `Bearer ${apiKey}` },
        body: "{}",
      });
      expect(r.status).toBe(200);
      await r.arrayBuffer();
    }
    const now = new Date();
    const lastMonth = (d: number) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, d));
    const thisMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const job = await fetch(`${server.url}/account/v1/usage`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ units: 250, idempotencyKey: "cli-job", occurredAt: lastMonth(10).toISOString() }),
    });
    expect(job.status).toBe(202);
    const day = (d: Date) => d.toISOString().slice(0, 10);
    await server.flushUsage();
    const usage = await json<{ totalUnits: number }>("usage", id, "--from", day(lastMonth(1)));
    expect(usage.totalUnits).toBe(256);
    const usageText = await aegis("usage", id, "--from", day(lastMonth(1)));
    expect(usageText.out).toMatch(/^day\s+route\s+model\s+requests\s+input\s+output\s+cached\s+units\s+estimated/);
    // Every unit here was reported (x-usage-units, and the job's report): none estimated.
    expect(usageText.out).toMatch(
      /total 256 units \(0 estimated\): \d+ requests, 0 input tokens \(0 cached\), 0 output tokens/,
    );

    const billed = await aegis("billing", "run", "--from", day(lastMonth(1)), "--to", day(thisMonth));
    expect(billed.code).toBe(0);
    expect(billed.out).toMatch(/1 invoice\(s\)/);
    const again = await json<{ created: number }>(
      "billing",
      "run",
      "--from",
      day(lastMonth(1)),
      "--to",
      day(thisMonth),
    );
    expect(again.created).toBe(0);

    const invoices = await json<{ invoices: { id: string; amountMinor: number; status: string }[] }>(
      "invoices",
      "list",
      "--tenant",
      id,
    );
    expect(invoices.invoices).toHaveLength(1);
    const invoice = invoices.invoices[0] as { id: string; amountMinor: number; status: string };
    // 250 units at 0.01 USD.
    expect(invoice.amountMinor).toBe(250);
    expect((await aegis("invoices", "list", "--tenant", id)).out).toMatch(/2\.50 USD/);
    expect((await aegis("invoices", "pay", invoice.id)).out).toBe(`${invoice.id} is paid\n`);
    // Paying again is harmless, and says so in JSON too.
    expect(await json("invoices", "pay", invoice.id)).toMatchObject({ id: invoice.id, status: "paid" });
    expect(await json<{ status: string }>("invoices", "list", "--status", "paid", "--tenant", id)).toMatchObject({
      invoices: [{ id: invoice.id, status: "paid" }],
    });

    // A quota change by flag keeps what the flags do not mention.
    await fetch(`${server.url}/admin/v1/tenants/${id}/quota`, {
      method: "PUT",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({
        ratePerMinute: 0,
        burst: 6,
        dailyUnits: null,
        timeZone: "Europe/Berlin",
        routes: { chat: { cost: 3 } },
        unitPrice: "0.00001",
      }),
    });
    const kept = await json<{ quota: Record<string, unknown> }>("quotas", "set", id, "--burst", "9", "--shadow", "on");
    expect(kept.quota).toMatchObject({
      burst: 9,
      shadow: true,
      timeZone: "Europe/Berlin",
      routes: { chat: { cost: 3 } },
      unitPrice: "0.00001",
    });

    // What revoking and suspending do at the gateway, not only what the CLI prints: a call
    // with the key to the account API (it reads the limits and consumes nothing).
    const limitsWith = async (apiKey: string) => {
      const r = await fetch(`${server.url}/account/v1/limits`, { headers: { authorization: `Bearer ${apiKey}` } });
      return { status: r.status, body: (await r.json()) as { code?: string; tenantId?: string } };
    };
    expect(await limitsWith(keyJson.key)).toMatchObject({ status: 200, body: { tenantId: id } });
    expect((await aegis("keys", "revoke", id, keyJson.id)).out).toBe(`revoked ${keyJson.id}\n`);
    expect(await limitsWith(keyJson.key)).toMatchObject({ status: 401, body: { code: "unauthorized" } });
    // The tenant's other key is untouched.
    expect(await limitsWith(apiKey)).toMatchObject({ status: 200, body: { tenantId: id } });
    expect(await json("keys", "revoke", id, keyJson.id)).toEqual({ revoked: keyJson.id, tenantId: id });
    expect(await limitsWith(keyJson.key)).toMatchObject({ status: 401, body: { code: "unauthorized" } });

    expect((await aegis("tenants", "suspend", id)).out).toBe(`suspended ${id}\n`);
    expect(await limitsWith(apiKey)).toMatchObject({ status: 403, body: { code: "tenant-suspended" } });
    // And on a call through the proxy.
    const proxied = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}` },
      body: "{}",
    });
    expect(proxied.status).toBe(403);
    expect(((await proxied.json()) as { code: string }).code).toBe("tenant-suspended");
    expect(await json("tenants", "suspend", id)).toMatchObject({ id, status: "suspended" });
    expect(await limitsWith(apiKey)).toMatchObject({ status: 403, body: { code: "tenant-suspended" } });
    expect((await json<{ status: string }>("tenants", "activate", id)).status).toBe("active");
    expect(await limitsWith(apiKey)).toMatchObject({ status: 200, body: { tenantId: id } });
  }, 60_000);

  it("shows invoice amounts in each currency's minor digits: 1234 JPY, 1.234 KWD, 12.34 USD", async () => {
    const { id } = await json<{ id: string }>("tenants", "create", "--name", "currencies");
    // The gateway bills in one currency; invoices in others are what a change of
    // BILLING_CURRENCY leaves behind, so they go into the database directly.
    const shown = { JPY: "1234 JPY", KWD: "1.234 KWD", USD: "12.34 USD" };
    const rows = Object.keys(shown).map((currency, i) => ({
      id: newInvoiceId(),
      tenantId: id,
      periodStart: `2020-0${i + 1}-01`,
      periodEnd: `2020-0${i + 2}-01`,
      units: 1234,
      amountMinor: 1234,
      currency,
      lineItems: [],
    }));
    const handle = openNodeDatabase(server.config.DATABASE_URL ?? "", 1);
    try {
      await handle.db.insert(invoices).values(rows);
    } finally {
      await handle.close();
    }
    const listed = await aegis("invoices", "list", "--tenant", id);
    expect(listed.code).toBe(0);
    for (const r of rows) {
      const line = listed.out.split("\n").find((l) => l.startsWith(r.id));
      expect(line, r.currency).toMatch(new RegExp(`\\s${shown[r.currency as keyof typeof shown]}\\s+issued$`));
    }
  });

  it("shows tenants get's usage for the UTC day, naming the daily quota's own day in the tenant's zone", async () => {
    const t = await json<{ id: string }>("tenants", "create", "--name", "Kolkata", "--tz", "Asia/Kolkata");
    // 20:00 UTC on 1 December is 01:30 on 2 December in Kolkata (UTC+5:30).
    const at = Date.parse("2026-12-01T20:00:00Z");
    const got = await cli.aegisAt(at, "tenants", "get", t.id);
    expect(got.code, got.err).toBe(0);
    expect(got.out).toMatch(
      /\nusage today \(2026-12-01, UTC; the daily quota's day is 2026-12-02 in Asia\/Kolkata\): none\n$/,
    );
    const utc = await json<{ id: string }>("tenants", "create", "--name", "London", "--tz", "UTC");
    expect((await cli.aegisAt(at, "tenants", "get", utc.id)).out).toMatch(/\nusage today \(2026-12-01, UTC\): none\n$/);
  });

  it("says what went wrong, and exits non-zero", async () => {
    const missing = await aegis("tenants", "get", "tnaaaaaaaaaaaaaaaa");
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^aegis: 404 tenant-not-found: /);
    const missingJson = await aegis("tenants", "get", "tnaaaaaaaaaaaaaaaa", "--json");
    expect(missingJson.code).toBe(1);
    expect(JSON.parse(missingJson.err)).toMatchObject({ error: { status: 404, code: "tenant-not-found" } });

    const missingQuota = await aegis("quotas", "set", "tnaaaaaaaaaaaaaaaa", "--burst", "3");
    expect(missingQuota.code).toBe(1);
    expect(missingQuota.err).toMatch(/404 tenant-not-found/);
    const { id } = await json<{ id: string }>("tenants", "create", "--name", "errors");
    const invalid = await aegis("quotas", "set", id, "--burst", "0");
    expect(invalid.code).toBe(1);
    expect(invalid.err).toMatch(/400 invalid-request/);
    expect((await aegis("quotas", "set", id)).code).toBe(2);
    expect((await aegis("quotas", "set", id, "--shadow", "maybe")).err).toMatch(/--shadow is on or off/);

    expect((await aegis("tenants", "create")).code).toBe(2);
    expect((await aegis("frobnicate")).err).toMatch(/unknown command "frobnicate"/);
    expect((await aegis("tenants", "list", "--colour")).code).toBe(2);
    expect((await aegis("quotas", "set", "tnx", "--rate", "fast", "--burst", "1", "--daily", "1")).err).toMatch(
      /--rate must be a whole number/,
    );
    const noToken = await runCli(["tenants", "list"], { env: {}, stdout: () => {}, stderr: () => {} });
    expect(noToken).toBe(2);
    const down = await runCli(["tenants", "list"], {
      env: { AEGIS_URL: "http://127.0.0.1:1", AEGIS_ADMIN_TOKEN: TOKEN },
      stdout: () => {},
      stderr: () => {},
    });
    expect(down).toBe(1);
  });
});
