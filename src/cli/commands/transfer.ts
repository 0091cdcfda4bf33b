/**
 * `protium export project NAME` and `protium import -f FILE`: the project bundles of
 * GET /api/projects/<name>?export=true and POST /api/projects?import=true, so a project (functions, function
 * events, API gateways) moves between dashboards. Import then deploys the functions that were running.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseDocument } from 'yaml';
import { isServing, ranBeforeExport } from '../../resources/function-state.js';
import { contextOf, durationMs, seg } from '../context.js';
import { CliError } from '../errors.js';
import { invocationUrl, waitForFunction, type FunctionLike } from '../functions.js';
import { parseFormat, Progress, render } from '../output.js';

export function exportCommand(program: Command): void {
  program
    .command('export')
    .argument('<kind>', 'project or function')
    .argument('<name>', 'its name')
    .description(
      'print a project (or one function) as YAML, to import elsewhere; secrets are blanked unless --include-secrets',
    )
    .option('-o, --output <format>', 'yaml or json', 'yaml')
    .option(
      '--include-secrets',
      'keep passwords, tokens, keys and credentials in the export (they are blanked by default)',
    )
    .option('--no-scrub', "the same as --include-secrets (nuctl's name)")
    .addHelpText(
      'after',
      `
Example:
  $ protium export project shop > shop.yaml
  $ protium export project shop --include-secrets > shop-with-secrets.yaml`,
    )
    .action(
      async (
        kind: string,
        name: string,
        opts: { output: string; includeSecrets?: boolean; scrub: boolean },
        cmd: Command,
      ) => {
        const format = parseFormat(opts.output, ['yaml', 'json']) as 'yaml' | 'json';
        const { client } = contextOf(cmd);
        const k = kind.toLowerCase();
        const query: Record<string, string> = {
          export: 'true',
          ...(opts.includeSecrets || !opts.scrub ? { includeSecrets: 'true' } : {}),
        };
        let data: unknown;
        if (['project', 'projects', 'proj'].includes(k)) {
          data = await client.find(`/api/projects/${seg(name)}`, { ns: 'project', query });
          if (!data) throw new CliError(`project ${name} not found`);
        } else if (['function', 'functions', 'fn', 'fu'].includes(k)) {
          data = await client.find(`/api/functions/${seg(name)}`, { ns: 'function', query });
          if (!data) throw new CliError(`function ${name} not found`);
        } else {
          throw new CliError(`cannot export ${JSON.stringify(kind)}: use project or function`, 2);
        }
        process.stdout.write(render(data, format));
      },
    );
}

interface Bundle {
  project?: { metadata?: { name?: string } };
  functions?: Record<string, FunctionLike>;
  functionEvents?: Record<string, unknown>;
  apiGateways?: Record<string, unknown>;
}

interface ImportResult {
  functionImportResult?: {
    createdAmount?: number;
    failedAmount?: number;
    failedFunctions?: { function: string; error: string }[] | null;
  };
  functionEventImportResult?: {
    createdAmount?: number;
    failedAmount?: number;
    failedFunctionEvents?: { functionEvent: string; error: string }[] | null;
  };
  apiGatewayImportResult?: {
    createdAmount?: number;
    failedAmount?: number;
    failedAPIGateways?: { apiGateway: string; error: string }[] | null;
  };
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The bundles in an export file: one bundle, or several keyed by project name (GET /api/projects?export=true). */
export function bundlesOf(doc: unknown, file: string): Bundle[] {
  if (isMap(doc) && isMap(doc.project)) return [doc];
  if (isMap(doc) && Object.keys(doc).length && Object.values(doc).every((v) => isMap(v) && isMap(v.project)))
    return Object.values(doc) as Bundle[];
  throw new CliError(
    `${file} is not a project export: it needs project, functions, functionEvents and apiGateways (protium ` +
      `export project NAME writes one)`,
  );
}

export function importCommand(program: Command): void {
  program
    .command('import')
    .requiredOption('-f, --file <file>', 'a project export (YAML or JSON) written by "protium export project"')
    .description('import a project export and deploy its functions')
    .option('--no-deploy', 'leave the functions imported, not deployed')
    .option('--timeout <duration>', 'how long to wait for each function', '10m')
    .addHelpText(
      'after',
      `
Example:
  $ protium import -f shop.yaml`,
    )
    .action(async (opts: { file: string; deploy: boolean; timeout: string }, cmd: Command) => {
      const timeoutMs = durationMs(opts.timeout, '--timeout');
      let text: string;
      try {
        text = await readFile(opts.file, 'utf8');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new CliError(`${opts.file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
      }
      const doc = parseDocument(text, {});
      if (doc.errors.length) {
        const e = doc.errors[0];
        const pos = e.linePos?.[0];
        throw new CliError(
          `${opts.file}${pos ? ` line ${pos.line}, column ${pos.col}` : ''}: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`,
        );
      }
      const bundles = bundlesOf(doc.toJS(), opts.file);
      const { client } = contextOf(cmd);
      let failed = 0;
      const toDeploy: string[] = [];
      for (const bundle of bundles) {
        const project = bundle.project?.metadata?.name ?? '?';
        const res = await client.json<ImportResult>('POST', '/api/projects', {
          ns: 'project',
          query: { import: 'true' },
          body: bundle,
          timeoutMs: 120_000,
        });
        const f = res?.functionImportResult ?? {};
        const e = res?.functionEventImportResult ?? {};
        const g = res?.apiGatewayImportResult ?? {};
        process.stdout.write(
          `Project ${project} ` +
            `imported: ${plural(f.createdAmount ?? 0, 'function')}, ` +
            `${plural(e.createdAmount ?? 0, 'function event')}, ${plural(g.createdAmount ?? 0, 'API gateway')}\n`,
        );
        const failures = [
          ...(f.failedFunctions ?? []).map((x) => `function ${x.function}: ${x.error}`),
          ...(e.failedFunctionEvents ?? []).map((x) => `function event ${x.functionEvent}: ${x.error}`),
          ...(g.failedAPIGateways ?? []).map((x) => `API gateway ${x.apiGateway}: ${x.error}`),
        ];
        for (const line of failures) process.stderr.write(`  failed: ${line}\n`);
        failed += failures.length;
        const failedFns = new Set((f.failedFunctions ?? []).map((x) => x.function));
        for (const [key, fn] of Object.entries(bundle.functions ?? {})) {
          const name = fn?.metadata?.name ?? key;
          const before = fn?.metadata?.annotations?.['nuclio.io/previous-state'] ?? '';
          if (!failedFns.has(name) && ranBeforeExport(before)) toDeploy.push(name);
        }
      }
      if (opts.deploy) {
        for (const name of toDeploy) {
          try {
            const startedAt = Date.now();
            await client.request('PATCH', `/api/functions/${seg(name)}`, {
              ns: 'function',
              headers: { 'x-nuclio-imported-function-only': 'true' },
              body: { desiredState: 'ready' },
            });
            const fn = await waitForFunction(client, name, {
              timeoutMs,
              startedAt,
              progress: new Progress(),
              buildLog: true,
              success: (state) => isServing(state) || state === 'imported',
            });
            const url = invocationUrl(fn, client.url);
            process.stdout.write(
              fn.status?.state === 'imported'
                ? `Function ${name} stays imported (it existed before the import)\n`
                : `Function ${name} is ${fn.status?.state}${url ? `: ${url}` : ''}\n`,
            );
          } catch (err) {
            if (!(err instanceof CliError)) throw err;
            process.stderr.write(`protium: ${err.message}\n`);
            failed++;
          }
        }
      } else if (toDeploy.length) {
        process.stdout.write(
          `Functions left imported: ${toDeploy.join(', ')} (deploy each with: protium scale NAME --ready)\n`,
        );
      }
      if (failed) throw new CliError(`${plural(failed, 'item')} failed to import or deploy`);
    });
}
