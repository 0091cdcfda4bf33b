/**
 * `protium dashboard [flags]`: the dashboard itself (what `npm start` runs). Its module (Fastify, SQLite,
 * pino) is imported only when this verb runs, so the other verbs start fast: the verb takes its arguments
 * as they are and parses them with the dashboard's own options (addDashboardOptions) once loaded.
 */
import { Command } from 'commander';

export function dashboardCommand(program: Command, configure: (cmd: Command) => Command): void {
  program
    .command('dashboard')
    .description('start the dashboard here (what "npm start" runs)')
    .usage('[--listen-addr HOST:PORT] [--data-dir DIR] [...] (protium dashboard --help lists them)')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (_opts: unknown, c: Command) => {
      const { addDashboardOptions, runDashboard } = await import('../../dashboard-command.js');
      const inner = configure(new Command('protium dashboard'))
        .description(
          'Start the Protium dashboard on this machine (the program "npm start" runs). Ctrl-C stops it and its ' +
            'functions.',
        )
        .addHelpText(
          'after',
          `
Every flag also has an environment variable (see the README); flags win.

Example:
  $ protium dashboard --listen-addr 127.0.0.1:8070 --data-dir ./.protium`,
        );
      addDashboardOptions(inner);
      // --namespace is also a global flag, and the program takes it wherever it appears: hand it on.
      const globals = c.optsWithGlobals<{ namespace?: string }>();
      inner.action(async (opts: Record<string, unknown>) => {
        await runDashboard({
          ...opts,
          ...(globals.namespace !== undefined && opts.namespace === undefined ? { namespace: globals.namespace } : {}),
        });
      });
      await inner.parseAsync(c.args, { from: 'user' });
    });
}
