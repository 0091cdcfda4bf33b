/**
 * `npm start`: the dashboard program. Flags (each also an environment variable, see config.ts):
 *   --listen-addr HOST:PORT  --gateway-listen-addr HOST:PORT  --data-dir DIR  --namespace NAME ...
 */
import { Command } from 'commander';
import type { RawOptions } from './config.js';
import { addDashboardOptions, runDashboard } from './dashboard-command.js';

const program = new Command('protium-dashboard').description(
  'Protium: a Nuclio-compatible serverless dashboard that runs functions on this machine',
);
addDashboardOptions(program);
program.action(async (opts: RawOptions) => runDashboard(opts));
await program.parseAsync(process.argv);
