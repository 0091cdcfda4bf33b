import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Artifact } from '../../builder/builder.js';
import type { ProcessorConfig } from '../../processor/config.js';
import { POOL_TOKEN_ENV, specialiseRequestOf } from '../../processor/pool-specialise.js';
import type { FunctionRecord } from '../../resources/types.js';
import { ARTIFACT_MOUNT, REPLICA_USER, replicaCreateOptions, type ReplicaTemplate } from './container-spec.js';
import { LABELS, ROLES } from './labels.js';
import { limitsUpdate, poolCreateOptions, specialiseRequest } from './pool-spec.js';
import { replicaTemplate } from './replica-template.js';

const DIGEST = `sha256:${'cd'.repeat(32)}`;
const artifact = {
  id: 'b'.repeat(32),
  image: `protium/processor-hello:${'b'.repeat(32)}`,
  runtime: 'nodejs',
  family: 'nodejs',
  handler: 'handler:handler',
} as Artifact;

function template(spec: Record<string, unknown> = {}, cache = true): ReplicaTemplate {
  const fn: FunctionRecord = {
    metadata: { name: 'hello', namespace: 'nuclio', labels: {} },
    spec: {
      runtime: 'nodejs',
      handler: 'handler:handler',
      build: {},
      resources: {},
      platform: {},
      eventTimeout: '',
      env: [{ name: 'WHO', value: 'me' }],
      ...spec,
    },
    status: {},
  };
  return replicaTemplate({
    dashboardId: 'd1',
    fn,
    artifact,
    image: cache ? 'protium-processor:0.1.0-x' : 'users/own:1',
    ...(cache ? { cache: { volume: 'vol', digest: DIGEST } } : {}),
    connectionLimits: { maxConnections: 1024, headersTimeoutMs: 10_000, requestTimeoutMs: 120_000 },
  });
}
const envOf = (o: { Env?: string[] }) =>
  Object.fromEntries((o.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));

describe('poolCreateOptions()', () => {
  const o = poolCreateOptions({ dashboardId: 'd1', image: 'protium-processor:0.1.0-x', name: 'p1', token: 'tok' });
  const replica = replicaCreateOptions(template(), 'r1');

  it('labels it as this dashboard’s pool container, and nothing of a function', () => {
    assert.deepEqual(o.Labels, { [LABELS.dashboard]: 'd1', [LABELS.role]: ROLES.pool });
  });

  it('confines it as a replica: nobody, no capabilities, no new privileges, read-only root, an init, a pid limit', () => {
    assert.equal(o.User, REPLICA_USER);
    for (const k of ['Init', 'CapDrop', 'SecurityOpt', 'PidsLimit', 'ReadonlyRootfs', 'Privileged'] as const)
      assert.deepEqual(o.HostConfig![k], replica.HostConfig![k], k);
  });

  it('mounts no artifact cache: its artifact folder is a tmpfs of its own', () => {
    assert.equal(o.HostConfig!.Mounts, undefined);
    assert.equal(o.HostConfig!.Binds, undefined);
    assert.match(o.HostConfig!.Tmpfs![ARTIFACT_MOUNT], /(^|,)exec(,|$)/);
    assert.ok(
      replica.HostConfig!.Mounts?.some((m) => m.Target === ARTIFACT_MOUNT),
      'a replica mounts its volume',
    );
  });

  it('starts the processor in pool mode with its token and no function', () => {
    const env = envOf(o);
    assert.equal(env.PROTIUM_PROCESSOR_POOL, '1');
    assert.equal(env[POOL_TOKEN_ENV], 'tok');
    assert.equal(env.PROTIUM_PROCESSOR_CONFIG_JSON, undefined);
    assert.equal(env.NUCLIO_FUNCTION_NAME, undefined);
  });
});

describe('specialiseRequest()', () => {
  const fetch = { url: 'http://10.0.0.1:8070/api/artifacts/x', token: 't', digest: DIGEST };

  it('gives the replica’s environment (as a cold container’s), its config with its name, and its artifact folder', () => {
    const t = template();
    const r = specialiseRequest(t, 'nuclio-nuclio-hello-abcde', fetch);
    const cold = envOf(replicaCreateOptions(t, 'nuclio-nuclio-hello-abcde'));
    assert.deepEqual(r.env, cold);
    assert.equal(
      (JSON.parse(r.env.PROTIUM_PROCESSOR_CONFIG_JSON) as ProcessorConfig).replica,
      'nuclio-nuclio-hello-abcde',
    );
    assert.equal(r.cwd, `${ARTIFACT_MOUNT}/${'cd'.repeat(32)}`);
    assert.deepEqual(r.artifact, { ...fetch, cache: ARTIFACT_MOUNT });
    // What the processor accepts, as it is.
    assert.deepEqual(specialiseRequestOf(JSON.parse(JSON.stringify(r))), r);
  });

  it('refuses a user’s image (it has no processor to specialise)', () => {
    assert.throws(() => specialiseRequest(template({}, false), 'r', fetch), /Only a template of the processor image/);
  });
});

describe('limitsUpdate()', () => {
  const cases: [string, Record<string, unknown>, Record<string, number> | undefined][] = [
    ['none', {}, undefined],
    ['memory', { limits: { memory: '256Mi' } }, { Memory: 268435456, MemorySwap: 268435456 }],
    ['cpu', { limits: { cpu: '500m' } }, { NanoCpus: 500_000_000 }],
    ['requests', { requests: { cpu: '1', memory: '64Mi' } }, { CpuShares: 1024, MemoryReservation: 67108864 }],
  ];
  for (const [name, resources, want] of cases)
    it(`answers ${name}`, () => assert.deepEqual(limitsUpdate(template({ resources })), want));
});
