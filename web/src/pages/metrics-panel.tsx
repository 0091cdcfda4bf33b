/**
 * A function's charts: requests per second, handler latency (p50, p95, p99), errors per second and ready
 * replicas over the last hour, from the ring the dashboard keeps per function (refreshed every ten
 * seconds, as the ring closes a bucket).
 */
import { useState } from 'preact/hooks';
import { ApiError, Api } from '../api';
import { LineChart } from '../components/charts';
import { ErrorText, Loading, Notice } from '../components/ui';
import { usePoll } from '../hooks';

const REFRESH_MS = 10_000;
const WINDOWS = [
  { id: '5m', label: '5 min' },
  { id: '15m', label: '15 min' },
  { id: '1h', label: '1 hour' },
];

export function MetricsPanel(props: { name: string }) {
  const [span, setSpan] = useState('1h');
  const m = usePoll((signal) => Api.functionMetrics(props.name, '10s', span, signal), REFRESH_MS, [props.name, span]);
  if (m.error instanceof ApiError && m.error.code === 'METRICS_OFF')
    return (
      <Notice kind="info">
        This dashboard runs with --metrics off: it counts nothing, so there is nothing to chart.
      </Notice>
    );
  const s = m.data;
  if (!s) return <Loading error={m.error} what="metrics" />;
  const idle = s.requests.every((r) => r === 0);
  return (
    <div data-testid="metrics-panel">
      {m.error !== undefined && <ErrorText error={m.error} prefix="Could not refresh" />}
      <div class="log-toolbar">
        <span class="muted small">
          A point every {s.step} s{idle ? ': no events in this window — invoke the function and watch.' : '.'}
        </span>
        <span class="row-actions" role="group" aria-label="Window">
          {WINDOWS.map((w) => (
            <button
              key={w.id}
              type="button"
              class={`btn ${w.id === span ? 'btn-primary' : ''}`}
              aria-pressed={w.id === span}
              onClick={() => setSpan(w.id)}
            >
              {w.label}
            </button>
          ))}
        </span>
      </div>
      <div class="charts">
        <LineChart
          title="Requests"
          unit="/s"
          step={s.step}
          testId="chart-requests"
          lines={[{ label: 'handled', values: s.requests, color: '#2563eb' }]}
        />
        <LineChart
          title="Latency (handler)"
          unit=" ms"
          step={s.step}
          testId="chart-latency"
          lines={[
            { label: 'p50', values: s.p50, color: '#15803d' },
            { label: 'p95', values: s.p95, color: '#a16207' },
            { label: 'p99', values: s.p99, color: '#b91c1c' },
          ]}
        />
        <LineChart
          title="Errors"
          unit="/s"
          step={s.step}
          testId="chart-errors"
          lines={[{ label: 'failed', values: s.errors, color: '#b91c1c' }]}
        />
        <LineChart
          title="Replicas"
          unit=""
          step={s.step}
          testId="chart-replicas"
          lines={[{ label: 'ready', values: s.replicas, color: '#7c3aed' }]}
        />
      </div>
    </div>
  );
}
