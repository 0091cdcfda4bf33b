/**
 * `protium delete function|project|apigateway|functionevent NAME`, `protium create project NAME`, and
 * `protium scale NAME --to-zero|--ready` (PATCH desiredState).
 */
import type { Command } from 'commander';
import type { NamespaceKind } from '../api-client.js';
import { contextOf, durationMs, seg } from '../context.js';
import { ApiAnswerError, CliError } from '../errors.js';
import { invocationUrl, waitForFunction, type FunctionLike } from '../functions.js';
import { Progress } from '../output.js';
import { kindOf, type Kind } from './get.js';

const DELETABLE: Kind[] = ['functions', 'projects', 'apigateways', 'functionevents'];
const ROUTES: Record<string, { path: string; ns: NamespaceKind; what: string }> = {
  functions: { path: '/api/functions', ns: 'function', what: 'function' },
  projects: { path: '/api/projects', ns: 'project', what: 'project' },
  apigateways: { path: '/api/api_gateways', ns: 'apiGateway', what: 'API gateway' },
  functionevents: { path: '/api/function_events', ns: 'functionEvent', what: 'function event' },
};

export function deleteCommand(program: Command): void {
  program
    .command('delete')
    .alias('del')
    .argument('<kind>', 'function, project, apigateway or functionevent')
    .argument('<name>', 'its name')
    .description('delete a function, project, apigateway or functionevent')
    .option('--cascade', 'project: delete its functions, function events and API gateways too')
    .option('--with-api-gateways', 'function: delete the API gateways that route to it too')
    .addHelpText(
      'after',
      `
Example:
  $ protium delete function hello`,
    )
    .action(
      async (kindWord: string, name: string, opts: { cascade?: boolean; withApiGateways?: boolean }, cmd: Command) => {
        const kind = kindOf(kindWord, DELETABLE);
        const route = ROUTES[kind];
        const { client } = contextOf(cmd);
        const existing = await client.find(`${route.path}/${seg(name)}`, { ns: route.ns });
        if (!existing)
          throw new CliError(
            `${route.what} ${name} not found${client.namespace ? ` in namespace ${client.namespace}` : ''}`,
          );
        const headers: Record<string, string> = {};
        if (kind === 'projects' && opts.cascade) headers['x-nuclio-delete-project-strategy'] = 'cascading';
        if (kind === 'functions' && opts.withApiGateways)
          headers['x-nuclio-delete-function-with-api-gateways'] = 'true';
        const metadata = { name, ...(client.namespace ? { namespace: client.namespace } : {}) };
        try {
          await client.request('DELETE', route.path, { ns: route.ns, headers, body: { metadata } });
        } catch (e) {
          if (e instanceof ApiAnswerError && e.status === 412) {
            if (kind === 'projects' && /functions|api gateways/i.test(e.message))
              throw new CliError(
                `${e.message.replace(/ \(delete them first.*\)$/, '')}: delete them first, or add --cascade to ` +
                  `delete them with the project`,
              );
            if (kind === 'functions' && /api gateways/i.test(e.message))
              throw new CliError(
                `${e.message.replace(/ \(send X-Nuclio.*\)$/, '')}: delete them first, or add --with-api-gateways`,
              );
          }
          throw e;
        }
        process.stdout.write(`${route.what[0].toUpperCase()}${route.what.slice(1)} ${name} deleted\n`);
      },
    );
}

export function createCommand(program: Command): void {
  const create = program
    .command('create')
    .description('create a project')
    .addHelpText(
      'after',
      `
Example:
  $ protium create project shop --description "the shop's functions"`,
    );
  create
    .command('project')
    .argument('<name>', 'project name')
    .description('create a project')
    .option('--description <text>', 'what the project is for')
    .addHelpText(
      'after',
      `
Example:
  $ protium create project shop --description "the shop's functions"`,
    )
    .action(async (name: string, opts: { description?: string }, cmd: Command) => {
      const { client } = contextOf(cmd);
      const metadata = { name, ...(client.namespace ? { namespace: client.namespace } : {}) };
      await client.request('POST', '/api/projects', {
        ns: 'project',
        body: { metadata, spec: { description: opts.description ?? '' } },
      });
      process.stdout.write(`Project ${name} created (deploy into it with: protium deploy PATH --project ${name})\n`);
    });
}

export function scaleCommand(program: Command): void {
  program
    .command('scale')
    .argument('<name>', 'function name')
    .description('scale a function to zero (it keeps its port; a request wakes it), or back to ready')
    .option('--to-zero', 'scale to zero')
    .option('--ready', 'back to ready (redeploys a function in error or imported)')
    .option('--timeout <duration>', 'how long to wait', '5m')
    .addHelpText(
      'after',
      `
Example:
  $ protium scale hello --to-zero`,
    )
    .action(async (name: string, opts: { toZero?: boolean; ready?: boolean; timeout: string }, cmd: Command) => {
      if (!!opts.toZero === !!opts.ready) throw new CliError('give one of --to-zero or --ready', 2);
      const timeoutMs = durationMs(opts.timeout, '--timeout');
      const { client } = contextOf(cmd);
      const desiredState = opts.toZero ? 'scaledToZero' : 'ready';
      const startedAt = Date.now();
      try {
        await client.request('PATCH', `/api/functions/${seg(name)}`, { ns: 'function', body: { desiredState } });
      } catch (e) {
        if (e instanceof ApiAnswerError && /non-zero min replicas/.test(e.message)) {
          throw new CliError(`${e.message}: redeploy it with --min-replicas 0 first`);
        }
        throw e;
      }
      const fn: FunctionLike = await waitForFunction(client, name, {
        timeoutMs,
        startedAt,
        progress: new Progress(),
        buildLog: !opts.toZero,
        success: (state) => state === desiredState,
      });
      const url = invocationUrl(fn, client.url);
      process.stdout.write(
        opts.toZero
          ? `Function ${name} is scaled to zero${url ? `: the next request to ${url} wakes it` : ''}\n`
          : `Function ${name} is ready${url ? `: ${url}` : ''}\n`,
      );
    });
}
