// Sending due webhook deliveries: signed per Standard Webhooks, with a fixed retry
// schedule, honouring the receiver's Retry-After, and stopping for good on 410.

import { sql } from "drizzle-orm";
import { DAY_MS } from "../../core/calendar";
import { describeError } from "../../core/errors";
import { withTimeout } from "../../core/timeout";
import { signWebhook } from "../../core/webhook-signature";
import { type Database, rowsOf } from "../../db/database";

/** Waits before the 2nd to 8th attempts: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. Then `failed`. */
export const RETRY_SCHEDULE_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
/** Bound on one attempt, connect to last byte. */
export const ATTEMPT_TIMEOUT_MS = 15_000;
/** How long a claimed delivery is hidden from other dispatchers: one attempt and a margin. */
const LEASE_MS = ATTEMPT_TIMEOUT_MS + 45_000;
/** The longest Retry-After honoured: a day. */
const MAX_RETRY_AFTER_MS = DAY_MS;

export interface WebhookTarget {
  url: string;
  secrets: string[];
}

export interface DispatchOptions {
  /** The dispatcher's time: what is due, and when the next attempt is. */
  now?: Date;
  /** Most deliveries claimed in one call. */
  limit?: number;
  /** Only these deliveries (the ones a change just wrote), if due. */
  ids?: string[];
}

export interface DispatchResult {
  attempted: number;
  delivered: number;
  rescheduled: number;
  failed: number;
  disabled: number;
}

type Claimed = { id: string; event_type: string; payload: unknown; attempts: number };

type Outcome =
  | { state: "delivered"; status: number }
  | { state: "disabled"; status: number }
  | { state: "retry"; status: number | null; error: string; retryAfterMs?: number };

/** Seconds or an HTTP date, as a delay in ms, or undefined. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  const seconds = /^\s*(\d{1,9})\s*$/.exec(header)?.[1];
  const ms = seconds !== undefined ? Number(seconds) * 1000 : Date.parse(header) - now;
  return Number.isFinite(ms) && ms >= 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : undefined;
}

async function attempt(target: WebhookTarget, delivery: Claimed, now: number): Promise<Outcome> {
  const body = JSON.stringify(delivery.payload);
  // Signed per attempt: webhook-id stays, webhook-timestamp is this attempt's real time.
  const timestamp = Math.floor(Date.now() / 1000);
  const controller = new AbortController();
  try {
    const res = await withTimeout(
      fetch(target.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "aegis-edge-webhooks/1",
          "webhook-id": delivery.id,
          "webhook-timestamp": String(timestamp),
          "webhook-signature": await signWebhook(target.secrets, delivery.id, timestamp, body),
        },
        body,
        signal: controller.signal,
      }),
      ATTEMPT_TIMEOUT_MS,
      () => {
        controller.abort();
        return new Error(`no answer within ${ATTEMPT_TIMEOUT_MS / 1000} s`);
      },
    );
    await res.body?.cancel();
    if (res.status >= 200 && res.status < 300) return { state: "delivered", status: res.status };
    if (res.status === 410) return { state: "disabled", status: res.status };
    const wait =
      res.status === 429 || res.status === 503 ? retryAfterMs(res.headers.get("retry-after"), now) : undefined;
    return { state: "retry", status: res.status, error: `HTTP ${res.status}`, retryAfterMs: wait };
  } catch (err) {
    return { state: "retry", status: null, error: describeError(err) };
  }
}

/**
 * Sends due deliveries (pending, next attempt at or before `now`), one claim at a time.
 *
 * A claim takes one row with SKIP LOCKED, stamps it with a fresh token and hides it for a
 * lease longer than one attempt can take; the attempt's outcome is written only if the
 * token is still the row's. So concurrent dispatchers (the cron, the waitUntil after a
 * change, an operator's redeliver) never send one attempt twice, and a redeliver that
 * lands during an attempt is not overwritten by that attempt's result.
 *
 * Delivery is at least once: if a process dies mid-attempt, the row comes back when its
 * lease ends and is sent again, with the same webhook-id, which receivers deduplicate on.
 */
export async function deliverDue(
  db: Database,
  target: WebhookTarget | null,
  options: DispatchOptions = {},
): Promise<DispatchResult> {
  const result: DispatchResult = { attempted: 0, delivered: 0, rescheduled: 0, failed: 0, disabled: 0 };
  if (!target) return result; // nowhere to send: deliveries wait, pending, for a URL
  const now = options.now ?? new Date();
  const only = options.ids ? sql`AND id = ANY(${`{${options.ids.join(",")}}`}::text[])` : sql``;
  const limit = options.limit ?? 100;
  for (let sent = 0; sent < limit; sent++) {
    // The lease runs on real time as well as on the dispatcher's: an old `now` (a cron
    // tick that started late) must not hand out a lease that has already run out.
    const leaseUntil = new Date(Math.max(now.getTime(), Date.now()) + LEASE_MS).toISOString();
    const token = crypto.randomUUID();
    const [delivery] = rowsOf<Claimed>(
      await db.execute(sql`
        UPDATE webhook_deliveries SET next_attempt_at = ${leaseUntil}::timestamptz, claim_token = ${token}
        WHERE id = (
          SELECT id FROM webhook_deliveries
          WHERE status = 'pending' AND next_attempt_at <= ${now.toISOString()}::timestamptz ${only}
          ORDER BY next_attempt_at LIMIT 1
          FOR UPDATE SKIP LOCKED
        )
        RETURNING id, event_type, payload, attempts`),
    );
    if (!delivery) break;
    const outcome = await attempt(target, delivery, now.getTime());
    const attempts = delivery.attempts + 1;
    const mine = sql`id = ${delivery.id} AND claim_token = ${token}`;
    result.attempted++;
    if (outcome.state === "delivered") {
      result.delivered++;
      await db.execute(sql`
        UPDATE webhook_deliveries SET status = 'delivered', attempts = ${attempts}, last_status = ${outcome.status},
          last_error = NULL, delivered_at = now(), next_attempt_at = NULL, claim_token = NULL
        WHERE ${mine}`);
    } else if (outcome.state === "disabled") {
      result.disabled++;
      await db.execute(sql`
        UPDATE webhook_deliveries SET status = 'disabled', attempts = ${attempts}, last_status = ${outcome.status},
          last_error = 'the receiver answered 410 Gone', next_attempt_at = NULL, claim_token = NULL
        WHERE ${mine}`);
    } else {
      const scheduled = RETRY_SCHEDULE_MS[attempts - 1];
      if (scheduled === undefined) result.failed++;
      else result.rescheduled++;
      const next =
        scheduled === undefined
          ? null
          : new Date(now.getTime() + Math.max(scheduled, outcome.retryAfterMs ?? 0)).toISOString();
      await db.execute(sql`
        UPDATE webhook_deliveries SET status = ${scheduled === undefined ? "failed" : "pending"}, attempts = ${attempts},
          last_status = ${outcome.status}, last_error = ${outcome.error.slice(0, 500)},
          next_attempt_at = ${next}::timestamptz, claim_token = NULL
        WHERE ${mine}`);
    }
  }
  return result;
}
