// Validation of queue messages: what the consumer accepts, checked before anything is stored.

import { z } from "zod";
import { MAX_UNITS, routeKeySchema } from "../config";
import type { UsageMessage } from "../core/usage-event";

/** Years a usage event's timestamp may lie in: anything else is a corrupt message. */
const EARLIEST = Date.UTC(2000, 0, 1);
const LATEST = Date.UTC(2200, 0, 1);

export const usageMetadataSchema = z
  .record(z.string().min(1).max(64), z.union([z.string().max(256), z.number(), z.boolean()]))
  .refine((m) => Object.keys(m).length <= 16, "at most 16 metadata entries");

export const usageEventSchema = z.strictObject({
  eventId: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[\x21-\x7e]+$/, "printable ASCII"),
  tenantId: z.string().regex(/^tn[a-z2-7]{16}$/),
  route: routeKeySchema,
  units: z.int().min(0).max(MAX_UNITS),
  occurredAt: z.int().min(EARLIEST).max(LATEST),
  metadata: usageMetadataSchema.optional(),
});

export const usageMessageSchema = z.strictObject({
  v: z.literal(1),
  events: z.array(usageEventSchema).min(1).max(10_000),
}) satisfies z.ZodType<UsageMessage>;
