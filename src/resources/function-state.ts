/**
 * The function lifecycle (ARCHITECTURE.md, "A function's life"): the closed set of states, what each one means, the
 * work each one asks for, and who may move a function from one state to another. Every part that reads or writes a
 * state — the API, the function controller, the platform's reports, the CLI and the web UI — asks here.
 *
 * The API names the work by the state it writes (`building`: build, then deploy; `configuringResources`:
 * deploy the artifact `spec.image` names; `waitingForScaleResourceToZero`: stop the replicas); the
 * controller does it and writes the outcome; the platform reports what happens to running replicas
 * (a crash, a wake-up, an idle scale-down). Pure: no I/O, safe to import from the browser.
 */
import type { FunctionState } from './types.js';

/** Every state, in the order Nuclio declares them. */
export const FUNCTION_STATES: readonly FunctionState[] = [
  'waitingForBuild',
  'building',
  'waitingForResourceConfiguration',
  'waitingForScaleResourceFromZero',
  'waitingForScaleResourceToZero',
  'configuringResources',
  'ready',
  'error',
  'unhealthy',
  'scaledToZero',
  'imported',
];

/** Who writes a state: the API (a request), the function controller (work done), the platform (replicas). */
export type StateWriter = 'api' | 'controller' | 'platform';

/** The work a state asks the function controller to do. */
export type StateWork = 'build' | 'deploy' | 'scaleToZero';

const PROVISIONED: readonly FunctionState[] = ['ready', 'error', 'unhealthy', 'scaledToZero', 'imported'];
const RUNNING: readonly FunctionState[] = ['ready', 'unhealthy', 'waitingForScaleResourceFromZero'];
const SERVING: readonly FunctionState[] = ['ready', 'scaledToZero'];
const WORK: Partial<Record<FunctionState, StateWork>> = {
  building: 'build',
  configuringResources: 'deploy',
  waitingForScaleResourceToZero: 'scaleToZero',
};
/** States in which the platform's own reports may replace the stored state. */
const PLATFORM_OWNED: readonly FunctionState[] = [
  'ready',
  'unhealthy',
  'scaledToZero',
  'waitingForScaleResourceFromZero',
  'error',
];
/** What the platform reports: a wake-up starting, replicas ready, a crash, idle scale-down, a failed start. */
const PLATFORM_REPORTS: readonly FunctionState[] = [
  'waitingForScaleResourceFromZero',
  'ready',
  'unhealthy',
  'scaledToZero',
  'error',
];

const has = (set: readonly FunctionState[], state: string | undefined) =>
  (set as readonly (string | undefined)[]).includes(state);

/** True for a state of FUNCTION_STATES (a stored or exported value may be anything). */
export function isFunctionState(value: unknown): value is FunctionState {
  return typeof value === 'string' && (FUNCTION_STATES as readonly string[]).includes(value);
}

/**
 * A state in which the function is being provisioned — anything but ready, error, unhealthy, scaledToZero
 * and imported (Nuclio's rule): updates and deletes are refused (412) then, and a deploy is not over.
 */
export function isProvisioning(state: string | undefined): boolean {
  return state !== undefined && state !== '' && !has(PROVISIONED, state);
}

/** A state whose replicas run (after a dashboard restart they are brought back from their artifact). */
export function isRunning(state: string | undefined): boolean {
  return has(RUNNING, state);
}

/** A deploy or a wake-up succeeded: the function answers (scaled to zero: the first request wakes it). */
export function isServing(state: string | undefined): boolean {
  return has(SERVING, state);
}

/** The work `state` asks the function controller for; undefined when it asks for none. */
export function workFor(state: string | undefined): StateWork | undefined {
  return isFunctionState(state) ? WORK[state] : undefined;
}

/** A state that asks the function controller for work (written by the API, or by the controller on restart). */
export function isWorkPending(state: string | undefined): boolean {
  return workFor(state) !== undefined;
}

/**
 * A state an exported function was in that should run again after an import (the export's
 * `nuclio.io/previous-state`): running, scaled to zero, or on its way there — not error or imported. An
 * export without the annotation ('') ran.
 */
export function ranBeforeExport(state: string | undefined): boolean {
  return state === '' || isRunning(state) || isWorkPending(state) || state === 'scaledToZero';
}

/** The state the API writes for a create, update or import: build and deploy, or only store (`skip-deploy`). */
export function deployTarget(skipDeploy: boolean): FunctionState {
  return skipDeploy ? 'imported' : 'building';
}

/** The state the API writes for `PATCH {"desiredState": ...}`: the state that names that work. */
export function patchTarget(desired: 'ready' | 'scaledToZero'): FunctionState {
  return desired === 'ready' ? 'configuringResources' : 'waitingForScaleResourceToZero';
}

/** One row of the transition table: `by` may move a function from any of `from` to any of `to`. */
export interface TransitionRule {
  by: StateWriter;
  /** undefined: a function that has no state yet (being created). */
  from: readonly (FunctionState | undefined)[];
  to: readonly FunctionState[];
  /** When it happens. */
  when: string;
}

/** Every transition the lifecycle allows. A write that no rule allows is not made. */
export const TRANSITIONS: readonly TransitionRule[] = [
  {
    by: 'api',
    from: [undefined, ...PROVISIONED],
    to: ['building', 'imported'],
    when: 'create, update or import (skip-deploy: imported); refused while provisioning',
  },
  {
    by: 'api',
    from: PROVISIONED,
    to: ['configuringResources', 'waitingForScaleResourceToZero'],
    when: 'PATCH desiredState ready (redeploy spec.image, no build) or scaledToZero',
  },
  {
    by: 'controller',
    from: RUNNING,
    to: ['configuringResources'],
    when: 'the dashboard started: nothing runs yet, redeploy from the artifact',
  },
  {
    by: 'controller',
    from: ['building', 'configuringResources'],
    to: ['ready', 'unhealthy', 'error'],
    when:
      'the build and deploy, or the deploy, ended (unhealthy: it runs, but a broker trigger cannot reach ' +
      'its broker)',
  },
  {
    by: 'controller',
    from: PLATFORM_OWNED,
    to: ['ready', 'unhealthy', 'scaledToZero', 'error'],
    when: 'a function restored after a restart is running again (or parked, or failed to start)',
  },
  { by: 'controller', from: ['waitingForScaleResourceToZero'], to: ['scaledToZero'], when: 'the replicas stopped' },
  {
    by: 'platform',
    from: PLATFORM_OWNED,
    to: PLATFORM_REPORTS,
    when: 'a wake-up, replicas ready again, a crash, an idle scale-down, a replica that cannot start',
  },
];

/** True when `by` may move a function from `from` to `to` (see TRANSITIONS). */
export function canTransition(from: string | undefined, to: FunctionState, by: StateWriter): boolean {
  const start = from === '' ? undefined : from;
  return TRANSITIONS.some(
    (r) => r.by === by && r.to.includes(to) && (r.from as readonly (string | undefined)[]).includes(start),
  );
}
