// The 30-day usage chart: plain SVG, one point a day, drawn on the server.

export interface DayPoint {
  day: string;
  units: number;
}

const W = 720;
const H = 200;
const PAD = 32;

export function UsageChart(props: { points: DayPoint[]; quota: number | null }) {
  const { points, quota } = props;
  const max = Math.max(1, quota ?? 0, ...points.map((p) => p.units));
  const x = (i: number) => PAD + (i * (W - 2 * PAD)) / Math.max(1, points.length - 1);
  const y = (v: number) => H - PAD - (v * (H - 2 * PAD)) / max;
  const line = points.map((p, i) => `${x(i).toFixed(1)},${y(p.units).toFixed(1)}`).join(" ");
  const total = points.reduce((a, p) => a + p.units, 0);
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label={`Units per day over ${points.length} days, ${total} in all`}
      data-total={String(total)}
    >
      <line x1={PAD} y1={H - PAD} x2={W - PAD} y2={H - PAD} class="axis" />
      {quota !== null ? (
        <line x1={PAD} y1={y(quota)} x2={W - PAD} y2={y(quota)} class="quota">
          <title>{`daily quota: ${quota}`}</title>
        </line>
      ) : null}
      <polyline points={line} class="usage" fill="none" />
      {points.map((p, i) => (
        <circle
          class="point"
          cx={x(i).toFixed(1)}
          cy={y(p.units).toFixed(1)}
          r="3"
          data-day={p.day}
          data-units={String(p.units)}
        >
          <title>{`${p.day}: ${p.units} units`}</title>
        </circle>
      ))}
      <text x={PAD} y={H - 8} class="label">
        {points[0]?.day ?? ""}
      </text>
      <text x={W - PAD} y={H - 8} class="label" text-anchor="end">
        {points.at(-1)?.day ?? ""}
      </text>
      <text x={PAD} y={PAD - 8} class="label">{`max ${max}`}</text>
    </svg>
  );
}
