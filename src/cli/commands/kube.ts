/**
 * `protium kube manifests [PATH]`: the Kubernetes objects the kube platform would apply for a function
 * (a folder with function.yaml, or a function.yaml), printed as YAML, one document per object, without a
 * cluster or a dashboard — for review, and for GitOps users who apply them with their own tools. Every
 * object is validated against Kubernetes' OpenAPI schemas and the platform's semantic checks first.
 *
 * What only a deploy knows is a placeholder: the artifact (its id, the archive's digest, the fetch
 * credential — the dashboard's build makes them), and the owner references (the cluster's uids). A
 * function with `spec.image` naming an image of its own needs no artifact, and its manifests are complete.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { Artifact } from '../../builder/builder.js';
import { semanticProblems } from '../../platform/kube/checks.js';
import { DEFAULT_PROCESSOR_IMAGE, dashboardServiceUrl, isUserImage } from '../../platform/kube/kube-defaults.js';
import { functionObjects, objectList } from '../../platform/kube/objects.js';
import { processorRun } from '../../platform/kube/processor-run.js';
import { schemaProblems } from '../../platform/kube/schema.js';
import { enrichFunction } from '../../resources/function-enrich.js';
import { readFunctionBody } from '../../resources/function-validate.js';
import { runtimeFamily } from '../../resources/runtimes.js';
import type { FunctionRecord } from '../../resources/types.js';
import { CliError } from '../errors.js';
import { PACKAGE_ROOT } from '../../paths.js';
import { loadDeployInput } from '../function-yaml.js';

interface ManifestOptions {
  file?: string;
  kubeNamespace: string;
  processorImage: string;
  dashboardUrl?: string;
  replicas?: string;
}

/** What stands for the artifact the dashboard's build will make. */
const PLACEHOLDER = { id: '0'.repeat(32), digest: `sha256:${'0'.repeat(64)}`, token: 'set-by-the-dashboard-at-deploy' };

export function kubeCommand(program: Command): void {
  const kube = program.command('kube').description('Kubernetes: what the kube platform applies for a function');
  kube
    .command('manifests')
    .argument('[path]', 'a folder with function.yaml, or a function.yaml', '.')
    .description('print the Kubernetes objects of a function (YAML, one document per object), without a cluster')
    .option('-f, --file <function.yaml>', 'the function.yaml to read (default: PATH/function.yaml)')
    .option('--kube-namespace <ns>', 'the Kubernetes namespace the objects go to', 'protium')
    .option('--processor-image <image>', 'the processor image', DEFAULT_PROCESSOR_IMAGE)
    .option('--dashboard-url <url>', 'the dashboard as pods reach it (default: its Service in --kube-namespace)')
    .option('--replicas <n>', "the Deployment's replicas (default: minReplicas)")
    .addHelpText(
      'after',
      `
Example:
  $ protium kube manifests ./hello > hello.yaml && kubectl apply --dry-run=server -f hello.yaml`,
    )
    .action(async (path: string, opts: ManifestOptions) => {
      process.stdout.write(await manifests(path, opts));
    });
  kube
    .command('processor-image')
    .argument('<dir>', 'an empty (or new) folder')
    .description("write the processor image's build context (images/processor) into DIR, to build and push it")
    .addHelpText(
      'after',
      `
Example:
  $ protium kube processor-image /tmp/processor && docker build -t ${DEFAULT_PROCESSOR_IMAGE} /tmp/processor`,
    )
    .action(async (dir: string) => {
      const n = await writeProcessorContext(dir);
      process.stdout.write(`Wrote the processor image's build context (${n} files) into ${resolve(dir)}\n`);
    });
}

/** Writes the processor image's build context (the docker platform's, processor-image.ts) into `dir`. */
export async function writeProcessorContext(dir: string): Promise<number> {
  if (existsSync(dir) && readdirSync(dir).length > 0)
    throw new CliError(`Refusing to write the processor image's build context into ${dir}: the folder is not empty`, 2);
  if (!existsSync(join(PACKAGE_ROOT, 'dist', 'src', 'processor', 'main.js')))
    throw new CliError('The processor is not compiled: run npm run build first');
  // Loaded here only: the context's import scan (es-module-lexer) is no other command's cost.
  const { processorContext } = await import('../../platform/docker/processor-image.js');
  const files = await processorContext(PACKAGE_ROOT);
  for (const f of files) {
    const path = join(dir, ...f.rel.split('/'));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.content, { mode: f.mode });
  }
  return files.length;
}

/** The YAML of PATH's function. */
export async function manifests(path: string, opts: ManifestOptions): Promise<string> {
  const input = await loadDeployInput(path, { file: opts.file });
  let fn: FunctionRecord;
  try {
    const body = readFunctionBody(input.config, { defaultNamespace: 'nuclio' });
    fn = { ...enrichFunction(body), status: {} };
  } catch (e) {
    const field = (e as { field?: string }).field;
    throw new CliError(`${input.what}: ${(e as Error).message}${field ? ` (${field})` : ''}`);
  }
  const replicas = opts.replicas === undefined ? (fn.spec.minReplicas ?? fn.spec.replicas ?? 1) : Number(opts.replicas);
  if (!Number.isInteger(replicas) || replicas < 0)
    throw new CliError(`--replicas must be a whole number, got "${opts.replicas}"`, 2);
  const settings = { namespace: opts.kubeNamespace, processorImage: opts.processorImage };
  const dashboardUrl = opts.dashboardUrl ?? dashboardServiceUrl(opts.kubeNamespace);
  const family = runtimeFamily(fn.spec.runtime);
  let processor;
  if (!isUserImage(fn.spec.image)) {
    if (!family)
      throw new CliError(
        `${input.what}: spec.runtime ${JSON.stringify(fn.spec.runtime)} is not one the processor runs`,
      );
    const artifact: Artifact = {
      id: PLACEHOLDER.id,
      image: '',
      runtime: fn.spec.runtime!,
      family,
      handler: fn.spec.handler ?? '',
    };
    processor = processorRun({
      fn,
      artifact,
      fetch: {
        url: `${dashboardUrl}/api/artifacts/${PLACEHOLDER.id}`,
        token: PLACEHOLDER.token,
        digest: PLACEHOLDER.digest,
      },
      connectionLimits: { maxConnections: 1024, headersTimeoutMs: 10_000, requestTimeoutMs: 120_000 },
    });
  }
  const list = objectList(functionObjects({ fn, settings, replicas, ...(processor ? { processor } : {}) }));
  const problems = [...list.flatMap((o) => schemaProblems(o)), ...semanticProblems(list)];
  if (problems.length) throw new CliError(`the objects of ${input.what} are not valid:\n  ${problems.join('\n  ')}`);
  const header = processor
    ? `# The artifact's id, digest and fetch token are placeholders: the dashboard's build makes them at deploy.\n`
    : '';
  return header + list.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
}
