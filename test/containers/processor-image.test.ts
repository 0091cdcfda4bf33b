/**
 * The processor image, built through the engine from this checkout: it has what every runtime needs, and
 * every package the processor's triggers load resolves inside it (the context follows the imports:
 * processor-image.ts) — a package left out would fail only when a function first used that trigger.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type Docker from 'dockerode';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { ProcessorImage } from '../../src/platform/docker/processor-image.js';
import { lastLines } from '../../src/platform/docker/container-logs.js';
import { BASE_IMAGE, engine, engineMissing } from './engine.js';

const missing = await engineMissing();

/** Runs `cmd` in a throwaway container of `image` as nobody, read-only; its exit code and output. */
async function run(
  docker: Docker,
  image: string,
  cmd: string[],
  workdir = '/tmp',
): Promise<{ code: number; out: string }> {
  const c = await docker.createContainer({
    Image: image,
    Entrypoint: cmd.slice(0, 1),
    Cmd: cmd.slice(1),
    User: '65534:65534',
    WorkingDir: workdir,
    Labels: { 'io.protium.test': 'processor-image' },
    HostConfig: { ReadonlyRootfs: true, CapDrop: ['ALL'], Tmpfs: { '/tmp': 'rw' } },
  });
  try {
    await c.start();
    const { StatusCode } = (await c.wait()) as { StatusCode: number };
    const out = (await lastLines(docker, c, 50)).map((l) => (JSON.parse(l) as { message: string }).message).join('\n');
    return { code: StatusCode, out };
  } finally {
    await c.remove({ force: true }).catch(() => {});
  }
}

describe('the processor image', { skip: missing }, () => {
  it(
    'is built from the base image, tagged by its version, and has node, python3, sh and tar',
    { timeout: 300_000 },
    async () => {
      const docker = engine();
      const lines: string[] = [];
      const image = new ProcessorImage(docker, { root: PACKAGE_ROOT, baseImage: BASE_IMAGE, log: () => {} });
      const tag = await image.ensure((_level, message) => lines.push(message));
      assert.equal(tag, await image.tag());
      const info = await docker.getImage(tag).inspect();
      assert.equal(info.Config.Labels?.['io.protium.processor-image'], tag);
      // Podman 4.3's log of a container that exits at once sometimes loses its first line, or the newline
      // after it: a first line nothing depends on, then every answer on one line, matched anywhere.
      const tools = await run(docker, tag, [
        'sh',
        '-c',
        'echo tools; echo "node=$(node --version) python=$(python3 --version) tar=$(tar --version | head -1) ' +
          'processor=$(test -x /opt/protium/bin/processor && echo yes) end"',
      ]);
      assert.equal(tools.code, 0, tools.out);
      assert.match(tools.out, /node=v20\./);
      assert.match(tools.out, /python=Python 3\./);
      assert.match(tools.out, /tar=tar \(GNU tar\)/);
      assert.match(tools.out, /processor=yes end/);
    },
  );

  it(
    "resolves every package the processor's triggers load (cron, Kafka, MQTT, NATS, RabbitMQ)",
    { timeout: 300_000 },
    async () => {
      const docker = engine();
      const tag = await new ProcessorImage(docker, {
        root: PACKAGE_ROOT,
        baseImage: BASE_IMAGE,
        log: () => {},
      }).ensure();
      const modules = ['croner', 'kafkajs', 'mqtt', 'nats', 'amqplib'];
      // A first line nothing depends on (the log quirk above), and each module's line matched unanchored.
      const script =
        `console.log('modules'); ` +
        `for (const m of ${JSON.stringify(modules)}) { await import(m); console.log('loaded ' + m); }`;
      const res = await run(docker, tag, ['node', '--input-type=module', '-e', script], '/opt/protium');
      assert.equal(res.code, 0, res.out);
      for (const m of modules) assert.match(res.out, new RegExp(`loaded ${m}$`, 'm'));
      // And the trigger modules themselves load.
      const triggers = await run(
        docker,
        tag,
        [
          'node',
          '--input-type=module',
          '-e',
          "await import('/opt/protium/dist/src/processor/triggers/index.js'); console.log('triggers loaded')",
        ],
        '/opt/protium',
      );
      assert.equal(triggers.code, 0, triggers.out);
    },
  );
});
