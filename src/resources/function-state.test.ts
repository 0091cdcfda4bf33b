import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  canTransition,
  deployTarget,
  FUNCTION_STATES,
  isFunctionState,
  isProvisioning,
  isRunning,
  isServing,
  isWorkPending,
  patchTarget,
  ranBeforeExport,
  TRANSITIONS,
  workFor,
  type StateWriter,
} from './function-state.js';
import type { FunctionState } from './types.js';

describe('function lifecycle (function-state.ts)', () => {
  // state → provisioning, running, serving, work, ran before export
  const table: [FunctionState, boolean, boolean, boolean, ReturnType<typeof workFor>, boolean][] = [
    ['waitingForBuild', true, false, false, undefined, false],
    ['building', true, false, false, 'build', true],
    ['waitingForResourceConfiguration', true, false, false, undefined, false],
    ['waitingForScaleResourceFromZero', true, true, false, undefined, true],
    ['waitingForScaleResourceToZero', true, false, false, 'scaleToZero', true],
    ['configuringResources', true, false, false, 'deploy', true],
    ['ready', false, true, true, undefined, true],
    ['error', false, false, false, undefined, false],
    ['unhealthy', false, true, false, undefined, true],
    ['scaledToZero', false, false, true, undefined, true],
    ['imported', false, false, false, undefined, false],
  ];

  it('the table covers every state exactly once', () => {
    assert.deepEqual(table.map((r) => r[0]).sort(), [...FUNCTION_STATES].sort());
  });

  for (const [state, provisioning, running, serving, work, ran] of table) {
    it(`${state}: provisioning ${provisioning}, running ${running}, serving ${serving}, work ${work ?? 'none'}`, () => {
      assert.equal(isFunctionState(state), true);
      assert.equal(isProvisioning(state), provisioning);
      assert.equal(isRunning(state), running);
      assert.equal(isServing(state), serving);
      assert.equal(workFor(state), work);
      assert.equal(isWorkPending(state), work !== undefined);
      assert.equal(ranBeforeExport(state), ran);
    });
  }

  it('no state yet, and values that are not states', () => {
    for (const v of [undefined, '']) {
      assert.equal(isProvisioning(v), false, String(v));
      assert.equal(isRunning(v), false);
      assert.equal(isServing(v), false);
      assert.equal(workFor(v), undefined);
    }
    assert.equal(ranBeforeExport(''), true, 'an export without nuclio.io/previous-state ran');
    assert.equal(isFunctionState('Ready'), false);
    assert.equal(isFunctionState(7), false);
    // Nuclio's rule: anything but the provisioned states is provisioning.
    assert.equal(isProvisioning('somethingNew'), true);
    assert.equal(workFor('toString'), undefined);
  });

  it('deployTarget(): a write builds and deploys, or with skip-deploy only stores (imported)', () => {
    assert.equal(deployTarget(false), 'building');
    assert.equal(workFor(deployTarget(false)), 'build');
    assert.equal(deployTarget(true), 'imported');
    assert.equal(workFor(deployTarget(true)), undefined);
  });

  it('patchTarget(): PATCH ready names a redeploy of spec.image (no build), scaledToZero the scale-down', () => {
    assert.equal(patchTarget('ready'), 'configuringResources');
    assert.equal(workFor(patchTarget('ready')), 'deploy');
    assert.equal(patchTarget('scaledToZero'), 'waitingForScaleResourceToZero');
    assert.equal(workFor(patchTarget('scaledToZero')), 'scaleToZero');
  });

  // from, to, by, allowed
  const transitions: [FunctionState | undefined, FunctionState, StateWriter, boolean][] = [
    // The API: create, update, import; PATCH; never while provisioning.
    [undefined, 'building', 'api', true],
    [undefined, 'imported', 'api', true],
    ['ready', 'building', 'api', true],
    ['error', 'building', 'api', true],
    ['imported', 'building', 'api', true],
    ['building', 'building', 'api', false],
    ['configuringResources', 'building', 'api', false],
    ['waitingForScaleResourceFromZero', 'building', 'api', false],
    ['ready', 'configuringResources', 'api', true],
    ['scaledToZero', 'configuringResources', 'api', true],
    ['imported', 'configuringResources', 'api', true],
    ['error', 'configuringResources', 'api', true],
    [undefined, 'configuringResources', 'api', false],
    ['building', 'configuringResources', 'api', false],
    ['ready', 'waitingForScaleResourceToZero', 'api', true],
    ['waitingForScaleResourceToZero', 'waitingForScaleResourceToZero', 'api', false],
    ['building', 'ready', 'api', false],
    // The controller: outcomes of the work asked, the restart.
    ['building', 'ready', 'controller', true],
    ['building', 'error', 'controller', true],
    ['configuringResources', 'ready', 'controller', true],
    // A deploy that runs but whose broker trigger cannot reach its broker.
    ['building', 'unhealthy', 'controller', true],
    ['configuringResources', 'unhealthy', 'controller', true],
    ['waitingForScaleResourceToZero', 'scaledToZero', 'controller', true],
    ['waitingForScaleResourceToZero', 'ready', 'controller', false],
    ['ready', 'configuringResources', 'controller', true],
    ['unhealthy', 'configuringResources', 'controller', true],
    ['scaledToZero', 'configuringResources', 'controller', false],
    ['scaledToZero', 'scaledToZero', 'controller', true],
    ['imported', 'ready', 'controller', false],
    ['building', 'building', 'controller', false],
    [undefined, 'ready', 'controller', false],
    // The platform: only over states it owns, never over work in progress.
    ['ready', 'unhealthy', 'platform', true],
    ['unhealthy', 'ready', 'platform', true],
    ['scaledToZero', 'waitingForScaleResourceFromZero', 'platform', true],
    ['waitingForScaleResourceFromZero', 'ready', 'platform', true],
    ['ready', 'scaledToZero', 'platform', true],
    ['error', 'ready', 'platform', true],
    ['building', 'ready', 'platform', false],
    ['configuringResources', 'unhealthy', 'platform', false],
    ['waitingForScaleResourceToZero', 'ready', 'platform', false],
    ['imported', 'ready', 'platform', false],
    ['ready', 'building', 'platform', false],
  ];
  for (const [from, to, by, allowed] of transitions) {
    it(`canTransition(${from ?? 'none'} → ${to}, by ${by}) is ${allowed}`, () => {
      assert.equal(canTransition(from, to, by), allowed);
      if (from === undefined) assert.equal(canTransition('', to, by), allowed, 'an empty state is no state');
    });
  }

  it('the API may write a state that asks for work only from a provisioned state (Nuclio refuses 412 otherwise)', () => {
    for (const from of FUNCTION_STATES) {
      for (const to of ['building', 'configuringResources', 'waitingForScaleResourceToZero'] as const) {
        assert.equal(canTransition(from, to, 'api'), !isProvisioning(from), `${from} → ${to}`);
      }
    }
  });

  it('every rule names real states, and the platform never writes a state that asks for work', () => {
    for (const r of TRANSITIONS) {
      for (const s of [...r.from, ...r.to]) if (s !== undefined) assert.ok(isFunctionState(s), s);
      if (r.by === 'platform') for (const s of r.to) assert.equal(isWorkPending(s), false, s);
    }
  });
});
