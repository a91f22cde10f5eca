// The gateway benches' load: autocannon GETs, each with the next of a list of API keys as its
// bearer key, so that with many keys each call goes to another tenant (and its object).

import autocannon from "autocannon";

export interface KeyedLoad {
  connections: number;
  seconds: number;
  /** The index of the key the first request takes (0 unless a load goes on from another). */
  start?: number;
}

/** A load on `url` with `keys` rotated per request (none sent when null); `next`: where it stopped. */
export async function loadWithKeys(
  url: string,
  keys: readonly string[] | null,
  { connections, seconds, start = 0 }: KeyedLoad,
): Promise<{ result: autocannon.Result; next: number }> {
  let i = start;
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    requests: [
      {
        method: "GET",
        setupRequest: (req) =>
          keys ? { ...req, headers: { ...req.headers, authorization: `Bearer ${keys[i++ % keys.length]}` } } : req,
      },
    ],
  });
  return { result, next: keys && keys.length > 0 ? i % keys.length : 0 };
}
