// Token leases on Redis (limiter-script-lease.ts): the grant a check admitted outright may
// take, in a script call of its own after the check's, and a holder's reports. A renewal
// costs one round trip more than an exact check, once a term per holder and scope; every
// call the lease then admits costs none.

import { assertLeaseReport, leasable, leaseTermAt } from "../core/lease-grant";
import type { Decision } from "../core/limiter";
import type { CheckRequest, Lease, LeaseReport, LeaseReportResult } from "../core/limiter-store";
import { limitsAt, routeCost, type TenantLimits } from "../core/limits";
import { dimensionsArg, type LimiterOp, metadataArg } from "./limiter-call";
import { num, str } from "./limiter-reply";
import type { Denied, Ran } from "./limiter-runner";

type Run = (
  tenantId: string,
  keyHash: string | undefined,
  opAt: (now: number) => LimiterOp | null,
) => Promise<Ran | Denied | null>;

/**
 * The lease a check's call may take: only a call admitted outright (not shadowed, and one that
 * counts), with a lease asked for, of a tenant in lease mode on a leasable route. Undefined
 * when there is none, the tenant was suspended meanwhile, or nothing is left to lease.
 */
export async function grantRedisLease(
  run: Run,
  tenantId: string,
  request: CheckRequest,
  checked: { decision: Decision; limits: TenantLimits; now: number },
  holdMs: number,
): Promise<Lease | undefined> {
  const { decision, limits, now } = checked;
  const ask = request.lease;
  const counted = decision.cost > 0 || request.reserve === true;
  if (!ask || !decision.allowed || decision.shadowed || !counted) return undefined;
  // A stale check (Postgres out of reach) is answered as it is; no lease rides on it.
  if (request.allowStale) return undefined;
  const inForce = limitsAt(limits, now);
  if (!leasable(inForce, request.route)) return undefined;
  const termMs = leaseTermAt(now, inForce.timeZone);
  if (termMs === 0) return undefined;
  let r: Ran | Denied | null;
  try {
    r = await run(tenantId, request.keyHash, (at) =>
      // Past the caller's deadline nothing is granted: its check was answered already.
      request.deadline !== undefined && Date.now() > request.deadline
        ? null
        : {
            op: "lease",
            leaseId: ask.id,
            route: request.route,
            units: ask.units,
            requests: ask.requests,
            holdUntil: at + termMs + holdMs,
          },
    );
  } catch {
    // The call was admitted and billed by the check: a lease that failed is no lease. Had the
    // script granted it before its answer was lost, this close gives it back (answered
    // "unknown" if not), and failing that the lease's hold records it at what it held.
    void reportRedisLease(run, tenantId, { leaseId: ask.id, seq: 1, calls: [], close: true }, false).catch(() => {});
    return undefined;
  }
  if (r === null || "denied" in r || str(r.reply[0]) !== "granted") return undefined;
  return {
    id: ask.id,
    units: num(r.reply[4]),
    requests: num(r.reply[5]),
    routeCost: routeCost(inForce, request.route, request.defaultCost),
    termMs,
    holdMs: termMs + holdMs,
  };
}

/**
 * A report's calls as one stream entry's text, a line each (usage-stream-entry.ts reads it).
 * Compact: units \t occurred at, in ms after `base` (the first call's time) \t metadata JSON
 * \t dimensions JSON; a plain call's line is a few characters ("1\t0\t\t"), and its event's
 * id, the lease's, the report's seq and the line's, is rebuilt by the reader. Else, as
 * versions before the compact lines read them: event id \t units \t occurred at \t metadata
 * JSON \t dimensions JSON, about 70 characters for a plain call. Redis's time for a report
 * goes mostly to moving its bytes (measured inside the script: a 1,000-call report took
 * 660 µs in lines, 226 µs compact). Either way a report sent again stands for the same event
 * ids, which the usage ingest stores once. No part holds a tab or a newline: JSON escapes
 * them, and the rest are ids and numbers.
 */
export function packedCalls(report: LeaseReport, compact = true): { units: number; base: number; packed: string[] } {
  let units = 0;
  const pieces: string[] = [];
  let piece = "";
  const base = report.calls[0]?.occurredAt ?? 0;
  report.calls.forEach((c, i) => {
    units += c.units;
    const parts = `${metadataArg(c.metadata)}\t${dimensionsArg(c.usage ?? {})}`;
    const line = compact
      ? `${c.units}\t${c.occurredAt - base}\t${parts}`
      : `ev_${report.leaseId}.${report.seq}.${i}\t${c.units}\t${c.occurredAt}\t${parts}`;
    // Arguments stay under Redis's 32 KB "big argument" size: past it, Redis reads the
    // connection's later commands more slowly for a second or two (measured: a shared client's
    // checks ran at two thirds of their rate after a report of one 50 KB argument).
    if (piece.length > 0 && piece.length + line.length >= PIECE_CHARS) {
      pieces.push(piece);
      piece = "";
    }
    piece = piece.length > 0 ? `${piece}\n${line}` : line;
  });
  if (piece.length > 0) pieces.push(piece);
  return { units, base, packed: pieces };
}

/** The size of one piece of a report's entry text, in characters (bytes: it is ASCII but for metadata). */
const PIECE_CHARS = 8_000;

/** Applies a holder's report in one script call; `compact`: its calls in compact lines (packedCalls()). */
export async function reportRedisLease(
  run: Run,
  tenantId: string,
  report: LeaseReport,
  compact: boolean,
): Promise<LeaseReportResult> {
  assertLeaseReport(report);
  const { units, base, packed } = packedCalls(report, compact);
  const r = await run(tenantId, undefined, () => ({
    op: "report",
    leaseId: report.leaseId,
    seq: report.seq,
    close: report.close === true,
    giveBack: report.giveBack ?? { units: 0, requests: 0 },
    calls: report.calls.length,
    units,
    base: compact ? base : null,
    packed,
  }));
  // A tenant that no longer exists holds no lease.
  if (r === null || "denied" in r) return { status: "unknown" };
  const status = str(r.reply[0]);
  if (status === "reported" || status === "duplicate" || status === "unknown") return { status };
  throw new Error(`the Redis limiter script answered a lease report with ${String(status)}`);
}
