/**
 * The README's async walk-through (## Async invocations), run as written with bash, curl and python3
 * against a real dashboard — only its address (127.0.0.1:8070) and /tmp/ are replaced by the test's own,
 * so that it can run beside other dashboards. It must end with the requeued invocation's answer and the
 * discard's 204.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { startTestDashboard, type TestDashboard } from '../helpers/start-dashboard.js';

/** The first ```sh block of the README section titled `title`. */
function readmeBlock(readme: string, title: string): string {
  const at = readme.indexOf(`\n## ${title}\n`);
  if (at < 0) throw new Error(`README has no section "${title}"`);
  const m = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!m) throw new Error(`README section "${title}" has no sh block`);
  return m[1];
}

describe('README: Async invocations walk-through', () => {
  let d: TestDashboard;
  let work: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'protium-readme-async-'));
    d = await startTestDashboard();
  });
  after(async () => {
    await d?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('runs as written: enqueue, poll to the dead letter, requeue to success, discard', async () => {
    const block = readmeBlock(readFileSync(join(PACKAGE_ROOT, 'README.md'), 'utf8'), 'Async invocations');
    assert.match(block, /127\.0\.0\.1:8070/);
    const script = block.replaceAll('http://127.0.0.1:8070', d.url).replaceAll('/tmp/', `${work}/`);
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile('bash', ['-eo', 'pipefail', '-c', script], { timeout: 90_000, cwd: work }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
      ),
    );
    assert.equal(out.code, 0, `the walk-through failed:\n${out.stderr}\n${out.stdout}`);
    assert.match(out.stdout, /HTTP\/1\.1 202 Accepted/);
    assert.match(out.stdout, /"state": "dead"/);
    assert.match(out.stdout, /\n200 resized photo-7\n204\n$/);
  });
});
