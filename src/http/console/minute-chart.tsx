// The fleet page's per-minute chart: plain SVG drawn on the server, one line per series over
// the last hour. The numbers are also in a table beside it; this is the picture.

export interface MinuteSeries {
  name: string;
  /** The line's class in the style sheet. */
  class: "usage" | "refused" | "stored";
  /** One value a minute, oldest first. */
  values: readonly number[];
}

const W = 720;
const H = 200;
const PAD = 32;

const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

export function MinuteChart(props: { minutes: readonly number[]; series: readonly MinuteSeries[] }) {
  const { minutes, series } = props;
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const x = (i: number) => PAD + (i * (W - 2 * PAD)) / Math.max(1, minutes.length - 1);
  const y = (v: number) => H - PAD - (v * (H - 2 * PAD)) / max;
  const totals = series.map((s) => `${s.name} ${s.values.reduce((a, v) => a + v, 0).toLocaleString("en-US")}`);
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label={`Calls per minute over the last ${minutes.length} minutes: ${totals.join(", ")}`}
    >
      <line x1={PAD} y1={H - PAD} x2={W - PAD} y2={H - PAD} class="axis" />
      {series.map((s) => (
        <polyline
          class={s.class}
          fill="none"
          data-series={s.name}
          points={s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ")}
        >
          <title>{s.name}</title>
        </polyline>
      ))}
      <text x={PAD} y={H - 8} class="label">
        {minutes[0] === undefined ? "" : `${hhmm(minutes[0])} UTC`}
      </text>
      <text x={W - PAD} y={H - 8} class="label" text-anchor="end">
        {minutes.at(-1) === undefined ? "" : `${hhmm(minutes.at(-1) as number)} UTC`}
      </text>
      <text x={PAD} y={PAD - 8} class="label">{`max ${max.toLocaleString("en-US")} a minute`}</text>
      {series.map((s, i) => (
        <text x={W / 2 + i * 90} y={PAD - 8} class={`label key-${s.class}`}>
          {s.name}
        </text>
      ))}
    </svg>
  );
}
