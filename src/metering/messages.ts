// Validation of queue messages: what the consumer accepts, checked before anything is stored.

import { z } from "zod";
import { routeKeySchema } from "../config";
import { DAILY_POLICY, MAX_CALL_UNITS } from "../core/limits";
import type { QuotaAlert } from "../core/quota-alerts";
import { TENANT_ID_PATTERN } from "../core/secrets";
import {
  isStorableText,
  METADATA_MAX_ENTRIES,
  METADATA_MAX_KEY,
  METADATA_MAX_VALUE,
  type UsageEvent,
} from "../core/usage-event";

/** Years a usage event's timestamp may lie in: anything else is a corrupt message. */
const EARLIEST = Date.UTC(2000, 0, 1);
const LATEST = Date.UTC(2200, 0, 1);

const storable = (max: number) =>
  z.string().max(max).refine(isStorableText, "must not contain NUL or unpaired surrogate characters");

export const usageMetadataSchema = z
  .record(storable(METADATA_MAX_KEY).min(1), z.union([storable(METADATA_MAX_VALUE), z.number().finite(), z.boolean()]))
  .refine((m) => Object.keys(m).length <= METADATA_MAX_ENTRIES, `at most ${METADATA_MAX_ENTRIES} metadata entries`);

export const usageEventSchema: z.ZodType<UsageEvent> = z
  .strictObject({
    eventId: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[\x21-\x7e]+$/, "printable ASCII"),
    tenantId: z.string().regex(TENANT_ID_PATTERN),
    route: routeKeySchema,
    units: z.int().min(0).max(MAX_CALL_UNITS),
    occurredAt: z.int().min(EARLIEST).max(LATEST),
    metadata: usageMetadataSchema.optional(),
    model: storable(128).min(1).nullable().optional(),
    requests: z.int().min(0).max(MAX_CALL_UNITS).optional(),
    inputTokens: z.int().min(0).max(MAX_CALL_UNITS).optional(),
    outputTokens: z.int().min(0).max(MAX_CALL_UNITS).optional(),
    cachedInputTokens: z.int().min(0).max(MAX_CALL_UNITS).optional(),
    estimated: z.boolean().optional(),
  })
  .refine((e) => (e.cachedInputTokens ?? 0) <= (e.inputTokens ?? 0), {
    message: "cachedInputTokens cannot exceed inputTokens",
    path: ["cachedInputTokens"],
  });

/** A quota alert, as a limiter writes it (src/core/quota-alerts.ts). */
export const quotaAlertSchema: z.ZodType<QuotaAlert> = z.strictObject({
  tenantId: z.string().regex(TENANT_ID_PATTERN),
  day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  policy: z.literal(DAILY_POLICY),
  threshold: z.number().gt(0).max(1),
  used: z.int().min(0),
  limit: z.int().min(0),
  at: z.int().min(EARLIEST).max(LATEST),
});

/**
 * The envelope of a message; its events are checked one by one, so one bad event refuses
 * only itself. A message carries events, or quota alerts (which ride the same outbox), or both.
 */
export const usageEnvelopeSchema = z
  .strictObject({
    v: z.literal(1),
    events: z.array(z.unknown()).max(10_000),
    alerts: z.array(z.unknown()).max(1_000).optional(),
  })
  .refine((m) => m.events.length > 0 || (m.alerts?.length ?? 0) > 0, "a message carries events or alerts");
