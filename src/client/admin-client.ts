// AegisAdmin: every operator route of the HTTP contract, typed from the gateway's schemas.

import { type ClientOptions, Transport } from "./transport";
import type {
  BillingRun,
  BillingRunResult,
  CreatedKey,
  CreateKey,
  CreateTenant,
  Delivery,
  DeliveryList,
  DeliveryQuery,
  Invoice,
  InvoiceList,
  InvoiceQuery,
  Key,
  KeyLimits,
  KeyList,
  ListQuery,
  Override,
  PriceBook,
  PriceBookInput,
  Quota,
  Tenant,
  TenantList,
  UpdateKey,
  UpdateTenant,
  Usage,
  UsageQuery,
} from "./types";

export interface AegisAdminOptions extends ClientOptions {
  /** The operator token (the gateway's ADMIN_TOKEN). */
  token: string;
}

const seg = (id: string) => encodeURIComponent(id);

/**
 * Only the fields a PUT takes: a book as read carries `fixedBefore` too, which the gateway's
 * strict schema refuses, and reading, changing and writing back a book should just work.
 */
const bookBody = (book: PriceBookInput): PriceBookInput => ({ currency: book.currency, prices: book.prices });

export class AegisAdmin {
  private readonly t: Transport;

  constructor(options: AegisAdminOptions) {
    if (!options.token) throw new TypeError("AegisAdmin needs the operator token");
    // An operator's writes are not retried on 503 by default: a 502/503 after a write may
    // mean "saved, not yet pushed"; the operator decides. 429 does not apply to them.
    this.t = new Transport({ retry: false, ...options }, { header: "authorization", value: `Bearer ${options.token}` });
  }

  createTenant(body: CreateTenant): Promise<Tenant> {
    return this.t.json("/admin/v1/tenants", { method: "POST", json: body });
  }

  getTenant(id: string): Promise<Tenant> {
    return this.t.json(`/admin/v1/tenants/${seg(id)}`);
  }

  listTenants(query: ListQuery = {}): Promise<TenantList> {
    return this.t.json("/admin/v1/tenants", { query: query as Record<string, string | number | undefined> });
  }

  updateTenant(id: string, body: UpdateTenant): Promise<Tenant> {
    return this.t.json(`/admin/v1/tenants/${seg(id)}`, { method: "PATCH", json: body });
  }

  setQuota(id: string, quota: Quota): Promise<Tenant> {
    return this.t.json(`/admin/v1/tenants/${seg(id)}/quota`, { method: "PUT", json: quota });
  }

  /**
   * Raises or lowers the tenant's limits until `until`; then its quota applies again by
   * itself. A new override replaces the old one. Like a quota, it may take something away:
   * 502 edge-sync-pending when the limiter did not confirm it (saved; repeat to push it now).
   */
  setOverride(id: string, override: Override): Promise<Tenant> {
    return this.t.json(`/admin/v1/tenants/${seg(id)}/override`, { method: "PUT", json: override });
  }

  /** Ends the tenant's override now (and succeeds when there is none). */
  clearOverride(id: string): Promise<Tenant> {
    return this.t.json(`/admin/v1/tenants/${seg(id)}/override`, { method: "DELETE" });
  }

  /** The global price book, which prices every tenant's usage (docs/pricing.md). */
  getPrices(): Promise<PriceBook> {
    return this.t.json("/admin/v1/prices");
  }

  /**
   * Replaces the global price book. Prices in force before `fixedBefore` must be kept as they
   * are (409 price-history-fixed); a book's problems are one 400 listing each with its path.
   */
  setPrices(book: PriceBookInput): Promise<PriceBook> {
    return this.t.json("/admin/v1/prices", { method: "PUT", json: bookBody(book) });
  }

  /** A tenant's own prices, which replace the global ones dimension by dimension. */
  getTenantPrices(id: string): Promise<PriceBook> {
    return this.t.json(`/admin/v1/tenants/${seg(id)}/prices`);
  }

  /** Replaces a tenant's own prices; an empty list puts it back on the global book. */
  setTenantPrices(id: string, book: PriceBookInput): Promise<PriceBook> {
    return this.t.json(`/admin/v1/tenants/${seg(id)}/prices`, { method: "PUT", json: bookBody(book) });
  }

  /**
   * The key itself is in the answer, and only there: store it now. `limits` gives the key
   * buckets of its own, on top of the tenant's.
   */
  createKey(tenantId: string, body: CreateKey = {}): Promise<CreatedKey> {
    return this.t.json(`/admin/v1/tenants/${seg(tenantId)}/keys`, { method: "POST", json: body });
  }

  /**
   * Replaces a key's own limits; null removes them. Like a quota, it may take something
   * away, so a limiter that does not confirm it answers 502 edge-sync-pending (saved; repeat
   * the call to push it now).
   */
  setKeyLimits(tenantId: string, keyId: string, limits: KeyLimits | null): Promise<Key> {
    return this.t.json(`/admin/v1/tenants/${seg(tenantId)}/keys/${seg(keyId)}`, {
      method: "PATCH",
      json: { limits } satisfies UpdateKey,
    });
  }

  listKeys(tenantId: string): Promise<KeyList> {
    return this.t.json(`/admin/v1/tenants/${seg(tenantId)}/keys`);
  }

  async revokeKey(tenantId: string, keyId: string): Promise<void> {
    await this.t.json(`/admin/v1/tenants/${seg(tenantId)}/keys/${seg(keyId)}`, { method: "DELETE" });
  }

  usage(tenantId: string, query: UsageQuery = {}): Promise<Usage> {
    return this.t.json(`/admin/v1/tenants/${seg(tenantId)}/usage`, { query });
  }

  runBilling(body: BillingRun = {}): Promise<BillingRunResult> {
    return this.t.json("/admin/v1/billing/run", { method: "POST", json: body });
  }

  listInvoices(query: InvoiceQuery = {}): Promise<InvoiceList> {
    return this.t.json("/admin/v1/invoices", { query: query as Record<string, string | number | undefined> });
  }

  getInvoice(id: string): Promise<Invoice> {
    return this.t.json(`/admin/v1/invoices/${seg(id)}`);
  }

  payInvoice(id: string): Promise<Invoice> {
    return this.t.json(`/admin/v1/invoices/${seg(id)}/pay`, { method: "POST" });
  }

  voidInvoice(id: string): Promise<Invoice> {
    return this.t.json(`/admin/v1/invoices/${seg(id)}/void`, { method: "POST" });
  }

  listDeliveries(query: DeliveryQuery = {}): Promise<DeliveryList> {
    return this.t.json("/admin/v1/webhooks/deliveries", {
      query: query as Record<string, string | number | undefined>,
    });
  }

  redeliver(id: string): Promise<Delivery> {
    return this.t.json(`/admin/v1/webhooks/deliveries/${seg(id)}/redeliver`, { method: "POST" });
  }
}
