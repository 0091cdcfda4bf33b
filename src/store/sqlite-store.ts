/**
 * The embedded Store: one SQLite file (better-sqlite3 12.x) in WAL mode, where a change is acknowledged
 * only once it is on disk, so that it survives a crash or power loss. Resources are JSON documents keyed
 * by (kind, namespace, name); a global counter gives resource versions, as Kubernetes does.
 *
 * Group commit: a commit that waits for the disk (an fsync, 2.5 ms on a quiet disk, tens of ms on a busy
 * one) holds the event loop, since better-sqlite3 is synchronous; one per write made a thousand deploys
 * cost seconds of a blocked loop. So writes made in the same turn of the event loop share one transaction:
 * each runs at once in a savepoint of its own (a failing write undoes only itself and rejects only its
 * caller), and the group commits once, in the loop's check phase (setImmediate). The commit itself does
 * not wait for the disk (synchronous=NORMAL); the store then flushes the WAL file off the loop (an fsync
 * on libuv's thread pool — what synchronous=FULL would have done inside the commit), one flush at a time
 * covering every group committed before it started. A group's changes are announced to watchers at its
 * commit — when reads on this connection see them too, so that what the API reads and what the in-memory
 * views built from watchers (the function directory, the function list) say never disagree — and its
 * writers' promises resolve only after the flush: a write is acknowledged only once it is durable.
 * (Checkpoints, which copy the WAL into the database file, are synced by SQLite itself under
 * synchronous=NORMAL.) Reads on this connection also see the writes of the turn's open group.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, fsync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
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

/** Writes waiting for their group's commit: the changes to announce, and the writers to resolve. */
interface Group {
  changes: StoreChange[];
  writers: { resolve: () => void; reject: (e: unknown) => void }[];
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly events = new EventEmitter();
  private readonly stmts;
  /** The open transaction of this turn's writes (see the module comment). */
  private group?: Group;
  /** Groups committed and waiting for the next flush of the WAL file. */
  private committed: Group[] = [];
  /** The flush in progress, if any. */
  private flushing?: Promise<void>;
  /** The WAL file (opened at the first flush); undefined for ':memory:', which has nothing to flush. */
  private walFd?: number;
  private readonly file: string;
  private closing = false;

  /**
   * Opens (and migrates) the database at `file`; ':memory:' for a throwaway store. `opts.fsync` flushes
   * the WAL file (tests hold or fail it; default node:fs fsync).
   */
  constructor(
    file: string,
    private readonly opts: { fsync?: (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void } = {},
  ) {
    this.file = file;
    this.db = new Database(file);
    // The store holds functions' env values: readable by the dashboard's user only.
    if (file !== ':memory:')
      try {
        chmodSync(file, 0o600);
      } catch {
        /* not ours to change */
      }
    this.db.pragma('journal_mode = WAL');
    // The store syncs the WAL itself after each group's commit, off the event loop (see the module comment).
    this.db.pragma('synchronous = NORMAL');
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
      begin: this.db.prepare('BEGIN'),
      commit: this.db.prepare('COMMIT'),
      rollback: this.db.prepare('ROLLBACK'),
    };
  }

  /**
   * Runs `fn` (in a savepoint of this turn's transaction) and resolves with its result once the group has
   * committed and its changes were announced. A write that throws changes nothing and rejects at once.
   */
  private write<T>(fn: () => { result: T; changes: StoreChange[] }, by: string | undefined): Promise<T> {
    if (!this.db.open || this.closing) return Promise.reject(new Error('The store is closed'));
    if (!this.group) {
      this.stmts.begin.run();
      this.group = { changes: [], writers: [] };
      setImmediate(() => this.commit());
    }
    const group = this.group;
    let out: { result: T; changes: StoreChange[] };
    try {
      // Inside an open transaction better-sqlite3 makes this a savepoint: a throw rolls back this write only.
      out = this.db.transaction(fn)();
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    for (const c of out.changes) {
      if (by !== undefined) c.by = by;
      group.changes.push(c);
    }
    return new Promise<T>((resolve, reject) => group.writers.push({ resolve: () => resolve(out.result), reject }));
  }

  /** Commits the open group (rejecting its writers if that fails) and flushes it to disk. */
  private commit(): void {
    const group = this.group;
    if (!group) return;
    this.group = undefined;
    try {
      this.stmts.commit.run();
    } catch (e) {
      if (this.db.inTransaction) this.stmts.rollback.run();
      for (const w of group.writers) w.reject(e);
      return;
    }
    // Committed: what reads see from now on, so watchers hear of it now (see the module comment).
    for (const c of group.changes) this.emit(c);
    this.committed.push(group);
    this.flush();
  }

  /** Starts a flush of every group committed so far, unless one runs (it starts the next when done). */
  private flush(): void {
    if (this.flushing || !this.committed.length) return;
    const groups = this.committed;
    this.committed = [];
    const fd = this.wal();
    this.flushing = new Promise<void>((done) => {
      const settle = (err: unknown) => {
        this.flushing = undefined;
        this.settle(groups, err);
        done();
        this.flush();
      };
      if (fd === undefined) setImmediate(() => settle(null));
      else (this.opts.fsync ?? fsync)(fd, settle);
    });
  }

  /** Resolves the writers of flushed groups — or rejects them when the flush failed: durability is not known. */
  private settle(groups: Group[], err: unknown): void {
    const failure = err
      ? new Error(`Failed to flush the store's write-ahead log to disk: ${(err as Error).message ?? err}`)
      : undefined;
    for (const g of groups)
      for (const w of g.writers) {
        if (failure) w.reject(failure);
        else w.resolve();
      }
  }

  /** The WAL file's descriptor, opened once (its directory synced then, so the file itself is durable). */
  private wal(): number | undefined {
    if (this.file === ':memory:' || this.file === '') return undefined;
    if (this.walFd === undefined) {
      this.walFd = openSync(`${this.file}-wal`, 'r');
      const dir = openSync(dirname(this.file), 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
    }
    return this.walFd;
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
    return this.write(() => {
      const { stored, change } = this.createTx(kind, object);
      return { result: stored, changes: [change] };
    }, opts.by);
  }

  async update<K extends Kind>(
    kind: K,
    object: ResourceOf<K>,
    opts: WriteOptions & { ifVersion?: string } = {},
  ): Promise<ResourceOf<K>> {
    return this.write(() => {
      const { stored, change } = this.updateTx(kind, object, opts.ifVersion);
      return { result: stored, changes: [change] };
    }, opts.by);
  }

  async setStatus<K extends 'function' | 'apiGateway'>(
    kind: K,
    namespace: string,
    name: string,
    status: Partial<ResourceOf<K>['status']>,
    opts: WriteOptions & { replace?: boolean } = {},
  ): Promise<ResourceOf<K> | undefined> {
    return this.write(() => {
      const row = this.stmts.get.get(kind, namespace, name);
      if (!row) return { result: undefined, changes: [] };
      const obj = JSON.parse(row.body) as ResourceOf<K>;
      const merged: Record<string, unknown> = opts.replace ? { ...status } : { ...(obj.status ?? {}), ...status };
      for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
      obj.status = merged;
      this.stmts.update.run(row.version, JSON.stringify(obj), kind, namespace, name);
      return { result: obj, changes: [{ kind, type: 'status', namespace, name, object: obj }] };
    }, opts.by);
  }

  async delete(
    kind: Kind,
    namespace: string,
    name: string,
    opts: WriteOptions & { ifVersion?: string } = {},
  ): Promise<boolean> {
    return this.write(() => {
      const change = this.deleteTx(kind, namespace, name, opts.ifVersion);
      return { result: change !== undefined, changes: change ? [change] : [] };
    }, opts.by);
  }

  async batch(ops: StoreOp[], opts: WriteOptions = {}): Promise<void> {
    return this.write(() => {
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
      return { result: undefined, changes: out };
    }, opts.by);
  }

  async namespaces(): Promise<string[]> {
    return this.stmts.namespaces.all().map((r) => r.namespace);
  }

  watch(listener: (change: StoreChange) => void): () => void {
    this.events.on('change', listener);
    return () => this.events.off('change', listener);
  }

  async close(): Promise<void> {
    // Writes of this turn commit, and every committed write is flushed (its writer resolved), before the
    // file closes.
    if (this.db.open) this.commit();
    this.closing = true;
    while (this.flushing) await this.flushing;
    this.events.removeAllListeners();
    if (this.db.open) this.db.close();
    if (this.walFd !== undefined) closeSync(this.walFd);
    this.walFd = undefined;
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

  private emit(change: StoreChange): void {
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
