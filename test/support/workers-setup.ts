// Global setup for the workerd tests: a fresh Postgres database, the WebSocket proxy the
// Neon driver reaches it through, and a local upstream.

import type { TestProject } from "vitest/node";
import { createScratchDatabase } from "../../scripts/lib/scratch-database";
import { startWsProxy } from "../../scripts/lib/ws-proxy";
import { startEchoUpstream } from "./echo-upstream";
import { startWebhookReceiver } from "./webhook-receiver";

export default async function setup(project: TestProject) {
  const db = await createScratchDatabase("aegis_test");
  const proxy = await startWsProxy({ allow: [db.address] });
  const upstream = await startEchoUpstream();
  const receiver = await startWebhookReceiver();
  project.provide("databaseUrl", db.url);
  project.provide("wsProxy", proxy.address);
  project.provide("upstreamUrl", upstream.url);
  project.provide("webhookUrl", receiver.url);
  return async () => {
    await receiver.close();
    await upstream.close();
    await proxy.close();
    await db.drop();
  };
}
