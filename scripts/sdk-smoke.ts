// A smoke run of the client SDK on whatever runtime runs this file (Node, Bun, Deno):
// operator calls, a tenant's calls until limited, the RateLimit fields, an idempotent report.
// AEGIS_URL and AEGIS_ADMIN_TOKEN name the gateway. Prints one JSON line; exits 1 on failure.

import { AegisAdmin, AegisClient, HTTPError } from "../src/client/index";

const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
const baseUrl = env.AEGIS_URL;
const token = env.AEGIS_ADMIN_TOKEN;
if (!baseUrl || !token) throw new Error("set AEGIS_URL and AEGIS_ADMIN_TOKEN");

const admin = new AegisAdmin({ baseUrl, token });
const tenant = await admin.createTenant({ name: "sdk smoke", quota: { ratePerMinute: 0, burst: 2, dailyUnits: 100 } });
const { key } = await admin.createKey(tenant.id);
const client = new AegisClient({ baseUrl, apiKey: key, retry: false });

const statuses: number[] = [];
let policies: string[] = [];
let limited: string | null = null;
for (let i = 0; i < 3; i++) {
  try {
    const res = await client.fetch("/v1/chat/completions", { method: "POST", json: {} });
    statuses.push(res.status);
    policies = res.rateLimit.policies.map((p) => `${p.name}:${p.quota}`);
    await res.arrayBuffer();
  } catch (err) {
    if (!(err instanceof HTTPError)) throw err;
    statuses.push(err.status);
    limited = err.problem.code;
  }
}
const first = await client.recordUsage({ units: 5, jobId: "smoke-job" });
const again = await client.recordUsage({ units: 5, jobId: "smoke-job" });
const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";
console.log(
  JSON.stringify({
    runtime,
    statuses,
    policies,
    limited,
    duplicate: again.duplicate,
    same: first.eventId === again.eventId,
  }),
);
