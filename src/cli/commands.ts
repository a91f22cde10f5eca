// The `aegis` CLI's commands: each takes its positionals and flags, calls AegisAdmin, and
// returns what to print as text and as --json.

import type { AegisAdmin } from "../client/index";
import type { Quota } from "../client/types";
import { formatMinor } from "../core/money";
import { table } from "./table";

export type Flags = Record<string, string | boolean | undefined>;
export interface Output {
  json: unknown;
  text: string;
}
export type Command = (admin: AegisAdmin, args: string[], flags: Flags) => Promise<Output>;

/** A mistake in how the command was called: usage text, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

function need(args: string[], i: number, what: string): string {
  const v = args[i];
  if (!v) throw new UsageError(`missing ${what}`);
  return v;
}

function int(flags: Flags, name: string, fallback?: number): number | undefined {
  const v = flags[name];
  if (v === undefined) return fallback;
  if (typeof v !== "string" || !/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number`);
  return Number(v);
}

function str(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw new UsageError(`--${name} needs a value`);
  return v;
}

/** A whole quota from the flags, as a new tenant gets it: rate, burst and daily are required. */
function quotaOf(flags: Flags): Quota {
  if (flags.rate === undefined || flags.burst === undefined || flags.daily === undefined) {
    throw new UsageError("a quota needs --rate, --burst and --daily (a number, or none)");
  }
  // The three required fields overwrite these placeholders.
  return quotaPatch(flags)({ ratePerMinute: 0, burst: 1, dailyUnits: null });
}

function shadowOf(flags: Flags): boolean | undefined {
  const v = str(flags, "shadow");
  if (v === undefined) return undefined;
  if (v !== "on" && v !== "off") throw new UsageError("--shadow is on or off");
  return v === "on";
}

const QUOTA_FLAGS = ["rate", "burst", "daily", "tz", "shadow", "unit-price"];

/**
 * The tenant's quota with the given flags changed: a PUT replaces the whole quota, so what
 * the flags do not mention (route overrides, price, zone, shadow mode) is carried over.
 */
function quotaPatch(flags: Flags): (current: Quota) => Quota {
  if (!QUOTA_FLAGS.some((f) => flags[f] !== undefined)) {
    throw new UsageError(`quotas set needs at least one of ${QUOTA_FLAGS.map((f) => `--${f}`).join(", ")}`);
  }
  // Every flag is checked before the gateway is asked anything.
  const rate = int(flags, "rate");
  const burst = int(flags, "burst");
  const daily = str(flags, "daily");
  if (daily !== undefined && daily !== "none" && !/^\d+$/.test(daily)) {
    throw new UsageError("--daily must be a whole number or none");
  }
  const tz = str(flags, "tz");
  const shadow = shadowOf(flags);
  const price = str(flags, "unit-price");
  return (current) => ({
    ...current,
    ...(rate !== undefined ? { ratePerMinute: rate } : {}),
    ...(burst !== undefined ? { burst } : {}),
    ...(daily !== undefined ? { dailyUnits: daily === "none" ? null : Number(daily) } : {}),
    ...(tz ? { timeZone: tz } : {}),
    ...(shadow !== undefined ? { shadow } : {}),
    ...(price ? { unitPrice: price === "default" ? null : price } : {}),
  });
}

/** An amount in the currency's own minor digits: 1234 is "12.34 USD", "1234 JPY", "1.234 KWD". */
const money = (minor: number, currency: string) => `${formatMinor(BigInt(minor), currency)} ${currency}`;

const tenantRow = (t: Awaited<ReturnType<AegisAdmin["getTenant"]>>) => [
  t.id,
  t.name,
  t.status,
  t.quota.ratePerMinute,
  t.quota.burst,
  t.quota.dailyUnits ?? "none",
];
const TENANT_HEADERS = ["id", "name", "status", "rate/min", "burst", "daily"];

export const commands: Record<string, Command> = {
  async "tenants create"(admin, _args, flags) {
    const name = str(flags, "name");
    if (!name) throw new UsageError("tenants create needs --name");
    // A new tenant's quota is given whole, or not at all (the gateway's defaults).
    const hasQuota = QUOTA_FLAGS.some((f) => flags[f] !== undefined);
    const t = await admin.createTenant({ name, ...(hasQuota ? { quota: quotaOf(flags) } : {}) });
    return { json: t, text: `created tenant ${t.id}\n${table(TENANT_HEADERS, [tenantRow(t)])}` };
  },
  async "tenants list"(admin, _args, flags) {
    const list = await admin.listTenants({ limit: int(flags, "limit", 50), cursor: str(flags, "cursor") });
    const more = list.nextCursor ? `\nmore: --cursor ${list.nextCursor}` : "";
    return { json: list, text: table(TENANT_HEADERS, list.tenants.map(tenantRow)) + more };
  },
  async "tenants get"(admin, args) {
    const t = await admin.getTenant(need(args, 0, "tenant id"));
    return { json: t, text: table(TENANT_HEADERS, [tenantRow(t)]) };
  },
  async "tenants suspend"(admin, args) {
    const t = await admin.updateTenant(need(args, 0, "tenant id"), { status: "suspended" });
    return { json: t, text: `suspended ${t.id}` };
  },
  async "tenants activate"(admin, args) {
    const t = await admin.updateTenant(need(args, 0, "tenant id"), { status: "active" });
    return { json: t, text: `activated ${t.id}` };
  },
  async "quotas set"(admin, args, flags) {
    const id = need(args, 0, "tenant id");
    const patch = quotaPatch(flags);
    const current = await admin.getTenant(id);
    const t = await admin.setQuota(id, patch(current.quota));
    return { json: t, text: `quota of ${t.id} set\n${table(TENANT_HEADERS, [tenantRow(t)])}` };
  },
  async "keys create"(admin, args, flags) {
    const k = await admin.createKey(need(args, 0, "tenant id"), { name: str(flags, "name") });
    return { json: k, text: `created key ${k.id} (shown once; store it now):\n${k.key}` };
  },
  async "keys list"(admin, args) {
    const list = await admin.listKeys(need(args, 0, "tenant id"));
    return {
      json: list,
      text: table(
        ["id", "prefix", "name", "created", "revoked"],
        list.keys.map((k) => [k.id, k.prefix, k.name, k.createdAt, k.revokedAt]),
      ),
    };
  },
  async "keys revoke"(admin, args) {
    const tenant = need(args, 0, "tenant id");
    const key = need(args, 1, "key id");
    await admin.revokeKey(tenant, key);
    return { json: { revoked: key, tenantId: tenant }, text: `revoked ${key}` };
  },
  async usage(admin, args, flags) {
    const u = await admin.usage(need(args, 0, "tenant id"), { from: str(flags, "from"), to: str(flags, "to") });
    return {
      json: u,
      text: `${table(
        ["day", "route", "model", "requests", "input", "output", "cached", "units", "estimated"],
        u.days.map((d) => [
          d.day,
          d.route,
          d.model ?? "-",
          d.requests,
          d.inputTokens,
          d.outputTokens,
          d.cachedInputTokens,
          d.units,
          d.estimatedUnits,
        ]),
      )}\ntotal ${u.totals.units} units (${u.totals.estimatedUnits} estimated): ${u.totals.requests} requests, ${u.totals.inputTokens} input tokens (${u.totals.cachedInputTokens} cached), ${u.totals.outputTokens} output tokens; ${u.from} to ${u.to} (exclusive)`,
    };
  },
  async "invoices list"(admin, _args, flags) {
    const status = str(flags, "status");
    if (status && !["draft", "issued", "paid", "void"].includes(status)) {
      throw new UsageError("--status is draft, issued, paid or void");
    }
    const list = await admin.listInvoices({
      status: status as "draft" | "issued" | "paid" | "void" | undefined,
      tenantId: str(flags, "tenant"),
      limit: int(flags, "limit", 50),
    });
    return {
      json: list,
      text: table(
        ["id", "tenant", "period", "units", "amount", "status"],
        list.invoices.map((i) => [
          i.id,
          i.tenantId,
          `${i.periodStart}..${i.periodEnd}`,
          i.units,
          money(i.amountMinor, i.currency),
          i.status,
        ]),
      ),
    };
  },
  async "invoices pay"(admin, args) {
    const i = await admin.payInvoice(need(args, 0, "invoice id"));
    return { json: i, text: `${i.id} is ${i.status}` };
  },
  async "invoices void"(admin, args) {
    const i = await admin.voidInvoice(need(args, 0, "invoice id"));
    return { json: i, text: `${i.id} is ${i.status}` };
  },
  async "billing run"(admin, _args, flags) {
    const from = str(flags, "from");
    const to = str(flags, "to");
    const r = await admin.runBilling(from || to ? { periodStart: from, periodEnd: to } : {});
    return {
      json: r,
      text: `billed ${r.periodStart} to ${r.periodEnd} (exclusive): ${r.created} invoice(s)${
        r.invoices.length > 0
          ? `\n${table(
              ["id", "tenant", "amount (minor)"],
              r.invoices.map((i) => [i.id, i.tenantId, i.amountMinor]),
            )}`
          : ""
      }`,
    };
  },
};
