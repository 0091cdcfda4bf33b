/**
 * A project: its functions (state, replicas, requests over the last hour, URL; create, scale, delete) and
 * its API gateways.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import {
  Api,
  ApiError,
  byName,
  inputError,
  PROJECT_LABEL,
  type AsyncCounts,
  type FunctionSpec,
  type FunctionTemplate,
  type NuclioFunction,
} from '../api';
import {
  Button,
  ConfirmButton,
  Empty,
  ErrorText,
  Field,
  Loading,
  StateBadge,
  Tabs,
  isTransient,
} from '../components/ui';
import { Sparkline } from '../components/charts';
import { useAction, usePoll } from '../hooks';
import { Link, navigate, paths } from '../router';
import { b64encode, fieldError, invocationUrl } from '../util';
import { GatewaysPanel } from './gateways';

export function ProjectPage(props: { project: string; tab: 'functions' | 'gateways' }) {
  const { project } = props;
  const info = usePoll(() => Api.project(project), 0, [project]);
  return (
    <section class="page" data-testid="project-page">
      <div class="page-head">
        <div class="crumbs">
          <Link href={paths.projects()}>Projects</Link> / <span>{project}</span>
        </div>
        <h1>{project}</h1>
        {info.data?.spec.description && <p class="muted">{info.data.spec.description}</p>}
        {info.error instanceof ApiError && info.error.status === 404 && (
          <ErrorText error={`Project ${project} does not exist (it may have been deleted).`} />
        )}
      </div>
      <Tabs
        label="Project sections"
        tabs={[
          { id: 'functions', label: 'Functions' },
          { id: 'gateways', label: 'API gateways' },
        ]}
        current={props.tab}
        onSelect={(id) => navigate(id === 'gateways' ? paths.gateways(project) : paths.functions(project))}
      />
      {props.tab === 'functions' ? <FunctionsPanel project={project} /> : <GatewaysPanel project={project} />}
    </section>
  );
}

interface Row {
  fn: NuclioFunction;
  replicas: number | undefined;
  /** Its asynchronous invocations by state (undefined: the counts could not be read). */
  async: AsyncCounts | undefined;
}

/** Requests per second of each function over the last hour, a point a minute (null: metrics are off). */
function useRequestRates(project: string): Record<string, number[]> | null | undefined {
  const m = usePoll(
    (signal) =>
      Api.projectMetrics(project, '1m', signal).then(
        (r) => Object.fromEntries(Object.entries(r.functions).map(([name, s]) => [name, s.requests])),
        (e: unknown) => {
          if (e instanceof ApiError && e.code === 'METRICS_OFF') return null;
          throw e;
        },
      ),
    10_000,
    [project],
  );
  return m.data;
}

function FunctionsPanel(props: { project: string }) {
  const { project } = props;
  const [fast, setFast] = useState(false);
  const list = usePoll(
    async (signal) => {
      const fns = byName(await Api.functions(project));
      const replicas = await Promise.all(
        fns.map((f) =>
          Api.replicas(f.metadata.name, signal).then(
            (r) => r.names?.length ?? 0,
            () => undefined,
          ),
        ),
      );
      const counts = await Api.invocationCounts(signal).catch(() => undefined);
      return fns.map((fn, i): Row => ({
        fn,
        replicas: replicas[i],
        async: counts ? (counts[fn.metadata.name] ?? NO_INVOCATIONS) : undefined,
      }));
    },
    fast ? 1000 : 3000,
    [project, fast],
  );
  // Poll faster while something is building or scaling.
  useEffect(() => {
    setFast(!!list.data?.some((r) => isTransient(r.fn.status.state)));
  }, [list.data]);
  const rates = useRequestRates(project);

  return (
    <div>
      <CreateFunction project={project} />
      {!list.data ? (
        <Loading error={list.error} what="functions" />
      ) : (
        <>
          {list.error !== undefined && <ErrorText error={list.error} prefix="Could not refresh" />}
          {list.data.length === 0 ? (
            <Empty>No functions in {project} yet: create one above, from scratch or from a template.</Empty>
          ) : (
            <div class="table-wrap">
              <table class="table" data-testid="functions-table">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Runtime</th>
                    <th>State</th>
                    <th class="num">Replicas</th>
                    {rates !== null && <th>Requests (1 h)</th>}
                    <th>Async</th>
                    <th>Invocation URL</th>
                    <th class="actions-col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {list.data.map((r) => (
                    <FunctionRow
                      key={r.fn.metadata.name}
                      project={project}
                      row={r}
                      rates={rates === null ? null : (rates?.[r.fn.metadata.name] ?? [])}
                      onChanged={() => void list.reload()}
                    />
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </div>
  );
}

const NO_INVOCATIONS: AsyncCounts = { queued: 0, running: 0, succeeded: 0, failed: 0, dead: 0 };

/** Queued (and running) and dead asynchronous invocations; the dead ones link to where they can be requeued. */
function AsyncCountsCell(props: { counts: AsyncCounts | undefined; href: string }) {
  const c = props.counts;
  if (!c) return <span class="muted">?</span>;
  if (!c.queued && !c.running && !c.dead) return <span class="muted">—</span>;
  return (
    <span class="small">
      <span data-testid="async-queued">{c.queued} queued</span>
      {c.running > 0 && <span class="muted"> · {c.running} running</span>}
      {c.dead > 0 && (
        <>
          {' · '}
          <Link href={props.href} class="error-text" title="Dead letters: open them to requeue or discard">
            <span data-testid="async-dead">{c.dead} dead</span>
          </Link>
        </>
      )}
    </span>
  );
}

function FunctionRow(props: { project: string; row: Row; rates: number[] | null; onChanged: () => void }) {
  const { fn, replicas } = props.row;
  const name = fn.metadata.name;
  const state = fn.status.state;
  const scale = useAction();
  const del = useAction();
  const url = invocationUrl(fn.status.externalInvocationUrls?.[0] ?? fn.status.internalInvocationUrls?.[0]);
  const usedByGateways = del.error instanceof ApiError && del.error.code === 'FUNCTION_USED_BY_API_GATEWAYS';
  const canScaleDown = state === 'ready' && (fn.spec.minReplicas ?? 0) === 0;
  const canWake = state === 'scaledToZero' || state === 'imported' || state === 'error' || state === 'unhealthy';
  const doDelete = (withGateways: boolean) =>
    void del.run(async () => {
      await Api.deleteFunction(name, withGateways);
      props.onChanged();
    });
  return (
    <tr data-testid={`function-row-${name}`}>
      <td data-label="Name">
        <Link href={paths.fn(props.project, name)} class="strong">
          {name}
        </Link>
        {fn.spec.description && <div class="muted small clamp">{fn.spec.description}</div>}
      </td>
      <td data-label="Runtime">
        <code>{fn.spec.runtime ?? '?'}</code>
      </td>
      <td data-label="State">
        <StateBadge state={state} />
        {(state === 'error' || state === 'unhealthy') && fn.status.message && (
          <div class="error-text small clamp" title={fn.status.message}>
            {fn.status.message}
          </div>
        )}
      </td>
      <td data-label="Replicas" class="num" data-testid="replica-count">
        {replicas ?? '?'}
        <span class="muted small"> / {fn.spec.maxReplicas ?? 1}</span>
      </td>
      {props.rates !== null && (
        <td data-label="Requests">
          <Link href={paths.fn(props.project, name, 'metrics')} title="Charts of the last hour">
            <Sparkline
              values={props.rates}
              unit="/s"
              title={`Requests per second over the last hour (peak ${Math.max(0, ...props.rates)}/s)`}
              testId={`sparkline-${name}`}
            />
          </Link>
        </td>
      )}
      <td data-label="Async" data-testid="async-counts">
        <AsyncCountsCell counts={props.row.async} href={paths.fn(props.project, name, 'invocations')} />
      </td>
      <td data-label="URL">
        {url ? (
          <a href={url} target="_blank" rel="noreferrer">
            <code>{url}</code>
          </a>
        ) : (
          <span class="muted">—</span>
        )}
      </td>
      <td data-label="Actions" class="actions-col">
        <div class="row-actions">
          {canWake ? (
            <Button
              busy={scale.busy}
              disabled={isTransient(state)}
              onClick={() =>
                void scale.run(async () => {
                  await Api.patchFunction(name, 'ready');
                  props.onChanged();
                })
              }
            >
              {state === 'scaledToZero' ? 'Wake up' : state === 'imported' ? 'Deploy' : 'Redeploy'}
            </Button>
          ) : (
            <Button
              busy={scale.busy}
              disabled={!canScaleDown}
              title={(fn.spec.minReplicas ?? 0) > 0 ? 'min replicas is above zero' : undefined}
              onClick={() =>
                void scale.run(async () => {
                  await Api.patchFunction(name, 'scaledToZero');
                  props.onChanged();
                })
              }
            >
              Scale to zero
            </Button>
          )}
          <ConfirmButton
            label="Delete"
            question={`Delete ${name}?`}
            busy={del.busy}
            onConfirm={() => doDelete(false)}
          />
        </div>
        <ErrorText error={scale.error} />
        {usedByGateways ? (
          <div class="error-text" role="alert">
            {(del.error as Error).message.split(' (send')[0]}.{' '}
            <ConfirmButton label="Delete with its gateways" question="" onConfirm={() => doDelete(true)} />
          </div>
        ) : (
          <ErrorText error={del.error} prefix="Delete failed" />
        )}
      </td>
    </tr>
  );
}

const STARTERS: Record<string, { handler: string; source: string }> = {
  python: {
    handler: 'main:handler',
    source: `def handler(context, event):
    body = event.body.decode() if isinstance(event.body, bytes) else str(event.body or '')
    context.logger.info_with('Invoked', body=body)
    return context.Response(body='Hello, %s' % (body or 'world'), content_type='text/plain', status_code=200)
`,
  },
  nodejs: {
    handler: 'main:handler',
    source: `exports.handler = function (context, event) {
  const body = event.body ? event.body.toString() : '';
  context.logger.infoWith('Invoked', { body });
  context.callback(\`Hello, \${body || 'world'}\`);
};
`,
  },
  shell: {
    handler: 'main.sh:main',
    source: `#!/bin/sh
# Whatever the script prints is the response; the request body arrives on standard input.
body=$(cat)
echo "Hello, \${body:-world}"
`,
  },
};

const RUNTIMES = [
  { id: 'python:3.9', label: 'Python 3', family: 'python' },
  { id: 'nodejs', label: 'Node.js', family: 'nodejs' },
  { id: 'shell', label: 'Shell', family: 'shell' },
];

const templateTitle = (t: FunctionTemplate) => {
  const [base, rt] = t.metadata.name.split(':');
  return `${base} (${rt ?? t.spec.runtime ?? '?'})`;
};

function CreateFunction(props: { project: string }) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [runtime, setRuntime] = useState('python:3.9');
  const [templateName, setTemplateName] = useState('');
  /** The name the last template choice filled in: replaced by the next choice, never a name the user typed. */
  const [autoName, setAutoName] = useState('');
  const templates = usePoll(() => Api.templates(), 0, [open]);
  const act = useAction();
  const list = useMemo(() => (templates.data ? byName(templates.data) : []), [templates.data]);
  const template = list.find((t) => t.metadata.name === templateName);

  if (!open) {
    return (
      <div class="toolbar">
        <Button variant="primary" onClick={() => setOpen(true)} data-testid="new-function">
          New function
        </Button>
      </div>
    );
  }

  const chooseTemplate = (value: string) => {
    setTemplateName(value);
    // "helloworld:python" → "helloworld", unless the user typed a name of their own.
    const suggested = value
      ? value
          .split(':')[0]
          .toLowerCase()
          .replace(/[^a-z0-9-]+/g, '-')
          .replace(/^-+|-+$/g, '')
      : '';
    if (!name.trim() || name === autoName) {
      setName(suggested);
      setAutoName(suggested);
      act.setError(undefined);
    }
  };

  const submit = (e: Event) => {
    e.preventDefault();
    void act.run(async () => {
      const n = name.trim();
      if (!n) throw inputError('Give the function a name.', 'metadata.name');
      let spec: FunctionSpec;
      if (template) {
        spec = JSON.parse(JSON.stringify(template.spec)) as FunctionSpec;
      } else {
        const family = RUNTIMES.find((r) => r.id === runtime)?.family ?? 'python';
        const starter = STARTERS[family];
        spec = { runtime, handler: starter.handler, build: { functionSourceCode: b64encode(starter.source) } };
      }
      await Api.createFunction({ metadata: { name: n, labels: { [PROJECT_LABEL]: props.project } }, spec });
      navigate(paths.fn(props.project, n));
    });
  };
  const known = ['metadata.name', 'spec.runtime'];
  return (
    <form class="card create-function" onSubmit={submit} data-testid="create-function">
      <h2>New function</h2>
      <div class="grid-3">
        <Field label="Name" error={fieldError(act.error, 'metadata.name')} hint="Letters, digits, '-', '_' and '.'.">
          <input
            name="function-name"
            value={name}
            onInput={(e) => {
              setName(e.currentTarget.value);
              act.setError(undefined);
            }}
            placeholder="hello"
            autocomplete="off"
          />
        </Field>
        <Field
          label="Start from"
          error={templates.error ? `Templates unavailable: ${(templates.error as Error).message}` : undefined}
        >
          <select name="template" value={templateName} onChange={(e) => chooseTemplate(e.currentTarget.value)}>
            <option value="">Scratch: a minimal handler</option>
            {list.map((t) => (
              <option key={t.metadata.name} value={t.metadata.name}>
                Template: {templateTitle(t)}
              </option>
            ))}
          </select>
        </Field>
        <Field
          label="Runtime"
          error={fieldError(act.error, 'spec.runtime')}
          hint={template ? 'Set by the template.' : undefined}
        >
          <select
            name="runtime"
            value={template ? template.spec.runtime : runtime}
            disabled={!!template}
            onChange={(e) => setRuntime(e.currentTarget.value)}
          >
            {template && !RUNTIMES.some((r) => r.id === template.spec.runtime) && (
              <option value={template.spec.runtime}>{template.spec.runtime}</option>
            )}
            {RUNTIMES.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label} ({r.id})
              </option>
            ))}
          </select>
        </Field>
      </div>
      {template?.spec.description && (
        <p class="muted template-description" data-testid="template-description">
          {template.spec.description}
        </p>
      )}
      <div class="actions">
        <Button type="submit" variant="primary" busy={act.busy}>
          Create and deploy
        </Button>
        <Button
          onClick={() => {
            setOpen(false);
            act.setError(undefined);
          }}
        >
          Cancel
        </Button>
        {!fieldError(act.error, ...known) && <ErrorText error={act.error} prefix="Could not create the function" />}
      </div>
    </form>
  );
}
