import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ARTIFACT_MOUNT,
  hostnameOf,
  replicaCreateOptions,
  templateHash,
  REPLICA_USER,
  type ReplicaTemplate,
} from './container-spec.js';
import { LABELS } from './labels.js';
import { replicaTemplate } from './replica-template.js';
import type { FunctionRecord } from '../../resources/types.js';
import type { Artifact } from '../../builder/builder.js';
import type { ProcessorConfig } from '../../processor/config.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const LIMITS = { maxConnections: 1024, headersTimeoutMs: 10_000, requestTimeoutMs: 120_000 };

function fn(spec: Record<string, unknown> = {}): FunctionRecord {
  return {
    metadata: { name: 'hello', namespace: 'nuclio', labels: { 'nuclio.io/project-name': 'shop' } },
    spec: {
      runtime: 'python:3.9',
      handler: 'main:handler',
      build: {},
      resources: {},
      platform: {},
      eventTimeout: '',
      env: [{ name: 'GREETING', value: 'hi' }],
      ...spec,
    },
    status: {},
  };
}
const artifact = {
  id: 'a'.repeat(32),
  image: `protium/processor-hello:${'a'.repeat(32)}`,
  runtime: 'python:3.9',
  family: 'python',
  handler: 'main:handler',
} as Artifact;

function template(
  spec: Record<string, unknown> = {},
  extra: Partial<Parameters<typeof replicaTemplate>[0]> = {},
): ReplicaTemplate {
  return replicaTemplate({
    dashboardId: 'd1',
    fn: fn(spec),
    artifact,
    image: 'protium-processor:0.1.0-x',
    cache: { volume: 'vol', digest: DIGEST },
    connectionLimits: LIMITS,
    ...extra,
  });
}

const envOf = (o: { Env?: string[] }) =>
  Object.fromEntries((o.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));

describe('replicaCreateOptions()', () => {
  it('a processor replica: labels, no privileges, read-only root with a private /tmp, nobody, the artifact volume read-only', () => {
    const o = replicaCreateOptions(template(), 'nuclio-nuclio-hello-abcde');
    assert.equal(o.name, 'nuclio-nuclio-hello-abcde');
    assert.equal(o.Hostname, 'nuclio-nuclio-hello-abcde');
    assert.deepEqual(
      { ...o.Labels, [LABELS.spec]: 'x' },
      {
        [LABELS.dashboard]: 'd1',
        [LABELS.role]: 'replica',
        [LABELS.namespace]: 'nuclio',
        [LABELS.function]: 'hello',
        [LABELS.project]: 'shop',
        [LABELS.artifact]: 'a'.repeat(32),
        [LABELS.spec]: 'x',
      },
    );
    assert.equal(o.User, REPLICA_USER);
    const h = o.HostConfig!;
    assert.equal(h.Privileged, false);
    assert.deepEqual(h.CapDrop, ['ALL']);
    assert.deepEqual(h.SecurityOpt, ['no-new-privileges']);
    assert.equal(h.ReadonlyRootfs, true);
    assert.ok(h.Tmpfs?.['/tmp']);
    assert.equal(h.Init, true);
    assert.ok((h.PidsLimit ?? 0) > 0);
    assert.deepEqual(h.Mounts, [{ Type: 'volume', Source: 'vol', Target: ARTIFACT_MOUNT, ReadOnly: true }]);
    assert.equal(h.Binds, undefined, 'no bind mount of anything of this machine');
    assert.equal(o.WorkingDir, `${ARTIFACT_MOUNT}/${'ab'.repeat(32)}`);
  });

  it('the processor config travels in the environment, with the replica name and the container paths', () => {
    const env = envOf(replicaCreateOptions(template(), 'nuclio-nuclio-hello-abcde'));
    const config = JSON.parse(env.PROTIUM_PROCESSOR_CONFIG_JSON) as ProcessorConfig;
    assert.equal(config.replica, 'nuclio-nuclio-hello-abcde');
    assert.equal(config.artifactDir, `${ARTIFACT_MOUNT}/${'ab'.repeat(32)}`);
    assert.equal(config.pythonPath, undefined, "the image's python3");
    assert.equal(config.memoryLimitBytes, undefined, "the container's limit governs");
    assert.equal(env.GREETING, 'hi');
    assert.equal(env.HOME, '/tmp');
    assert.equal(env.PROTIUM_PROCESSOR_HOST, '0.0.0.0');
    assert.equal(env.NUCLIO_FUNCTION_NAME, 'hello');
    assert.ok(env.PATH.startsWith(`${ARTIFACT_MOUNT}/`), 'installed programs first');
  });

  for (const [resources, want] of [
    [{}, {}],
    [{ limits: { memory: '64Mi' } }, { Memory: 64 * 2 ** 20, MemorySwap: 64 * 2 ** 20 }],
    [{ limits: { cpu: '500m' } }, { NanoCpus: 500_000_000 }],
    [
      { limits: { cpu: '2', memory: '1Gi' }, requests: { cpu: '250m', memory: '128Mi' } },
      { NanoCpus: 2e9, Memory: 2 ** 30, MemorySwap: 2 ** 30, CpuShares: 256, MemoryReservation: 128 * 2 ** 20 },
    ],
  ] as const) {
    it(`spec.resources ${JSON.stringify(resources)} → ${JSON.stringify(want)}`, () => {
      const h = replicaCreateOptions(template({ resources }), 'r').HostConfig!;
      const got = Object.fromEntries(
        ['Memory', 'MemorySwap', 'NanoCpus', 'CpuShares', 'MemoryReservation']
          .filter((k) => (h as Record<string, unknown>)[k] !== undefined)
          .map((k) => [k, (h as Record<string, unknown>)[k]]),
      );
      assert.deepEqual(got, want);
    });
  }

  it("a user's image runs as given: its own user and entry point, writable root, but no privileges and the function's env", () => {
    const t = replicaTemplate({
      dashboardId: 'd1',
      fn: fn(),
      artifact: { ...artifact, id: 'image-0123' },
      image: 'example/fn:1',
      connectionLimits: LIMITS,
    });
    const o = replicaCreateOptions(t, 'r');
    assert.equal(o.Image, 'example/fn:1');
    assert.equal(o.User, undefined);
    assert.equal(o.Cmd, undefined);
    assert.equal(o.HostConfig!.ReadonlyRootfs, undefined);
    assert.deepEqual(o.HostConfig!.CapDrop, ['ALL']);
    assert.equal(envOf(o).GREETING, 'hi');
    assert.equal(envOf(o).PROTIUM_PROCESSOR_CONFIG_JSON, undefined);
    assert.equal(o.Labels![LABELS.artifact], undefined);
  });

  it('the stream credential and the dashboard URL go only to replicas with a v3ioStream trigger', () => {
    const extra = { dashboardUrl: 'http://10.88.0.1:4000', streamToken: 'tok' };
    const plain = envOf(replicaCreateOptions(template({}, extra), 'r'));
    assert.equal(plain.PROTIUM_DASHBOARD_URL, undefined);
    assert.equal((JSON.parse(plain.PROTIUM_PROCESSOR_CONFIG_JSON) as ProcessorConfig).streamToken, undefined);
    const streams = envOf(
      replicaCreateOptions(template({ triggers: { s: { kind: 'v3ioStream', attributes: {} } } }, extra), 'r'),
    );
    assert.equal(streams.PROTIUM_DASHBOARD_URL, 'http://10.88.0.1:4000');
    assert.equal((JSON.parse(streams.PROTIUM_PROCESSOR_CONFIG_JSON) as ProcessorConfig).streamToken, 'tok');
  });
});

describe('templateHash()', () => {
  it('is the same for the same template and differs when anything a replica is made of does', () => {
    assert.equal(templateHash(template()), templateHash(template()));
    assert.notEqual(templateHash(template()), templateHash(template({ env: [{ name: 'GREETING', value: 'hello' }] })));
    assert.notEqual(templateHash(template()), templateHash(template({ resources: { limits: { memory: '64Mi' } } })));
    assert.notEqual(templateHash(template()), templateHash(template({}, { image: 'protium-processor:0.1.0-y' })));
  });

  it('is carried by every replica of the template, whatever its name', () => {
    const t = template();
    assert.equal(replicaCreateOptions(t, 'a').Labels![LABELS.spec], replicaCreateOptions(t, 'b').Labels![LABELS.spec]);
  });
});

describe('hostnameOf()', () => {
  for (const [name, want] of [
    ['nuclio-nuclio-hello-abcde', 'nuclio-nuclio-hello-abcde'],
    [`nuclio-nuclio-${'x'.repeat(70)}`, `nuclio-nuclio-${'x'.repeat(49)}`],
    ['a_b.c', 'a-b-c'],
  ] as const) {
    it(`${name.slice(0, 30)} → ${want.slice(0, 30)}`, () => assert.equal(hostnameOf(name), want));
  }
});
