/**
 * The gateway controller: after any change to gateways or functions, compiles every gateway into a new
 * routing table, swaps it into the listener, and sets each gateway's state: `ready`, or `error` with the
 * reason (a missing upstream function, a host and path routed twice, access keys not configured).
 */
import { compileRoutes } from '../gateway/routing-table.js';
import type { Gateway } from '../gateway/gateway.js';
import type { Logger } from '../log.js';
import { authMode, upstreamFunctions } from '../resources/api-gateway.js';
import type { ApiGatewayStatus } from '../resources/types.js';
import type { Store, StoreChange } from '../store/store.js';

export interface GatewayControllerDeps {
  store: Store;
  gateway: Gateway;
  accessKeys: () => readonly string[];
  log: Logger;
}

export class GatewayController {
  private unwatch?: () => void;
  private pending?: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly deps: GatewayControllerDeps) {}

  async start(): Promise<void> {
    this.unwatch = this.deps.store.watch((c) => this.onChange(c));
    await this.sync();
  }

  private onChange(c: StoreChange): void {
    if (c.kind !== 'apiGateway' && c.kind !== 'function') return;
    // A gateway's own status write changes nothing to route.
    if (c.kind === 'apiGateway' && c.type === 'status') return;
    if (c.kind === 'function' && c.type === 'status') return;
    if (this.pending) return;
    // Coalesce bursts (a cascade delete, an import) into one compile.
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.running = this.running
        .then(() => this.sync())
        .catch((e) => this.deps.log.error({ err: e }, 'gateway sync failed'));
    }, 5);
  }

  /** Compiles and swaps the table now; resolves when statuses are written. */
  async sync(): Promise<void> {
    const { store } = this.deps;
    const gateways = await store.list('apiGateway', undefined);
    const { table, errors } = compileRoutes(gateways);
    await this.deps.gateway.apply(table);
    const keys = this.deps.accessKeys();
    for (const g of gateways) {
      const id = `${g.metadata.namespace}/${g.metadata.name}`;
      let problem = errors.get(id);
      if (!problem) {
        const missing: string[] = [];
        for (const fn of upstreamFunctions(g)) {
          if (!(await store.get('function', g.metadata.namespace!, fn))) missing.push(fn);
        }
        if (missing.length)
          problem =
            `Upstream function${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ` +
            `do${missing.length > 1 ? '' : 'es'} not exist`;
      }
      if (!problem && authMode(g.spec.authenticationMode) === 'accessKey' && !keys.length) {
        problem = 'authenticationMode accessKey needs access keys: start the dashboard with --access-keys-file';
      }
      const status: ApiGatewayStatus = problem
        ? { name: g.metadata.name, state: 'error', last_error: problem, description: problem }
        : { name: g.metadata.name, state: 'ready' };
      const cur = g.status ?? {};
      if (cur.state !== status.state || cur.last_error !== status.last_error || cur.name !== status.name) {
        await store.setStatus('apiGateway', g.metadata.namespace!, g.metadata.name!, status, { replace: true });
      }
    }
  }

  /** Resolves when pending work is done (tests). */
  async idle(): Promise<void> {
    while (this.pending) await new Promise((r) => setTimeout(r, 5));
    await this.running;
  }

  async stop(): Promise<void> {
    this.unwatch?.();
    clearTimeout(this.pending);
    this.pending = undefined;
    await this.running;
  }
}
