/**
 * The fake API server's kube-proxy: every Service gets a cluster IP of its own on this machine's
 * loopback range (127.78.x.y) and, on each of its ports, a TCP forwarder to the ready endpoints of its
 * EndpointSlices, round-robin — what kube-proxy programs into iptables on a node. A connection to a
 * Service with no ready endpoint is reset, as kube-proxy's REJECT rule refuses it.
 */
import net from 'node:net';
import type { FakeApiServer, Obj } from './fake-apiserver.js';

export class FakeProxy {
  private next = 2;
  private readonly base = `127.78.${Math.floor(Math.random() * 200) + 20}`;
  private readonly listeners = new Map<string, { servers: net.Server[]; uid: string }>();
  private readonly rr = new Map<string, number>();

  constructor(private readonly api: FakeApiServer) {}

  allocate(): string {
    return `${this.base}.${this.next++}`;
  }

  /** Opens forwarders for new Services, closes those of deleted ones. */
  sync(): void {
    const live = new Set<string>();
    for (const svc of this.api.services()) {
      const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
      live.add(key);
      if (this.listeners.get(key)?.uid === svc.metadata.uid) continue;
      this.closeOne(key);
      const servers = (svc.spec.ports ?? []).map((p: Obj) => this.listen(svc, p));
      this.listeners.set(key, { servers, uid: svc.metadata.uid });
    }
    for (const key of [...this.listeners.keys()]) if (!live.has(key)) this.closeOne(key);
  }

  private listen(svc: Obj, port: Obj): net.Server {
    const ns = svc.metadata.namespace as string;
    const name = svc.metadata.name as string;
    const server = net.createServer((client) => {
      const targets = this.api
        .slicesOf(ns, name)
        .flatMap((s: Obj) => {
          const p = (s.ports ?? []).find((x: Obj) => x.name === (port.name ?? ''));
          return (s.endpoints ?? [])
            .filter((e: Obj) => e.conditions?.ready)
            .flatMap((e: Obj) => (e.addresses as string[]).map((a) => ({ host: a, port: Number(p?.port) })));
        })
        .filter((t) => t.port > 0);
      if (!targets.length) {
        client.resetAndDestroy();
        return;
      }
      const key = `${ns}/${name}/${String(port.port)}`;
      const i = (this.rr.get(key) ?? 0) % targets.length;
      this.rr.set(key, i + 1);
      const upstream = net.connect(targets[i]);
      client.pipe(upstream);
      upstream.pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end);
      upstream.on('error', end);
      client.on('close', end);
      upstream.on('close', end);
    });
    server.on('error', () => {});
    server.listen(Number(port.port), svc.spec.clusterIP as string);
    return server;
  }

  private closeOne(key: string): void {
    const l = this.listeners.get(key);
    if (!l) return;
    this.listeners.delete(key);
    for (const s of l.servers) s.close();
  }

  async close(): Promise<void> {
    for (const key of [...this.listeners.keys()]) this.closeOne(key);
  }
}
