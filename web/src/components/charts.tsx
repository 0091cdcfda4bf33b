/**
 * Charts of a function's last hour, drawn as SVG by hand: a line chart (several series, gaps where a
 * value is null, the values under the pointer) and a sparkline for tables. Drawing a few polylines needs
 * no chart library, and the bundle stays small.
 */
import { useState } from 'preact/hooks';

/** One series of a chart: a value per point (null: nothing to show there). */
export interface ChartLine {
  label: string;
  values: (number | null)[];
  /** A CSS color. */
  color: string;
}

// The viewBox is about the size charts are shown at, so that axis labels keep a readable size.
const W = 440;
const H = 130;
const LEFT = 40;
const RIGHT = 8;
const TOP = 8;
const BOTTOM = 20;

/** The smallest "nice" number (1, 2, 2.5, 5 × 10^k) at or above `v`; 1 for nothing. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** A number for an axis or a legend: short, without trailing zeros. */
export function formatValue(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000) return `${(v / 1000).toFixed(a >= 10_000 ? 0 : 1)}k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1).replace(/\.0$/, '');
  if (a >= 1) return v.toFixed(2).replace(/\.?0+$/, '');
  return v.toPrecision(2).replace(/\.?0+$/, '');
}

/** The SVG path of `values` scaled into the plot: a new subpath after each gap. */
function pathOf(values: (number | null)[], max: number): string {
  const n = values.length;
  const plotW = W - LEFT - RIGHT;
  const plotH = H - TOP - BOTTOM;
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) {
      pen = false;
      return;
    }
    const x = LEFT + (n > 1 ? (i / (n - 1)) * plotW : plotW / 2);
    const y = TOP + plotH - (Math.min(v, max) / max) * plotH;
    d += `${pen ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`;
    pen = true;
  });
  return d;
}

/** Minutes before now of each x-axis label, for a window of `points` × `step` seconds. */
function ticks(points: number, step: number): { at: number; label: string }[] {
  const minutes = (points * step) / 60;
  const every = minutes > 30 ? 15 : minutes > 10 ? 5 : 1;
  const out: { at: number; label: string }[] = [];
  for (let m = 0; m <= minutes; m += every) out.push({ at: 1 - m / minutes, label: m === 0 ? 'now' : `-${m}m` });
  return out;
}

export function LineChart(props: {
  title: string;
  /** Shown after values ("/s", " ms"). */
  unit: string;
  step: number;
  lines: ChartLine[];
  testId?: string;
}) {
  const { lines, unit } = props;
  const n = Math.max(0, ...lines.map((l) => l.values.length));
  const [hover, setHover] = useState<number | undefined>(undefined);
  let peak = 0;
  for (const l of lines) for (const v of l.values) if (v !== null && v > peak) peak = v;
  const max = niceMax(peak);
  const plotW = W - LEFT - RIGHT;
  const plotH = H - TOP - BOTTOM;
  const at = hover ?? n - 1;
  const onMove = (e: MouseEvent) => {
    const svg = e.currentTarget as SVGSVGElement;
    const box = svg.getBoundingClientRect();
    const x = ((e.clientX - box.left) / box.width) * W;
    const i = Math.round(((x - LEFT) / plotW) * (n - 1));
    setHover(i >= 0 && i < n ? i : undefined);
  };
  const secondsAgo = (n - 1 - at) * props.step;
  return (
    <figure class="chart" data-testid={props.testId}>
      <figcaption>
        <span class="chart-title">{props.title}</span>
        <span class="chart-legend">
          {lines.map((l) => {
            const v = l.values[at];
            return (
              <span key={l.label} class="chart-key">
                <i style={{ background: l.color }} />
                {l.label} <b>{v === null || v === undefined ? '—' : `${formatValue(v)}${unit}`}</b>
              </span>
            );
          })}
          <span class="muted small">{hover === undefined ? 'latest' : `${Math.round(secondsAgo / 60)} min ago`}</span>
        </span>
      </figcaption>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`${props.title}, last ${Math.round((n * props.step) / 60)} minutes`}
        onMouseMove={onMove}
        onMouseLeave={() => setHover(undefined)}
      >
        {[0, 0.5, 1].map((f) => {
          const y = TOP + plotH - f * plotH;
          return (
            <g key={f}>
              <line x1={LEFT} x2={W - RIGHT} y1={y} y2={y} class="chart-grid" />
              <text x={LEFT - 6} y={y + 4} class="chart-axis" text-anchor="end">
                {formatValue(max * f)}
              </text>
            </g>
          );
        })}
        {ticks(n, props.step).map((t) => (
          <text key={t.label} x={LEFT + t.at * plotW} y={H - 4} class="chart-axis" text-anchor="middle">
            {t.label}
          </text>
        ))}
        {lines.map((l) => (
          <path key={l.label} d={pathOf(l.values, max)} fill="none" stroke={l.color} stroke-width="1.6" />
        ))}
        {hover !== undefined && n > 1 && (
          <line
            x1={LEFT + (hover / (n - 1)) * plotW}
            x2={LEFT + (hover / (n - 1)) * plotW}
            y1={TOP}
            y2={TOP + plotH}
            class="chart-cursor"
          />
        )}
      </svg>
    </figure>
  );
}

/** A small line of `values` (oldest first) for a table cell, its last value beside it. */
export function Sparkline(props: { values: number[]; unit: string; title: string; testId?: string }) {
  const { values } = props;
  const w = 96;
  const h = 22;
  const max = Math.max(...values, 0) || 1;
  const points = values
    .map(
      (v, i) => `${((i / Math.max(1, values.length - 1)) * w).toFixed(1)},${(h - 1 - (v / max) * (h - 2)).toFixed(1)}`,
    )
    .join(' ');
  const last = values[values.length - 1] ?? 0;
  return (
    <span class="sparkline" title={props.title} data-testid={props.testId}>
      <svg viewBox={`0 0 ${w} ${h}`} width={w} height={h} aria-hidden="true">
        <polyline points={`0,${h} ${points} ${w},${h}`} class="sparkline-area" />
        <polyline points={points} class="sparkline-line" />
      </svg>
      <span class="small">
        {formatValue(last)}
        {props.unit}
      </span>
    </span>
  );
}
