// The fleet overview: calls and refusals per minute over the last hour, today's top tenants
// by tokens, and the pipeline's health.
//
// Refusals are never stored in Postgres. The self-hosted server counts every call's outcome
// per minute in its process (deps.callRates); a Worker's isolates share no counter, so there
// the page shows the admitted calls stored in Postgres and says where refusals are counted.

import { Hono } from "hono";
import { isoDay } from "../../core/calendar";
import { MINUTE_MS, type MinuteCalls, RATE_MINUTES } from "../../core/call-rates";
import type { CallOutcome } from "../../core/gateway-metrics";
import type { GatewayEnv } from "../context";
import { pipelineHealth, storedCallsPerMinute, TOP_TENANTS, topTenants } from "./fleet-query";
import { PipelineHealthTable, TopTenants } from "./fleet-sections";
import { Count, When } from "./format";
import { frame, Layout } from "./layout";
import { MinuteChart, type MinuteSeries } from "./minute-chart";
import { PAGE_HEADERS } from "./page";
import { type Column, Table } from "./table";

/** A minute of the table: the process's counts when it has them, and what Postgres stored. */
interface MinuteRow {
  minute: number;
  counts: Record<CallOutcome, number> | null;
  stored: number;
}

const REFUSALS: readonly [CallOutcome, string][] = [
  ["limited", "Limited"],
  ["unauthorized", "Unauthorized"],
  ["suspended", "Suspended"],
  ["limiter_unavailable", "Limiter unavailable"],
  ["rejected", "Rejected"],
];

const refused = (counts: Record<CallOutcome, number>) => REFUSALS.reduce((a, [o]) => a + counts[o], 0);

function minuteColumns(counted: boolean): Column<MinuteRow>[] {
  const minute: Column<MinuteRow> = {
    header: "Minute (UTC)",
    cell: (r) => new Date(r.minute).toISOString().slice(11, 16),
  };
  const stored: Column<MinuteRow> = { header: "Stored in Postgres", class: "num", cell: (r) => <Count n={r.stored} /> };
  if (!counted) return [minute, stored];
  const outcome = (o: CallOutcome, header: string): Column<MinuteRow> => ({
    header,
    class: "num",
    cell: (r) => <Count n={r.counts?.[o] ?? 0} />,
  });
  return [minute, outcome("admitted", "Admitted"), ...REFUSALS.map(([o, h]) => outcome(o, h)), stored];
}

function CallsSection(props: { rates: MinuteCalls[] | null; stored: Map<number, number>; minutes: number[] }) {
  const { rates, stored, minutes } = props;
  const rows: MinuteRow[] = minutes.map((minute, i) => ({
    minute,
    counts: rates?.[i]?.counts ?? null,
    stored: stored.get(minute) ?? 0,
  }));
  const series: MinuteSeries[] = rates
    ? [
        { name: "admitted", class: "usage", values: rates.map((m) => m.counts.admitted) },
        { name: "refused", class: "refused", values: rates.map((m) => refused(m.counts)) },
      ]
    : [{ name: "stored", class: "stored", values: rows.map((r) => r.stored) }];
  // Newest first, and only the minutes that saw a call: an idle minute is a zero on the chart.
  const busy = rows.filter((r) => r.stored > 0 || (r.counts && Object.values(r.counts).some((n) => n > 0))).reverse();
  return (
    <>
      {rates ? (
        <p class="hint">
          Every call's outcome, counted by this server process since it started; other instances count their own (
          <code>aegis_calls_total</code> on <code>/metrics</code> adds them up in Prometheus). "Stored in Postgres" is
          the metered calls the usage ingest has stored, from every instance, by the minute they happened.
        </p>
      ) : (
        <p class="notice" id="refusals-elsewhere">
          Refusals per minute are not shown here: this runtime keeps no per-minute counter (a Worker's isolates share
          none, and a self-hosted server counts only with its metrics on), and refusals are not stored in Postgres. On
          Workers, each call writes an Analytics Engine data point (dataset <code>aegis_calls</code>, with its outcome)
          to query them there. Below are the admitted calls the usage ingest has stored in Postgres, by the minute they
          happened; calls still queued for the ingest are not in them yet.
        </p>
      )}
      <MinuteChart minutes={minutes} series={series} />
      {busy.length === 0 ? (
        <p>No calls in the last hour.</p>
      ) : (
        <Table
          id="calls"
          label="Calls per minute"
          columns={minuteColumns(rates !== null)}
          rows={busy}
          rowAttributes={(r) => ({ "data-minute": new Date(r.minute).toISOString() })}
        />
      )}
    </>
  );
}

export const fleetRoutes = new Hono<GatewayEnv>();

fleetRoutes.get("/fleet", async (c) => {
  const db = c.get("db");
  const rates = c.get("deps").callRates?.() ?? null;
  const now = Date.now();
  const current = now - (now % MINUTE_MS);
  // The process's hour when it counts one, so the two columns line up minute by minute.
  const minutes = rates
    ? rates.map((m) => m.minute)
    : Array.from({ length: RATE_MINUTES }, (_, i) => current - (RATE_MINUTES - 1 - i) * MINUTE_MS);
  const first = minutes[0] ?? current;
  const last = minutes.at(-1) ?? current;
  const today = isoDay(now);
  // One after another: a Worker's request has one connection.
  const stored = await storedCallsPerMinute(db, first, last + MINUTE_MS);
  const top = await topTenants(db, today);
  const health = await pipelineHealth(db);
  return c.html(
    <Layout title="Fleet" {...frame(c)}>
      <p>
        {"As of "}
        <When iso={new Date(now).toISOString()} />.
      </p>
      <h2>Calls per minute, last hour</h2>
      <CallsSection rates={rates} stored={stored} minutes={minutes} />
      <h2>{`Top tenants by tokens today (${today}, UTC)`}</h2>
      <p class="hint">{`Input and output tokens from the daily rollup, the ${TOP_TENANTS} with the most.`}</p>
      <TopTenants rows={top} />
      <h2>Pipeline health</h2>
      <PipelineHealthTable health={health} now={now} />
    </Layout>,
    200,
    PAGE_HEADERS,
  );
});
