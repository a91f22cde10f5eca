// The `aegis` CLI's commands: each takes its positionals and flags, calls AegisAdmin, and
// returns what to print as text and as --json.

import type { AegisAdmin } from "../client/index";
import { formatMinor } from "../core/money";
import { type Flags, int, need, str, UsageError } from "./flags";
import { describeKeyLimits, keyLimitsPatch, keyTable, newKeyLimits } from "./key-flags";
import { describeOverride, overrideOf } from "./override-flags";
import { priceCommands } from "./price-commands";
import { hasQuotaFlags, quotaPatch } from "./quota-flags";
import { table } from "./table";
import { TENANT_HEADERS, tenantCommands, tenantRow } from "./tenant-commands";
import { usageTable } from "./usage-table";
import { webhookCommands } from "./webhook-commands";

export interface Output {
  json: unknown;
  text: string;
}
/** `now` is the time the command runs at (ms): the CLI's clock, which tests set. */
export type Command = (admin: AegisAdmin, args: string[], flags: Flags, now: number) => Promise<Output>;

/** An amount in the currency's own minor digits: 1234 is "12.34 USD", "1234 JPY", "1.234 KWD". */
const money = (minor: number, currency: string) => `${formatMinor(BigInt(minor), currency)} ${currency}`;

const INVOICE_STATUSES = ["issued", "paid", "void"] as const;

export const commands: Record<string, Command> = {
  async "tenants create"(admin, _args, flags) {
    const name = str(flags, "name");
    if (!name) throw new UsageError("tenants create needs --name");
    // What the flags leave out of a new tenant's quota takes the gateway's default.
    const quota = hasQuotaFlags(flags) ? quotaPatch(flags, "tenants create")({}) : undefined;
    const paymentMethodRef = str(flags, "payment-method");
    const billingAccountId = str(flags, "billing-account");
    const t = await admin.createTenant({
      name,
      ...(paymentMethodRef !== undefined ? { paymentMethodRef } : {}),
      ...(billingAccountId !== undefined ? { billingAccountId } : {}),
      ...(quota ? { quota } : {}),
    });
    return { json: t, text: `created tenant ${t.id}\n${table(TENANT_HEADERS, [tenantRow(t)])}` };
  },
  async "tenants list"(admin, _args, flags) {
    const list = await admin.listTenants({ limit: int(flags, "limit", 50), cursor: str(flags, "cursor") });
    const more = list.nextCursor ? `\nmore: --cursor ${list.nextCursor}` : "";
    return { json: list, text: table(TENANT_HEADERS, list.tenants.map(tenantRow)) + more };
  },
  async "overrides set"(admin, args, flags) {
    const id = need(args, 0, "TENANT (a tenant id)");
    const t = await admin.setOverride(id, overrideOf(flags));
    return { json: t, text: `${describeOverride(t)}\nthe quota applies again by itself then` };
  },
  async "overrides clear"(admin, args) {
    const t = await admin.clearOverride(need(args, 0, "TENANT (a tenant id)"));
    return { json: t, text: `no override: ${t.id} is on its quota` };
  },
  async "tenants suspend"(admin, args) {
    const t = await admin.updateTenant(need(args, 0, "TENANT (a tenant id)"), { status: "suspended" });
    return { json: t, text: `suspended ${t.id}` };
  },
  async "tenants activate"(admin, args) {
    const t = await admin.updateTenant(need(args, 0, "TENANT (a tenant id)"), { status: "active" });
    return { json: t, text: `activated ${t.id}` };
  },
  async "keys create"(admin, args, flags) {
    const limits = newKeyLimits(flags);
    const k = await admin.createKey(need(args, 0, "TENANT (a tenant id)"), { name: str(flags, "name"), limits });
    const own = limits ? `\nits own limits: ${describeKeyLimits(k.limits)}` : "";
    return { json: k, text: `created key ${k.id} (shown once; store it now):\n${k.key}${own}` };
  },
  async "keys limits"(admin, args, flags) {
    const tenant = need(args, 0, "TENANT (a tenant id)");
    const keyId = need(args, 1, "KEY (a key id)");
    const patch = keyLimitsPatch(flags);
    // The PATCH replaces the key's limits: the current ones are read to keep what the flags
    // leave out. A key not in the list is sent anyway, so that the gateway says what is wrong.
    const current = (await admin.listKeys(tenant)).keys.find((k) => k.id === keyId)?.limits ?? null;
    const k = await admin.setKeyLimits(tenant, keyId, patch(current));
    return { json: k, text: `limits of ${k.id} set: ${describeKeyLimits(k.limits)}\n${keyTable([k])}` };
  },
  async "keys list"(admin, args) {
    const list = await admin.listKeys(need(args, 0, "TENANT (a tenant id)"));
    return { json: list, text: keyTable(list.keys) };
  },
  async "keys revoke"(admin, args) {
    const tenant = need(args, 0, "TENANT (a tenant id)");
    const key = need(args, 1, "KEY (a key id)");
    await admin.revokeKey(tenant, key);
    return { json: { revoked: key, tenantId: tenant }, text: `revoked ${key}` };
  },
  async usage(admin, args, flags) {
    const u = await admin.usage(need(args, 0, "TENANT (a tenant id)"), {
      from: str(flags, "from"),
      to: str(flags, "to"),
    });
    return { json: u, text: `${usageTable(u)}; ${u.from} to ${u.to} (exclusive)` };
  },
  async "invoices list"(admin, _args, flags) {
    const status = str(flags, "status");
    // Invoices are issued when they are made (src/billing/invoice-run.ts): never drafts.
    const known = INVOICE_STATUSES.find((k) => k === status);
    if (status !== undefined && !known) throw new UsageError(`--status is issued, paid or void; got ${status}`);
    const list = await admin.listInvoices({
      status: known,
      tenantId: str(flags, "tenant"),
      limit: int(flags, "limit", 50),
      cursor: str(flags, "cursor"),
    });
    const more = list.nextCursor ? `\nmore: --cursor ${list.nextCursor}` : "";
    return {
      json: list,
      text: `${table(
        ["id", "tenant", "period", "units", "amount", "status"],
        list.invoices.map((i) => [
          i.id,
          i.tenantId,
          `${i.periodStart}..${i.periodEnd}`,
          i.units,
          money(i.amountMinor, i.currency),
          i.status,
        ]),
      )}${more}`,
    };
  },
  async "invoices pay"(admin, args) {
    const i = await admin.payInvoice(need(args, 0, "INVOICE (an invoice id)"));
    return { json: i, text: `${i.id} is ${i.status}` };
  },
  async "invoices void"(admin, args) {
    const i = await admin.voidInvoice(need(args, 0, "INVOICE (an invoice id)"));
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
  ...tenantCommands,
  ...webhookCommands,
  ...priceCommands,
};
