// Billing settings and the webhook target, from the validated configuration.

import type { Config } from "../config";
import { parsePrice } from "../core/money";
import type { BillingSettings } from "./invoice-run";
import type { WebhookTarget } from "./webhooks/dispatcher";

export function billingSettings(config: Config): BillingSettings {
  return {
    kind: config.BILLING_PERIOD,
    unitPrice: parsePrice(config.BILLING_UNIT_COST),
    currency: config.BILLING_CURRENCY,
    zeroInvoices: config.BILLING_ZERO_INVOICES,
  };
}

/** Where invoice webhooks go, or null when no BILLING_WEBHOOK_URL is set (they wait, pending). */
export function webhookTarget(config: Config): WebhookTarget | null {
  if (!config.BILLING_WEBHOOK_URL || !config.BILLING_WEBHOOK_SECRET) return null;
  return { url: config.BILLING_WEBHOOK_URL, secrets: config.BILLING_WEBHOOK_SECRET };
}
