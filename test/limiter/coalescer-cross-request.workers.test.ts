// Spike (issue 18, WP1): a module-scope settle coalescer in workerd, across two requests of
// one isolate. The leader's settle opens the batch (its window timer and flush belong to the
// leader's request, held by its waitUntil); the follower's settle joins it after the leader
// has answered. It runs in its own vitest project, against
// test/support/workers/coalescer-spike-worker.ts.
//
// What workerd did (2026-12-01, workerd 1.20261102.1 under @cloudflare/vitest-plugin 1.5.0), which is
// why the spike as planned fails and the plan's fallback (§1.2) is what this file checks:
// - A follower that awaits its settle, which only the leader's timer and flush resolve, is
//   cancelled as hung within about 20 ms: "The Workers runtime canceled this request because
//   it detected that your Worker's code had hung and would never generate a response" (it has
//   no I/O or timer of its own pending). When the leader's flush then resolves that follower's
//   settle, workerd reports "Cannot perform I/O on behalf of a different request" (uncaught,
//   I/O type RefcountedFulfiller) and "kj/async.c++:380: failed: onEmpty() can only be called
//   once at a time", and the vitest run ends without its summary. So it is not run here.
// - Given a timer of its own (a bounded wait), the follower is not cancelled and its await
//   returns, but its response never completes ("Promise will never complete"), and the test
//   waits out its timeout.
// - Resolving, from the follower, a promise the leader's waitUntil awaits (the follower
//   "closes" the leader's window) does answer the follower, but workerd still logs two
//   "had hung" cancellations and two "Cannot perform I/O on behalf of a different request".
// - The fallback works cleanly: the follower enqueues its settle and answers at once, and
//   only the leader's waitUntil waits for the flush, which applies both settles in the
//   leader's request, with no error logged.

import { SELF } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";

const BASE = "http://spike.test";
const logOf = async (tenant: string) => (await (await SELF.fetch(`${BASE}/log?tenant=${tenant}`)).json()) as string[];

describe("settle coalescer across requests in workerd", () => {
  it("applies an enqueued follower's settle in the leader's flush, after both have answered", async () => {
    const leader = await SELF.fetch(`${BASE}/leader?tenant=fallback`);
    expect(await leader.text()).toBe("leader answered");
    const follower = await SELF.fetch(`${BASE}/follower?tenant=fallback`);
    expect(await follower.text()).toBe("follower enqueued");
    await vi.waitFor(async () => expect(await logOf("fallback")).toContain("fallback: leader settled"), {
      timeout: 10_000,
      interval: 50,
    });
    expect(await logOf("fallback")).toEqual([
      "fallback: flush of leader,follower in the leader's request",
      "fallback: leader settled",
    ]);
  });
});
