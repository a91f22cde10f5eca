// The `aegis` CLI as an operator runs it: a process (node with tsx, src/cli/main.ts) with
// AEGIS_URL and AEGIS_ADMIN_TOKEN, against a self-hosted gateway on real Postgres and Redis.
// Its exit codes, stdout and stderr for the commands of issue 17's CLI gaps. Independent
// runs go in parallel: each process costs about a second.

import { execFile } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/free-port";
import { ROOT } from "../../scripts/lib/wrangler-dev";
import { newDeliveryId } from "../../src/billing/ids";
import type { Delivery, DeliveryList, Tenant } from "../../src/client/types";
import { openNodeDatabase } from "../../src/db/node";
import { webhookDeliveries } from "../../src/db/schema";
import { startTestGateway, type TestGateway } from "../support/test-gateway";

let gateway: TestGateway;
let down = "";
beforeAll(async () => {
  gateway = await startTestGateway("cliprocess");
  // A port the system gave out and nobody listens on now.
  down = `http://127.0.0.1:${await freePort()}`;
}, 60_000);
afterAll(() => gateway?.stop());

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `aegis ARGS` as a process; `url` is the gateway it is pointed at. */
function aegis(args: string[], url = gateway.url): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "src", "cli", "main.ts"), ...args],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "", AEGIS_URL: url, AEGIS_ADMIN_TOKEN: gateway.token },
        timeout: 30_000,
      },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
    );
  });
}

const admin = async <T>(pathname: string, init: RequestInit = {}): Promise<T> => {
  const r = await fetch(`${gateway.url}/admin/v1${pathname}`, {
    ...init,
    headers: { authorization: `Bearer ${gateway.token}`, "content-type": "application/json" },
  });
  if (!r.ok) throw new Error(`${pathname}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
};

describe("aegis as a process", () => {
  it("creates a tenant with --rate 6 and the gateway's other defaults; exits 1 on a refusal or an unreachable gateway, naming its cause, and 2 on misuse", async () => {
    const [created, plain, missing, unreachable, refused, bare] = await Promise.all([
      aegis(["tenants", "create", "--name", "Six", "--rate", "6", "--json"]),
      // What a tenant created with no quota flags gets: the defaults.
      admin<Tenant>("/tenants", { method: "POST", body: JSON.stringify({ name: "defaults" }) }),
      // Pointed at a port nobody listens on: exit 2, not 1, proves nothing was sent.
      aegis(["overrides", "set", "tnaaaaaaaaaaaaaaaa", "--daily", "5"], down),
      aegis(["tenants", "list"], down),
      aegis(["tenants", "get", "tnaaaaaaaaaaaaaaaa"]),
      aegis([]),
    ]);
    expect(created.code, created.stderr).toBe(0);
    const six = JSON.parse(created.stdout) as Tenant;
    const { ratePerMinute: _, ...defaults } = plain.quota;
    expect(six.quota).toEqual({ ...defaults, ratePerMinute: 6 });
    expect(six.quota.burst).not.toBeNull();
    expect(six.quota.dailyUnits).toBe(plain.quota.dailyUnits);

    expect(missing.code).toBe(2);
    expect(missing.stdout).toBe("");
    expect(missing.stderr).toBe(
      "aegis: overrides set needs --until (an ISO 8601 time, or +90m, +6h, +2d)\n" +
        "usage: aegis overrides set TENANT --until WHEN LIMIT FLAGS  (until WHEN: ISO 8601, or +90m, +6h, +2d)\n",
    );

    expect(unreachable.code).toBe(1);
    expect(unreachable.stdout).toBe("");
    expect(unreachable.stderr).toBe(`aegis: cannot reach the gateway at ${down}: connection refused (ECONNREFUSED)\n`);

    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).toBe("aegis: 404 tenant-not-found: no tenant with id tnaaaaaaaaaaaaaaaa\n");

    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe("");
    expect(bare.stderr).toMatch(/^usage: aegis /);
  }, 60_000);

  it("sets a route's limits, and shows everything about the tenant in tenants get and quotas get", async () => {
    const t = await admin<Tenant>("/tenants", {
      method: "POST",
      body: JSON.stringify({ name: "Acme AI", billingAccountId: "acct_42", quota: { dailyUnits: 100000 } }),
    });
    const key = await admin<{ id: string; key: string }>(`/tenants/${t.id}/keys`, {
      method: "POST",
      body: JSON.stringify({ name: "prod", limits: { requestsPerMinute: 30 } }),
    });
    await admin(`/tenants/${t.id}/prices`, {
      method: "PUT",
      body: JSON.stringify({
        currency: "USD",
        prices: [{ model: "echo-*", dimension: "outputTokens", unitPrice: "0.00002", effectiveFrom: "2026-01-01" }],
      }),
    });
    await admin(`/tenants/${t.id}/override`, {
      method: "PUT",
      body: JSON.stringify({ quota: { maxConcurrent: 4 }, until: new Date(Date.now() + 3_600_000).toISOString() }),
    });
    const call = await fetch(`${gateway.url}/v1/chat/completions?tokens=10`, {
      method: "POST",
      headers: { authorization: `Bearer ${key.key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "echo-1", messages: [] }),
    });
    expect(call.status).toBe(200);
    await call.arrayBuffer();

    const route = await aegis(["quotas", "route", t.id, "chat", "--rpm", "20", "--cost", "2"]);
    expect(route.code, route.stderr).toBe(0);
    expect(route.stdout).toContain(`limits of route chat of ${t.id} set`);
    expect((await admin<Tenant>(`/tenants/${t.id}`)).quota.routes).toEqual({
      chat: { requestsPerMinute: 20, cost: 2 },
    });

    // The call's usage reaches Postgres through the consumer: stored, deterministically, here.
    await gateway.server.flushUsage();
    const today = new Date().toISOString().slice(0, 10);
    const stored = await admin<{ totals: { requests: number } }>(`/tenants/${t.id}/usage?from=${today}`);
    expect(stored.totals.requests).toBe(1);

    const [got, quota] = await Promise.all([aegis(["tenants", "get", t.id]), aegis(["quotas", "get", t.id])]);
    expect(got.code, got.stderr).toBe(0);
    const out = got.stdout;
    expect(out).toMatch(new RegExp(`${t.id}\\s+Acme AI\\s+active`));
    expect(out).toContain("billing account: acct_42");
    expect(out).toContain(`daily quota:     100000 units, from midnight in ${t.quota.timeZone}`);
    expect(out).toContain(`time zone:       ${t.quota.timeZone}`);
    expect(out).toContain("shadow mode:     off");
    expect(out).toContain("unit price:      default (BILLING_UNIT_COST)");
    expect(out).toMatch(/routes: +1 with limits of their own/);
    expect(out).toMatch(/\nchat\s+-\s+-\s+20\s+-\s+-\s+2\n/);
    expect(out).toMatch(/override until \S+: maxConcurrent=4/);
    expect(out).toMatch(/prices: the prices of tn\S+, in USD/);
    expect(out).toMatch(/echo-\*\s+outputTokens\s+0\.00002\s+2026-01-01/);
    expect(out).toMatch(new RegExp(`${key.id}\\s+\\S+\\s+prod\\s+rpm=30\\s+\\S+Z\\s+-`));
    // The tenant's zone is UTC: its quota's day is the UTC day usage is kept by.
    expect(out).toMatch(new RegExp(`usage today \\(${today}, UTC\\):\\nday\\s+route`));
    // The call's route is the gateway's default one: tokens by model, 3 in and 7 out, none estimated.
    expect(out).toMatch(new RegExp(`\\n${today}\\s+default\\s+echo-1\\s+1\\s+3\\s+7\\s+0\\s+10\\s+0\\n`));
    expect(out).toMatch(/\ntotal 10 units \(0 estimated\): 1 requests, 3 input tokens \(0 cached\), 7 output tokens/);

    expect(quota.code, quota.stderr).toBe(0);
    expect(quota.stdout).toMatch(
      new RegExp(`^quota of ${t.id} \\(Acme AI\\):\\nunits bucket: +\\d+ units/min, burst \\d+\\n`),
    );
    expect(quota.stdout).toContain("request bucket:  none\nmax concurrent:  none\n");
    expect(quota.stdout).toMatch(/quota alerts at: 0\.8, 1 \(QUOTA_ALERT_THRESHOLDS\)/);
    expect(quota.stdout).toMatch(/override until \S+: maxConcurrent=4\n$/);
  }, 60_000);

  it("lists a tenant's webhook deliveries and redelivers one, a quota alert's too", async () => {
    const [a, b] = await Promise.all(
      ["hooks a", "hooks b"].map((name) =>
        admin<Tenant>("/tenants", { method: "POST", body: JSON.stringify({ name }) }),
      ),
    );
    if (!a || !b) throw new Error("no tenants");
    const alertId = `msg_qt_${a.id}_2026-11-30_daily_8000`;
    const handle = openNodeDatabase(gateway.databaseUrl, 1);
    try {
      await handle.db.insert(webhookDeliveries).values([
        {
          id: alertId,
          eventType: "quota.threshold",
          payload: { type: "quota.threshold", data: { tenantId: a.id, threshold: 0.8 } },
          status: "failed",
          attempts: 8,
          lastStatus: 500,
          createdAt: new Date(Date.now() - 60_000),
        },
        {
          id: newDeliveryId(),
          eventType: "invoice.created",
          payload: { type: "invoice.created", data: { tenantId: b.id } },
          status: "delivered",
          attempts: 1,
          lastStatus: 200,
        },
      ]);
    } finally {
      await handle.close();
    }

    const list = await aegis(["webhooks", "deliveries", "--tenant", a.id, "--status", "failed"]);
    expect(list.code, list.stderr).toBe(0);
    const lines = list.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^id\s+event\s+tenant\s+status\s+attempts\s+last answer\s+next attempt\s+created$/);
    expect(lines.slice(2)).toHaveLength(1);
    expect(lines[2]).toMatch(new RegExp(`^${alertId}\\s+quota\\.threshold\\s+${a.id}\\s+failed\\s+8\\s+500\\s`));

    const again = await aegis(["webhooks", "redeliver", alertId, "--json"]);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout) as Delivery).toMatchObject({ id: alertId, status: "pending", attempts: 0 });
    const stored = await admin<DeliveryList>(`/webhooks/deliveries?tenantId=${a.id}`);
    expect(stored.deliveries.map((d) => [d.id, d.status])).toEqual([[alertId, "pending"]]);
  }, 60_000);
});
