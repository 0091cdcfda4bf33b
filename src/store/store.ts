/**
 * The Store seam: persistence of resources with resource versions, label selectors and change
 * notifications. Async so that a Kubernetes (custom resources) store fits later; the embedded SQLite
 * store resolves at once. Objects go in and come out as plain JSON copies: callers never share state
 * with the store.
 */
import type { ApiGateway, FunctionEvent, FunctionRecord, Project } from '../resources/types.js';

export type Kind = 'function' | 'project' | 'functionEvent' | 'apiGateway';

export interface ResourceMap {
  function: FunctionRecord;
  project: Project;
  functionEvent: FunctionEvent;
  apiGateway: ApiGateway;
}
export type ResourceOf<K extends Kind> = ResourceMap[K];
export type AnyResource = ResourceMap[Kind];

/** Why a store refused a write. The API words these for clients (error-body.ts); callers test `code`. */
export type StoreErrorCode =
  /** update() of a resource that does not exist. */
  | 'NOT_FOUND'
  /** create() of a name that exists. */
  | 'ALREADY_EXISTS'
  /** `ifVersion` differs from the stored resourceVersion. */
  | 'VERSION_CONFLICT'
  /** A batch's `require` found no such resource. */
  | 'REQUIRED_MISSING'
  /** The object has no metadata.name or metadata.namespace. */
  | 'INVALID_RESOURCE';

/** An error of the Store: what was refused and for which resource — no HTTP in it. */
export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    /** The resource refused (or required). */
    readonly resource: { kind: Kind; namespace: string; name: string },
    /** VERSION_CONFLICT: the version given and the one stored. */
    readonly versions?: { given: string; stored: string },
  ) {
    const { kind, namespace, name } = resource;
    super(
      `${code}: ${kind} ${namespace}/${name}` +
        `${versions ? ` (given version ${versions.given}, stored ${versions.stored})` : ''}`,
    );
    this.name = 'StoreError';
  }
}

/** True when `e` is a StoreError with code `code`. */
export function isStoreError(e: unknown, code: StoreErrorCode): e is StoreError {
  return e instanceof StoreError && e.code === code;
}

/** Equality label selector: every key must be present with that value. */
export type LabelSelector = Record<string, string>;

export interface ListQuery {
  labels?: LabelSelector;
}

/**
 * Who made a change, as the writer names itself (`'controller'`, `'platform'`, `'api'`): carried to every
 * watcher, so that a watcher that also writes (the function controller) can tell its own changes from work
 * asked of it. undefined when the writer did not say.
 */
export type ChangeOrigin = string;

/** Options every write takes. */
export interface WriteOptions {
  /** Who makes the change; watchers see it in `StoreChange.by`. */
  by?: ChangeOrigin;
}

export interface StoreChange {
  kind: Kind;
  type: 'created' | 'updated' | 'status' | 'deleted';
  namespace: string;
  name: string;
  /** The object after the change (before it, for deletes). */
  object: AnyResource;
  /** Who made the change (`WriteOptions.by`), if the writer said. */
  by?: ChangeOrigin;
}

/**
 * One operation of an atomic batch. `require` and `deleteMatching` keep references whole under concurrent
 * requests: a child is written only while its parent exists (`require` in the child's batch), and a parent
 * goes with every child that exists at that moment (`deleteMatching` in the parent's batch).
 */
export type StoreOp =
  | { op: 'create'; kind: Kind; object: AnyResource }
  | { op: 'update'; kind: Kind; object: AnyResource; ifVersion?: string }
  | { op: 'delete'; kind: Kind; namespace: string; name: string }
  /** Fails the batch with StoreError REQUIRED_MISSING unless the resource exists. */
  | { op: 'require'; kind: Kind; namespace: string; name: string }
  /** Deletes every resource of `kind` in the namespace that has all of `labels`. */
  | { op: 'deleteMatching'; kind: Kind; namespace: string; labels: LabelSelector };

export interface Store {
  get<K extends Kind>(kind: K, namespace: string, name: string): Promise<ResourceOf<K> | undefined>;
  /** Resources of a namespace (every namespace when `namespace` is undefined), sorted by name. */
  list<K extends Kind>(kind: K, namespace: string | undefined, query?: ListQuery): Promise<ResourceOf<K>[]>;
  /** Creates; throws StoreError ALREADY_EXISTS when the name exists. Returns the stored copy (with resourceVersion). */
  create<K extends Kind>(kind: K, object: ResourceOf<K>, opts?: WriteOptions): Promise<ResourceOf<K>>;
  /**
   * Replaces metadata and spec (status too, when the object carries one). Throws StoreError NOT_FOUND when
   * missing, VERSION_CONFLICT when `ifVersion` is given and differs from the stored resourceVersion.
   */
  update<K extends Kind>(
    kind: K,
    object: ResourceOf<K>,
    opts?: WriteOptions & { ifVersion?: string },
  ): Promise<ResourceOf<K>>;
  /** Merges fields into `status` without touching the resource version; undefined when missing. */
  setStatus<K extends 'function' | 'apiGateway'>(
    kind: K,
    namespace: string,
    name: string,
    status: Partial<ResourceOf<K>['status']>,
    opts?: WriteOptions & { replace?: boolean },
  ): Promise<ResourceOf<K> | undefined>;
  /** Deletes; false when it did not exist. StoreError VERSION_CONFLICT when `ifVersion` is stale. */
  delete(kind: Kind, namespace: string, name: string, opts?: WriteOptions & { ifVersion?: string }): Promise<boolean>;
  /** Runs the operations atomically: all or none. */
  batch(ops: StoreOp[], opts?: WriteOptions): Promise<void>;
  /** Namespaces that hold any resource. */
  namespaces(): Promise<string[]>;
  /** Calls `listener` after each committed change; returns the unsubscribe function. */
  watch(listener: (change: StoreChange) => void): () => void;
  close(): Promise<void>;
}

/** True when every selector label is on the object with that value. */
export function matchesLabels(
  labels: Record<string, string> | undefined,
  selector: LabelSelector | undefined,
): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector)) if (labels?.[k] !== v) return false;
  return true;
}
