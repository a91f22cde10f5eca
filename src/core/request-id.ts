// A call's request id: the client's `x-request-id` when it is one that can be passed on and
// logged safely, else a new one. It goes back to the client, on to the upstream, into every
// log line of the call and into its usage event, so a call can be followed end to end.

export const REQUEST_ID_HEADER = "x-request-id";

/** Ids people and tracing systems use: UUIDs, ULIDs, hex, base64. No spaces, no quotes. */
const SAFE = /^[A-Za-z0-9._:/+=-]{1,128}$/;

/**
 * `given` when it is safe to echo, forward and log, else a new UUID. An id shaped like one of
 * the gateway's API keys is replaced too: a client that puts its key there must not see it
 * written to the logs.
 */
export function requestIdOf(given: string | null | undefined, mint: () => string = () => crypto.randomUUID()): string {
  const id = given?.trim();
  if (id && SAFE.test(id) && !id.startsWith("ak_")) return id;
  return mint();
}
