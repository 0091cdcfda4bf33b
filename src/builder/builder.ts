/**
 * The Builder seam: a function's spec in, an immutable, content-addressed artifact out.
 */
import type { RuntimeFamily } from '../resources/runtimes.js';
import type { FunctionConfig } from '../resources/types.js';

/**
 * A built function, by reference: what a platform needs to run it, and the id it gets the files by. The
 * files — sources, installed dependencies, `.protium/artifact.json` — are an immutable folder in the
 * artifact store (artifact-layout.ts); the local platform runs replicas straight from it, a remote one
 * would fetch it by id.
 */
export interface Artifact {
  /** Content hash of the build inputs (hex): the same inputs give the same id. */
  id: string;
  /**
   * The name recorded in spec.image (`protium/processor-<fn>:<id>`), so PATCH can redeploy without a build. Not an OCI
   * image.
   */
  image: string;
  /** The runtime the artifact was built for (`nodejs`, `python:3.9`, `shell`). */
  runtime: string;
  family: RuntimeFamily;
  /** The handler it was built with (`file:function`). */
  handler: string;
}

/** One line of build output. */
export interface BuildLogLine {
  time: number;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
}

export interface BuildOptions {
  signal?: AbortSignal;
  onLog?: (line: BuildLogLine) => void;
  /**
   * Called with the id of the artifact the build will return, before it reuses or publishes it: the
   * caller keeps that id from artifact collection until its deploy is over (artifact-store.ts).
   */
  pin?: (id: string) => void;
  /** A folder that outlives the build, for logs the build's tools write (npm's debug logs). */
  logDir?: string;
}

export interface Builder {
  /** Builds (or reuses) the artifact of `fn`. Rejects with a BuildError whose message a user can act on. */
  build(fn: FunctionConfig, opts?: BuildOptions): Promise<Artifact>;
  /** The artifact an image name refers to, if it exists on this machine. */
  fromImage(image: string): Promise<Artifact | undefined>;
}

/** A build failure; `message` quotes the failing step and the last lines of its output. */
export class BuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildError';
  }
}
