// Operator routes for billing: run invoicing, list invoices, pay or void them, and the
// webhook delivery history.

import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { isDeliveryId } from "../../billing/ids";
import { runInvoicing } from "../../billing/invoice-run";
import { getInvoice, listInvoices, transitionInvoice } from "../../billing/invoices";
import { billingSettings, webhookTarget } from "../../billing/settings";
import { listDeliveries, redeliver } from "../../billing/webhooks/deliveries";
import { deliverDue } from "../../billing/webhooks/dispatcher";
import { closedPeriod, dayStart, periodContaining } from "../../core/billing-period";
import { afterResponse, type GatewayEnv, openApiApp } from "../context";
import { decodeCursor, encodeCursor } from "../cursor";
import { Problem } from "../problem";
import {
  BillingRunResultSchema,
  BillingRunSchema,
  DeliveryIdParamSchema,
  DeliveryListSchema,
  DeliveryQuerySchema,
  DeliverySchema,
  InvoiceIdParamSchema,
  InvoiceListSchema,
  InvoiceQuerySchema,
  InvoiceSchema,
  json,
  problems,
} from "../schemas";

const security = [{ adminToken: [] }];
const isInvoiceId = (id: string) => /^inv_[a-z2-7]{20}$/.test(id);

/** Sends the given deliveries after the response, on a database handle of its own. */
function dispatchSoon(c: Context<GatewayEnv>, ids: string[]): void {
  const target = webhookTarget(c.get("config"));
  if (ids.length === 0 || !target) return;
  const handle = c.get("deps").openDatabase(c.env);
  void afterResponse(
    c,
    deliverDue(handle.db, target, { ids }).finally(() => handle.close()),
  );
}

function noSuchInvoice(id: string): Problem {
  return new Problem(404, "invoice-not-found", `no invoice with id ${id}`);
}

export async function transition(c: Context<GatewayEnv>, id: string, to: "paid" | "void") {
  const result = await transitionInvoice(c.get("db"), id, to);
  if (result.result === "missing") throw noSuchInvoice(id);
  if (result.result === "conflict") {
    const verb = to === "paid" ? "paid" : "voided";
    throw new Problem(409, "invoice-conflict", `invoice ${id} is ${result.invoice.status} and cannot be ${verb}`, {
      invoiceStatus: result.invoice.status,
    });
  }
  dispatchSoon(c, result.deliveries);
  return result.invoice;
}

export const billingRoutes = openApiApp()
  .openapi(
    createRoute({
      method: "post",
      path: "/billing/run",
      tags: ["Billing"],
      security,
      summary: "Invoice a period now",
      description:
        "Without a body: the latest closed period (BILLING_PERIOD, after BILLING_GRACE_HOURS). Safe to repeat: a tenant is invoiced once per period.",
      request: { body: { ...json(BillingRunSchema), required: false } },
      responses: { 200: { description: "The run", ...json(BillingRunResultSchema) }, ...problems(400, 401, 409) },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const config = c.get("config");
      const closed = closedPeriod(Date.now(), config.BILLING_PERIOD, config.BILLING_GRACE_HOURS);
      let period = closed;
      if (body.periodStart && body.periodEnd) {
        // One whole billing period: tiers count a period's units, so an invoice of part of a
        // period (or of several) would restart them or share one allowance among months.
        const start = dayStart(body.periodStart);
        const whole = start === null ? null : periodContaining(start, config.BILLING_PERIOD);
        if (!whole || whole.start !== body.periodStart || whole.end !== body.periodEnd) {
          const example = whole ? `, such as ${whole.start} to ${whole.end}` : "";
          throw new Problem(
            400,
            "invalid-period",
            `periodStart and periodEnd must be one whole billing period (BILLING_PERIOD=${config.BILLING_PERIOD})${example}; periodEnd is exclusive`,
          );
        }
        // An open period would be invoiced before its usage is in, and the watermark
        // would move past it: its late days would go out a period late, as adjustments.
        if (body.periodEnd > closed.end) {
          throw new Problem(
            409,
            "period-not-closed",
            `the period ending ${body.periodEnd} is not closed yet; the latest closed period ends ${closed.end} (BILLING_GRACE_HOURS included)`,
          );
        }
        period = { start: body.periodStart, end: body.periodEnd };
      }
      const run = await runInvoicing(c.get("db"), period, billingSettings(config));
      dispatchSoon(c, run.deliveries);
      return c.json(
        { periodStart: period.start, periodEnd: period.end, created: run.created.length, invoices: run.created },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/invoices",
      tags: ["Billing"],
      security,
      summary: "List invoices, newest first",
      request: { query: InvoiceQuerySchema },
      responses: { 200: { description: "A page of invoices", ...json(InvoiceListSchema) }, ...problems(400, 401) },
    }),
    async (c) => {
      const { limit, cursor, status, tenantId } = c.req.valid("query");
      const after = cursor ? decodeCursor(cursor, isInvoiceId) : undefined;
      const page = await listInvoices(c.get("db"), { limit, status, tenantId, after });
      return c.json({ invoices: page.items, nextCursor: page.next ? encodeCursor(page.next) : null }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/invoices/{id}",
      tags: ["Billing"],
      security,
      summary: "Read an invoice",
      request: { params: InvoiceIdParamSchema },
      responses: { 200: { description: "The invoice", ...json(InvoiceSchema) }, ...problems(400, 401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const invoice = await getInvoice(c.get("db"), id);
      if (!invoice) throw noSuchInvoice(id);
      return c.json(invoice, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/invoices/{id}/pay",
      tags: ["Billing"],
      security,
      summary: "Mark an issued invoice paid",
      description: "Sends invoice.paid. Paying a paid invoice again changes nothing; a void one cannot be paid (409).",
      request: { params: InvoiceIdParamSchema },
      responses: { 200: { description: "The invoice", ...json(InvoiceSchema) }, ...problems(400, 401, 404, 409) },
    }),
    async (c) => c.json(await transition(c, c.req.valid("param").id, "paid"), 200),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/invoices/{id}/void",
      tags: ["Billing"],
      security,
      summary: "Void an issued invoice",
      description:
        "Sends invoice.voided. Voiding a void invoice again changes nothing; a paid one cannot be voided (409).",
      request: { params: InvoiceIdParamSchema },
      responses: { 200: { description: "The invoice", ...json(InvoiceSchema) }, ...problems(400, 401, 404, 409) },
    }),
    async (c) => c.json(await transition(c, c.req.valid("param").id, "void"), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/webhooks/deliveries",
      tags: ["Webhooks"],
      security,
      summary: "Webhook deliveries, newest first",
      request: { query: DeliveryQuerySchema },
      responses: { 200: { description: "A page of deliveries", ...json(DeliveryListSchema) }, ...problems(400, 401) },
    }),
    async (c) => {
      const { limit, cursor, status, tenantId } = c.req.valid("query");
      const after = cursor ? decodeCursor(cursor, isDeliveryId) : undefined;
      const page = await listDeliveries(c.get("db"), { limit, status, tenantId, after });
      return c.json({ deliveries: page.items, nextCursor: page.next ? encodeCursor(page.next) : null }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/webhooks/deliveries/{id}/redeliver",
      tags: ["Webhooks"],
      security,
      summary: "Send a delivery again",
      description: "Same webhook-id; the retry schedule starts over. Sent at once when BILLING_WEBHOOK_URL is set.",
      request: { params: DeliveryIdParamSchema },
      responses: { 202: { description: "Queued", ...json(DeliverySchema) }, ...problems(400, 401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const delivery = await redeliver(c.get("db"), id);
      if (!delivery) throw new Problem(404, "delivery-not-found", `no webhook delivery with id ${id}`);
      dispatchSoon(c, [id]);
      return c.json(delivery, 202);
    },
  );
