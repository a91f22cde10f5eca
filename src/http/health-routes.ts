// GET /healthz and GET /readyz, for load balancers and Kubernetes probes: unauthenticated,
// and they say nothing of any tenant. /healthz answers while the process serves requests
// (liveness); /readyz only while every dependency it needs answers (readiness), else 503
// with which one did not, so a balancer sends its calls elsewhere meanwhile.

import type { Hono } from "hono";
import type { GatewayEnv } from "./context";
import { Problem } from "./problem";

const NO_STORE = { "cache-control": "no-store" };

export function healthRoutes(app: Hono<GatewayEnv>, readiness: () => Promise<Record<string, string>>): void {
  app.get("/healthz", (c) => c.json({ status: "ok" }, 200, NO_STORE));
  app.get("/readyz", async (c) => {
    const checks = await readiness();
    const failing = Object.entries(checks).filter(([, state]) => state !== "ok");
    if (failing.length > 0) {
      const which = failing.map(([name, state]) => `${name}: ${state}`).join("; ");
      throw new Problem(503, "not-ready", `not ready: ${which}`, { checks }, { ...NO_STORE, "Retry-After": "5" });
    }
    return c.json({ status: "ready", checks }, 200, NO_STORE);
  });
}
