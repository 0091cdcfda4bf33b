/** Projects: list, create, delete (the API refuses while functions exist), export and import bundles. */
import { useRef, useState } from 'preact/hooks';
import { Api, ApiError, byName, inputError, PROJECT_LABEL, type ImportResult, type Project } from '../api';
import { Button, ConfirmButton, Empty, ErrorText, Field, Loading, Notice } from '../components/ui';
import { useAction, usePoll } from '../hooks';
import { Link, navigate, paths } from '../router';
import { download, fieldError } from '../util';

export function ProjectsPage() {
  const projects = usePoll(
    async () => {
      const [ps, fns] = await Promise.all([Api.projects(), Api.functions()]);
      const counts: Record<string, number> = {};
      for (const f of byName(fns)) {
        const p = f.metadata.labels?.[PROJECT_LABEL] ?? 'default';
        counts[p] = (counts[p] ?? 0) + 1;
      }
      return { list: byName(ps), counts };
    },
    5000,
    [],
  );

  return (
    <section class="page" data-testid="projects-page">
      <div class="page-head">
        <h1>Projects</h1>
        <p class="muted">A project groups functions, their saved test events and the API gateways in front of them.</p>
      </div>
      <div class="grid-2">
        <CreateProject onCreated={(name) => navigate(paths.functions(name))} />
        <ImportProject onImported={() => void projects.reload()} />
      </div>
      {!projects.data ? (
        <Loading error={projects.error} what="projects" />
      ) : (
        <>
          {projects.error !== undefined && <ErrorText error={projects.error} prefix="Could not refresh" />}
          {projects.data.list.length === 0 ? (
            <Empty>No projects yet: create one above.</Empty>
          ) : (
            <div class="table-wrap">
              <table class="table" data-testid="projects-table">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Description</th>
                    <th class="num">Functions</th>
                    <th class="actions-col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {projects.data.list.map((p) => (
                    <ProjectRow
                      key={p.metadata.name}
                      project={p}
                      functions={projects.data!.counts[p.metadata.name] ?? 0}
                      onDeleted={() => void projects.reload()}
                    />
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </section>
  );
}

function ProjectRow(props: { project: Project; functions: number; onDeleted: () => void }) {
  const name = props.project.metadata.name;
  const del = useAction();
  const exp = useAction();
  const notEmpty = del.error instanceof ApiError && del.error.code === 'PROJECT_NOT_EMPTY';
  return (
    <tr data-testid={`project-row-${name}`}>
      <td data-label="Name">
        <Link href={paths.functions(name)} class="strong">
          {name}
        </Link>
      </td>
      <td data-label="Description" class="muted">
        {props.project.spec.description || '—'}
      </td>
      <td data-label="Functions" class="num">
        {props.functions}
      </td>
      <td data-label="Actions" class="actions-col">
        <div class="row-actions">
          <Button
            busy={exp.busy}
            onClick={() =>
              void exp.run(async () => {
                const bundle = await Api.exportProject(name);
                download(`${name}.project.json`, `${JSON.stringify(bundle, null, 2)}\n`);
              })
            }
          >
            Export
          </Button>
          <ConfirmButton
            label="Delete"
            question={`Delete project ${name}?`}
            busy={del.busy}
            onConfirm={() =>
              void del.run(async () => {
                await Api.deleteProject(name);
                props.onDeleted();
              })
            }
          />
        </div>
        {/* Not empty: say so and offer the cascading delete (the API's own message asks for a header). */}
        <ErrorText
          error={notEmpty ? `project ${name} is not empty` : del.error}
          prefix="Delete refused"
          testId={`project-delete-error-${name}`}
        />
        {notEmpty && (
          <CascadeDelete
            project={name}
            onDeleted={() => {
              del.setError(undefined);
              props.onDeleted();
            }}
          />
        )}
        <ErrorText error={exp.error} prefix="Export failed" />
      </td>
    </tr>
  );
}

/** "a, b and c" */
const listOf = (names: string[]) =>
  names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * A project that still has functions or gateways: says what it holds and offers to delete it all
 * (Nuclio's cascading delete), asking once with everything that goes named.
 */
function CascadeDelete(props: { project: string; onDeleted: () => void }) {
  const contents = usePoll(
    async () => {
      const [fns, gws] = await Promise.all([Api.functions(props.project), Api.gateways(props.project)]);
      const functions = byName(fns).map((f) => f.metadata.name);
      const events = await Promise.all(
        functions.map((f) =>
          Api.functionEvents(f).then(
            (e) => Object.keys(e).length,
            () => 0,
          ),
        ),
      );
      return {
        functions,
        gateways: byName(gws).map((g) => g.metadata.name),
        events: events.reduce((a, b) => a + b, 0),
      };
    },
    0,
    [props.project],
  );
  const del = useAction();
  const c = contents.data;
  if (!c) return <Loading error={contents.error} what={`the contents of ${props.project}`} />;
  const parts = [
    c.functions.length ? `${count(c.functions.length, 'function', 'functions')} (${listOf(c.functions)})` : '',
    c.events ? count(c.events, 'function event', 'function events') : '',
    c.gateways.length ? `${count(c.gateways.length, 'API gateway', 'API gateways')} (${listOf(c.gateways)})` : '',
  ].filter(Boolean);
  const what = parts.length ? listOf(parts) : 'nothing else any more';
  return (
    <div class="cascade" data-testid={`project-cascade-${props.project}`}>
      <span class="small">
        {props.project} still holds {what}.
      </span>{' '}
      <ConfirmButton
        label="Delete with its contents"
        question={`Delete project ${props.project} and ${what}? This cannot be undone.`}
        confirmLabel="Yes, delete all"
        busy={del.busy}
        onConfirm={() =>
          void del.run(async () => {
            await Api.deleteProject(props.project, true);
            props.onDeleted();
          })
        }
      />
      <ErrorText error={del.error} prefix="Delete failed" />
    </div>
  );
}

function CreateProject(props: { onCreated: (name: string) => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const act = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void act.run(async () => {
      if (!name.trim()) throw inputError('Give the project a name (lowercase letters, digits and -).', 'metadata.name');
      await Api.createProject(name.trim(), description);
      props.onCreated(name.trim());
    });
  };
  const nameError = fieldError(act.error, 'metadata.name');
  return (
    <form class="card" onSubmit={submit} data-testid="create-project">
      <h2>New project</h2>
      <Field label="Name" error={nameError} hint="Lowercase letters, digits and '-' (a DNS label).">
        <input
          name="project-name"
          value={name}
          onInput={(e) => {
            setName(e.currentTarget.value);
            act.setError(undefined);
          }}
          placeholder="my-project"
          autocomplete="off"
        />
      </Field>
      <Field label="Description" error={fieldError(act.error, 'spec')}>
        <input
          name="project-description"
          value={description}
          onInput={(e) => setDescription(e.currentTarget.value)}
          placeholder="What it is for"
        />
      </Field>
      <div class="actions">
        <Button type="submit" variant="primary" busy={act.busy}>
          Create project
        </Button>
        {!nameError && !fieldError(act.error, 'spec') && <ErrorText error={act.error} />}
      </div>
    </form>
  );
}

function ImportProject(props: { onImported: () => void }) {
  const file = useRef<HTMLInputElement>(null);
  const act = useAction();
  const [result, setResult] = useState<{ project: string; r: ImportResult }>();
  const onFile = () => {
    const f = file.current?.files?.[0];
    if (!f) return;
    setResult(undefined);
    void act
      .run(async () => {
        let bundle: { project?: { metadata?: { name?: string } } };
        try {
          bundle = JSON.parse(await f.text()) as typeof bundle;
        } catch (e) {
          throw inputError(`${f.name} is not JSON: ${(e as Error).message}`);
        }
        if (!bundle || typeof bundle !== 'object' || !bundle.project) {
          throw inputError(`${f.name} is not a project export (it has no "project" field)`);
        }
        const r = await Api.importProject(bundle);
        setResult({ project: bundle.project.metadata?.name ?? '?', r });
        props.onImported();
      })
      .finally(() => {
        if (file.current) file.current.value = '';
      });
  };
  return (
    <div class="card" data-testid="import-project">
      <h2>Import a project</h2>
      <p class="muted">A file from Export: the project with its functions, function events and API gateways.</p>
      <div class="actions">
        <label class={`btn btn-plain file-btn ${act.busy ? 'disabled' : ''}`}>
          {act.busy ? 'Importing…' : 'Choose a file…'}
          <input
            ref={file}
            type="file"
            accept="application/json,.json"
            onChange={onFile}
            disabled={act.busy}
            name="import-file"
          />
        </label>
      </div>
      <ErrorText error={act.error} prefix="Import failed" />
      {result && <ImportSummary project={result.project} r={result.r} />}
    </div>
  );
}

function ImportSummary(props: { project: string; r: ImportResult }) {
  const { r } = props;
  const fails = [
    ...(r.functionImportResult?.failedFunctions ?? []).map((f) => `function ${f.function}: ${f.error}`),
    ...(r.functionEventImportResult?.failedFunctionEvents ?? []).map(
      (f) => `function event ${f.functionEvent}: ${f.error}`,
    ),
    ...(r.apiGatewayImportResult?.failedAPIGateways ?? []).map((f) => `API gateway ${f.apiGateway}: ${f.error}`),
  ];
  return (
    <Notice kind={fails.length ? 'warn' : 'ok'} testId="import-result">
      Imported <Link href={paths.functions(props.project)}>{props.project}</Link>:{' '}
      {r.functionImportResult?.createdAmount ?? 0} functions, {r.functionEventImportResult?.createdAmount ?? 0} function
      events, {r.apiGatewayImportResult?.createdAmount ?? 0} API gateways.
      {fails.length > 0 && (
        <ul class="error-list">
          {fails.map((f) => (
            <li key={f}>{f}</li>
          ))}
        </ul>
      )}
    </Notice>
  );
}
