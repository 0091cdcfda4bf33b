/**
 * A function: the code editor, its configuration, Deploy (PUT, then the state and the build log as it
 * streams), the build log, the replicas' logs followed live, its charts, and the Test pane.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { isServing } from '../../../src/resources/function-state';
import { Api, ApiError, type NuclioFunction } from '../api';
import { CodeEditor } from '../components/editor';
import { LogLines, parseLine, streamStateLabel, useLogStream, type LogLine } from '../components/logs';
import { Button, ErrorText, Loading, Notice, Spinner, StateBadge, Tabs, isTransient } from '../components/ui';
import { useAction, useNow, usePoll } from '../hooks';
import { Link, navigate, paths } from '../router';
import { fieldError, formatMs, invocationUrl, isFieldOf, splitFirstLine } from '../util';
import { CONFIG_FIELDS, ConfigForm, draftOf, toSpec, type Draft } from './config';
import { MetricsPanel } from './metrics-panel';
import { InvocationsPanel } from './invocations';
import { TestPane } from './test-pane';

interface Deploy {
  /** When the PUT was sent. */
  startedAt: number;
  /** When the API accepted it (function GETs after this show the new deploy). */
  acceptedAt?: number;
  outcome?: { state: string; message?: string; ms: number };
  /** Counts deploys, to clear the build log. */
  n: number;
}

const TABS = [
  { id: 'code', label: 'Code' },
  { id: 'config', label: 'Configuration' },
  { id: 'build', label: 'Build log' },
  { id: 'logs', label: 'Logs' },
  { id: 'metrics', label: 'Metrics' },
  { id: 'invocations', label: 'Invocations' },
];

export function FunctionPage(props: { project: string; name: string; tab: string }) {
  const { project, name } = props;
  const tab = TABS.some((t) => t.id === props.tab) ? props.tab : 'code';
  const [deploy, setDeploy] = useState<Deploy>();
  const waiting = !!deploy && !deploy.outcome;
  const [fast, setFast] = useState(true);
  const loaded = usePoll(
    async (signal) => ({ fn: await Api.function(name, signal), at: Date.now() }),
    fast ? 700 : 3000,
    [name, fast],
  );
  const fn = loaded.data?.fn;
  const state = fn?.status.state;
  useEffect(() => setFast(waiting || isTransient(state)), [waiting, state]);

  // The draft: loaded from the function, kept while the user edits.
  const [draft, setDraft] = useState<Draft>();
  const [dirty, setDirty] = useState(false);
  const draftVersion = useRef<string | undefined>(undefined);
  useEffect(() => {
    if (!fn || dirty) return;
    if (draftVersion.current !== fn.metadata.resourceVersion || !draft) {
      draftVersion.current = fn.metadata.resourceVersion;
      setDraft(draftOf(fn));
    }
  }, [fn, dirty]);
  useEffect(() => {
    setDraft(undefined);
    setDirty(false);
    setDeploy(undefined);
    draftVersion.current = undefined;
  }, [name]);

  // A deploy ends when a GET made after the PUT was accepted shows a settled state.
  useEffect(() => {
    if (!deploy || deploy.outcome || !deploy.acceptedAt || !loaded.data || loaded.data.at < deploy.acceptedAt) return;
    const s = loaded.data.fn.status;
    if (!isTransient(s.state)) {
      setDeploy({
        ...deploy,
        outcome: { state: s.state ?? 'unknown', message: s.message, ms: Date.now() - deploy.startedAt },
      });
    }
  }, [loaded.data, deploy]);

  const act = useAction();
  const scale = useAction();
  const edit = (d: Draft) => {
    setDraft(d);
    setDirty(true);
    // A field error is about the value that was sent: editing answers it.
    if (isFieldOf(act.error, CONFIG_FIELDS)) act.setError(undefined);
  };
  const doDeploy = () => {
    if (!fn || !draft) return;
    void act.run(async () => {
      const startedAt = Date.now();
      setDeploy((d) => ({ startedAt, n: (d?.n ?? 0) + 1 }));
      try {
        const { resourceVersion: _rv, creationTimestamp: _ct, ...metadata } = fn.metadata;
        await Api.updateFunction({ metadata, spec: toSpec(fn.spec, draft) });
      } catch (e) {
        setDeploy(undefined);
        throw e;
      }
      setDirty(false);
      setDeploy((d) => (d ? { ...d, acceptedAt: Date.now() } : d));
      void loaded.reload();
    });
  };

  // Build log: follows nuclio-<ns>-<name>-build once a build has written it.
  const ns = fn?.metadata.namespace ?? 'nuclio';
  const buildReplica = `nuclio-${ns}-${name}-build`;
  const [buildingSince, setBuildingSince] = useState<number>();
  useEffect(() => {
    setBuildingSince(isTransient(state) ? (t) => t ?? Date.now() : undefined);
  }, [state]);
  const now = useNow(waiting || isTransient(state), 250);
  // The build log has no existence check: it is read when shown, while a build runs (past the moment
  // the controller creates it), and once after a deploy from this page.
  const buildRunning = buildingSince !== undefined && now - buildingSince > 600;
  const build = useLogStream(name, buildReplica, {
    enabled: !!fn && (tab === 'build' || buildRunning || !!deploy?.outcome),
    tailLines: 1000,
    resetKey: deploy?.n,
    reconnectKey: deploy?.outcome ? `done-${deploy.n}` : undefined,
    waitIfMissing: isTransient(state),
  });
  const buildLines: LogLine[] =
    build.lines.length || !fn?.status.logs?.length
      ? build.lines
      : fn.status.logs.map((r) => parseLine(JSON.stringify(r)));

  if (!fn) {
    const gone = loaded.error instanceof ApiError && loaded.error.status === 404;
    return (
      <section class="page">
        <Crumbs project={project} name={name} />
        {gone ? (
          <ErrorText error={`Function ${name} does not exist (it may have been deleted).`} />
        ) : (
          <Loading error={loaded.error} what={`function ${name}`} />
        )}
      </section>
    );
  }

  const url = invocationUrl(fn.status.externalInvocationUrls?.[0] ?? fn.status.internalInvocationUrls?.[0]);
  const deployKnown = [...CONFIG_FIELDS];
  const lastBuildLine = [...buildLines].reverse().find((l) => !l.marker);
  const canScaleDown = state === 'ready' && (fn.spec.minReplicas ?? 0) === 0;

  return (
    <section class="page function-page" data-testid="function-page">
      <Crumbs project={project} name={name} />
      <div class="fn-head">
        <div class="fn-title">
          <h1>{name}</h1>
          <StateBadge state={state} />
          <code class="muted">{fn.spec.runtime}</code>
          {url && (
            <a href={url} target="_blank" rel="noreferrer" class="small" data-testid="invocation-url">
              <code>{url}</code>
            </a>
          )}
        </div>
        <div class="fn-actions">
          {dirty && (
            <span class="muted small" data-testid="unsaved">
              Unsaved changes
            </span>
          )}
          <Button
            variant="primary"
            busy={act.busy || waiting}
            disabled={!draft || isTransient(state)}
            onClick={doDeploy}
            data-testid="deploy"
          >
            {waiting ? 'Deploying…' : 'Deploy'}
          </Button>
          {state === 'scaledToZero' || state === 'imported' ? (
            <Button
              busy={scale.busy}
              onClick={() =>
                void scale.run(async () => {
                  await Api.patchFunction(name, 'ready');
                  await loaded.reload();
                })
              }
            >
              {state === 'imported' ? 'Deploy imported' : 'Wake up'}
            </Button>
          ) : (
            <Button
              busy={scale.busy}
              disabled={!canScaleDown}
              onClick={() =>
                void scale.run(async () => {
                  await Api.patchFunction(name, 'scaledToZero');
                  await loaded.reload();
                })
              }
            >
              Scale to zero
            </Button>
          )}
        </div>
      </div>
      {!isFieldOf(act.error, deployKnown) && (
        <ErrorText error={act.error} prefix="Deploy refused" testId="deploy-error" />
      )}
      {isFieldOf(act.error, deployKnown) && (
        <ErrorText
          error={`${(act.error as Error).message} — see the highlighted field under Configuration.`}
          prefix="Deploy refused"
          testId="deploy-error"
        />
      )}
      <ErrorText error={scale.error} />
      {loaded.error !== undefined && <ErrorText error={loaded.error} prefix="Could not refresh the function" />}

      <DeployStatus
        fn={fn}
        deploy={deploy}
        now={now}
        lastLine={lastBuildLine}
        onShowLog={() => navigate(paths.fn(project, name, 'build'))}
        onDismiss={() => setDeploy(undefined)}
      />

      <div class="fn-layout">
        <div class="fn-main">
          <Tabs
            label="Function sections"
            tabs={TABS}
            current={tab}
            onSelect={(id) => navigate(paths.fn(project, name, id), true)}
          />
          <div class="tab-panel" hidden={tab !== 'code'}>
            {draft && (
              <CodeEditor
                value={draft.source}
                runtime={draft.runtime}
                onChange={(source) => edit({ ...draft, source })}
              />
            )}
            {fieldError(act.error, 'spec.build.functionSourceCode') && (
              <ErrorText error={fieldError(act.error, 'spec.build.functionSourceCode')} />
            )}
            <p class="muted small">
              Handler <code>{draft?.handler || '—'}</code>: edit, then Deploy. The source is sent inline (base64), as
              Nuclio clients do.
            </p>
          </div>
          <div class="tab-panel" hidden={tab !== 'config'}>
            {draft && <ConfigForm draft={draft} onChange={edit} error={act.error} />}
          </div>
          <div class="tab-panel" hidden={tab !== 'build'}>
            <div class="log-toolbar">
              <span class="muted small" data-testid="build-log-state">
                Build log ({streamStateLabel[build.state]})
              </span>
            </div>
            <ErrorText error={build.error} />
            <LogLines
              lines={buildLines}
              empty={
                build.state === 'missing'
                  ? 'No build log: the function has not been built on this dashboard yet (an imported function ' +
                    'runs its existing artifact).'
                  : 'Waiting for build output…'
              }
              testId="build-log"
              maxHeight="60vh"
            />
          </div>
          <div class="tab-panel" hidden={tab !== 'logs'}>
            <ReplicaLogs fn={fn} active={tab === 'logs'} />
          </div>
          {tab === 'metrics' && (
            <div class="tab-panel">
              <MetricsPanel name={name} />
            </div>
          )}
          <div class="tab-panel" hidden={tab !== 'invocations'}>
            {tab === 'invocations' && <InvocationsPanel fn={name} active />}
          </div>
        </div>
        <aside class="fn-side">
          <TestPane fn={name} project={project} ready={isServing(state)} state={state} />
        </aside>
      </div>
    </section>
  );
}

function Crumbs(props: { project: string; name: string }) {
  return (
    <div class="crumbs">
      <Link href={paths.projects()}>Projects</Link>
      {' / '}
      <Link href={paths.functions(props.project)}>{props.project}</Link>
      {' / '}
      <span>{props.name}</span>
    </div>
  );
}

const STEPS = [
  { id: 'accepted', label: 'Accepted' },
  { id: 'building', label: 'Building' },
  { id: 'starting', label: 'Starting replicas' },
  { id: 'done', label: 'Ready' },
];

function stepOf(state: string | undefined, accepted: boolean): number {
  if (!accepted) return 0;
  if (state === 'building' || state === 'waitingForBuild') return 1;
  if (
    state === 'waitingForResourceConfiguration' ||
    state === 'configuringResources' ||
    state === 'waitingForScaleResourceFromZero'
  )
    return 2;
  if (state === 'ready' || state === 'scaledToZero' || state === 'error' || state === 'unhealthy') return 3;
  return 1;
}

/**
 * A deploy error: its first line — the user's own error (exception, file, line), as the dashboard writes
 * it — on its own, then the details (the user's frames, a code frame) below.
 */
function ErrorMessage(props: { message: string | undefined }) {
  const [first, rest] = splitFirstLine(props.message);
  return (
    <>
      <p class="error-line" data-testid="error-line">
        {first || 'No message.'}
      </p>
      {rest && (
        <pre class="error-pre" data-testid="error-details">
          {rest}
        </pre>
      )}
    </>
  );
}

function DeployStatus(props: {
  fn: NuclioFunction;
  deploy: Deploy | undefined;
  now: number;
  lastLine: LogLine | undefined;
  onShowLog: () => void;
  onDismiss: () => void;
}) {
  const { fn, deploy } = props;
  const state = fn.status.state;
  const transient = isTransient(state);
  const lastMessage = useMemo(() => {
    const r = props.lastLine?.record;
    return r ? String(r.message ?? '') : props.lastLine?.raw;
  }, [props.lastLine]);

  if (deploy?.outcome) {
    const o = deploy.outcome;
    if (isServing(o.state)) {
      return (
        <Notice kind="ok" testId="deploy-result">
          Deployed in {formatMs(o.ms)}: the function is {o.state === 'ready' ? 'ready' : 'scaled to zero'}.{' '}
          <Button variant="link" onClick={props.onShowLog}>
            Build log
          </Button>
          <Button variant="link" onClick={props.onDismiss}>
            Dismiss
          </Button>
        </Notice>
      );
    }
    if (o.state === 'unhealthy') {
      // Deployed and running, but a trigger cannot reach its broker (it keeps retrying) or a replica restarts.
      return (
        <div class="deploy-failed" role="status" data-testid="deploy-result">
          <strong>Deployed in {formatMs(o.ms)}, but the function is not healthy.</strong>
          <ErrorMessage message={o.message} />
          <Button variant="link" onClick={props.onShowLog}>
            Build log
          </Button>
          <Button variant="link" onClick={props.onDismiss}>
            Dismiss
          </Button>
        </div>
      );
    }
    return (
      <div class="deploy-failed" role="alert" data-testid="deploy-result">
        <strong>
          Deploy failed after {formatMs(o.ms)} ({o.state}).
        </strong>
        <ErrorMessage message={o.message} />
        <Button variant="link" onClick={props.onShowLog}>
          See the build log
        </Button>
        <Button variant="link" onClick={props.onDismiss}>
          Dismiss
        </Button>
      </div>
    );
  }
  if (!deploy && !transient) {
    if (state === 'error') {
      return (
        <div class="deploy-failed" role="alert" data-testid="function-error">
          <strong>The function failed to deploy.</strong>
          <ErrorMessage message={fn.status.message} />
          <Button variant="link" onClick={props.onShowLog}>
            See the build log
          </Button>
        </div>
      );
    }
    if (state === 'unhealthy' && fn.status.message) {
      // A broker trigger that cannot reach its broker (it keeps retrying), or a replica restarting.
      return (
        <div class="deploy-failed" role="status" data-testid="function-unhealthy">
          <strong>The function runs, but is not healthy.</strong>
          <ErrorMessage message={fn.status.message} />
        </div>
      );
    }
    return null;
  }
  const step = stepOf(state, !deploy || !!deploy.acceptedAt);
  const since = deploy?.startedAt;
  return (
    <div class="deploy-progress" role="status" data-testid="deploy-progress">
      <div class="progress-bar">
        <div class="progress-bar-fill" />
      </div>
      <ol class="steps">
        {STEPS.map((s, i) => (
          <li key={s.id} class={i < step ? 'step-done' : i === step ? 'step-current' : ''}>
            {i === step && <Spinner />}
            {s.label}
          </li>
        ))}
      </ol>
      <div class="small">
        {since !== undefined && <span class="muted">{formatMs(props.now - since)} · </span>}
        <span class="muted">{state}</span>
        {lastMessage && (
          <>
            {' '}
            · <code class="last-line">{lastMessage}</code>
          </>
        )}{' '}
        <Button variant="link" onClick={props.onShowLog}>
          Build log
        </Button>
      </div>
    </div>
  );
}

/** The Logs tab: picks a replica (the first by default) and follows its log; follows the next one after a redeploy. */
function ReplicaLogs(props: { fn: NuclioFunction; active: boolean }) {
  const name = props.fn.metadata.name;
  const [started, setStarted] = useState(false);
  useEffect(() => {
    if (props.active) setStarted(true);
  }, [props.active]);
  const replicas = usePoll(
    async (signal) => (started ? ((await Api.replicas(name, signal)).names ?? []) : []),
    started ? 2000 : 0,
    [name, started],
  );
  const [chosen, setChosen] = useState<string>();
  const names = replicas.data ?? [];
  // Follow the chosen replica while it exists; else the first live one; else keep the last one's lines.
  const [followed, setFollowed] = useState<string>();
  useEffect(() => {
    if (chosen && names.includes(chosen)) setFollowed(chosen);
    else if (followed && names.includes(followed)) return;
    else if (names[0]) setFollowed(names[0]);
  }, [names.join(','), chosen]);
  const stream = useLogStream(name, followed, { enabled: started, tailLines: 300, waitIfMissing: true });
  const [filter, setFilter] = useState('');
  const [level, setLevel] = useState('debug');
  const order = ['debug', 'info', 'warn', 'error'];
  const shown = stream.lines.filter((l) => {
    if (l.marker) return true;
    const lv = String(l.record?.level ?? 'info')
      .toLowerCase()
      .replace('warning', 'warn');
    if (order.indexOf(lv) < order.indexOf(level)) return false;
    return !filter || l.raw.toLowerCase().includes(filter.toLowerCase());
  });
  return (
    <div data-testid="replica-logs">
      <div class="log-toolbar">
        <label class="inline-field">
          Replica
          <select name="replica" value={followed ?? ''} onChange={(e) => setChosen(e.currentTarget.value)}>
            {!followed && <option value="">{replicas.loading ? 'loading…' : 'none running'}</option>}
            {followed && !names.includes(followed) && <option value={followed}>{followed} (stopped)</option>}
            {names.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <label class="inline-field">
          Level
          <select name="level" value={level} onChange={(e) => setLevel(e.currentTarget.value)}>
            {order.map((o) => (
              <option key={o} value={o}>
                {o}+
              </option>
            ))}
          </select>
        </label>
        <input
          name="filter"
          class="filter"
          placeholder="Filter"
          value={filter}
          onInput={(e) => setFilter(e.currentTarget.value)}
          aria-label="Filter log lines"
        />
        <span class="muted small" data-testid="log-stream-state">
          {followed ? streamStateLabel[stream.state] : ''}
        </span>
        <Button variant="link" onClick={stream.clear}>
          Clear
        </Button>
      </div>
      <ErrorText error={replicas.error} prefix="Could not list replicas" />
      <ErrorText error={stream.error} />
      {names.length === 0 && !replicas.loading && (
        <Notice>
          No replica is running
          {props.fn.status.state === 'scaledToZero' ? ' (scaled to zero: the next request wakes one up)' : ''}. The log
          of the next replica appears here when it starts.
        </Notice>
      )}
      <LogLines
        lines={shown}
        empty={followed ? 'No log lines yet: invoke the function.' : 'No replica to follow.'}
        testId="replica-log"
        maxHeight="60vh"
      />
    </div>
  );
}
