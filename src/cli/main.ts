/**
 * `protium`: the command-line client of the dashboard (bin/protium.js runs this). It talks to the
 * dashboard's HTTP API only, so it works the same against a dashboard on this machine or another; nuctl's
 * nouns and habits where they exist. Errors are one `protium: ...` line on stderr and a non-zero exit.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { CliError } from './errors.js';
import { dashboardCommand } from './commands/dashboard.js';
import { deployCommand } from './commands/deploy.js';
import { getCommand } from './commands/get.js';
import { invokeCommand } from './commands/invoke.js';
import { invocationsCommand } from './commands/invocations.js';
import { logsCommand } from './commands/logs.js';
import { createCommand, deleteCommand, scaleCommand } from './commands/manage.js';
import { exportCommand, importCommand } from './commands/transfer.js';
import { topCommand } from './commands/top.js';
import { kubeCommand } from './commands/kube.js';

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Commander's own errors ("error: unknown option '--outptu'\n(Did you mean --output?)") as one line. */
export function oneLineError(text: string): string {
  const body = text
    .trim()
    .replace(/^error:\s*/i, '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
  return `protium: ${body}\n`;
}

/** Settings every command shares; subcommands made with .command() inherit them. */
function configure(cmd: Command): Command {
  return cmd
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(oneLineError(str)) });
}

export function buildProgram(): Command {
  const program = configure(new Command('protium'))
    .description(
      'The Protium command line: deploy, call and watch functions on a Protium (Nuclio-compatible) dashboard, ' +
        'here or remote.',
    )
    .version(version(), '-V, --version')
    .option('--url <url>', 'dashboard URL (env PROTIUM_URL, then NUCLIO_DASHBOARD_URL; default http://127.0.0.1:8070)')
    .option('-n, --namespace <namespace>', "namespace (default: the dashboard's own, usually nuclio)")
    .option('--project <project>', 'project to deploy into, and to list functions and API gateways of')
    .option('--token <token>', 'token for a dashboard started with --auth-token-file (env PROTIUM_TOKEN)')
    .addHelpText(
      'after',
      `
Examples:
  $ protium dashboard &                    # a dashboard on http://127.0.0.1:8070
  $ protium deploy ./hello                 # a folder with function.yaml and its source
  $ protium invoke hello --body protium
  $ protium logs hello -f`,
    );
  dashboardCommand(program, configure);
  deployCommand(program);
  getCommand(program);
  invokeCommand(program);
  invocationsCommand(program);
  logsCommand(program);
  topCommand(program);
  scaleCommand(program);
  deleteCommand(program);
  createCommand(program);
  exportCommand(program);
  importCommand(program);
  kubeCommand(program);
  return program;
}

/** Runs the CLI; resolves with the exit code (the dashboard verb resolves once it is listening). */
export async function main(argv: string[] = process.argv): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit 0; `protium` alone shows help and exits 1; usage errors exit 2.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
        return e.exitCode;
      return 2;
    }
    if (e instanceof CliError) {
      process.stderr.write(`protium: ${e.message}\n`);
      return e.exitCode;
    }
    const err = e as Error;
    process.stderr.write(`protium: ${err?.message ?? String(e)}\n`);
    if (process.env.PROTIUM_DEBUG) process.stderr.write(`${err?.stack ?? ''}\n`);
    return 1;
  }
}

/** The entry point bin/protium.js calls. */
export async function run(): Promise<void> {
  const code = await main();
  process.exitCode = code;
}
