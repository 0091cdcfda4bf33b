/**
 * What the invocation paths need to know about functions, kept in memory: state, message and invocation
 * URLs, updated from store changes. Reading a function from the store on every invocation would parse its
 * whole record (inline source included) per request.
 */
import type { FunctionRecord } from '../resources/types.js';
import type { Store } from '../store/store.js';

export interface FunctionSummary {
  state: string;
  message?: string;
  urls: string[];
}

const summarize = (fn: FunctionRecord): FunctionSummary => ({
  state: fn.status?.state ?? '',
  message: fn.status?.message,
  urls: [...(fn.status?.internalInvocationUrls ?? []), ...(fn.status?.externalInvocationUrls ?? [])],
});

export class FunctionDirectory {
  private readonly byKey = new Map<string, FunctionSummary>();
  private unwatch?: () => void;

  constructor(private readonly store: Store) {}

  async start(): Promise<void> {
    this.unwatch = this.store.watch((c) => {
      if (c.kind !== 'function') return;
      const key = `${c.namespace}/${c.name}`;
      if (c.type === 'deleted') this.byKey.delete(key);
      else this.byKey.set(key, summarize(c.object as FunctionRecord));
    });
    for (const fn of await this.store.list('function', undefined))
      this.byKey.set(`${fn.metadata.namespace}/${fn.metadata.name}`, summarize(fn));
  }

  get(namespace: string, name: string): FunctionSummary | undefined {
    return this.byKey.get(`${namespace}/${name}`);
  }

  stop(): void {
    this.unwatch?.();
  }
}
