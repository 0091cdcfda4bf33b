/**
 * Which interpreter runs a function's runtime version. `python:3.9` runs Python 3.9 when this machine has
 * it — an interpreter configured for that runtime (--runtime-interpreter python:3.9=PATH), else
 * `python3.9` on PATH if it really is 3.9 — and otherwise the default `python3`, with a note that says so
 * (the build log and status.message carry it). `nodejs:<major>` runs in the processor's own Node.js (the
 * nodejs runtime is the processor itself): a different major gets the same kind of note.
 *
 * The choice is pure (`choosePython`, `nodejsNote`) over a probe that runs an interpreter once;
 * `Interpreters` caches the probes, and resolves each interpreter's real path once, because
 * version-manager shims (pyenv) cost ~60 ms per start (issue 3).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** What running an interpreter reported: its real executable and its version ("3.11.7"). */
export interface InterpreterProbe {
  executable: string;
  version: string;
}

/** The interpreter a python runtime runs on, and what to tell the user about the choice. */
export interface PythonChoice {
  /** Absolute path of the interpreter; undefined when no python runs on this machine. */
  path?: string;
  version?: string;
  /** Set when the runtime asked for a version it does not get (or nothing runs it). */
  note?: string;
}

export interface PythonSources {
  /** Runtime name → interpreter (path or command), set by the operator. */
  configured: Record<string, string>;
  /** Runs a command as python; undefined when it does not run (missing, a shim of a version not active). */
  probe: (command: string) => InterpreterProbe | undefined;
}

/** The version a python runtime names ("3.9" for python:3.9); undefined for `python` and `python:3`. */
export function wantedPythonVersion(runtime: string | undefined): string | undefined {
  const m = /^python:(3\.\d+)$/.exec(runtime ?? '');
  return m?.[1];
}

const matches = (version: string, wanted: string) => version === wanted || version.startsWith(`${wanted}.`);
const short = (version: string) => version.split('.').slice(0, 2).join('.');

/** The interpreter for a python runtime name. Pure over `sources.probe`. */
export function choosePython(runtime: string | undefined, sources: PythonSources): PythonChoice {
  const fallback = sources.probe('python3') ?? sources.probe('python');
  const wanted = wantedPythonVersion(runtime);
  const useDefault = (why?: string): PythonChoice => {
    if (!fallback)
      return {
        note:
          `${why ? `${why}, and ` : ''}no python3 runs on this machine: python functions cannot start ` +
          `(install python3)`,
      };
    const note = why
      ? `${why}: the function runs on the default python3, Python ${short(fallback.version)} (${fallback.executable})`
      : undefined;
    return { path: fallback.executable, version: fallback.version, ...(note ? { note } : {}) };
  };

  const configured = runtime ? sources.configured[runtime] : undefined;
  if (configured) {
    const p = sources.probe(configured);
    if (!p) return useDefault(`The interpreter configured for ${runtime} (${configured}) does not run`);
    const note =
      wanted && !matches(p.version, wanted)
        ? `The interpreter configured for ${runtime} (${configured}) is Python ${short(p.version)}, not ${wanted}`
        : undefined;
    return { path: p.executable, version: p.version, ...(note ? { note } : {}) };
  }
  if (!wanted) return useDefault();
  const onPath = sources.probe(`python${wanted}`);
  if (onPath && matches(onPath.version, wanted)) return { path: onPath.executable, version: onPath.version };
  if (fallback && matches(fallback.version, wanted)) return useDefault();
  return useDefault(
    `${runtime} asks for Python ${wanted}, which is not installed here (no python${wanted} on PATH, no ` +
      `--runtime-interpreter ${runtime}=PATH)`,
  );
}

/** What to say about a nodejs runtime version: they all run in the processor's Node.js. Pure. */
export function nodejsNote(runtime: string | undefined, nodeVersion: string): string | undefined {
  const m = /^nodejs:v?(\d+)/.exec(runtime ?? '');
  if (!m) return undefined;
  const current = nodeVersion.replace(/^v/, '');
  if (Number(m[1]) === Number(current.split('.')[0])) return undefined;
  return `${runtime} asks for Node.js ${m[1]}: nodejs functions run in the processor's Node.js ${current}`;
}

/** Runs `command` as python and reads its real executable and version. */
export function probePython(command: string): InterpreterProbe | undefined {
  try {
    const out = execFileSync(
      command,
      ['-c', 'import sys; print(sys.executable); print("%d.%d.%d" % sys.version_info[:3])'],
      {
        timeout: 10_000,
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    )
      .toString()
      .trim()
      .split('\n');
    const [executable, version] = [out[0]?.trim(), out[1]?.trim()];
    if (executable && version && existsSync(executable)) return { executable, version };
  } catch {
    /* does not run */
  }
  return undefined;
}

/** The interpreters of this machine, probed once each. */
export class Interpreters {
  private readonly probes = new Map<string, InterpreterProbe | undefined>();
  private readonly choices = new Map<string, PythonChoice>();

  constructor(
    private readonly configured: Record<string, string> = {},
    private readonly probe: (command: string) => InterpreterProbe | undefined = probePython,
    private readonly nodeVersion = process.version,
  ) {}

  /** The interpreter of a python runtime (cached). */
  python(runtime: string | undefined): PythonChoice {
    const key = runtime ?? '';
    let choice = this.choices.get(key);
    if (!choice) {
      choice = choosePython(runtime, { configured: this.configured, probe: (c) => this.cachedProbe(c) });
      this.choices.set(key, choice);
    }
    return choice;
  }

  /** What a deploy of `runtime` should tell the user about its interpreter, if anything. */
  note(runtime: string | undefined): string | undefined {
    if (runtime === 'python' || runtime?.startsWith('python:')) return this.python(runtime).note;
    return nodejsNote(runtime, this.nodeVersion);
  }

  private cachedProbe(command: string): InterpreterProbe | undefined {
    if (!this.probes.has(command)) this.probes.set(command, this.probe(command));
    return this.probes.get(command);
  }
}
