/**
 * The resource schemas and the resource validators agree: the schema (run by Fastify's Ajv, set up as the
 * dashboard sets it up) never refuses a body the validators accept, and when it refuses one, the
 * validators refuse it too, with the same status and code, about the same field (or a part of it: the
 * schema names the list item, `spec.build.commands[1]`, where a validator names the list). Unknown fields
 * are always accepted. Checked on every field of a valid body of each kind, replaced by values of every
 * JSON type, removed, and beside an unknown field.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { ApiError } from '../../errors.js';
import { silentLogger } from '../../log.js';
import { readApiGatewayBody } from '../../resources/api-gateway.js';
import { readFunctionEventBody } from '../../resources/function-event.js';
import { readFunctionBody } from '../../resources/function-validate.js';
import { readProjectBody } from '../../resources/project.js';
import { installErrorHandling } from '../error-reply.js';
import { AJV_OPTIONS, installRequestValidation } from '../request-validation.js';
import { ref } from './json-schema.js';

const ns = { defaultNamespace: 'nuclio' };
const uuid = () => '2f7c1a52-4b8e-4d0c-9a55-3c1f2d6e7b90';

/** Each kind: the schema its routes validate with, what its validator does with a body, and a valid body. */
const KINDS: { name: string; schema: string; validate: (body: unknown) => unknown; sample: Record<string, unknown> }[] =
  [
    {
      name: 'function',
      schema: 'FunctionBody',
      validate: (b) => readFunctionBody(b, ns),
      sample: {
        metadata: {
          name: 'fn',
          namespace: 'nuclio',
          labels: { 'nuclio.io/project-name': 'default' },
          annotations: { a: 'b' },
          resourceVersion: '3',
        },
        spec: {
          runtime: 'python:3.9',
          alias: 'latest',
          handler: 'main:handler',
          description: 'd',
          disable: false,
          env: [{ name: 'A', value: 'b' }],
          resources: { limits: { memory: '128Mi' }, requests: {} },
          image: 'protium/processor-fn:abc',
          replicas: 1,
          minReplicas: 1,
          maxReplicas: 2,
          targetCPU: 75,
          triggers: {
            http: {
              kind: 'http',
              name: 'http',
              numWorkers: 2,
              maxWorkers: 2,
              workerAvailabilityTimeoutMilliseconds: 1000,
              attributes: { port: 0 },
            },
            tick: { kind: 'cron', name: 'tick', attributes: { interval: '10s', event: { body: 'x', headers: {} } } },
          },
          build: {
            functionSourceCode: 'eA==',
            commands: ['true'],
            noCache: false,
            buildTimeoutSeconds: 60,
            codeEntryType: 'sourceCode',
            codeEntryAttributes: {},
            path: '',
            image: '',
            registry: '',
          },
          runRegistry: '',
          runtimeAttributes: {},
          platform: {},
          readinessTimeoutSeconds: 60,
          eventTimeout: '30s',
          scaleToZero: { scaleResources: [{ windowSize: '5m' }] },
          asyncInvocation: { maxAttempts: 5, retryStatuses: ['5xx', 429] },
        },
      },
    },
    {
      name: 'function identity (delete)',
      schema: 'Identity',
      validate: (b) => readFunctionBody(b, ns, false),
      sample: { metadata: { name: 'fn', namespace: 'nuclio', resourceVersion: 3 } },
    },
    {
      name: 'project',
      schema: 'Project',
      validate: (b) => readProjectBody(b, ns),
      sample: {
        metadata: { name: 'p', namespace: 'nuclio', labels: { a: 'b' } },
        spec: { description: 'd', owner: 'o', defaultFunctionNodeSelector: { a: 'b' } },
      },
    },
    {
      name: 'function event',
      schema: 'FunctionEvent',
      validate: (b) => readFunctionEventBody(b, { ...ns, generateName: uuid }),
      sample: {
        metadata: { name: 'ev', namespace: 'nuclio', labels: { 'nuclio.io/function-name': 'fn' } },
        spec: { displayName: 'd', triggerName: 'http', triggerKind: 'http', body: 'b', attributes: { method: 'POST' } },
      },
    },
    {
      name: 'function event identity (delete)',
      schema: 'Identity',
      validate: (b) => readFunctionEventBody(b, { ...ns, withSpec: false }),
      sample: { metadata: { name: 'ev', namespace: 'nuclio' } },
    },
    {
      name: 'API gateway',
      schema: 'ApiGatewayBody',
      validate: (b) => readApiGatewayBody(b, ns),
      sample: {
        metadata: { name: 'gw', namespace: 'nuclio' },
        spec: {
          name: 'gw',
          host: 'gw.local',
          path: '/x',
          description: 'd',
          authenticationMode: 'basicAuth',
          authentication: { basicAuth: { username: 'u', password: 'p' } },
          upstreams: [
            { kind: 'nucliofunction', nucliofunction: { name: 'a' }, percentage: 0, port: 0 },
            { kind: 'nucliofunction', nucliofunction: { name: 'b' }, percentage: 10 },
          ],
        },
      },
    },
  ];

const VALUES: unknown[] = [5, 1.5, -1, 100_000_000, 'x', '', true, null, [], {}, ['x'], [5], [{}]];

type Path = (string | number)[];

/** Every path into `value` (objects and lists), parents before children. */
function paths(value: unknown, at: Path = []): Path[] {
  const out: Path[] = [];
  if (Array.isArray(value)) value.forEach((v, i) => out.push([...at, i], ...paths(v, [...at, i])));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) out.push([...at, k], ...paths(v, [...at, k]));
  return out;
}

/** A copy of `body` with the value at `path` replaced (`remove`: deleted). */
function mutate(body: unknown, path: Path, value: unknown, remove = false): unknown {
  const copy = structuredClone(body) as Record<string | number, unknown>;
  let at = copy;
  for (const seg of path.slice(0, -1)) at = at[seg] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (remove) {
    if (Array.isArray(at)) at.splice(Number(last), 1);
    else delete at[last];
  } else at[last] = value;
  return copy;
}

/** Fields that are maps keyed by the client's names, whose values the schema types. */
const MAPS = new Set(['labels', 'annotations', 'triggers', 'defaultFunctionNodeSelector']);

/** The objects of `body`, each given an unknown field. */
function withUnknownFields(body: unknown): unknown[] {
  const objects = [[], ...paths(body)].filter((p) => {
    let v: unknown = body;
    for (const seg of p) v = (v as Record<string | number, unknown>)[seg];
    // Maps (labels, triggers…) have no fixed fields: every key of theirs is a value of theirs.
    return v !== null && typeof v === 'object' && !Array.isArray(v) && !MAPS.has(String(p[p.length - 1]));
  });
  return objects.map((p) => {
    const copy = structuredClone(body) as Record<string, unknown>;
    let at = copy;
    for (const seg of p) at = at[seg as string] as Record<string, unknown>;
    at.fieldNobodyKnows = [1, { a: null }];
    return copy;
  });
}

describe('resource schemas agree with the resource validators', () => {
  let app: FastifyInstance;

  before(async () => {
    app = Fastify({ ajv: AJV_OPTIONS });
    installErrorHandling(app, silentLogger());
    installRequestValidation(app);
    for (const id of new Set(KINDS.map((k) => k.schema)))
      app.post(`/${id}`, { schema: { body: ref(id) } }, async (_req, reply) => reply.code(204).send());
    await app.ready();
  });
  after(() => app.close());

  const check = async (kind: (typeof KINDS)[number], body: unknown, what: string): Promise<'accepted' | 'refused'> => {
    const res = await app.inject({
      method: 'POST',
      url: `/${kind.schema}`,
      payload: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    if (res.statusCode === 204) return 'accepted';
    const answer = res.json<{ error: string; field?: string; code: string }>();
    let thrown: unknown;
    try {
      kind.validate(structuredClone(body));
    } catch (e) {
      thrown = e;
    }
    const where = `${kind.name}, ${what}: the schema answered ${res.statusCode} ${res.body.trim()}`;
    assert.ok(thrown instanceof ApiError, `${where}, and the validator accepted the body`);
    assert.equal(res.statusCode, thrown.status, where);
    assert.equal(answer.code, thrown.code, `${where}; the validator: ${thrown.code} ${thrown.message}`);
    const field = answer.field ?? '';
    const mine = thrown.field ?? '';
    assert.ok(
      field === mine || field.startsWith(`${mine}.`) || field.startsWith(`${mine}[`),
      `${where}; the validator names field ${JSON.stringify(mine)}: ${thrown.message}`,
    );
    return 'refused';
  };

  for (const kind of KINDS) {
    it(`${kind.name} (${kind.schema})`, async () => {
      kind.validate(structuredClone(kind.sample));
      assert.equal(await check(kind, kind.sample, 'the valid sample'), 'accepted');
      let refused = 0;
      for (const path of paths(kind.sample)) {
        for (const v of VALUES)
          if (
            (await check(kind, mutate(kind.sample, path, v), `${path.join('.')} = ${JSON.stringify(v)}`)) === 'refused'
          )
            refused++;
        await check(kind, mutate(kind.sample, path, undefined, true), `${path.join('.')} removed`);
      }
      for (const body of withUnknownFields(kind.sample))
        assert.equal(
          await check(kind, body, 'an unknown field'),
          'accepted',
          `an unknown field refused: ${JSON.stringify(body)}`,
        );
      for (const body of [[], 'x', 5, null, true])
        assert.equal(await check(kind, body, `the body ${JSON.stringify(body)}`), 'refused');
      // The schema does refuse something inside the body: it is not a mere `type: object`.
      assert.ok(refused > 10, `the ${kind.schema} schema refused only ${refused} mutated bodies`);
    });
  }
});
