/**
 * API gateways of a project: list with state, create/edit (host, path, upstreams with a canary
 * percentage, authentication), delete. Creation answers 202; the state then turns ready or error.
 */
import { useEffect, useState } from 'preact/hooks';
import { Api, byName, inputError, PROJECT_LABEL, type ApiGateway, type Upstream } from '../api';
import { Button, ConfirmButton, Empty, ErrorText, Field, Loading, StateBadge } from '../components/ui';
import { useAction, usePoll } from '../hooks';
import { Link, paths } from '../router';
import { fieldError, gatewayCurl, isFieldOf } from '../util';

export function GatewaysPanel(props: { project: string }) {
  const { project } = props;
  const [editing, setEditing] = useState<ApiGateway | 'new' | undefined>();
  const [fast, setFast] = useState(false);
  const list = usePoll(async () => byName(await Api.gateways(project)), fast ? 1000 : 3000, [project, fast]);
  const fns = usePoll(async () => byName(await Api.functions(project)).map((f) => f.metadata.name), 5000, [project]);
  // Where the dashboard serves gateways (its gateway listener), for the address and the curl lines below.
  const spec = usePoll(() => Api.frontendSpec(), 0, []);
  const listenUrl = spec.data?.apiGatewayListenUrl;
  useEffect(() => {
    setFast(!!list.data?.some((g) => g.status?.state !== 'ready' && g.status?.state !== 'error'));
  }, [list.data]);

  return (
    <div>
      {editing ? (
        <GatewayForm
          project={project}
          functions={fns.data ?? []}
          existing={editing === 'new' ? undefined : editing}
          onDone={() => {
            setEditing(undefined);
            void list.reload();
          }}
          onCancel={() => setEditing(undefined)}
        />
      ) : (
        <div class="toolbar">
          <Button variant="primary" onClick={() => setEditing('new')} data-testid="new-gateway">
            New API gateway
          </Button>
          <span class="muted small" data-testid="gateway-listener">
            Gateways are served at {listenUrl ? <code>{listenUrl}</code> : "the dashboard's gateway listener"} (
            <code>--gateway-listen-addr</code>): a request reaches a gateway when its <code>Host</code> header is the
            gateway's host and its path starts with the gateway's path.
          </span>
        </div>
      )}
      {!list.data ? (
        <Loading error={list.error} what="API gateways" />
      ) : (
        <>
          {list.error !== undefined && <ErrorText error={list.error} prefix="Could not refresh" />}
          {list.data.length === 0 ? (
            <Empty>
              No API gateways in {project}. A gateway exposes functions on a host and path, with optional authentication
              and a canary split.
            </Empty>
          ) : (
            <div class="table-wrap">
              <table class="table" data-testid="gateways-table">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Host and path</th>
                    <th>Upstreams</th>
                    <th>Authentication</th>
                    <th>State</th>
                    <th class="actions-col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {list.data.map((g) => (
                    <GatewayRow
                      key={g.metadata.name}
                      project={project}
                      gw={g}
                      listenUrl={listenUrl}
                      onEdit={() => setEditing(g)}
                      onDeleted={() => void list.reload()}
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

function upstreamText(u: Upstream, i: number, all: Upstream[]): string {
  const name = u.nucliofunction?.name ?? '?';
  if (all.length < 2) return name;
  const pct = i === 0 ? 100 - (all[1]?.percentage ?? 0) : (u.percentage ?? 0);
  return `${name} ${pct}%`;
}

function GatewayRow(props: {
  project: string;
  gw: ApiGateway;
  listenUrl?: string;
  onEdit: () => void;
  onDeleted: () => void;
}) {
  const { gw } = props;
  const name = gw.metadata.name;
  const del = useAction();
  const ups = gw.spec.upstreams ?? [];
  return (
    <tr data-testid={`gateway-row-${name}`}>
      <td data-label="Name">
        <span class="strong">{name}</span>
        {gw.spec.description && <div class="muted small">{gw.spec.description}</div>}
      </td>
      <td data-label="Host and path">
        <code>
          {gw.spec.host}
          {gw.spec.path && gw.spec.path !== '/'
            ? gw.spec.path.startsWith('/')
              ? gw.spec.path
              : `/${gw.spec.path}`
            : '/'}
        </code>
        {props.listenUrl && (
          <div class="muted small" data-testid="gateway-curl">
            Call it:{' '}
            <code class="copyable">
              {gatewayCurl(props.listenUrl, { ...gw.spec, username: gw.spec.authentication?.basicAuth?.username })}
            </code>
          </div>
        )}
      </td>
      <td data-label="Upstreams">
        {ups.map((u, i) => (
          <div key={i}>
            <Link href={paths.fn(props.project, u.nucliofunction?.name ?? '')}>{upstreamText(u, i, ups)}</Link>
            {i === 1 && <span class="muted small"> (canary)</span>}
          </div>
        ))}
      </td>
      <td data-label="Authentication">{gw.spec.authenticationMode || 'none'}</td>
      <td data-label="State">
        <StateBadge state={gw.status?.state || 'waitingForProvisioning'} />
        {gw.status?.state === 'error' && gw.status.last_error && (
          <div class="error-text small">{gw.status.last_error}</div>
        )}
      </td>
      <td data-label="Actions" class="actions-col">
        <div class="row-actions">
          <Button onClick={props.onEdit}>Edit</Button>
          <ConfirmButton
            label="Delete"
            question={`Delete gateway ${name}?`}
            busy={del.busy}
            onConfirm={() =>
              void del.run(async () => {
                await Api.deleteGateway(name);
                props.onDeleted();
              })
            }
          />
        </div>
        <ErrorText error={del.error} prefix="Delete failed" />
      </td>
    </tr>
  );
}

function GatewayForm(props: {
  project: string;
  functions: string[];
  existing?: ApiGateway;
  onDone: () => void;
  onCancel: () => void;
}) {
  const ex = props.existing;
  const ups = ex?.spec.upstreams ?? [];
  const [name, setName] = useState(ex?.metadata.name ?? '');
  const [description, setDescription] = useState(ex?.spec.description ?? '');
  const [host, setHost] = useState(ex?.spec.host ?? '');
  const [path, setPath] = useState(ex?.spec.path ?? '/');
  const [mode, setMode] = useState(
    ex?.spec.authenticationMode === 'basic' ? 'basicAuth' : ex?.spec.authenticationMode || 'none',
  );
  const [username, setUsername] = useState(ex?.spec.authentication?.basicAuth?.username ?? '');
  const [password, setPassword] = useState(ex?.spec.authentication?.basicAuth?.password ?? '');
  const [primary, setPrimary] = useState(ups[0]?.nucliofunction?.name ?? props.functions[0] ?? '');
  const [canary, setCanary] = useState(ups[1]?.nucliofunction?.name ?? '');
  const [percentage, setPercentage] = useState(String(ups[1]?.percentage ?? 10));
  const act = useAction();
  const [progress, setProgress] = useState<string>();

  useEffect(() => {
    if (!primary && props.functions[0]) setPrimary(props.functions[0]);
  }, [props.functions, primary]);

  const submit = (e: Event) => {
    e.preventDefault();
    setProgress(undefined);
    void act
      .run(async () => {
        if (!name.trim()) throw inputError('Give the gateway a name.', 'metadata.name');
        if (!primary) throw inputError('Choose the function the gateway sends requests to.', 'spec.upstreams[0]');
        const upstreams: Upstream[] = [{ kind: 'nucliofunction', nucliofunction: { name: primary } }];
        if (canary) {
          const pct = Number(percentage);
          if (!Number.isInteger(pct) || pct < 0 || pct > 100)
            throw inputError('The canary percentage is a whole number from 0 to 100.', 'spec.upstreams[1].percentage');
          upstreams.push({ kind: 'nucliofunction', nucliofunction: { name: canary }, percentage: pct });
        }
        const gw: ApiGateway = {
          metadata: { name: name.trim(), labels: { ...(ex?.metadata.labels ?? {}), [PROJECT_LABEL]: props.project } },
          spec: {
            ...(ex?.spec ?? {}),
            name: name.trim(),
            description,
            host: host.trim(),
            path: path.trim(),
            authenticationMode: mode,
            upstreams,
          },
        };
        if (mode === 'basicAuth') gw.spec.authentication = { basicAuth: { username, password } };
        else delete gw.spec.authentication;
        if (ex) await Api.updateGateway(gw);
        else await Api.createGateway(gw);
        // Wait (briefly) for the controller's verdict so that a routing error shows here.
        setProgress('Provisioning…');
        const deadline = Date.now() + 15_000;
        for (;;) {
          const now = await Api.gateway(gw.metadata.name);
          if (now.status?.state === 'error')
            throw new Error(`The gateway was saved but is in error: ${now.status.last_error ?? 'no details'}`);
          if (now.status?.state === 'ready') break;
          if (Date.now() > deadline) break;
          await new Promise((r) => setTimeout(r, 300));
        }
        setProgress(undefined);
        props.onDone();
      })
      .finally(() => setProgress(undefined));
  };

  const known = [
    'metadata.name',
    'spec.name',
    'spec.host',
    'spec.path',
    'spec.description',
    'spec.authenticationMode',
    'spec.authentication',
    'spec.upstreams',
  ];
  const primaryErr =
    fieldError(act.error, 'spec.upstreams[0]') ??
    (act.error && (act.error as { field?: string }).field === 'spec.upstreams'
      ? fieldError(act.error, 'spec.upstreams')
      : undefined);
  return (
    <form
      class="card"
      onSubmit={submit}
      data-testid="gateway-form"
      onInput={() => act.error !== undefined && act.setError(undefined)}
    >
      <h2>{ex ? `Edit API gateway ${ex.metadata.name}` : 'New API gateway'}</h2>
      <div class="grid-3">
        <Field label="Name" error={fieldError(act.error, 'metadata.name', 'spec.name')}>
          <input
            name="gateway-name"
            value={name}
            disabled={!!ex}
            onInput={(e) => setName(e.currentTarget.value)}
            placeholder="my-gateway"
            autocomplete="off"
          />
        </Field>
        <Field
          label="Host"
          error={fieldError(act.error, 'spec.host')}
          hint="Requests with this Host header are routed here."
        >
          <input
            name="gateway-host"
            value={host}
            onInput={(e) => setHost(e.currentTarget.value)}
            placeholder="api.example.com"
            autocomplete="off"
          />
        </Field>
        <Field label="Path" error={fieldError(act.error, 'spec.path')}>
          <input
            name="gateway-path"
            value={path}
            onInput={(e) => setPath(e.currentTarget.value)}
            placeholder="/"
            autocomplete="off"
          />
        </Field>
      </div>
      <Field label="Description" error={fieldError(act.error, 'spec.description')}>
        <input name="gateway-description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      </Field>
      <fieldset>
        <legend>Upstreams</legend>
        <div class="grid-3">
          <Field label="Function" error={primaryErr}>
            <select name="gateway-primary" value={primary} onChange={(e) => setPrimary(e.currentTarget.value)}>
              {!props.functions.includes(primary) && (
                <option value={primary}>{primary || '— choose a function —'}</option>
              )}
              {props.functions.map((f) => (
                <option key={f} value={f}>
                  {f}
                </option>
              ))}
            </select>
          </Field>
          <Field
            label="Canary function (optional)"
            error={fieldError(act.error, 'spec.upstreams[1].nucliofunction', 'spec.upstreams[1].kind')}
          >
            <select name="gateway-canary" value={canary} onChange={(e) => setCanary(e.currentTarget.value)}>
              <option value="">none</option>
              {canary && !props.functions.includes(canary) && <option value={canary}>{canary}</option>}
              {props.functions
                .filter((f) => f !== primary)
                .map((f) => (
                  <option key={f} value={f}>
                    {f}
                  </option>
                ))}
            </select>
          </Field>
          <Field
            label="Canary percentage"
            error={fieldError(act.error, 'spec.upstreams[1].percentage')}
            hint={
              canary
                ? `${100 - (Number(percentage) || 0)}% go to ${primary || 'the function'}.`
                : 'Choose a canary function first.'
            }
          >
            <input
              name="gateway-percentage"
              type="number"
              min={0}
              max={100}
              step={1}
              value={percentage}
              disabled={!canary}
              onInput={(e) => setPercentage(e.currentTarget.value)}
            />
          </Field>
        </div>
      </fieldset>
      <fieldset>
        <legend>Authentication</legend>
        <div class="grid-3">
          <Field label="Mode" error={fieldError(act.error, 'spec.authenticationMode')}>
            <select name="gateway-auth" value={mode} onChange={(e) => setMode(e.currentTarget.value)}>
              <option value="none">none</option>
              <option value="basicAuth">basic authentication</option>
              <option value="accessKey">access key</option>
            </select>
          </Field>
          {mode === 'basicAuth' && (
            <>
              <Field
                label="Username"
                error={
                  fieldError(act.error, 'spec.authentication') &&
                  !fieldError(act.error, 'spec.authentication.basicAuth.password')
                    ? fieldError(act.error, 'spec.authentication')
                    : undefined
                }
              >
                <input
                  name="gateway-username"
                  value={username}
                  onInput={(e) => setUsername(e.currentTarget.value)}
                  autocomplete="off"
                />
              </Field>
              <Field label="Password" error={fieldError(act.error, 'spec.authentication.basicAuth.password')}>
                <input
                  name="gateway-password"
                  type="password"
                  value={password}
                  onInput={(e) => setPassword(e.currentTarget.value)}
                  autocomplete="new-password"
                />
              </Field>
            </>
          )}
          {mode === 'accessKey' && (
            <p class="muted small">
              Callers send a key from the dashboard's access keys file (<code>--access-keys-file</code>).
            </p>
          )}
        </div>
      </fieldset>
      <div class="actions">
        <Button type="submit" variant="primary" busy={act.busy}>
          {ex ? 'Save gateway' : 'Create gateway'}
        </Button>
        <Button onClick={props.onCancel} disabled={act.busy}>
          Cancel
        </Button>
        {progress && <span class="muted">{progress}</span>}
        {!isFieldOf(act.error, known) && <ErrorText error={act.error} />}
      </div>
    </form>
  );
}
