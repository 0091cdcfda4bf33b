/**
 * The install manifests (deploy/kubernetes/) and `protium kube manifests`, without a cluster: every
 * object valid by Kubernetes' OpenAPI schemas (kubernetes-models) and by the semantic checks schemas
 * miss (platform/kube/checks.ts); the CLI run as a user runs it, on the README's example function.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse } from 'yaml';
import { Command } from 'commander';
import { loadConfig } from '../../src/config.js';
import { addDashboardOptions } from '../../src/dashboard-command.js';
import { semanticProblems } from '../../src/platform/kube/checks.js';
import { DASHBOARD_PORT, DASHBOARD_SERVICE } from '../../src/platform/kube/kube-defaults.js';
import { schemaProblems } from '../../src/platform/kube/schema.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'bin/protium.js');
const DEPLOY = join(ROOT, 'deploy/kubernetes');

type Obj = Record<string, any>;
const docs = (text: string): Obj[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as Obj)
    .filter(Boolean);

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

/** The README's Kubernetes example: its function.yaml block and its handler line. */
function readmeExample(): { yaml: string; handler: string } {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Kubernetes'));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  const handler = /`hello\/handler\.js`: `([^`]+)`/.exec(section)?.[1];
  assert.ok(yaml && handler, "the README's Kubernetes section has its example");
  return { yaml, handler };
}

describe('deploy/kubernetes', () => {
  const kustomization = parse(readFileSync(join(DEPLOY, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  const objects = kustomization.resources.flatMap((f) => docs(readFileSync(join(DEPLOY, f), 'utf8')));

  it('every object the kustomization lists is valid by its OpenAPI schema', () => {
    assert.ok(objects.length >= 8, `${objects.length} objects`);
    for (const o of objects) assert.deepEqual(schemaProblems(o), [], `${o.kind}/${o.metadata?.name}`);
  });

  it('the objects hold together: selectors, ports, probes, mounts, the Role and ServiceAccount bound', () => {
    assert.deepEqual(semanticProblems(objects), []);
  });

  it('the dashboard is a StatefulSet with its data on a PersistentVolumeClaim and runs --platform kube', () => {
    const sts = objects.find((o) => o.kind === 'StatefulSet')!;
    assert.equal(sts.spec.replicas, 1, 'one writer of the SQLite store');
    assert.equal(sts.spec.volumeClaimTemplates[0].metadata.name, 'data');
    const c = sts.spec.template.spec.containers[0];
    assert.ok(c.args.includes('--platform=kube') && c.args.includes('--data-dir=/data'));
    assert.ok(c.volumeMounts.some((m: Obj) => m.name === 'data' && m.mountPath === '/data'));
    assert.equal(sts.spec.template.spec.serviceAccountName, 'protium-dashboard');
  });

  it("the dashboard's arguments and environment load as the dashboard's own flags; pods reach it at its Service", () => {
    const c = objects.find((o) => o.kind === 'StatefulSet')!.spec.template.spec.containers[0];
    assert.equal(c.args[0], 'dashboard');
    const raw = addDashboardOptions(new Command()).parse(c.args.slice(1), { from: 'user' }).opts();
    const env = Object.fromEntries((c.env as Obj[]).map((e) => [e.name, e.value]));
    const config = loadConfig(raw, env);
    assert.equal(config.platform.kind, 'kube');
    assert.equal(config.kube.processorImage, env.PROTIUM_KUBE_PROCESSOR_IMAGE);
    assert.equal(config.listen.port, c.ports.find((p: Obj) => p.name === 'api').containerPort);
    assert.equal(config.gatewayListen.port, c.ports.find((p: Obj) => p.name === 'gateway').containerPort);
    // Pods fetch artifacts from the dashboard's Service in its namespace (kube-defaults.ts dashboardServiceUrl).
    const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === DASHBOARD_SERVICE)!;
    assert.ok(svc.spec.ports.some((p: Obj) => p.port === DASHBOARD_PORT && p.targetPort === 'api'));
  });

  it('the Role grants no wildcard and nothing on secrets', () => {
    for (const role of objects.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole'))
      for (const rule of role.rules as Obj[]) {
        for (const f of ['apiGroups', 'resources', 'verbs'])
          assert.ok(!rule[f].includes('*'), `${role.metadata.name} ${f}`);
        assert.ok(!rule.resources.includes('secrets'));
      }
  });
});

describe('protium kube manifests', () => {
  it("prints valid objects for the README's example function, one YAML document each", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protium-kube-manifests-'));
    try {
      const { yaml, handler } = readmeExample();
      mkdirSync(join(dir, 'hello'));
      writeFileSync(join(dir, 'hello', 'function.yaml'), yaml);
      writeFileSync(join(dir, 'hello', 'handler.js'), `${handler}\n`);
      const run = await cli(['kube', 'manifests', join(dir, 'hello')]);
      assert.equal(run.code, 0, run.stderr);
      const objects = docs(run.stdout);
      assert.deepEqual(
        objects.map((o) => o.kind),
        ['Service', 'ConfigMap', 'Deployment', 'Ingress'],
      );
      for (const o of objects) assert.deepEqual(schemaProblems(o), []);
      assert.deepEqual(semanticProblems(objects), []);
      const deployment = objects.find((o) => o.kind === 'Deployment')!;
      assert.equal(deployment.spec.replicas, 0, 'minReplicas 0: created at zero');
      assert.equal(deployment.metadata.labels['nuclio.io/function-name'], 'hello');
      assert.deepEqual(deployment.spec.template.spec.containers[0].resources.limits, { memory: '256Mi' });

      const alsoByFile = await cli([
        'kube',
        'manifests',
        join(dir, 'hello', 'function.yaml'),
        '--kube-namespace',
        'fns',
      ]);
      assert.equal(alsoByFile.code, 0, alsoByFile.stderr);
      assert.ok(docs(alsoByFile.stdout).every((o) => o.metadata.namespace === 'fns'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a function the API would refuse, naming the field, and prints nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protium-kube-manifests-'));
    try {
      writeFileSync(
        join(dir, 'function.yaml'),
        'metadata:\n  name: Bad_Name\nspec:\n  runtime: nodejs\n  handler: handler:handler\n',
      );
      writeFileSync(join(dir, 'handler.js'), 'exports.handler = () => 1;\n');
      const run = await cli(['kube', 'manifests', dir]);
      assert.notEqual(run.code, 0);
      assert.equal(run.stdout, '');
      assert.match(run.stderr, /^protium: .*metadata\.name/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('protium kube processor-image', () => {
  it('writes the build context the docker platform builds from; refuses a folder that is not empty', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protium-processor-context-'));
    try {
      const run = await cli(['kube', 'processor-image', dir]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^Wrote the processor image's build context \(\d+ files\)/);
      assert.equal(
        readFileSync(join(dir, 'Dockerfile'), 'utf8'),
        readFileSync(join(ROOT, 'images/processor/Dockerfile'), 'utf8'),
      );
      assert.ok(statSync(join(dir, 'protium/bin/processor')).mode & 0o100, 'the entry point is executable');
      for (const f of ['dist/src/processor/main.js', 'dist/src/processor/fetch-artifact.js', 'package.json'])
        assert.ok(existsSync(join(dir, 'protium', f)), f);
      const again = await cli(['kube', 'processor-image', dir]);
      assert.equal(again.code, 2);
      assert.match(again.stderr, /Refusing to write .* the folder is not empty/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
