// A Postgres database and a webhook mailbox of a test's own, for the workerd tests that run
// billing or dispatch webhooks.
//
// Every other workers test file shares one database (test/support/workers-setup.ts), and
// billing state in it is global to that database, not to a tenant: the one billing_state
// watermark (how far invoicing has reached), and the pending rows of webhook_deliveries,
// which any cron tick's dispatcher sends to BILLING_WEBHOOK_URL (one "cron" mailbox).
// There, one file's run moves the watermark under another's (a run of a later period bills
// that file's usage before its own run does; every ingest after it lands as late usage),
// and one file's cron tick sends another's pending deliveries. A database of one's own,
// created on the same server and migrated from the same drizzle/ files, and a mailbox of
// one's own, make a file's billing state its own.
//
// The Worker's env still names the shared database, so what must see the private one goes
// through `db.env`: the Worker's own handlers called with it (`db.fetch`, `db.scheduled`),
// never SELF.fetch. The tenant limiter Durable Objects keep the shared env; billing never
// asks them anything.

/// <reference types="vite/client" />

import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { inject } from "vitest";
import journal from "../../../drizzle/meta/_journal.json";
import type { Database } from "../../../src/db/database";
import { openNeonDatabase } from "../../../src/db/neon";
import worker from "../../../src/index";
import { ADMIN_TOKEN, BASE, env, type Quota, withDb } from "./helpers";

const MIGRATIONS = import.meta.glob<string>("../../../drizzle/*.sql", {
  query: "?raw",
  import: "default",
  eager: true,
});

/** What a mailbox of the test webhook receiver logged for one request. */
export interface Received<Body = { type: string; data: { id: string } & Record<string, unknown> }> {
  id: string;
  timestamp: string;
  signature: string;
  verified: boolean;
  body: Body;
}

export interface PrivateDatabase {
  readonly url: string;
  /** This database's mailbox on the test receiver, which answers 200 to everything. */
  readonly mailbox: string;
  /** The Worker's env, with DATABASE_URL and BILLING_WEBHOOK_URL pointing at this database and mailbox. */
  readonly env: typeof env;
  /** Runs `fn` on a connection of its own to this database. */
  withDb<T>(fn: (db: Database) => Promise<T>): Promise<T>;
  /** Calls the Worker's fetch handler with `env`; resolves once its after-response work is done too. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** An operator API call (`/admin/v1` + path) through `fetch`, with the operator token. */
  admin(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  /** As `admin`, parsing the JSON body; throws on a status of 300 or more. */
  adminJson<T = Record<string, unknown>>(path: string, init?: RequestInit & { json?: unknown }): Promise<T>;
  /** A tenant created through the operator API, in this database. */
  newTenant(quota: Quota, name?: string): Promise<{ id: string }>;
  /** One cron tick of the Worker with `env`, at `iso`, waited for to the end. */
  scheduled(iso: string): Promise<void>;
  /** What this database's mailbox received, in order. */
  received(): Promise<Received[]>;
  drop(): Promise<void>;
}

/** Opens `url` through the test's WebSocket proxy for the length of `fn`. */
async function onDatabase<T>(url: string, fn: (db: Database) => Promise<T>): Promise<T> {
  const handle = openNeonDatabase(url, env.NEON_WS_PROXY);
  try {
    return await fn(handle.db);
  } finally {
    await handle.close();
  }
}

/**
 * A fresh database on the test server, migrated as drizzle's migrator does (in journal
 * order), with a fresh mailbox. `label` goes into both names, to tell whose they are.
 */
export async function privateDatabase(label: string): Promise<PrivateDatabase> {
  const suffix = crypto.randomUUID().replaceAll("-", "").slice(0, 12);
  const name = `aegis_${label.replaceAll(/[^a-z0-9]/g, "_")}_${suffix}`;
  await withDb((db) => db.execute(sql.raw(`CREATE DATABASE ${name}`)));
  const drop = () => withDb((db) => db.execute(sql.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))).then(() => {});
  const url = new URL(env.DATABASE_URL ?? "");
  url.pathname = `/${name}`;
  try {
    await onDatabase(url.toString(), async (db) => {
      for (const { tag } of journal.entries) {
        const text = MIGRATIONS[`../../../drizzle/${tag}.sql`];
        if (text === undefined) throw new Error(`migration ${tag} is in the journal but not in drizzle/`);
        for (const statement of text.split("--> statement-breakpoint")) await db.execute(sql.raw(statement));
      }
    });
  } catch (err) {
    await drop();
    throw err;
  }

  const receiver = inject("webhookUrl");
  const mailbox = `${label}-${suffix}`;
  const privateEnv = { ...env, DATABASE_URL: url.toString(), BILLING_WEBHOOK_URL: `${receiver}/hooks/${mailbox}/200` };

  const fetch = async (path: string, init: RequestInit = {}): Promise<Response> => {
    const ctx = createExecutionContext();
    const request = new Request(`${BASE}${path}`, init) as Request<unknown, IncomingRequestCfProperties>;
    const res = await worker.fetch(request, privateEnv, ctx);
    // Read whole before waiting: after-response work (a webhook dispatch, closing the
    // request's database handle) is then finished when the caller looks.
    const body = await res.arrayBuffer();
    await waitOnExecutionContext(ctx);
    return new Response(res.status === 204 ? null : body, { status: res.status, headers: res.headers });
  };
  const admin = (path: string, init: RequestInit & { json?: unknown } = {}) => {
    const { json, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (!headers.has("authorization")) headers.set("authorization", `Bearer ${ADMIN_TOKEN}`);
    if (json !== undefined) headers.set("content-type", "application/json");
    return fetch(`/admin/v1${path}`, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body });
  };
  const adminJson = async <T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> => {
    const res = await admin(path, init);
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${init.method ?? "GET"} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  };

  return {
    url: url.toString(),
    mailbox,
    env: privateEnv,
    withDb: (fn) => onDatabase(url.toString(), fn),
    fetch,
    admin,
    adminJson,
    newTenant: (quota, tenantName = "test tenant") =>
      adminJson<{ id: string }>("/tenants", { method: "POST", json: { name: tenantName, quota } }),
    // The handler awaits all its work (it takes no execution context): done when it resolves.
    scheduled: (iso) =>
      worker.scheduled(createScheduledController({ scheduledTime: Date.parse(iso), cron: "*/15 * * * *" }), privateEnv),
    received: async () => (await (await globalThis.fetch(`${receiver}/hooks/${mailbox}/log`)).json()) as Received[],
    drop,
  };
}
