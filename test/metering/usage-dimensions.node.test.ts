// The usage dimensions in Postgres: the migration that adds them keeps the data already
// there, and the ingest stores each event's model, requests and tokens once, in
// usage_records and in the rollups per tenant, day, route and model.

import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "../../scripts/lib/scratch-database";
import type { UsageEvent } from "../../src/core/usage-event";
import { migrateDatabase, openNodeDatabase } from "../../src/db/node";
import { ingestUsage } from "../../src/metering/ingest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const DRIZZLE = path.join(ROOT, "drizzle");
const TENANT = "tnaaaaaaaaaaaaaaad";
/** 2026-03-02 12:00 UTC. */
const NOON = Date.UTC(2026, 2, 2, 12);

let scratch: ScratchDatabase;
afterAll(async () => scratch?.drop());
beforeAll(async () => {
  scratch = await createScratchDatabase("aegis_dimensions");
}, 60_000);

async function query<T>(url: string, text: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end();
  }
}

/** Runs `run` on a scratch database migrated up to, not including, the migration `tag`. */
async function beforeMigration(tag: string, run: (url: string) => Promise<void>): Promise<void> {
  const before = mkdtempSync(path.join(tmpdir(), "aegis-drizzle-"));
  try {
    cpSync(DRIZZLE, before, { recursive: true });
    const journalFile = path.join(before, "meta/_journal.json");
    const journal = JSON.parse(readFileSync(journalFile, "utf8"));
    const at = journal.entries.findIndex((e: { tag: string }) => e.tag === tag);
    expect(at).toBeGreaterThan(0);
    journal.entries = journal.entries.slice(0, at);
    writeFileSync(journalFile, JSON.stringify(journal));
    const db = await createScratchDatabase("aegis_premigration");
    try {
      // createScratchDatabase migrated it fully; start again from the older migrations.
      await query(db.url, "DROP SCHEMA public CASCADE; CREATE SCHEMA public; DROP SCHEMA IF EXISTS drizzle CASCADE");
      await migrateDatabase(db.url, before);
      await run(db.url);
    } finally {
      await db.drop();
    }
  } finally {
    rmSync(before, { recursive: true, force: true });
  }
}

describe("the usage dimensions migrations", () => {
  it("0003 keeps every row from before it: units and requests as they were, no model, no tokens", async () => {
    await beforeMigration("0003_usage_dimensions", async (url) => {
      await query(
        url,
        `INSERT INTO usage_records (event_id, tenant_id, route, units, occurred_at, metadata)
         VALUES ('ev_old_1', '${TENANT}', 'chat', 42, '2026-01-05T10:00:00Z', '{"model":"m1"}');
       INSERT INTO usage_daily (tenant_id, day, route, units, requests) VALUES ('${TENANT}', '2026-01-05', 'chat', 42, 3);
       INSERT INTO usage_late (tenant_id, day, route, units, requests) VALUES ('${TENANT}', '2026-01-04', 'chat', 5, 1);`,
      );
      await migrateDatabase(url, DRIZZLE);
      expect(
        await query(
          url,
          "SELECT event_id, model, units::int, requests::int, input_tokens::int, output_tokens::int, cached_input_tokens::int, estimated FROM usage_records",
        ),
      ).toEqual([
        {
          event_id: "ev_old_1",
          model: null,
          units: 42,
          requests: 1,
          input_tokens: 0,
          output_tokens: 0,
          cached_input_tokens: 0,
          estimated: false,
        },
      ]);
      for (const [table, day, units, requests] of [
        ["usage_daily", "2026-01-05", 42, 3],
        ["usage_late", "2026-01-04", 5, 1],
      ] as const) {
        expect(
          await query(
            url,
            `SELECT to_char(day, 'YYYY-MM-DD') AS day, route, model, units::int, requests::int, input_tokens::int, output_tokens::int, cached_input_tokens::int FROM ${table}`,
          ),
        ).toEqual([
          {
            day,
            route: "chat",
            model: "",
            units,
            requests,
            input_tokens: 0,
            output_tokens: 0,
            cached_input_tokens: 0,
          },
        ]);
      }
    });
  }, 60_000);

  it("0004 counts the estimated part of each daily row from the events already stored", async () => {
    await beforeMigration("0004_usage_estimated", async (url) => {
      await query(
        url,
        `INSERT INTO usage_records (event_id, tenant_id, route, model, units, estimated, occurred_at) VALUES
           ('ev_e1', '${TENANT}', 'chat', 'm1', 30, true, '2026-01-05T10:00:00Z'),
           ('ev_e2', '${TENANT}', 'chat', 'm1', 12, true, '2026-01-05T11:00:00Z'),
           ('ev_r1', '${TENANT}', 'chat', 'm1', 50, false, '2026-01-05T12:00:00Z'),
           ('ev_e3', '${TENANT}', 'chat', null, 7, true, '2026-01-06T10:00:00Z');
         INSERT INTO usage_daily (tenant_id, day, route, model, units, requests) VALUES
           ('${TENANT}', '2026-01-05', 'chat', 'm1', 92, 3),
           ('${TENANT}', '2026-01-06', 'chat', '', 7, 1),
           ('${TENANT}', '2026-01-07', 'chat', '', 9, 1);`,
      );
      await migrateDatabase(url, DRIZZLE);
      expect(
        await query(
          url,
          `SELECT to_char(day, 'YYYY-MM-DD') AS day, model, units::int, estimated_requests::int, estimated_units::int
             FROM usage_daily ORDER BY day`,
        ),
      ).toEqual([
        { day: "2026-01-05", model: "m1", units: 92, estimated_requests: 2, estimated_units: 42 },
        { day: "2026-01-06", model: "", units: 7, estimated_requests: 1, estimated_units: 7 },
        { day: "2026-01-07", model: "", units: 9, estimated_requests: 0, estimated_units: 0 },
      ]);
    });
  }, 60_000);
});

describe("ingesting events with dimensions", () => {
  it("stores each event's dimensions once, and rolls them up per day, route and model", async () => {
    const handle = openNodeDatabase(scratch.url, 2);
    try {
      const event = (id: string, e: Partial<UsageEvent>): UsageEvent => ({
        eventId: id,
        tenantId: TENANT,
        route: "chat",
        units: 0,
        occurredAt: NOON,
        ...e,
      });
      const batch = [
        event("ev_d1", { model: "gpt-a", units: 30, inputTokens: 20, outputTokens: 10, cachedInputTokens: 5 }),
        event("ev_d2", { model: "gpt-a", units: 7, inputTokens: 4, outputTokens: 3 }),
        event("ev_d3", { model: "claude-b", units: 12, inputTokens: 2, outputTokens: 10, estimated: true }),
        // From before the dimensions: one request of no known model and no tokens.
        event("ev_d4", { units: 1 }),
      ];
      expect(await ingestUsage(handle.db, batch)).toEqual({ inserted: 4, units: 50 });
      // Delivered again, with one new event: only the new one counts.
      expect(
        await ingestUsage(handle.db, [...batch, event("ev_d5", { model: "gpt-a", units: 2, inputTokens: 2 })]),
      ).toEqual({
        inserted: 1,
        units: 2,
      });
      expect(
        await query(
          scratch.url,
          `SELECT model, units::int, requests::int, input_tokens::int AS input, output_tokens::int AS output,
                  cached_input_tokens::int AS cached
             FROM usage_daily WHERE tenant_id = '${TENANT}' ORDER BY model`,
        ),
      ).toEqual([
        { model: "", units: 1, requests: 1, input: 0, output: 0, cached: 0 },
        { model: "claude-b", units: 12, requests: 1, input: 2, output: 10, cached: 0 },
        { model: "gpt-a", units: 39, requests: 3, input: 26, output: 13, cached: 5 },
      ]);
      expect(
        await query(scratch.url, `SELECT event_id, estimated FROM usage_records WHERE estimated ORDER BY event_id`),
      ).toEqual([{ event_id: "ev_d3", estimated: true }]);
    } finally {
      await handle.close();
    }
  });
});
