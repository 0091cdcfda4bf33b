/**
 * `protium deploy [PATH]`: function.yaml (or a single source file) + flags → POST (or PUT, when the function
 * exists) /api/functions with the source inline, then progress and build output until it is ready.
 */
import type { Command } from 'commander';
import { PROJECT_LABEL } from '../../resources/types.js';
import { collect, contextOf, durationMs, seg } from '../context.js';
import { ApiAnswerError, CliError } from '../errors.js';
import { lineOf, loadDeployInput, packSource, type DeployFlags, type FunctionYaml } from '../function-yaml.js';
import { invocationUrl, waitForFunction, type FunctionLike } from '../functions.js';
import { Progress } from '../output.js';

interface DeployOptions extends DeployFlags {
  file?: string;
  wait: boolean;
  timeout: string;
}

export function deployCommand(program: Command): void {
  program
    .command('deploy')
    .argument('[path]', 'a folder with function.yaml, a folder of sources, or one source file', '.')
    .description('deploy (or update) a function: a folder with function.yaml, or one source file')
    .option('-f, --file <function.yaml>', 'the function.yaml to read (default: PATH/function.yaml)')
    .option('--name <name>', 'function name (default: metadata.name, else the folder or file name)')
    .option(
      '--runtime <runtime>',
      'nodejs, python, python:3.x or shell (default: spec.runtime, else from the file extension)',
    )
    .option('--handler <handler>', 'e.g. main:handler (python), handler:handler (nodejs), main.sh:main (shell)')
    .option('--env <NAME=value>', 'environment variable, repeatable', collect)
    .option(
      '--build-command <command>',
      'build command (e.g. "pip install requests"), repeatable; replaces spec.build.commands',
      collect,
    )
    .option('--min-replicas <n>', 'minimum replicas (0 allows scale to zero)')
    .option('--max-replicas <n>', 'maximum replicas')
    .option('--trigger <spec>', 'a trigger: JSON as in function.yaml, or cron=<interval|schedule>; repeatable', collect)
    .option('--description <text>', 'function description')
    .option('--no-wait', 'return once the dashboard accepted the function')
    .option('--timeout <duration>', 'how long to wait for the function to be ready', '10m')
    .addHelpText(
      'after',
      `
Example:
  $ protium deploy ./hello --env GREETING=hi     # hello/function.yaml + hello/main.py
  $ protium deploy main.py --runtime python --name hello`,
    )
    .action(async (path: string, opts: DeployOptions, cmd: Command) => deploy(path, opts, cmd));
}

async function deploy(path: string, opts: DeployOptions, cmd: Command): Promise<void> {
  const { client: base, globals } = contextOf(cmd);
  const timeoutMs = durationMs(opts.timeout, '--timeout');
  const input = await loadDeployInput(path, opts);
  const config = input.config;
  const name = config.metadata.name!;
  if (globals.namespace) config.metadata.namespace = globals.namespace;
  if (globals.project) config.metadata.labels = { ...(config.metadata.labels ?? {}), [PROJECT_LABEL]: globals.project };
  const client = base.withNamespace(config.metadata.namespace ?? base.namespace);

  const packed = await packSource(input.plan);
  const spec = { ...config.spec, build: { ...(config.spec.build ?? {}) } };
  if (packed.functionSourceCode) {
    spec.build.functionSourceCode = packed.functionSourceCode;
    if (packed.codeEntryType) spec.build.codeEntryType = packed.codeEntryType;
    else delete spec.build.codeEntryType;
  }

  const progress = new Progress();
  const size = packed.bytes < 1024 ? `${packed.bytes} B` : `${(packed.bytes / 1024).toFixed(1)} KiB`;
  const source =
    input.plan.kind === 'none'
      ? 'source named in the config'
      : `${packed.files} file${packed.files === 1 ? '' : 's'}, ` +
        `${size}${input.plan.kind === 'archive' ? ' packed' : ''}`;

  const existing = await client.find<FunctionLike>(`/api/functions/${seg(name)}`, { ns: 'function' });
  const startedAt = Date.now();
  try {
    if (existing) {
      progress.line(`Updating function ${name} (${source}) on ${client.url}`);
      const { resourceVersion: _rv, ...meta } = existing.metadata;
      const metadata = {
        ...meta,
        ...config.metadata,
        labels: { ...(existing.metadata.labels ?? {}), ...(config.metadata.labels ?? {}) },
        name,
      };
      await client.request('PUT', `/api/functions/${seg(name)}`, { ns: 'function', body: { metadata, spec } });
    } else {
      progress.line(`Deploying function ${name} (${source}) to ${client.url}`);
      await client.request('POST', '/api/functions', { ns: 'function', body: { metadata: config.metadata, spec } });
    }
  } catch (e) {
    throw withYamlLine(e, input.yaml, client.namespace);
  }

  if (!opts.wait) {
    process.stdout.write(`Function ${name} accepted: it is deploying (protium get function ${name} shows its state)\n`);
    return;
  }
  const fn = await waitForFunction(client, name, { timeoutMs, startedAt, progress, buildLog: true });
  const url = invocationUrl(fn, client.url);
  const secs = ((Date.now() - startedAt) / 1000).toFixed(1);
  process.stdout.write(`Function ${name} is ${fn.status?.state} (${secs} s)${url ? `: ${url}` : ''}\n`);
}

/** A dashboard error about a field gets the line of that field in function.yaml; a missing project, a hint. */
function withYamlLine(e: unknown, yaml: FunctionYaml | undefined, namespace: string | undefined): unknown {
  if (e instanceof ApiAnswerError && e.status === 412) {
    const m = /^Project does not exist: "([^"]+)"/.exec(e.message);
    if (m)
      return new CliError(
        `project ${m[1]} does not exist${namespace ? ` in namespace ${namespace}` : ''}: create it with ` +
          `"protium${namespace ? ` -n ${namespace}` : ''} create project ${m[1]}"`,
      );
  }
  if (!(e instanceof ApiAnswerError) || !e.field || !yaml) return e;
  const line = lineOf(yaml, e.field);
  return line ? new CliError(`${e.message} (${yaml.file} line ${line})`) : e;
}
