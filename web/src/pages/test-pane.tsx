/**
 * The Test pane: an HTTP request to the function through /api/function_invocations (method, path,
 * headers, body), its answer (status, headers, body, time, the handler's logs from X-Nuclio-Logs), and
 * saved function events (create, update, delete through /api/function_events).
 */
import { useState } from 'preact/hooks';
import {
  Api,
  byName,
  FUNCTION_LABEL,
  inputError,
  invokeFunction,
  PROJECT_LABEL,
  type FunctionEvent,
  type Invocation,
} from '../api';
import { Button, ConfirmButton, ErrorText, Field, Notice } from '../components/ui';
import { useAction, usePoll } from '../hooks';
import {
  fieldError,
  formatMs,
  formatTime,
  headerLines,
  logExtras,
  parseHeaderLines,
  prettyBody,
  stateSentence,
} from '../util';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

interface Req {
  method: string;
  path: string;
  headers: string;
  body: string;
}
const EMPTY: Req = { method: 'POST', path: '/', headers: 'Content-Type: text/plain', body: '' };

function reqOf(ev: FunctionEvent): Req {
  const a = ev.spec.attributes ?? {};
  return {
    method: (a.method ?? 'POST').toUpperCase(),
    path: a.path ?? '/',
    headers: headerLines(a.headers),
    body: ev.spec.body ?? '',
  };
}

export function TestPane(props: { fn: string; project: string; ready: boolean; state: string | undefined }) {
  const { fn } = props;
  const events = usePoll(async () => byName(await Api.functionEvents(fn)), 0, [fn]);
  const [selected, setSelected] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [req, setReq] = useState<Req>(EMPTY);
  const [logLevel, setLogLevel] = useState('debug');
  const send = useAction();
  const save = useAction();
  const del = useAction();
  const [answer, setAnswer] = useState<Invocation>();
  const [saved, setSaved] = useState<string>();

  const current = events.data?.find((e) => e.metadata.name === selected);
  const choose = (name: string) => {
    setSelected(name);
    setSaved(undefined);
    save.setError(undefined);
    const ev = events.data?.find((e) => e.metadata.name === name);
    if (ev) {
      setReq(reqOf(ev));
      setDisplayName(ev.spec.displayName ?? ev.metadata.name);
    } else {
      setDisplayName('');
    }
  };

  const buildEvent = (): FunctionEvent['spec'] => {
    let headers: Record<string, string>;
    try {
      headers = parseHeaderLines(req.headers);
    } catch (e) {
      throw inputError((e as Error).message, 'spec.attributes.headers');
    }
    if (!displayName.trim()) throw inputError('Name the event to save it.', 'spec.displayName');
    return {
      displayName: displayName.trim(),
      triggerKind: 'http',
      body: req.body,
      attributes: { method: req.method, path: req.path || '/', headers },
    };
  };

  const onSend = (e: Event) => {
    e.preventDefault();
    void send.run(async () => {
      let headers: Record<string, string>;
      try {
        headers = parseHeaderLines(req.headers);
      } catch (err) {
        throw inputError((err as Error).message, 'headers');
      }
      if ((req.method === 'GET' || req.method === 'HEAD') && req.body) {
        throw inputError(
          `A ${req.method} request cannot carry a body in a browser: clear the body or use POST.`,
          'body',
        );
      }
      setAnswer(await invokeFunction(fn, { method: req.method, path: req.path, headers, body: req.body, logLevel }));
    });
  };

  const onSaveNew = () =>
    void save.run(async () => {
      const spec = buildEvent();
      const ev = await Api.createFunctionEvent({
        metadata: { labels: { [FUNCTION_LABEL]: fn, [PROJECT_LABEL]: props.project } },
        spec,
      });
      await events.reload();
      setSelected(ev.metadata.name);
      setSaved(`Saved "${spec.displayName}".`);
    });
  const onUpdate = () =>
    void save.run(async () => {
      if (!current) return;
      const spec = { ...current.spec, ...buildEvent() };
      await Api.updateFunctionEvent({
        metadata: { name: current.metadata.name, labels: current.metadata.labels },
        spec,
      });
      await events.reload();
      setSaved(`Updated "${spec.displayName}".`);
    });
  const onDelete = () =>
    void del.run(async () => {
      if (!current) return;
      await Api.deleteFunctionEvent(current.metadata.name);
      setSelected('');
      setDisplayName('');
      await events.reload();
    });

  const saveKnown = ['spec.displayName', 'spec.attributes.headers'];
  return (
    <section class="card test-pane" data-testid="test-pane" aria-label="Test the function">
      <h2>Test</h2>
      <div class="event-picker">
        <Field
          label="Saved function events"
          error={events.error ? `Could not load events: ${(events.error as Error).message}` : undefined}
        >
          <select name="saved-event" value={selected} onChange={(e) => choose(e.currentTarget.value)}>
            <option value="">— a new request —</option>
            {(events.data ?? []).map((ev) => (
              <option key={ev.metadata.name} value={ev.metadata.name}>
                {ev.spec.displayName || ev.metadata.name}
              </option>
            ))}
          </select>
        </Field>
      </div>
      <form onSubmit={onSend}>
        <div class="request-line">
          <select
            name="method"
            aria-label="Method"
            value={req.method}
            onChange={(e) => setReq({ ...req, method: e.currentTarget.value })}
          >
            {METHODS.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
          <input
            name="path"
            aria-label="Path"
            value={req.path}
            onInput={(e) => setReq({ ...req, path: e.currentTarget.value })}
            placeholder="/"
            autocomplete="off"
          />
        </div>
        <Field
          label="Headers (one per line: Name: value)"
          error={fieldError(send.error, 'headers') ?? fieldError(save.error, 'spec.attributes.headers')}
        >
          <textarea
            name="headers"
            rows={2}
            value={req.headers}
            onInput={(e) => setReq({ ...req, headers: e.currentTarget.value })}
            spellcheck={false}
          />
        </Field>
        <Field label="Body" error={fieldError(send.error, 'body')}>
          <textarea
            name="body"
            rows={4}
            value={req.body}
            onInput={(e) => setReq({ ...req, body: e.currentTarget.value })}
            spellcheck={false}
          />
        </Field>
        <div class="actions">
          <Button type="submit" variant="primary" busy={send.busy} data-testid="send">
            Send
          </Button>
          <label class="inline-field">
            Logs
            <select
              name="log-level"
              value={logLevel}
              onChange={(e) => setLogLevel(e.currentTarget.value)}
              aria-label="Log level of the returned logs"
            >
              <option value="debug">debug</option>
              <option value="info">info</option>
              <option value="warn">warn</option>
              <option value="error">error</option>
            </select>
          </label>
          {!props.ready && (
            <span class="muted small" data-testid="state-sentence">
              {stateSentence(props.state)}
            </span>
          )}
        </div>
        {!fieldError(send.error, 'headers', 'body') && (
          <ErrorText error={send.error} prefix="Request failed" testId="send-error" />
        )}
      </form>

      <div class="save-event">
        <Field label="Event name" error={fieldError(save.error, 'spec.displayName')}>
          <input
            name="event-name"
            value={displayName}
            onInput={(e) => setDisplayName(e.currentTarget.value)}
            placeholder="e.g. greeting"
            autocomplete="off"
          />
        </Field>
        <div class="actions">
          <Button onClick={onSaveNew} busy={save.busy && !current} data-testid="save-event">
            Save as new event
          </Button>
          {current && (
            <Button onClick={onUpdate} busy={save.busy}>
              Update event
            </Button>
          )}
          {current && <ConfirmButton label="Delete event" busy={del.busy} onConfirm={onDelete} />}
        </div>
        {!fieldError(save.error, ...saveKnown) && <ErrorText error={save.error} prefix="Could not save the event" />}
        <ErrorText error={del.error} prefix="Could not delete the event" />
        {saved && !save.error && <Notice kind="ok">{saved}</Notice>}
      </div>

      {answer && <Answer a={answer} />}
    </section>
  );
}

function Answer(props: { a: Invocation }) {
  const { a } = props;
  const [showHeaders, setShowHeaders] = useState(false);
  const cls = a.status < 300 ? 'ok' : a.status < 500 ? 'warn' : 'bad';
  return (
    <div class="answer" data-testid="response">
      <div class="answer-head">
        <span class={`badge badge-${cls}`} data-testid="response-status">
          {a.status} {a.statusText}
        </span>
        <span class="muted" data-testid="response-time">
          {formatMs(a.timeMs)}
        </span>
        <span class="muted small">{a.contentType}</span>
        <Button variant="link" onClick={() => setShowHeaders(!showHeaders)}>
          {showHeaders ? 'Hide' : 'Show'} headers ({a.headers.length})
        </Button>
      </div>
      <pre class="answer-body" data-testid="response-body">
        {a.body === '' ? <span class="muted">(empty body)</span> : prettyBody(a.body)}
      </pre>
      {a.logs.length > 0 && (
        <div class="answer-logs" data-testid="response-logs">
          <h3>Handler logs</h3>
          {a.logs.map((r, i) => (
            <div key={i} class={`log-line lv-${String(r.level ?? 'info').toLowerCase()}`}>
              <span class="log-time">{formatTime(r.time)}</span>
              <span class="log-level">{String(r.level ?? '')}</span>
              <span class="log-msg">{String(r.message ?? '')}</span>
              {logExtras(r) && <span class="log-extra">{logExtras(r)}</span>}
            </div>
          ))}
        </div>
      )}
      {showHeaders && (
        <table class="kv" data-testid="response-headers">
          <tbody>
            {a.headers.map(([k, v]) => (
              <tr key={k}>
                <th>{k}</th>
                <td>{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
