// The `aegis` CLI's v2 limits against a running gateway (the self-hosted server, on real
// Postgres and Redis): a tenant's request bucket, calls-in-flight cap and no units bucket, a
// key's own limits (at creation, changed, cleared), how the tables show them, and misuse.
// What the CLI sets is read back through the operator API, which reads Postgres.

import { describe, expect, it } from "vitest";
import { USAGE } from "../../src/cli/cli";
import { AegisAdmin } from "../../src/client/index";
import type { Key, Tenant } from "../../src/client/types";
import { cliHarness } from "./cli-harness";

const cli = cliHarness("clilimits");
const { aegis, json } = cli;
const admin = () => new AegisAdmin({ baseUrl: cli.gateway().url, token: cli.gateway().token });

/** The table row of `id` in a command's text output, its cells split on the column gaps. */
function row(out: string, id: string): string[] {
  const line = out.split("\n").find((l) => l.startsWith(id));
  if (!line) throw new Error(`no row for ${id} in:\n${out}`);
  return line.split(/\s{2,}/);
}

function header(out: string): string[] {
  return (out.split("\n")[0] ?? "").split(/\s{2,}/);
}

describe("aegis CLI, v2 limits", () => {
  it("sets a request bucket and a cap with quotas set, clears them with none, and keeps the rest", async () => {
    const t = await json<Tenant>("tenants", "create", "--name", "rpm co", "--rpm", "60", "--max-concurrent", "4");
    // What the flags leave out takes the gateway's defaults.
    const defaults = (await json<Tenant>("tenants", "create", "--name", "defaults")).quota;
    expect(defaults.leases).toBe(false); // exact mode unless a tenant opts in
    expect(t.quota).toMatchObject({
      ratePerMinute: defaults.ratePerMinute,
      burst: defaults.burst,
      dailyUnits: defaults.dailyUnits,
      requestsPerMinute: 60,
      requestBurst: null,
      maxConcurrent: 4,
    });

    const set = await aegis(
      "quotas",
      "set",
      t.id,
      "--rpm",
      "120",
      "--request-burst",
      "10",
      "--max-concurrent",
      "8",
      "--shadow",
      "on",
      "--leases",
      "on",
    );
    expect(set.code, set.err).toBe(0);
    expect(set.out).toMatch(/quota of tn\S+ set/);
    const stored = await admin().getTenant(t.id);
    expect(stored.quota).toMatchObject({
      ratePerMinute: defaults.ratePerMinute,
      requestsPerMinute: 120,
      requestBurst: 10,
      maxConcurrent: 8,
      shadow: true,
      leases: true,
    });

    const got = await aegis("tenants", "get", t.id);
    expect(got.out).toContain("lease mode:      on");
    expect(header(got.out)).toEqual([
      "id",
      "name",
      "status",
      "rate/min",
      "burst",
      "daily",
      "rpm",
      "req burst",
      "max concurrent",
    ]);
    expect(row(got.out, t.id).slice(3)).toEqual([
      String(defaults.ratePerMinute),
      String(defaults.burst),
      String(defaults.dailyUnits ?? "none"),
      "120",
      "10",
      "8",
    ]);
    // The list has the same columns.
    const listed = await aegis("tenants", "list", "--limit", "200");
    expect(row(listed.out, t.id).slice(6)).toEqual(["120", "10", "8"]);

    const cleared = await json<Tenant>(
      "quotas",
      "set",
      t.id,
      "--rpm",
      "none",
      "--request-burst",
      "none",
      "--max-concurrent",
      "none",
    );
    expect(cleared.quota).toMatchObject({ requestsPerMinute: null, requestBurst: null, maxConcurrent: null });
    // Only what the flags named changed.
    expect(cleared.quota).toMatchObject({ ratePerMinute: defaults.ratePerMinute, shadow: true, leases: true });
    expect((await admin().getTenant(t.id)).quota).toEqual(cleared.quota);
    expect(row((await aegis("tenants", "get", t.id)).out, t.id).slice(6)).toEqual(["none", "none", "none"]);

    // A request bucket given one number shows it as both, as it applies.
    await json("quotas", "set", t.id, "--rpm", "30");
    expect(row((await aegis("tenants", "get", t.id)).out, t.id).slice(6)).toEqual(["30", "30", "none"]);
    // Alert thresholds the tenant follows from QUOTA_ALERT_THRESHOLDS are not pinned by a write-back.
    expect((await admin().getTenant(t.id)).quota.alerts).toEqual({ thresholds: [0.8, 1], inherited: true });
  });

  it("creates a tenant in lease mode, switches it off, and shows both", async () => {
    const t = await json<Tenant>("tenants", "create", "--name", "leased", "--leases", "on");
    expect((await admin().getTenant(t.id)).quota.leases).toBe(true);
    expect((await aegis("quotas", "get", t.id)).out).toContain(
      "lease mode:      on (gateways admit from leased units)",
    );
    expect((await json<Tenant>("quotas", "set", t.id, "--leases", "off")).quota.leases).toBe(false);
    expect((await admin().getTenant(t.id)).quota.leases).toBe(false);
    expect((await aegis("quotas", "get", t.id)).out).toContain("lease mode:      off (exact)");
  });

  it("creates a tenant with no units bucket, and gives it one again", async () => {
    const created = await aegis("tenants", "create", "--name", "requests only", "--rate", "none", "--burst", "none");
    expect(created.code, created.err).toBe(0);
    const id = created.out.match(/created tenant (tn[a-z2-7]{16})/)?.[1] as string;
    expect((await admin().getTenant(id)).quota).toMatchObject({ ratePerMinute: null, burst: null });
    expect(row(created.out, id).slice(3, 5)).toEqual(["none", "none"]);

    const restored = await json<Tenant>("quotas", "set", id, "--rate", "600", "--burst", "100");
    expect(restored.quota).toMatchObject({ ratePerMinute: 600, burst: 100 });
    expect((await admin().getTenant(id)).quota).toMatchObject({ ratePerMinute: 600, burst: 100 });
  });

  it("gives a key its own limits when it is created, changes some, and clears them", async () => {
    const { id } = await json<Tenant>("tenants", "create", "--name", "keyed");
    const made = await aegis("keys", "create", id, "--name", "batch", "--rate", "20000", "--rpm", "10");
    expect(made.code, made.err).toBe(0);
    expect(made.out).toMatch(/shown once/);
    expect(made.out).toContain("its own limits: rate=20000 rpm=10");
    const keyId = made.out.match(/created key (key[a-z2-7]{16})/)?.[1] as string;
    const plain = await json<Key & { key: string }>("keys", "create", id);
    expect(plain.limits).toBeNull();
    const limitsOf = async (k: string) => (await admin().listKeys(id)).keys.find((x) => x.id === k)?.limits;
    expect(await limitsOf(keyId)).toEqual({ ratePerMinute: 20000, requestsPerMinute: 10 });

    const list = await aegis("keys", "list", id);
    expect(header(list.out)).toEqual(["id", "prefix", "name", "limits", "created", "revoked"]);
    expect(row(list.out, keyId)[3]).toBe("rate=20000 rpm=10");
    expect(row(list.out, plain.id)[3]).toBe("none");

    // What the flags name changes, none removes one, the rest stays.
    const changed = await aegis("keys", "limits", id, keyId, "--request-burst", "5", "--rate", "none");
    expect(changed.code, changed.err).toBe(0);
    expect(changed.out).toContain(`limits of ${keyId} set: rpm=10 request-burst=5`);
    expect(await limitsOf(keyId)).toEqual({ requestsPerMinute: 10, requestBurst: 5 });
    const asJson = await json<Key>("keys", "limits", id, plain.id, "--burst", "3");
    expect(asJson).toMatchObject({ id: plain.id, limits: { burst: 3 } });
    expect(await limitsOf(plain.id)).toEqual({ burst: 3 });

    expect((await aegis("keys", "limits", id, keyId, "--clear")).out).toContain(`limits of ${keyId} set: none`);
    expect(await limitsOf(keyId)).toBeNull();
    // Removing the last one leaves no limits at all, as --clear does.
    expect((await json<Key>("keys", "limits", id, plain.id, "--burst", "none")).limits).toBeNull();
    expect(await limitsOf(plain.id)).toBeNull();
  });

  it("says what is wrong with the new flags, before or from the gateway", async () => {
    const { id } = await json<Tenant>("tenants", "create", "--name", "misuse");
    const { id: keyId } = await json<Key>("keys", "create", id);
    const misuse: [string[], RegExp][] = [
      [["quotas", "set", id, "--rpm", "fast"], /--rpm must be a whole number or none/],
      [["quotas", "set", id, "--max-concurrent", "1.5"], /--max-concurrent must be a whole number or none/],
      [["quotas", "set", id, "--request-burst"], /request-burst/],
      [["keys", "limits", id, keyId], /needs --rate, --burst, --rpm or --request-burst/],
      [["keys", "limits", id, keyId, "--clear", "--rpm", "5"], /--clear, or limit flags, not both/],
      [["keys", "limits", id], /missing KEY \(a key id\)/],
      [["keys", "create", id, "--max-concurrent", "3"], /--max-concurrent is the tenant's/],
      [["keys", "limits", id, keyId, "--daily", "3"], /--daily is the tenant's/],
      [["keys", "create", id, "--leases", "on"], /--leases is the tenant's/],
    ];
    for (const [argv, message] of misuse) {
      const r = await aegis(...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.err, argv.join(" ")).toMatch(message);
    }
    // Nothing was sent: the key has no limits.
    expect((await admin().listKeys(id)).keys[0]?.limits).toBeNull();

    const zero = await aegis("quotas", "set", id, "--request-burst", "0");
    expect(zero.code).toBe(1);
    expect(zero.err).toMatch(/^aegis: 400 invalid-request: /);
    const noKey = await aegis("keys", "limits", id, "keyaaaaaaaaaaaaaaaa", "--rpm", "1");
    expect(noKey.code).toBe(1);
    expect(noKey.err).toMatch(/^aegis: 404 key-not-found: /);
    const noTenant = await aegis("keys", "limits", "tnaaaaaaaaaaaaaaaa", keyId, "--rpm", "1");
    expect(noTenant.code).toBe(1);
    expect(noTenant.err).toMatch(/^aegis: 404 tenant-not-found: /);
  });

  it("lists the new flags and command in its help", async () => {
    const help = await aegis("--help");
    expect(help.code).toBe(0);
    expect(help.out).toBe(`${USAGE}\n`);
    for (const flag of [
      "--rpm",
      "--request-burst",
      "--max-concurrent",
      "--clear",
      "--leases on|off",
      "keys limits TENANT KEY",
    ]) {
      expect(USAGE).toContain(flag);
    }
    expect(USAGE).toMatch(/--rate none --burst none leaves no units bucket/);
  });

  it("overrides a tenant's limits until a time, shows it in tenants get, and clears it", async () => {
    const t = await json<Tenant>("tenants", "create", "--name", "override co", "--daily", "1000", "--alerts", "0.5,1");
    expect(t.quota.alerts).toEqual({ thresholds: [0.5, 1], inherited: false });
    const set = await aegis("overrides", "set", t.id, "--until", "+6h", "--daily", "5000", "--max-concurrent", "2");
    expect(set.code, set.err).toBe(0);
    const stored = await admin().getTenant(t.id);
    expect(stored.override?.quota).toEqual({ dailyUnits: 5000, maxConcurrent: 2 });
    const hours = (Date.parse(stored.override?.until ?? "") - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(5.9);
    expect(hours).toBeLessThanOrEqual(6);
    expect(set.out).toContain(`override until ${stored.override?.until}: dailyUnits=5000 maxConcurrent=2`);
    // The quota itself is as it was; tenants get shows both, and the alert thresholds.
    expect(stored.quota.dailyUnits).toBe(1000);
    const got = await aegis("tenants", "get", t.id);
    expect(got.out).toContain("quota alerts at: 0.5, 1");
    expect(got.out).toContain(`override until ${stored.override?.until}`);

    expect((await aegis("overrides", "clear", t.id)).code).toBe(0);
    expect((await admin().getTenant(t.id)).override).toBeNull();
    expect((await aegis("tenants", "get", t.id)).out).not.toContain("override until");

    // Misuse is caught before the gateway is asked; a time in the past is the gateway's 400.
    expect((await aegis("overrides", "set", t.id, "--daily", "5")).code).toBe(2);
    expect((await aegis("overrides", "set", t.id, "--until", "+1h")).code).toBe(2);
    expect((await aegis("overrides", "set", t.id, "--until", "tomorrow", "--daily", "5")).code).toBe(2);
    const past = await aegis("overrides", "set", t.id, "--until", "2020-01-01T00:00:00Z", "--daily", "5");
    expect(past.code).toBe(1);
    expect(past.err).toContain("invalid-override");
  });

  it("sets a route's own limits with quotas route, keeps the rest of the quota, and clears them", async () => {
    const t = await json<Tenant>(
      "tenants",
      "create",
      "--name",
      "routes co",
      "--daily",
      "5000",
      "--tz",
      "Europe/Berlin",
    );
    const set = await json<Tenant>(
      "quotas",
      "route",
      t.id,
      "chat",
      "--rate",
      "600",
      "--burst",
      "50",
      "--max-concurrent",
      "3",
    );
    expect(set.quota.routes).toEqual({ chat: { ratePerMinute: 600, burst: 50, maxConcurrent: 3 } });
    await json("quotas", "route", t.id, "embed", "--cost", "2");
    // A second change to chat keeps what it does not name; none gives the tenant's number back.
    const changed = await aegis("quotas", "route", t.id, "chat", "--burst", "none", "--rpm", "10");
    expect(changed.code, changed.err).toBe(0);
    const stored = (await admin().getTenant(t.id)).quota;
    expect(stored).toMatchObject({ dailyUnits: 5000, timeZone: "Europe/Berlin" });
    expect(stored.routes).toEqual({
      chat: { ratePerMinute: 600, requestsPerMinute: 10, maxConcurrent: 3 },
      embed: { cost: 2 },
    });
    for (const out of [
      changed.out,
      (await aegis("quotas", "get", t.id)).out,
      (await aegis("tenants", "get", t.id)).out,
    ]) {
      expect(out).toMatch(/routes: +2 with limits of their own/);
      expect(out).toMatch(/^chat\s+600\s+-\s+10\s+-\s+3\s+-$/m);
      expect(out).toMatch(/^embed\s+-\s+-\s+-\s+-\s+-\s+2$/m);
    }
    // The gateway checks the route key.
    const bad = await aegis("quotas", "route", t.id, "no/slash", "--cost", "1");
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/400 invalid-request: routes\.no\/slash/);

    const cleared = await aegis("quotas", "route", t.id, "chat", "--clear");
    expect(cleared.out).toContain(`route chat of ${t.id} takes the tenant's limits`);
    expect((await admin().getTenant(t.id)).quota.routes).toEqual({ embed: { cost: 2 } });
    // Dropping the last field drops the route.
    await json("quotas", "route", t.id, "embed", "--cost", "none");
    expect((await admin().getTenant(t.id)).quota.routes).toEqual({});
    expect((await aegis("quotas", "get", t.id)).out).toContain("routes:          none of their own");
  });
});
