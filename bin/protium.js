#!/usr/bin/env node
// The `protium` command: runs the compiled CLI (dist/src/cli/main.js). `npm run build` makes dist.
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    `protium: the CLI is not built yet (no ${main.pathname}): run "npm run build" ` +
      `in ${new URL('..', import.meta.url).pathname}\n`,
  );
  process.exit(1);
}
const { run } = await import(main.href);
await run();
