// Error descriptions that are safe and short enough to log.

/**
 * One line about an error for the logs. drizzle wraps a driver's error in one whose message
 * holds the whole SQL text and every parameter (usage batches, names); the cause says
 * what went wrong without them.
 */
export function describeError(err: unknown): string {
  const wrapped = err instanceof Error && err.message.startsWith("Failed query:");
  const cause: unknown = wrapped ? (err.cause ?? "the driver gave no cause") : err;
  const code = (cause as { code?: unknown } | null)?.code;
  const name = (cause as { name?: unknown } | null)?.name;
  const message = (cause as { message?: unknown } | null)?.message;
  const text = typeof message === "string" ? `${typeof name === "string" ? `${name}: ` : ""}${message}` : String(cause);
  const line = text.split("\n")[0]?.slice(0, 300) ?? "";
  return typeof code === "string" ? `${code} ${line}` : line;
}
