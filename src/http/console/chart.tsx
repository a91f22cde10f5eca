// The 30-day usage chart: plain SVG drawn on the server, one point a day, its y axis scaled to
// the data and the daily quota (drawn as a dashed line), each day's value on hover (an SVG
// <title>) and in a table beside it.

import { Count, count, When } from "./format";
import { Table } from "./table";

export interface DayPoint {
  day: string;
  units: number;
}

const W = 720;
const H = 220;
const LEFT = 64;
const RIGHT = 16;
const TOP = 24;
const BOTTOM = 28;

/** The smallest 1, 2 or 5 times a power of ten at or above `n`: the axis's top. */
export function niceCeiling(n: number): number {
  if (n <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(n));
  return ([1, 2, 5, 10].map((m) => m * power).find((v) => v >= n) as number) ?? 10 * power;
}

/**
 * The axis's top: the data's, and the quota's when it is near enough to the data to be worth
 * drawing (within 4 times the busiest day). A quota far above the use would flatten the line,
 * so it is then named at the top instead of drawn.
 */
export function axisTop(points: readonly DayPoint[], quota: number | null): { top: number; quotaShown: boolean } {
  const busiest = Math.max(0, ...points.map((p) => p.units));
  const quotaShown = quota !== null && (busiest === 0 || quota <= 4 * busiest);
  return { top: niceCeiling(Math.max(busiest, quotaShown ? (quota as number) : 0)), quotaShown };
}

export function UsageChart(props: { points: DayPoint[]; quota: number | null }) {
  const { points, quota } = props;
  const { top, quotaShown } = axisTop(points, quota);
  const x = (i: number) => LEFT + (i * (W - LEFT - RIGHT)) / Math.max(1, points.length - 1);
  const y = (v: number) => H - BOTTOM - (v * (H - TOP - BOTTOM)) / top;
  const line = points.map((p, i) => `${x(i).toFixed(1)},${y(p.units).toFixed(1)}`).join(" ");
  const total = points.reduce((a, p) => a + p.units, 0);
  const ticks = [0, top / 2, top];
  const quotaText = quota === null ? "no daily quota" : `daily quota ${count(quota)}`;
  return (
    <div class="chart-box">
      <svg
        class="chart"
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`Units per day over ${points.length} days, ${count(total)} in all; ${quotaText}`}
        data-total={String(total)}
        data-top={String(top)}
      >
        {ticks.map((t) => (
          <>
            <line x1={LEFT} y1={y(t)} x2={W - RIGHT} y2={y(t)} class={t === 0 ? "axis" : "grid"} />
            <text x={LEFT - 6} y={y(t) + 4} class="label" text-anchor="end">
              {count(t)}
            </text>
          </>
        ))}
        {quota !== null && quotaShown ? (
          <>
            <line x1={LEFT} y1={y(quota)} x2={W - RIGHT} y2={y(quota)} class="quota" data-quota={String(quota)}>
              <title>{quotaText}</title>
            </line>
            <text x={W - RIGHT} y={y(quota) - 5} class="quota-label" text-anchor="end">
              {quotaText}
            </text>
          </>
        ) : null}
        {quota !== null && !quotaShown ? (
          <text x={W - RIGHT} y={TOP - 8} class="quota-label" text-anchor="end">
            {`${quotaText}, above this scale`}
          </text>
        ) : null}
        <polyline points={line} class="usage" fill="none" />
        {points.map((p, i) => (
          <g>
            <title>{`${p.day}: ${count(p.units)} units`}</title>
            <circle class="hit" cx={x(i).toFixed(1)} cy={y(p.units).toFixed(1)} r="9" />
            <circle
              class="point"
              cx={x(i).toFixed(1)}
              cy={y(p.units).toFixed(1)}
              r="3.5"
              data-day={p.day}
              data-units={String(p.units)}
            />
          </g>
        ))}
        <text x={LEFT} y={H - 8} class="label">
          {points[0]?.day ?? ""}
        </text>
        <text x={W - RIGHT} y={H - 8} class="label" text-anchor="end">
          {points.at(-1)?.day ?? ""}
        </text>
      </svg>
      <details class="chart-table">
        <summary>Units per day as a table</summary>
        <Table
          id="usage-days"
          label="Units per day"
          rows={[...points].reverse()}
          rowAttributes={(p) => ({ "data-day": p.day })}
          columns={[
            { header: "Day", cell: (p) => <When iso={p.day} /> },
            { header: "Units", class: "num", cell: (p) => <Count n={p.units} /> },
            {
              header: "Of the quota",
              class: "num",
              cell: (p) => (quota ? `${Math.round((100 * p.units) / quota)}%` : ""),
            },
          ]}
        />
      </details>
    </div>
  );
}
