// Token leases: the calls a holder admitted from one lease and has not reported yet. A hot
// lease holds up to a report's worth of them (1,000) for up to a term, long enough for the
// garbage collector to copy an object per call, more than once, into its old space: kept as
// columns of numbers instead, a plain call (no metadata, no model) leaves no object behind,
// and the calls a report carries are built as it is made, to die young once it is answered.

import type { LeasedCall } from "./limiter-store";
import type { UsageDimensions, UsageMetadata } from "./usage-event";

/** The breakdown of a leased call that names no model: its metadata's, as an exact check's event. */
export const NO_USAGE: UsageDimensions = Object.freeze({});

interface Extra {
  metadata: UsageMetadata | undefined;
  usage: UsageDimensions;
}

export class LeasedCallLog {
  readonly #units: number[] = [];
  readonly #at: number[] = [];
  /** A call's metadata and breakdown, where it has either; undefined for a plain call. */
  readonly #extra: (Extra | undefined)[] = [];

  get length(): number {
    return this.#units.length;
  }

  add(units: number, occurredAt: number, metadata?: UsageMetadata, usage: UsageDimensions = NO_USAGE): void {
    this.#units.push(units);
    this.#at.push(occurredAt);
    this.#extra.push(metadata === undefined && usage === NO_USAGE ? undefined : { metadata, usage });
  }

  /** Takes out the oldest `max` calls, in the order they were added, as a report carries them. */
  take(max: number): LeasedCall[] {
    const n = Math.min(max, this.#units.length);
    const units = this.#units.splice(0, n);
    const at = this.#at.splice(0, n);
    const extra = this.#extra.splice(0, n);
    const calls: LeasedCall[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const e = extra[i];
      calls[i] = {
        units: units[i] as number,
        occurredAt: at[i] as number,
        metadata: e?.metadata,
        usage: e ? e.usage : NO_USAGE,
      };
    }
    return calls;
  }
}
