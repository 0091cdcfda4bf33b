/**
 * The control plane over real HTTP: projects, function records, function events, templates, API gateway
 * records, misc routes, and the error paths of Nuclio's dashboard tests that apply. Functions here are
 * records only (their deploys run in the background and are not waited for).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type {
  ApiGateway,
  FunctionConfig,
  FunctionEvent,
  FunctionRecord,
  Meta,
  Project,
} from '../../src/resources/types.js';
import {
  functionBody,
  startTestDashboard,
  type Answer,
  type ErrorBody,
  type TestDashboard,
} from '../helpers/start-dashboard.js';

const NS = { 'x-nuclio-function-namespace': 'nuclio' };
const PNS = { 'x-nuclio-project-namespace': 'nuclio' };
const ENS = { 'x-nuclio-function-event-namespace': 'nuclio' };
const GNS = { 'x-nuclio-api-gateway-namespace': 'nuclio' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const nodeSource = 'exports.handler = (c, e) => c.callback("hi");';

function assertJsonError(res: Answer, status: number, contains?: RegExp) {
  const body = res.json as Partial<ErrorBody> | undefined;
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(res.headers.get('content-type'), 'application/json');
  assert.equal(typeof body?.error, 'string');
  if (contains) assert.match(body?.error ?? '', contains);
}

describe('control plane', () => {
  let d: TestDashboard;
  before(async () => {
    d = await startTestDashboard();
  });
  after(async () => {
    await d.close();
  });

  describe('misc', () => {
    it('GET /api/versions answers the dashboard version with exactly application/json', async () => {
      const res = await d.api<{ dashboard: Record<string, unknown> }>('GET', '/api/versions');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/json');
      for (const k of ['label', 'gitCommit', 'os', 'arch']) assert.equal(typeof res.json.dashboard[k], 'string');
    });

    it('GET /api/external_ip_addresses, /api/namespaces and /api/frontend_spec answer their shapes', async () => {
      const ips = await d.api<{ externalIPAddresses: { addresses: unknown } }>('GET', '/api/external_ip_addresses');
      assert.ok(Array.isArray(ips.json.externalIPAddresses.addresses));
      const ns = await d.api<{ namespaces: { names: string[] } }>('GET', '/api/namespaces');
      assert.deepEqual(ns.json.namespaces.names, ['nuclio']);
      const fe = await d.api<Record<string, unknown>>('GET', '/api/frontend_spec');
      assert.equal(fe.json.platformKind, 'local');
      assert.equal(fe.json.validFunctionPriorityClassNames, null);
    });

    it('CORS: a preflight answers with the Nuclio headers allowed and X-Nuclio-Logs exposed', async () => {
      const res = await d.api('OPTIONS', '/api/functions', {
        headers: {
          origin: 'http://ui.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'x-nuclio-function-namespace',
        },
      });
      assert.ok(res.status === 204 || res.status === 200);
      assert.equal(res.headers.get('access-control-allow-origin'), 'http://ui.example');
      assert.match(res.headers.get('access-control-allow-headers') ?? '', /X-Nuclio-Function-Namespace/i);
      const get = await d.api('GET', '/api/versions', { headers: { origin: 'http://ui.example' } });
      assert.match(get.headers.get('access-control-expose-headers') ?? '', /X-Nuclio-Logs/);
    });

    it('unknown routes and methods answer JSON 404s; a trailing slash is ignored; X-Igz-* headers count as X-*', async () => {
      assertJsonError(await d.api('GET', '/api/nope'), 404);
      assertJsonError(await d.api('DELETE', '/api/versions'), 404);
      assert.equal((await d.api('GET', '/api/projects/', { headers: PNS })).status, 200);
      const igz = await d.api('GET', '/api/functions/x', { headers: { 'x-igz-nuclio-function-namespace': 'bad_ns!' } });
      assertJsonError(igz, 400, /Namespace/);
    });
  });

  describe('projects', () => {
    it('POST answers 201 with the project; a missing name becomes a UUID; the default project exists', async () => {
      const res = await d.api<Project>('POST', '/api/projects', {
        headers: PNS,
        body: { metadata: { name: 'p1' }, spec: { description: 'first' } },
      });
      assert.equal(res.status, 201);
      assert.deepEqual(res.json.metadata.name, 'p1');
      assert.equal(res.json.metadata.namespace, 'nuclio');
      assert.deepEqual(res.json.status, {});
      const unnamed = await d.api<Project>('POST', '/api/projects', { body: { metadata: {}, spec: {} } });
      assert.equal(unnamed.status, 201);
      assert.match(unnamed.json.metadata.name ?? '', UUID);
      assert.equal((await d.api('GET', '/api/projects/default')).status, 200);
    });

    it('GET list is keyed by name; X-Nuclio-Project-Name filters; ?export=true gives bundles', async () => {
      await d.api('POST', '/api/projects', { body: { metadata: { name: 'p-list' }, spec: {} } });
      const all = await d.api<Record<string, Project>>('GET', '/api/projects', { headers: PNS });
      assert.equal(all.json['p-list'].metadata.name, 'p-list');
      const one = await d.api<Record<string, Project>>('GET', '/api/projects', {
        headers: { ...PNS, 'x-nuclio-project-name': 'p-list' },
      });
      assert.deepEqual(Object.keys(one.json), ['p-list']);
      const exp = await d.api<{ project: Project }>('GET', '/api/projects/p-list?export=true');
      assert.deepEqual(Object.keys(exp.json).sort(), ['apiGateways', 'functionEvents', 'functions', 'project']);
      assert.equal(exp.json.project.metadata.namespace, undefined);
    });

    it('bad input: duplicate 409, bad name 400, bad JSON 400, missing 404, non-object bodies 400', async () => {
      await d.api('POST', '/api/projects', { body: { metadata: { name: 'dup' }, spec: {} } });
      assertJsonError(await d.api('POST', '/api/projects', { body: { metadata: { name: 'dup' }, spec: {} } }), 409);
      assertJsonError(
        await d.api('POST', '/api/projects', { body: { metadata: { name: 'Bad_Name!' } } }),
        400,
        /naming conventions/,
      );
      assertJsonError(
        await d.api('POST', '/api/projects', {
          body: '{"metadata": ',
          headers: { 'content-type': 'application/json' },
        }),
        400,
        /JSON/,
      );
      assertJsonError(await d.api('GET', '/api/projects/missing'), 404, /Project not found/);
      for (const body of ['[]', '"x"', 'null', '{"metadata":"x"}', '{"metadata":{"name":5}}']) {
        const res = await d.api('POST', '/api/projects', { body, headers: { 'content-type': 'application/json' } });
        assert.ok(res.status >= 400 && res.status < 500, `${body} → ${res.status}`);
      }
    });

    it('PUT /api/projects/<name> answers 204 and changes the spec; a mismatched name is 400; the deprecated PUT works', async () => {
      await d.api('POST', '/api/projects', { body: { metadata: { name: 'p-put' }, spec: { description: 'a' } } });
      assert.equal(
        (
          await d.api('PUT', '/api/projects/p-put', {
            body: { metadata: { name: 'p-put' }, spec: { description: 'b' } },
          })
        ).status,
        204,
      );
      assert.equal((await d.api<Project>('GET', '/api/projects/p-put')).json.spec.description, 'b');
      assertJsonError(
        await d.api('PUT', '/api/projects/p-put', { body: { metadata: { name: 'other' }, spec: {} } }),
        400,
        /different/,
      );
      const dep = await d.api('PUT', '/api/projects', {
        body: { metadata: { name: 'p-put' }, spec: { description: 'c' } },
      });
      assert.equal(dep.status, 204);
      assert.equal(dep.headers.get('deprecation'), 'true');
      assert.equal((await d.api<Project>('GET', '/api/projects/p-put')).json.spec.description, 'c');
    });

    it('DELETE: restricted refuses a project with functions (412) and keeps it; cascading removes it all; default cannot go', async () => {
      await d.api('POST', '/api/projects', { body: { metadata: { name: 'p-del' }, spec: {} } });
      const fn = await d.api('POST', '/api/functions', {
        headers: NS,
        body: functionBody('in-p-del', 'nodejs', nodeSource, { project: 'p-del' }),
      });
      assert.equal(fn.status, 202);
      await d.api('POST', '/api/function_events', {
        body: {
          metadata: { name: 'ev-p-del', labels: { 'nuclio.io/function-name': 'in-p-del' } },
          spec: { body: 'x' },
        },
      });
      const refused = await d.api('DELETE', '/api/projects', { body: { metadata: { name: 'p-del' } } });
      assertJsonError(refused, 412, /Project contains functions/);
      assert.equal((await d.api('GET', '/api/projects/p-del')).status, 200);
      const check = await d.api('DELETE', '/api/projects', {
        headers: { 'x-nuclio-delete-project-strategy': 'check' },
        body: { metadata: { name: 'p-del' } },
      });
      assert.equal(check.status, 412);
      const cascade = await d.api('DELETE', '/api/projects', {
        headers: { 'x-nuclio-delete-project-strategy': 'cascading' },
        body: { metadata: { name: 'p-del' } },
      });
      assert.equal(cascade.status, 204);
      assert.equal((await d.api('GET', '/api/projects/p-del')).status, 404);
      assert.equal((await d.api('GET', '/api/functions/in-p-del')).status, 404);
      assert.equal((await d.api('GET', '/api/function_events/ev-p-del')).status, 404);
      assertJsonError(
        await d.api('DELETE', '/api/projects', { body: { metadata: { name: 'default' } } }),
        412,
        /default project/,
      );
      assert.equal((await d.api('DELETE', '/api/projects', { body: { metadata: { name: 'never-was' } } })).status, 204);
    });
  });

  describe('function records', () => {
    it("POST answers 202 and a GET right after has the function with Nuclio's always-present keys", async () => {
      const post = await d.api('POST', '/api/functions', {
        headers: NS,
        body: functionBody('rec1', 'nodejs', nodeSource),
      });
      assert.equal(post.status, 202);
      assert.equal(post.text, '');
      const get = await d.api<FunctionRecord>('GET', '/api/functions/rec1', { headers: NS });
      assert.equal(get.status, 200);
      assert.equal(get.json.metadata.labels?.['nuclio.io/project-name'], 'default');
      for (const k of ['resources', 'build', 'platform']) assert.equal(typeof get.json.spec[k], 'object');
      assert.equal(get.json.spec.eventTimeout, '');
      assert.equal(get.json.spec.triggers?.['default-http'].kind, 'http');
      assert.equal(typeof get.json.status, 'object');
    });

    it('python is stored as python:3.9; the project header overrides the label; the list filters by project', async () => {
      await d.api('POST', '/api/projects', { body: { metadata: { name: 'p-fn' }, spec: {} } });
      await d.api('POST', '/api/functions', {
        headers: { ...NS, 'x-nuclio-project-name': 'p-fn' },
        body: functionBody('rec-py', 'python', 'def handler(c, e):\n    return "x"\n'),
      });
      const got = await d.api<FunctionRecord>('GET', '/api/functions/rec-py');
      assert.equal(got.json.spec.runtime, 'python:3.9');
      assert.equal(got.json.metadata.labels?.['nuclio.io/project-name'], 'p-fn');
      const list = await d.api<Record<string, FunctionRecord>>('GET', '/api/functions', {
        headers: { ...NS, 'x-nuclio-project-name': 'p-fn' },
      });
      assert.deepEqual(Object.keys(list.json), ['rec-py']);
    });

    it('bad input answers 4xx naming the problem and stores nothing', async () => {
      await d.api('POST', '/api/functions', { body: functionBody('dup-fn', 'nodejs', nodeSource) });
      assertJsonError(
        await d.api('POST', '/api/functions', { body: functionBody('dup-fn', 'nodejs', nodeSource) }),
        409,
        /same name/,
      );
      assertJsonError(
        await d.api('POST', '/api/functions', { body: functionBody('!funcmylif&', 'nodejs', nodeSource) }),
        400,
        /k8s naming convention/,
      );
      assertJsonError(
        await d.api('POST', '/api/functions', { body: { spec: {} } }),
        400,
        /Function name must be provided/,
      );
      assertJsonError(
        await d.api('POST', '/api/functions', {
          body: functionBody('no-proj', 'nodejs', nodeSource, { project: 'nope' }),
        }),
        412,
        /Project does not exist/,
      );
      assertJsonError(
        await d.api('POST', '/api/functions', { body: functionBody('dashboard', 'nodejs', nodeSource) }),
        412,
        /reserved/,
      );
      assertJsonError(
        await d.api('POST', '/api/functions', { body: { metadata: { name: 'nosrc' }, spec: { runtime: 'nodejs' } } }),
        400,
        /spec.build.path/,
      );
      assertJsonError(
        await d.api('POST', '/api/functions', {
          body: {
            metadata: { name: 'badmin' },
            spec: { runtime: 'nodejs', minReplicas: 3, maxReplicas: 1, build: { functionSourceCode: 'eA==' } },
          },
        }),
        400,
        /Min replicas/,
      );
      assertJsonError(
        await d.api('POST', '/api/functions', {
          body: {
            metadata: { name: 'badenv' },
            spec: { runtime: 'nodejs', env: 'x', build: { functionSourceCode: 'eA==' } },
          },
        }),
        400,
        /spec.env/,
      );
      assertJsonError(
        await d.api('POST', '/api/functions', {
          body: { metadata: { name: 'localpath' }, spec: { runtime: 'nodejs', build: { path: '/etc' } } },
        }),
        400,
        /--source-root/,
      );
      assertJsonError(
        await d.api('POST', '/api/functions', {
          headers: { 'x-nuclio-creation-state-updated-timeout': 'soon' },
          body: functionBody('badhdr', 'nodejs', nodeSource),
        }),
        400,
        /Creation-State/,
      );
      for (const name of ['!funcmylif&', 'no-proj', 'dashboard', 'nosrc', 'badmin', 'badenv', 'localpath', 'badhdr']) {
        assert.equal((await d.api('GET', `/api/functions/${encodeURIComponent(name)}`)).status, 404, name);
      }
      assertJsonError(await d.api('GET', '/api/functions/missing'), 404, /Function not found/);
    });

    it('PATCH: 400 for an unsupported state, 404 for a missing function, 204 without desiredState', async () => {
      await d.api('POST', '/api/functions', { body: functionBody('patchme', 'nodejs', nodeSource) });
      assertJsonError(
        await d.api('PATCH', '/api/functions/patchme', { body: { desiredState: 'unhealthy' } }),
        400,
        /Unsupported desired state/,
      );
      assertJsonError(await d.api('PATCH', '/api/functions/missing', { body: { desiredState: 'ready' } }), 404);
      assert.equal((await d.api('PATCH', '/api/functions/patchme', { body: {} })).status, 204);
    });

    it('DELETE: 204 for a missing function, 409 for a stale resourceVersion, 400 without a name', async () => {
      assert.equal((await d.api('DELETE', '/api/functions', { body: { metadata: { name: 'never' } } })).status, 204);
      await d.api('POST', '/api/functions', { body: functionBody('stale', 'nodejs', nodeSource) });
      const res = await d.api('DELETE', '/api/functions', {
        headers: { 'x-nuclio-delete-function-ignore-state-validation': 'true' },
        body: { metadata: { name: 'stale', resourceVersion: '1' } },
      });
      assertJsonError(res, 409, /stale/);
      assertJsonError(
        await d.api('DELETE', '/api/functions', { body: { metadata: {} } }),
        400,
        /name must be provided/,
      );
      assert.equal(
        (
          await d.api('DELETE', '/api/functions', {
            headers: { 'x-nuclio-delete-function-ignore-state-validation': 'true' },
            body: { metadata: { name: 'stale' } },
          })
        ).status,
        204,
      );
    });

    it('a 20 MB body answers 413 and nothing is stored', async () => {
      const body = functionBody('huge', 'nodejs', nodeSource);
      body.spec.build.functionSourceCode = 'A'.repeat(20 * 1024 * 1024);
      const res = await d.api('POST', '/api/functions', { body });
      assertJsonError(res, 413);
      assert.equal((await d.api('GET', '/api/functions/huge')).status, 404);
    });

    it('?export=true strips namespace and status and adds the skip annotations', async () => {
      await d.api('POST', '/api/functions', { body: functionBody('exp1', 'nodejs', nodeSource) });
      const res = await d.api<{ metadata: Meta; status?: unknown }>('GET', '/api/functions/exp1?export=true');
      assert.equal(res.json.metadata.namespace, undefined);
      assert.equal(res.json.status, undefined);
      assert.equal(res.json.metadata.annotations?.['skip-build'], 'true');
      assert.equal(res.json.metadata.annotations?.['skip-deploy'], 'true');
      assert.equal(typeof res.json.metadata.annotations?.['nuclio.io/previous-state'], 'string');
    });
  });

  describe('function events', () => {
    it('CRUD as the seed says: POST 201 (UUID name), GET, list filtered by function, PUT/DELETE on the collection', async () => {
      await d.api('POST', '/api/functions', { body: functionBody('ev-parent', 'nodejs', nodeSource) });
      const created = await d.api<FunctionEvent>('POST', '/api/function_events', {
        headers: ENS,
        body: {
          metadata: { labels: { 'nuclio.io/function-name': 'ev-parent' } },
          spec: { displayName: 'e1', body: 'b', attributes: { method: 'GET', path: '/p' } },
        },
      });
      assert.equal(created.status, 201);
      const name = created.json.metadata.name;
      assert.match(name ?? '', UUID);
      assert.equal(created.json.spec.triggerKind, 'http');
      assert.equal(created.json.metadata.labels?.['nuclio.io/project-name'], 'default');
      const list = await d.api<Record<string, FunctionEvent>>('GET', '/api/function_events', {
        headers: { ...ENS, 'x-nuclio-function-name': 'ev-parent' },
      });
      assert.deepEqual(Object.keys(list.json), [name]);
      const other = await d.api('GET', '/api/function_events', {
        headers: { ...ENS, 'x-nuclio-function-name': 'nobody' },
      });
      assert.deepEqual(other.json, {});
      const put = await d.api('PUT', '/api/function_events', {
        body: {
          metadata: { name, labels: { 'nuclio.io/function-name': 'ev-parent' } },
          spec: { displayName: 'e2', body: 'new' },
        },
      });
      assert.equal(put.status, 204);
      assert.equal((await d.api<FunctionEvent>('GET', `/api/function_events/${name}`)).json.spec.displayName, 'e2');
      assert.equal((await d.api('DELETE', '/api/function_events', { body: { metadata: { name } } })).status, 204);
      assertJsonError(await d.api('GET', `/api/function_events/${name}`), 404, /Function event not found/);
    });

    it('bad input: no metadata 400, no function label 400, PUT of a missing event 404', async () => {
      assertJsonError(
        await d.api('POST', '/api/function_events', { body: { spec: {} } }),
        400,
        /Function event name must be provided/,
      );
      assertJsonError(
        await d.api('POST', '/api/function_events', { body: { metadata: {}, spec: {} } }),
        400,
        /nuclio.io\/function-name/,
      );
      assertJsonError(
        await d.api('PUT', '/api/function_events', {
          body: { metadata: { name: 'nope', labels: { 'nuclio.io/function-name': 'x' } }, spec: {} },
        }),
        404,
      );
    });

    it('deleting a function deletes its events', async () => {
      await d.api('POST', '/api/functions', { body: functionBody('ev-owner', 'nodejs', nodeSource) });
      await d.api('POST', '/api/function_events', {
        body: { metadata: { name: 'owned-ev', labels: { 'nuclio.io/function-name': 'ev-owner' } }, spec: {} },
      });
      await d.api('DELETE', '/api/functions', {
        headers: { 'x-nuclio-delete-function-ignore-state-validation': 'true' },
        body: { metadata: { name: 'ev-owner' } },
      });
      assert.equal((await d.api('GET', '/api/function_events/owned-ev')).status, 404);
    });
  });

  describe('function templates', () => {
    it('lists at least 8 templates keyed by name with base64 source; the filter narrows; render fills values', async () => {
      const all = await d.api<Record<string, FunctionConfig>>('GET', '/api/function_templates');
      const names = Object.keys(all.json);
      assert.ok(names.length >= 8, names.join(','));
      for (const n of names) {
        assert.equal(all.json[n].metadata.name, n);
        assert.ok(Buffer.from(all.json[n].spec.build.functionSourceCode ?? '', 'base64').toString().length > 0);
      }
      const runtimes = new Set(names.map((n) => all.json[n].spec.runtime?.split(':')[0]));
      assert.deepEqual([...runtimes].sort(), ['nodejs', 'python', 'shell']);
      const py = await d.api<Record<string, FunctionConfig>>('GET', '/api/function_templates', {
        headers: { 'x-nuclio-filter-contains': 'helloworld:python' },
      });
      assert.deepEqual(Object.keys(py.json), ['helloworld:python']);
      const none = await d.api('GET', '/api/function_templates', {
        headers: { 'x-nuclio-filter-contains': 'zzz-nothing-zzz' },
      });
      assert.deepEqual(none.json, {});
      const render = await d.api<FunctionConfig>('POST', '/api/function_templates/render', {
        body: { template: 'metadata:\n  name: {{ .name }}\nspec:\n  runtime: nodejs\n', values: { name: 'rendered' } },
      });
      assert.equal(render.status, 200);
      assert.equal(render.json.metadata.name, 'rendered');
      assertJsonError(
        await d.api('POST', '/api/function_templates/render', { body: { template: '{{ .missing }}', values: {} } }),
        400,
        /Failed to get functionConfig/,
      );
    });
  });

  describe('api gateway records', () => {
    const gw = (name: string, host: string, extra: Record<string, unknown> = {}) => ({
      metadata: { name, labels: { 'nuclio.io/project-name': 'default' } },
      spec: {
        name,
        host,
        path: '/x',
        authenticationMode: 'none',
        upstreams: [{ kind: 'nucliofunction', nucliofunction: { name: 'rec1' } }],
        ...extra,
      },
    });

    it('POST answers 202 with the record; GET, list by project, PUT 204 and DELETE 204 work', async () => {
      const res = await d.api('POST', '/api/api_gateways', { headers: GNS, body: gw('g1', 'g1.example.test') });
      assert.equal(res.status, 202);
      assert.equal(
        (await d.api<ApiGateway>('GET', '/api/api_gateways/g1', { headers: GNS })).json.spec.host,
        'g1.example.test',
      );
      const list = await d.api<Record<string, ApiGateway>>('GET', '/api/api_gateways', {
        headers: { ...GNS, 'x-nuclio-project-name': 'default' },
      });
      assert.ok(list.json.g1);
      const put = await d.api('PUT', '/api/api_gateways/g1', { body: gw('g1', 'g1.example.test', { path: '/y' }) });
      assert.equal(put.status, 204);
      assert.equal((await d.api<ApiGateway>('GET', '/api/api_gateways/g1')).json.spec.path, '/y');
      assert.equal((await d.api('DELETE', '/api/api_gateways', { body: { metadata: { name: 'g1' } } })).status, 204);
      assertJsonError(await d.api('GET', '/api/api_gateways/g1'), 404, /Api-Gateway not found/);
    });

    it('bad input: no upstream, three upstreams, no host, another kind, basic auth without credentials, a taken host+path', async () => {
      const bad: [Record<string, unknown>, RegExp][] = [
        [{ upstreams: [] }, /One or more upstreams/],
        [
          { upstreams: [1, 2, 3].map((i) => ({ kind: 'nucliofunction', nucliofunction: { name: `f${i}` } })) },
          /more than 2 upstreams/,
        ],
        [{ host: '' }, /Host must be provided/],
        [{ upstreams: [{ kind: 'service', nucliofunction: { name: 'x' } }] }, /Unsupported upstream kind/],
        [{ authenticationMode: 'basicAuth' }, /basicAuth/],
        [
          {
            upstreams: [
              { kind: 'nucliofunction', nucliofunction: { name: 'a' } },
              { kind: 'nucliofunction', nucliofunction: { name: 'b' }, percentage: 150 },
            ],
          },
          /percentage/,
        ],
      ];
      for (const [extra, msg] of bad)
        assertJsonError(
          await d.api('POST', '/api/api_gateways', { body: gw('bad', 'bad.example.test', extra) }),
          400,
          msg,
        );
      assert.equal(
        (await d.api('POST', '/api/api_gateways', { body: gw('taken1', 'taken.example.test') })).status,
        202,
      );
      assertJsonError(
        await d.api('POST', '/api/api_gateways', { body: gw('taken2', 'taken.example.test') }),
        409,
        /already used/,
      );
      const validate = await d.api('POST', '/api/api_gateways', {
        headers: { 'x-nuclio-agw-validate-functions-existence': 'true' },
        body: {
          ...gw('vf', 'vf.example.test'),
          spec: {
            ...gw('vf', 'vf.example.test').spec,
            upstreams: [{ kind: 'nucliofunction', nucliofunction: { name: 'ghost' } }],
          },
        },
      });
      assertJsonError(validate, 400, /ghost/);
    });

    it('a function used by a gateway is deleted only with X-Nuclio-Delete-Function-With-API-Gateways, which takes the gateway too', async () => {
      await d.api('POST', '/api/functions', { body: functionBody('gw-target', 'nodejs', nodeSource) });
      await d.api('POST', '/api/api_gateways', {
        body: {
          ...gw('uses-target', 'target.example.test'),
          spec: {
            ...gw('uses-target', 'target.example.test').spec,
            upstreams: [{ kind: 'nucliofunction', nucliofunction: { name: 'gw-target' } }],
          },
        },
      });
      const enriched = await d.api<FunctionRecord>('GET', '/api/functions/gw-target', {
        headers: { 'x-nuclio-function-enrich-apigateways': 'true' },
      });
      assert.deepEqual(enriched.json.status.apiGateways, ['uses-target']);
      const ignore = { 'x-nuclio-delete-function-ignore-state-validation': 'true' };
      assertJsonError(
        await d.api('DELETE', '/api/functions', { headers: ignore, body: { metadata: { name: 'gw-target' } } }),
        412,
        /api gateways/,
      );
      const ok = await d.api('DELETE', '/api/functions', {
        headers: { ...ignore, 'x-nuclio-delete-function-with-api-gateways': 'true' },
        body: { metadata: { name: 'gw-target' } },
      });
      assert.equal(ok.status, 204);
      assert.equal((await d.api('GET', '/api/api_gateways/uses-target')).status, 404);
    });
  });

  describe('v3io streams', () => {
    it('lists v3ioStream triggers of a project keyed function@trigger; the project header is required', async () => {
      await d.api('POST', '/api/projects', { body: { metadata: { name: 'p-stream' }, spec: {} } });
      const body = functionBody('streamer', 'nodejs', nodeSource, {
        project: 'p-stream',
        spec: {
          triggers: {
            s1: { kind: 'v3ioStream', attributes: { consumerGroup: 'cg', containerName: 'bigdata', streamPath: '/s' } },
          },
        },
      });
      assert.equal((await d.api('POST', '/api/functions', { body })).status, 202);
      const res = await d.api('GET', '/api/v3io_streams', { headers: { 'x-nuclio-project-name': 'p-stream' } });
      assert.deepEqual(res.json, {
        'streamer@s1': { consumerGroup: 'cg', containerName: 'bigdata', streamPath: '/s' },
      });
      assertJsonError(await d.api('GET', '/api/v3io_streams'), 400, /Project name/);
    });
  });

  describe('project import', () => {
    it('imports a bundle: project created, functions stored, events renamed, a duplicate function reported', async () => {
      const exportedFn = {
        metadata: { name: 'imp-fn', annotations: { 'skip-build': 'true', 'skip-deploy': 'true' } },
        spec: functionBody('imp-fn', 'nodejs', nodeSource).spec,
      };
      const bundle = {
        project: { metadata: { name: 'p-imp' }, spec: { description: 'imported' } },
        functions: {
          'imp-fn': exportedFn,
          dup: { metadata: { name: 'rec1' }, spec: functionBody('rec1', 'nodejs', nodeSource).spec },
        },
        functionEvents: {
          e: {
            metadata: { name: 'e', labels: { 'nuclio.io/function-name': 'imp-fn' } },
            spec: { displayName: 'imported event' },
          },
        },
        apiGateways: {},
      };
      const res = await d.api<Record<string, Record<string, unknown>>>('POST', '/api/projects?import=true', {
        body: bundle,
      });
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(res.json.functionImportResult, {
        createdAmount: 1,
        failedAmount: 1,
        failedFunctions: [{ function: 'rec1', error: 'Function name already exists' }],
      });
      assert.equal(res.json.functionEventImportResult.createdAmount, 1);
      assert.equal(res.json.apiGatewayImportResult.failedAPIGateways, null);
      const fn = await d.api<FunctionRecord>('GET', '/api/functions/imp-fn');
      assert.equal(fn.json.status.state, 'imported');
      assert.equal(fn.json.metadata.labels?.['nuclio.io/project-name'], 'p-imp');
      const events = await d.api<Record<string, FunctionEvent>>('GET', '/api/function_events', {
        headers: { 'x-nuclio-function-name': 'imp-fn' },
      });
      const names = Object.keys(events.json);
      assert.equal(names.length, 1);
      assert.notEqual(names[0], 'e');
    });
  });
});
