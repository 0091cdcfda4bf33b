/**
 * The embedded Store: one SQLite file (better-sqlite3 12.x) in WAL mode with synchronous=FULL, so a
 * committed change survives a crash or power loss. Resources are JSON documents keyed by
 * (kind, namespace, name); a global counter gives resource versions, as Kubernetes does.
 */
import Database from 'better-sqlite3';
import { chmodSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { MIGRATIONS } from './migrations.js';
import {
  matchesLabels,
  StoreError,
  type AnyResource,
  type Kind,
  type ListQuery,
  type ResourceOf,
  type Store,
  type StoreChange,
  type StoreOp,
  type WriteOptions,
} from './store.js';

interface Row {
  body: string;
  version: number;
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly events = new EventEmitter();
  private readonly stmts;

  /** Opens (and migrates) the database at `file`; ':memory:' for a throwaway store. */
  constructor(file: string) {
    this.db = new Database(file);
    // The store holds functions' env values: readable by the dashboard's user only.
    if (file !== ':memory:')
      try {
        chmodSync(file, 0o600);
      } catch {
        /* not ours to change */
      }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
    this.events.setMaxListeners(100);
    this.stmts = {
      get: this.db.prepare<[string, string, string], Row>(
        'SELECT body, version FROM resources WHERE kind = ? AND namespace = ? AND name = ?',
      ),
      list: this.db.prepare<[string, string], Row>(
        'SELECT body, version FROM resources WHERE kind = ? AND namespace = ? ORDER BY name',
      ),
      listAll: this.db.prepare<[string], Row>(
        'SELECT body, version FROM resources WHERE kind = ? ORDER BY namespace, name',
      ),
      insert: this.db.prepare('INSERT INTO resources (kind, namespace, name, version, body) VALUES (?, ?, ?, ?, ?)'),
      update: this.db.prepare(
        'UPDATE resources SET version = ?, body = ? WHERE kind = ? AND namespace = ? AND name = ?',
      ),
      remove: this.db.prepare('DELETE FROM resources WHERE kind = ? AND namespace = ? AND name = ?'),
      nextVersion: this.db.prepare<[], { value: number }>(
        "UPDATE counters SET value = value + 1 WHERE name = 'resourceVersion' RETURNING value",
      ),
      namespaces: this.db.prepare<[], { namespace: string }>(
        'SELECT DISTINCT namespace FROM resources ORDER BY namespace',
      ),
    };
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    if (current > MIGRATIONS.length) {
      throw new Error(
        `The store was written by a newer Protium (schema ${current}, this one knows ${MIGRATIONS.length})`,
      );
    }
    for (let i = current; i < MIGRATIONS.length; i++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[i]);
        this.db.pragma(`user_version = ${i + 1}`);
      })();
    }
  }

  private decode<K extends Kind>(row: Row | undefined): ResourceOf<K> | undefined {
    return row ? (JSON.parse(row.body) as ResourceOf<K>) : undefined;
  }

  async get<K extends Kind>(kind: K, namespace: string, name: string): Promise<ResourceOf<K> | undefined> {
    return this.decode<K>(this.stmts.get.get(kind, namespace, name));
  }

  async list<K extends Kind>(kind: K, namespace: string | undefined, query?: ListQuery): Promise<ResourceOf<K>[]> {
    const rows = namespace === undefined ? this.stmts.listAll.all(kind) : this.stmts.list.all(kind, namespace);
    const out: ResourceOf<K>[] = [];
    for (const row of rows) {
      const obj = JSON.parse(row.body) as ResourceOf<K>;
      if (matchesLabels(obj.metadata.labels, query?.labels)) out.push(obj);
    }
    return out;
  }

  async create<K extends Kind>(kind: K, object: ResourceOf<K>, opts: WriteOptions = {}): Promise<ResourceOf<K>> {
    const { stored, change } = this.db.transaction(() => this.createTx(kind, object))();
    this.emit(change, opts.by);
    return stored;
  }

  async update<K extends Kind>(
    kind: K,
    object: ResourceOf<K>,
    opts: WriteOptions & { ifVersion?: string } = {},
  ): Promise<ResourceOf<K>> {
    const { stored, change } = this.db.transaction(() => this.updateTx(kind, object, opts.ifVersion))();
    this.emit(change, opts.by);
    return stored;
  }

  async setStatus<K extends 'function' | 'apiGateway'>(
    kind: K,
    namespace: string,
    name: string,
    status: Partial<ResourceOf<K>['status']>,
    opts: WriteOptions & { replace?: boolean } = {},
  ): Promise<ResourceOf<K> | undefined> {
    const result = this.db.transaction(() => {
      const row = this.stmts.get.get(kind, namespace, name);
      if (!row) return undefined;
      const obj = JSON.parse(row.body) as ResourceOf<K>;
      const merged: Record<string, unknown> = opts.replace ? { ...status } : { ...(obj.status ?? {}), ...status };
      for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
      obj.status = merged;
      this.stmts.update.run(row.version, JSON.stringify(obj), kind, namespace, name);
      return obj;
    })();
    if (result) this.emit({ kind, type: 'status', namespace, name, object: result }, opts.by);
    return result;
  }

  async delete(
    kind: Kind,
    namespace: string,
    name: string,
    opts: WriteOptions & { ifVersion?: string } = {},
  ): Promise<boolean> {
    const change = this.db.transaction(() => this.deleteTx(kind, namespace, name, opts.ifVersion))();
    if (change) this.emit(change, opts.by);
    return change !== undefined;
  }

  async batch(ops: StoreOp[], opts: WriteOptions = {}): Promise<void> {
    const changes = this.db.transaction(() => {
      const out: StoreChange[] = [];
      for (const op of ops) {
        if (op.op === 'create') out.push(this.createTx(op.kind, op.object).change);
        else if (op.op === 'update') out.push(this.updateTx(op.kind, op.object, op.ifVersion).change);
        else if (op.op === 'require') {
          if (!this.stmts.get.get(op.kind, op.namespace, op.name))
            throw new StoreError('REQUIRED_MISSING', { kind: op.kind, namespace: op.namespace, name: op.name });
        } else if (op.op === 'deleteMatching') {
          for (const row of this.stmts.list.all(op.kind, op.namespace)) {
            const obj = JSON.parse(row.body) as AnyResource;
            if (!matchesLabels(obj.metadata.labels, op.labels)) continue;
            const c = this.deleteTx(op.kind, op.namespace, obj.metadata.name!, undefined);
            if (c) out.push(c);
          }
        } else {
          const c = this.deleteTx(op.kind, op.namespace, op.name, undefined);
          if (c) out.push(c);
        }
      }
      return out;
    })();
    for (const c of changes) this.emit(c, opts.by);
  }

  async namespaces(): Promise<string[]> {
    return this.stmts.namespaces.all().map((r) => r.namespace);
  }

  watch(listener: (change: StoreChange) => void): () => void {
    this.events.on('change', listener);
    return () => this.events.off('change', listener);
  }

  async close(): Promise<void> {
    this.events.removeAllListeners();
    if (this.db.open) this.db.close();
  }

  // ---- inside transactions ----

  private createTx<K extends Kind>(kind: K, object: ResourceOf<K>): { stored: ResourceOf<K>; change: StoreChange } {
    const { namespace, name } = identity(kind, object);
    if (this.stmts.get.get(kind, namespace, name)) throw new StoreError('ALREADY_EXISTS', { kind, namespace, name });
    const version = this.stmts.nextVersion.get()!.value;
    const stored = structuredClone<ResourceOf<K>>(object);
    stored.metadata.resourceVersion = String(version);
    this.stmts.insert.run(kind, namespace, name, version, JSON.stringify(stored));
    return { stored, change: { kind, type: 'created', namespace, name, object: stored } };
  }

  private updateTx<K extends Kind>(
    kind: K,
    object: ResourceOf<K>,
    ifVersion: string | undefined,
  ): { stored: ResourceOf<K>; change: StoreChange } {
    const { namespace, name } = identity(kind, object);
    const row = this.stmts.get.get(kind, namespace, name);
    if (!row) throw new StoreError('NOT_FOUND', { kind, namespace, name });
    if (ifVersion !== undefined && ifVersion !== String(row.version)) {
      throw new StoreError(
        'VERSION_CONFLICT',
        { kind, namespace, name },
        { given: ifVersion, stored: String(row.version) },
      );
    }
    const previous = JSON.parse(row.body) as AnyResource;
    const version = this.stmts.nextVersion.get()!.value;
    const stored = structuredClone<ResourceOf<K>>(object);
    stored.metadata.resourceVersion = String(version);
    if (previous.metadata.creationTimestamp) stored.metadata.creationTimestamp = previous.metadata.creationTimestamp;
    if ('status' in previous && !('status' in stored && stored.status))
      (stored as { status?: unknown }).status = previous.status;
    this.stmts.update.run(version, JSON.stringify(stored), kind, namespace, name);
    return { stored, change: { kind, type: 'updated', namespace, name, object: stored } };
  }

  private deleteTx(
    kind: Kind,
    namespace: string,
    name: string,
    ifVersion: string | undefined,
  ): StoreChange | undefined {
    const row = this.stmts.get.get(kind, namespace, name);
    if (!row) return undefined;
    if (ifVersion !== undefined && ifVersion !== String(row.version)) {
      throw new StoreError(
        'VERSION_CONFLICT',
        { kind, namespace, name },
        { given: ifVersion, stored: String(row.version) },
      );
    }
    this.stmts.remove.run(kind, namespace, name);
    return { kind, type: 'deleted', namespace, name, object: JSON.parse(row.body) as AnyResource };
  }

  private emit(change: StoreChange, by: string | undefined): void {
    if (by !== undefined) change.by = by;
    // A listener's failure must not undo or hide a committed change.
    for (const listener of this.events.listeners('change') as ((c: StoreChange) => void)[]) {
      try {
        listener(change);
      } catch {
        /* listeners log their own failures */
      }
    }
  }
}

function identity(kind: Kind, object: AnyResource): { namespace: string; name: string } {
  const { namespace, name } = object.metadata;
  if (!namespace || !name)
    throw new StoreError('INVALID_RESOURCE', { kind, namespace: namespace ?? '', name: name ?? '' });
  return { namespace, name };
}
