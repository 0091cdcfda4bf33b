/**
 * A function's asynchronous invocations (its Invocations tab): counts by state, the list filtered by state
 * (newest first), one invocation's attempts and answer, and what to do with a dead letter: requeue it or
 * discard it.
 */
import { useState } from 'preact/hooks';
import { Api, type AsyncCounts, type AsyncInvocationSummary, type AsyncState } from '../api';
import { Button, ConfirmButton, Empty, ErrorText, Loading } from '../components/ui';
import { useAction, usePoll } from '../hooks';
import { formatTime, prettyBody } from '../util';

const STATES: AsyncState[] = ['queued', 'running', 'succeeded', 'failed', 'dead'];
const BADGE: Record<AsyncState, string> = {
  queued: 'idle',
  running: 'busy',
  succeeded: 'ok',
  failed: 'warn',
  dead: 'bad',
};

export function InvocationsPanel(props: { fn: string; active: boolean }) {
  const [state, setState] = useState<AsyncState | ''>('');
  const [open, setOpen] = useState<string>();
  const list = usePoll(
    (signal) => Api.invocations(props.fn, { ...(state ? { state } : {}), limit: 100 }, signal),
    props.active ? 1500 : 0,
    [props.fn, state, props.active],
  );
  const counts = list.data?.counts;
  return (
    <div data-testid="invocations-panel">
      <div class="log-toolbar">
        <Counts counts={counts} />
        <label class="small">
          Show{' '}
          <select
            value={state}
            data-testid="invocation-state-filter"
            onChange={(e) => setState((e.target as HTMLSelectElement).value as AsyncState | '')}
          >
            <option value="">all</option>
            {STATES.map((s) => (
              <option value={s} key={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
      </div>
      <p class="muted small">
        Queued with <code>X-Protium-Invoke-Mode: async</code> (or <code>protium invoke {props.fn} --async</code>):
        failures are retried with back-off; what finally failed stays here as a dead letter, to requeue or discard.
      </p>
      {!list.data ? (
        <Loading error={list.error} what="invocations" />
      ) : list.data.invocations.length === 0 ? (
        <Empty>No {state || 'asynchronous'} invocations.</Empty>
      ) : (
        <div class="table-wrap">
          <table class="table" data-testid="invocations-table">
            <thead>
              <tr>
                <th>Invocation</th>
                <th>State</th>
                <th class="num">Attempts</th>
                <th>Outcome</th>
                <th>Queued</th>
                <th class="actions-col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.data.invocations.map((x) => (
                <InvocationRow
                  key={x.id}
                  inv={x}
                  open={open === x.id}
                  onToggle={() => setOpen(open === x.id ? undefined : x.id)}
                  onChanged={() => void list.reload()}
                />
              ))}
            </tbody>
          </table>
          {list.data.total > list.data.invocations.length && (
            <p class="muted small">
              The newest {list.data.invocations.length} of {list.data.total}.
            </p>
          )}
        </div>
      )}
      {list.error !== undefined && list.data && <ErrorText error={list.error} prefix="Could not refresh" />}
    </div>
  );
}

function Counts(props: { counts: AsyncCounts | undefined }) {
  const c = props.counts;
  if (!c) return <span />;
  return (
    <span class="small" data-testid="invocation-counts">
      {STATES.map((s, i) => (
        <span key={s} data-testid={`count-${s}`} class={s === 'dead' && c.dead ? 'error-text' : undefined}>
          {i ? ' · ' : ''}
          {c[s]} {s}
        </span>
      ))}
    </span>
  );
}

function InvocationRow(props: {
  inv: AsyncInvocationSummary;
  open: boolean;
  onToggle: () => void;
  onChanged: () => void;
}) {
  const { inv } = props;
  const act = useAction();
  const outcome =
    inv.state === 'queued' && inv.nextAttemptAt
      ? `retry at ${formatTime(inv.nextAttemptAt)}${inv.status ? ` (last ${inv.status})` : ''}`
      : inv.status !== undefined
        ? String(inv.status)
        : (inv.error ?? '—');
  return (
    <>
      <tr data-testid={`invocation-${inv.id}`} data-state={inv.state}>
        <td data-label="Invocation">
          <button type="button" class="btn btn-link" onClick={props.onToggle} title="Attempts and answer">
            <code>{inv.id.slice(0, 8)}</code>
          </button>
        </td>
        <td data-label="State">
          <span class={`badge badge-${BADGE[inv.state]}`} data-testid="invocation-state">
            {inv.state}
          </span>
        </td>
        <td data-label="Attempts" class="num">
          {inv.attempts}
        </td>
        <td data-label="Outcome" class="small clamp" title={inv.error}>
          {outcome}
        </td>
        <td data-label="Queued" class="small">
          {formatTime(inv.createdAt)}
        </td>
        <td data-label="Actions" class="actions-col">
          <div class="row-actions">
            {(inv.state === 'dead' || inv.state === 'failed') && (
              <Button
                busy={act.busy}
                data-testid="requeue"
                onClick={() =>
                  void act.run(async () => {
                    await Api.retryInvocation(inv.id);
                    props.onChanged();
                  })
                }
              >
                Requeue
              </Button>
            )}
            {inv.state !== 'running' && (
              <ConfirmButton
                label="Discard"
                question={inv.state === 'queued' ? 'Cancel it?' : ''}
                testId="discard"
                busy={act.busy}
                onConfirm={() =>
                  void act.run(async () => {
                    await Api.discardInvocation(inv.id);
                    props.onChanged();
                  })
                }
              />
            )}
          </div>
          <ErrorText error={act.error} />
        </td>
      </tr>
      {props.open && (
        <tr>
          <td colSpan={6}>
            <InvocationDetails id={inv.id} />
          </td>
        </tr>
      )}
    </>
  );
}

function InvocationDetails(props: { id: string }) {
  const got = usePoll((signal) => Api.invocation(props.id, signal), 2000, [props.id]);
  const x = got.data;
  if (!x) return <Loading error={got.error} what="the invocation" />;
  return (
    <div class="small" data-testid="invocation-details">
      <div>
        <code>{x.id}</code>: {x.request.method} <code>{x.request.path}</code> ({x.request.bodyBytes} bytes),{' '}
        {x.attemptsLeft} of {x.maxAttempts} attempts left
      </div>
      <ol>
        {x.attemptHistory.map((a) => (
          <li key={a.attempt} value={a.attempt}>
            {formatTime(a.startedAt)}:{' '}
            {a.interrupted ? 'interrupted (the dashboard stopped)' : (a.status ?? a.error ?? 'running')}
          </li>
        ))}
      </ol>
      {x.callback && (
        <div>
          Callback <code>{x.callback.url}</code>: {x.callback.state}
          {x.callback.status ? ` (${x.callback.status})` : ''}
          {x.callback.error ? ` (${x.callback.error})` : ''}
        </div>
      )}
      {x.answer && (
        <>
          <div>
            Answer {x.answer.status}
            {x.answer.truncated ? ` (the first ${x.answer.bodyBytes} bytes)` : ''}
          </div>
          <pre class="error-pre" data-testid="invocation-answer">
            {x.answer.bodyEncoding === 'base64' ? `(base64) ${x.answer.body}` : prettyBody(x.answer.body)}
          </pre>
        </>
      )}
    </div>
  );
}
