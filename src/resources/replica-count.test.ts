import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FunctionConfig, Trigger } from './types.js';
import { canStartOnDemand, minReplicasOf } from './replica-count.js';

const spec = (s: Partial<FunctionConfig['spec']>) => ({ build: {}, ...s }) as FunctionConfig['spec'];
const t = (kind: string, extra: Partial<Trigger> = {}): Trigger => ({ kind, name: kind, class: '', ...extra });

describe('minReplicasOf', () => {
  const cases: [string, Partial<FunctionConfig['spec']>, number][] = [
    ['neither given', {}, 1],
    ['minReplicas 0', { minReplicas: 0, maxReplicas: 1 }, 0],
    ['minReplicas 3', { minReplicas: 3 }, 3],
    ['replicas wins over minReplicas', { replicas: 2, minReplicas: 0 }, 2],
    ['replicas 0', { replicas: 0 }, 0],
    ['negative counts as 0', { minReplicas: -1 }, 0],
  ];
  for (const [what, s, want] of cases)
    it(`minReplicasOf(): ${what} → ${want}`, () => assert.equal(minReplicasOf(spec(s)), want));
});

describe('canStartOnDemand', () => {
  const cases: [string, Partial<FunctionConfig['spec']>, boolean][] = [
    ['min 0, no triggers (the default http one)', { minReplicas: 0 }, true],
    ['min 0, an http trigger', { minReplicas: 0, triggers: { h: t('http') } }, true],
    ['min 1', { minReplicas: 1 }, false],
    ['no counts (min 1)', {}, false],
    ['min 0 with a cron trigger', { minReplicas: 0, triggers: { c: t('cron') } }, false],
    ['min 0 with a broker trigger', { minReplicas: 0, triggers: { n: t('nats') } }, false],
    ['min 0 with a disabled cron trigger', { minReplicas: 0, triggers: { c: t('cron', { disabled: true }) } }, true],
    ['min 0, disabled function', { minReplicas: 0, disable: true }, false],
  ];
  for (const [what, s, want] of cases)
    it(`canStartOnDemand(): ${what} → ${want}`, () => assert.equal(canStartOnDemand(spec(s)), want));
});
