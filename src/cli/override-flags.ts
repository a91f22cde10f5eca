// An override from the CLI's flags (`overrides set`), and how one is shown.

import type { Override, Tenant } from "../client/types";
import { type Flags, limitFields, str, UsageError } from "./flags";
import { LIMIT_FLAGS } from "./quota-flags";

/** An override takes the quota's limit flags (not the zone or the price). */
const OVERRIDE_FLAGS = LIMIT_FLAGS;

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--until`: an ISO 8601 time, or a time from now such as +90m, +6h or +2d. */
export function untilOf(flags: Flags, now = Date.now()): string {
  const v = str(flags, "until");
  if (v === undefined) throw new UsageError("overrides set needs --until (an ISO 8601 time, or +90m, +6h, +2d)");
  const relative = /^\+(\d{1,6})([mhd])$/.exec(v);
  if (relative) return new Date(now + Number(relative[1]) * (UNIT_MS[relative[2] as string] as number)).toISOString();
  const ms = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(v) || Number.isNaN(ms)) {
    throw new UsageError(`--until must be an ISO 8601 time (2026-12-01T18:00:00Z) or +90m, +6h, +2d; got ${v}`);
  }
  return new Date(ms).toISOString();
}

/** The override the flags describe: at least one limit, and when it ends. */
export function overrideOf(flags: Flags): Override {
  // --until first: an override without an end is the mistake most worth naming.
  const until = untilOf(flags);
  const limits = limitFields(flags, OVERRIDE_FLAGS);
  const shadow = str(flags, "shadow");
  if (shadow !== undefined && shadow !== "on" && shadow !== "off") throw new UsageError("--shadow is on or off");
  const quota = { ...limits, ...(shadow !== undefined ? { shadow: shadow === "on" } : {}) };
  if (Object.keys(quota).length === 0) {
    const names = [...Object.keys(OVERRIDE_FLAGS), "shadow"].map((f) => `--${f}`).join(", ");
    throw new UsageError(`overrides set needs at least one of ${names}`);
  }
  return { quota, until };
}

/** "override until <time>: daily=5000000 max-concurrent=32", or "" when the tenant has none. */
export function describeOverride(t: Tenant): string {
  if (!t.override) return "";
  const fields = Object.entries(t.override.quota).map(
    ([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : (v ?? "none")}`,
  );
  return `override until ${t.override.until}: ${fields.join(" ")}`;
}
