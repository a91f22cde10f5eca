// Reading the CLI's positionals and flags. A mistake in how a command was called is a
// UsageError (exit 2), found before the gateway is asked anything.

/** The parsed flags: a string, true for a switch, or every value of a flag given more than once (--tier). */
export type Flags = Record<string, string | boolean | string[] | undefined>;

/** A mistake in how the command was called: usage text, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

export function need(args: string[], i: number, what: string): string {
  const v = args[i];
  if (!v) throw new UsageError(`missing ${what}`);
  return v;
}

export function int(flags: Flags, name: string, fallback?: number): number | undefined {
  const v = flags[name];
  if (v === undefined) return fallback;
  if (typeof v !== "string" || !/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number`);
  return Number(v);
}

export function str(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw new UsageError(`--${name} needs a value`);
  return v;
}

/** Flags a command cannot do without; a usage error names every one that is missing at once. */
export function required<N extends string>(flags: Flags, names: readonly N[], command: string): Record<N, string> {
  const missing = names.filter((n) => str(flags, n) === undefined);
  if (missing.length > 0) throw new UsageError(`${command} needs ${missing.map((n) => `--${n}`).join(", ")}`);
  return Object.fromEntries(names.map((n) => [n, str(flags, n)])) as Record<N, string>;
}

/** A limit that can be cleared: a whole number, `none` (null), or undefined when not given. */
export function limit(flags: Flags, name: string): number | null | undefined {
  const v = str(flags, name);
  if (v === undefined) return undefined;
  if (v === "none") return null;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number or none`);
  return Number(v);
}

/**
 * The limit flags that were given, by the field each sets (`--rpm 60` is
 * `{requestsPerMinute: 60}`, `--rpm none` is `{requestsPerMinute: null}`).
 */
export function limitFields<F extends string>(
  flags: Flags,
  fields: Record<string, F>,
): Partial<Record<F, number | null>> {
  const out: Partial<Record<F, number | null>> = {};
  for (const [flag, field] of Object.entries(fields)) {
    const v = limit(flags, flag);
    if (v !== undefined) out[field] = v;
  }
  return out;
}
