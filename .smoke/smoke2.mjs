import Fastify from 'fastify';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const D = (p) => import(`/work/wt/containers/dist/src/${p}`);
const { connectEngine } = await D('platform/docker/engine.js');
const { ProcessorImage } = await D('platform/docker/processor-image.js');
const { ArtifactVolumes } = await D('platform/docker/artifact-volumes.js');
const { DockerFunction } = await D('platform/docker/docker-function.js');
const { replicaTemplate } = await D('platform/docker/replica-template.js');
const { bridgeAddress } = await D('platform/docker/container-network.js');
const { ArtifactArchives } = await D('build/artifact-archive.js');
const { ArtifactTokens } = await D('api/artifact-tokens.js');
const { artifactRoutes } = await D('api/routes/artifacts.js');
const { installReplicaGate, listenForReplicas } = await D('api/replica-listener.js');
const { installAuth } = await D('api/auth.js');
const { ArtifactStore } = await D('build/artifact-store.js');
const { LocalBuilder } = await D('build/local-builder.js');
const { TemplateCatalog } = await D('build/template-catalog.js');
const { createLogger } = await D('log.js');
const { enrichFunction } = await D('resources/function-enrich.js');

const log = createLogger('info');
const dir = mkdtempSync(join(tmpdir(), 'smoke-'));
mkdirSync(join(dir, 'artifacts'));
const store = new ArtifactStore(join(dir, 'artifacts'));
const builder = new LocalBuilder({ artifacts: store, templates: TemplateCatalog.load('/work/wt/containers/templates'), sourceRoots: { roots: [], forbidden: [dir] }, sourceLimits: { maxBytes: 1e8, maxFiles: 1000 }, commands: { run: async () => {} } });
const code = `exports.handler = async (context, event) => { if (event.path === "/oom") { const a = []; for (let i = 0; i < 400; i++) a.push(Buffer.alloc(1 << 20, 1)); return "survived"; } const fs = require("fs"); let out = {}; for (const p of ["/proc/1/cmdline", "/var/lib/protium/artifacts", "/etc/hostname", "/work/wt/containers", "/tmp"]) { try { out[p] = fs.statSync(p).isDirectory() ? fs.readdirSync(p) : fs.readFileSync(p, "utf8").slice(0, 100); } catch (e) { out[p] = e.code; } } try { fs.writeFileSync("/opt/x", "1"); out.write = "ok" } catch (e) { out.write = e.code } return JSON.stringify(out); };`;
const cfg = enrichFunction({ metadata: { name: 'smoke', namespace: 'nuclio' }, spec: { runtime: 'nodejs', handler: 'handler:handler', minReplicas: 1, maxReplicas: 1, resources: { limits: { memory: '64Mi' } }, build: { functionSourceCode: Buffer.from(code).toString('base64') } } });
const fn = { ...cfg, status: {} };
const artifact = await builder.build(fn);
console.log('artifact', artifact.id);
const { docker, name } = await connectEngine('unix:///run/protium/podman.sock');
console.log(name);
const image = new ProcessorImage(docker, { root: '/work/wt/containers', baseImage: 'localhost/protium-base:bookworm', log: (l, m) => console.log('[image]', m) });
const archives = new ArtifactArchives((id) => join(dir, 'artifacts', id), join(dir, 'archives'));
const tokens = new ArtifactTokens();
const app = Fastify();
installAuth(app, undefined);
installReplicaGate(app);
artifactRoutes(app, { archives, tokens });
await app.ready();
let url;
const dashboardUrl = async () => url ??= (await listenForReplicas(app, await bridgeAddress(docker, () => image.ensure(), 'smoke00000000'), { maxConnections: 100, headersTimeoutMs: 10000, requestTimeoutMs: 60000 })).url;
const volumes = new ArtifactVolumes(docker, { dashboardId: 'smoke0000000', image: () => image.ensure(), archives, tokens, dashboardUrl, log: (l, m) => console.log('[cache]', m) });
const t0 = Date.now();
const f = new DockerFunction({ namespace: 'nuclio', name: 'smoke' }, {
  docker, log, holdTimeoutMs: 60000, connectionLimits: { maxConnections: 100, headersTimeoutMs: 10000, requestTimeoutMs: 60000 },
  prepare: async (record, a) => replicaTemplate({ dashboardId: 'smoke0000000', fn: record, artifact: a, image: await image.ensure(), cache: await volumes.ensure(a.id), connectionLimits: { maxConnections: 100, headersTimeoutMs: 10000, requestTimeoutMs: 60000 } }),
  takeLeftovers: () => [], onStatus: (s) => console.log('[status]', JSON.stringify(s).slice(0, 300)), onRouteChanged: () => console.log('[route changed]'), onReplicasStopped: () => console.log('[stopped]'),
});
await new Promise((r) => f.proxy.server.listen(0, '127.0.0.1', r));
f.port = f.proxy.server.address().port;
try {
  await f.deploy(fn, artifact, false);
  console.log('deployed in', Date.now() - t0, 'ms; port', f.port, f.replicaInfos());
  console.log(await (await fetch(`http://127.0.0.1:${f.port}/`)).text());
  console.log('oom:', await fetch(`http://127.0.0.1:${f.port}/oom`).then((r) => r.status + ' ' + r.statusText, (e) => 'ERR ' + e.message));
  await new Promise((r) => setTimeout(r, 3000));
  console.log('after oom', f.replicaInfos(), await (await fetch(`http://127.0.0.1:${f.port}/`)).status);
} catch (e) { console.error('FAILED', e); }
await f.close();
await app.close();
console.log('containers left:', (await docker.listContainers({ all: true, filters: { label: ['io.protium.dashboard=smoke0000000'] } })).length);
await volumes.prune(new Set());
process.exit(0);
