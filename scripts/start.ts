// npm start: the gateway on embedded defaults (PGlite, a demo upstream, a demo tenant).
// Every setting comes from the environment; see README.md "Configuration".

import path from "node:path";
import { ROOT, startLocalGateway } from "./lib/local-gateway";
import { seedDemoTenant } from "./lib/seed";

const port = Number(process.env.PORT ?? 8787);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`aegis: PORT must be a port number, got ${process.env.PORT}`);
  process.exit(2);
}
// Local state: PGlite's data and wrangler's Durable Object storage.
const dataDir = path.resolve(ROOT, process.env.AEGIS_DATA_DIR ?? ".aegis");
const quiet = process.env.AEGIS_QUIET_WRANGLER === "1";

console.log("aegis: starting (embedded Postgres, migrations, wrangler dev)...");
let gateway: Awaited<ReturnType<typeof startLocalGateway>>;
try {
  gateway = await startLocalGateway({
    port,
    env: process.env,
    pgliteDir: path.join(dataDir, "pglite"),
    persistTo: path.join(dataDir, "wrangler"),
    keySigningSecretFile: path.join(dataDir, "key-signing-secret"),
    adminTokenFile: path.join(dataDir, "admin-token"),
    metricsTokenFile: path.join(dataDir, "metrics-token"),
    log: (line) => {
      if (!quiet && line.trim()) console.log(`[wrangler] ${line}`);
    },
  });
} catch (err) {
  console.error(`aegis: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}

let stopping = false;
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    console.log("\naegis: stopping...");
    await gateway.stop();
  }
  process.exit(code);
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

try {
  const demo = await seedDemoTenant(gateway.url, gateway.adminToken);
  const tokenNote = process.env.ADMIN_TOKEN
    ? "(from ADMIN_TOKEN)"
    : `(generated, kept in ${path.join(dataDir, "admin-token")}; set ADMIN_TOKEN to choose one)`;
  const metricsNote = process.env.METRICS_TOKEN
    ? "(from METRICS_TOKEN)"
    : `(generated, kept in ${path.join(dataDir, "metrics-token")}; set METRICS_TOKEN to choose one)`;
  console.log(`
Aegis Edge is running at ${gateway.url}

  database     ${gateway.database.embedded ? `embedded PGlite in ${path.join(dataDir, "pglite")}` : "DATABASE_URL"}
  upstream     ${gateway.upstream.demo ? `demo upstream at ${gateway.upstream.url}` : gateway.upstream.url}
  admin token  ${gateway.adminToken} ${tokenNote}
  demo tenant  ${demo.tenantId}${demo.created ? " (created)" : ""}
  demo API key ${demo.key}
               (shown once: each start mints a new one${demo.revoked > 0 ? `, and revoked the ${demo.revoked === 1 ? "last start's" : `${demo.revoked} earlier starts'`}` : ""})
  console      ${gateway.url}/admin/ui (sign in with the admin token)
  API docs     ${gateway.url}/docs
  metrics      ${gateway.url}/metrics
               bearer token ${gateway.metricsToken}
               ${metricsNote}

Call the upstream through the gateway:
  curl -i ${gateway.url}/v1/chat/completions -H "Authorization: Bearer ${demo.key}" -H "content-type: application/json" -d '{"model":"demo-1","messages":[{"role":"user","content":"hi"}]}'

See the tenant's limits:
  curl -s ${gateway.url}/account/v1/limits -H "Authorization: Bearer ${demo.key}"

Scrape the metrics (Prometheus text format, read from Postgres; docs/http-api.md "Metrics"):
  curl -s ${gateway.url}/metrics -H "Authorization: Bearer ${gateway.metricsToken}"
(in a Prometheus scrape config: metrics_path /metrics, authorization: {credentials: <the token>})

Manage tenants:
  curl -s ${gateway.url}/admin/v1/tenants -H "Authorization: Bearer ${gateway.adminToken}"

Use the CLI (npm run aegis -- --help) from another shell:
  export AEGIS_URL=${gateway.url} AEGIS_ADMIN_TOKEN=${gateway.adminToken}

Press Ctrl-C to stop.`);
} catch (err) {
  console.error(`aegis: seeding the demo tenant failed: ${err instanceof Error ? err.message : String(err)}`);
  await shutdown(1);
}
