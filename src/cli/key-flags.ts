// A key's own limits from the CLI's flags, and how a key list shows them.

import type { Key, KeyLimits } from "../client/types";
import { type Flags, limitFields, UsageError } from "./flags";
import { table } from "./table";

/** Each key limit flag and the field it sets: the same names as the quota's buckets. */
const KEY_LIMIT_FLAGS = {
  rate: "ratePerMinute",
  burst: "burst",
  rpm: "requestsPerMinute",
  "request-burst": "requestBurst",
} as const;

// A key has buckets only: a cap, a daily quota or a price is the tenant's. Refusing them
// tells the operator, where ignoring them would let them think the key has one.
const TENANT_ONLY = ["max-concurrent", "daily", "tz", "shadow", "leases", "unit-price", "alerts"];

function checkKeyFlags(flags: Flags, command: string): void {
  const wrong = TENANT_ONLY.filter((f) => flags[f] !== undefined);
  if (wrong.length > 0) {
    throw new UsageError(
      `${command}: ${wrong.map((f) => `--${f}`).join(", ")} is the tenant's (quotas set); a key's limits are --rate, --burst, --rpm and --request-burst`,
    );
  }
}

/** Only the fields that are set: a field set to null is no limit, as a field left out. */
function compact(limits: Partial<Record<keyof KeyLimits, number | null | undefined>>): KeyLimits | null {
  const out: KeyLimits = {};
  for (const [field, v] of Object.entries(limits)) if (typeof v === "number") out[field as keyof KeyLimits] = v;
  return Object.keys(out).length > 0 ? out : null;
}

/** A new key's limits from its flags; undefined when it is given none. */
export function newKeyLimits(flags: Flags): KeyLimits | undefined {
  checkKeyFlags(flags, "keys create");
  return compact(limitFields(flags, KEY_LIMIT_FLAGS)) ?? undefined;
}

/**
 * The key's limits with the flags applied: what they do not name stays as it is, `none`
 * removes one, and `--clear` all. null: the key is left with no limits of its own.
 */
export function keyLimitsPatch(flags: Flags): (current: KeyLimits | null) => KeyLimits | null {
  checkKeyFlags(flags, "keys limits");
  const changes = limitFields(flags, KEY_LIMIT_FLAGS);
  const named = Object.keys(changes).length > 0;
  if (flags.clear === true) {
    if (named) throw new UsageError("keys limits takes --clear, or limit flags, not both");
    return () => null;
  }
  if (!named)
    throw new UsageError("keys limits needs --rate, --burst, --rpm or --request-burst (N or none), or --clear");
  return (current) => compact({ ...current, ...changes });
}

/** A key's limits as the flags that would set them, in the flags' order: "rpm=10 request-burst=5", or "none". */
export function describeKeyLimits(limits: KeyLimits | null): string {
  const parts = Object.entries(KEY_LIMIT_FLAGS).flatMap(([flag, field]) => {
    const v = limits?.[field];
    return typeof v === "number" ? [`${flag}=${v}`] : [];
  });
  return parts.length > 0 ? parts.join(" ") : "none";
}

/** Keys as a table: what each is called, its own limits, and when it was made and revoked. */
export const keyTable = (keys: Key[]) =>
  table(
    ["id", "prefix", "name", "limits", "created", "revoked"],
    keys.map((k) => [k.id, k.prefix, k.name, describeKeyLimits(k.limits), k.createdAt, k.revokedAt]),
  );
