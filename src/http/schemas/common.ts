// What every part of the HTTP API's schemas shares: the problem body, the list query, text
// fields, day strings, the units' ranges, and the OpenAPI helpers for bodies and problems.

import { z } from "@hono/zod-openapi";
import { MAX_RATE, MAX_UNITS } from "../../config";
import { MAX_CALL_UNITS } from "../../core/limits";
import { paymentReferenceProblem } from "../../core/payment-reference";

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: "urn:aegis-edge:problem:quota-exceeded" }),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    code: z.string().openapi({ example: "quota-exceeded" }),
  })
  .catchall(z.unknown())
  .openapi("Problem", { description: "RFC 9457 problem details." });

export const rate = z.int().min(0).max(MAX_RATE);
export const burst = z.int().min(1).max(MAX_RATE);
export const units = z.int().min(0).max(MAX_UNITS);
export const callUnits = z.int().min(0).max(MAX_CALL_UNITS);
export const concurrent = z.int().min(1).max(1_000_000);

export const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\p{Cc}]*$/u, "must not contain control characters");

export const name = text(200);
export const billingAccountId = text(200).nullable();
export const paymentMethodRef = z
  .string()
  .superRefine((value, ctx) => {
    const problem = paymentReferenceProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .nullable()
  .openapi({
    description: "A billing provider's customer or payment-method id, sent with invoices. Never card data.",
    example: "pm_1NzQ8x2eZvKYlo2C",
  });

export const ListQuerySchema = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(50)
    .openapi({ param: { name: "limit", in: "query" } }),
  cursor: z
    .string()
    .max(200)
    .optional()
    .openapi({ param: { name: "cursor", in: "query" } }),
});

export function problems(...statuses: number[]) {
  const descriptions: Record<number, string> = {
    400: "Invalid request",
    401: "Missing or wrong credentials",
    403: "Tenant suspended",
    404: "Not found",
    413: "Body too large",
    429: "Quota exceeded",
    502: "Saved, but the limiter did not confirm the change",
    503: "Service unavailable",
  };
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: descriptions[s] ?? "Error", content: { "application/problem+json": { schema: ProblemSchema } } },
    ]),
  );
}

export const isoDay = z
  .string()
  .regex(/^(19|2\d)\d{2}-\d{2}-\d{2}$/, "a day is written YYYY-MM-DD, in the years 1900 to 2999")
  .refine(
    (d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d),
    "not a calendar day",
  );

/** An OpenAPI JSON body or response of this schema. */
export const json = <T>(schema: T) => ({ content: { "application/json": { schema } } });

/** A tenant call's credentials: the key in any one of its three headers (see API_KEY_HEADERS). */
export const TENANT_KEY_SECURITY: Record<string, string[]>[] = [{ apiKey: [] }, { xApiKey: [] }, { azureApiKey: [] }];
